"""Celery tasks for webhooks: thin wrappers, each safe to run twice (see dispatch.py)."""

from __future__ import annotations

from celery import shared_task

from repos import events
from webhooks import dispatch


@shared_task
def fan_out_event(*, kind: str, payload: dict, key: str) -> int:
    """Store and queue the deliveries one repo event owes; idempotent per `key`."""
    event_type = events.EVENT_TYPES.get(kind)
    if event_type is None:
        return 0
    return len(dispatch.fan_out_run(event=event_type(**payload), key=key))


@shared_task
def drain_deliveries() -> int:
    """Send due deliveries, several at once, for up to WEBHOOK_DRAIN_SECONDS; then queue a
    continuation if some may be left. Safe to run twice: every row is claimed first."""
    attempted, more = dispatch.deliveries_drain()
    if more:
        drain_deliveries.delay()
    return attempted


@shared_task
def deliver(*, delivery_id: int) -> str | None:
    """One attempt at one delivery, if it is due and nobody else holds it (short retries)."""
    return dispatch.delivery_attempt(delivery_id=delivery_id)


@shared_task
def sweep_deliveries() -> tuple[int, int]:
    """Periodic: free expired leases and queue due deliveries (retries, lost tasks)."""
    return dispatch.deliveries_sweep()
