"""Event subscribers: each only queues the fan-out task (STYLE.md 2.4)."""

from __future__ import annotations

from dataclasses import asdict

from repos import events
from webhooks.dispatch import event_key


def on_repo_event(event: events.Event) -> None:
    from webhooks.tasks import fan_out_event

    fan_out_event.delay(kind=event.kind, payload=asdict(event), key=event_key(event))
