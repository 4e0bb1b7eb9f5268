"""Worker side: fan an event out into stored deliveries, attempt them, sweep the leftovers.

Every step is safe to run twice. Fan-out is keyed by (webhook, outbox row); an attempt starts
with a conditional UPDATE that claims the row and sets a lease, and its result is written
only if the row is still held under the same attempt number (a fencing token), so a worker
that lost its lease cannot overwrite the newer attempt's outcome.

Throughput: fan-out queues one "drain" task per WEBHOOK_DRAIN_BATCH deliveries, not one task per
delivery. A drain claims due rows a few at a time (one conditional UPDATE ... RETURNING,
SKIP LOCKED on PostgreSQL), only as many as it has free sending threads, so every claimed
row starts its request at once and the lease means what it meant for a single attempt. The
threads only do HTTP (resolve, SSRF check, connect to the checked address, POST); the task's
own thread claims and records, several results per transaction.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from orgs.models import Namespace
from orgs.permissions import Action, can, namespace_can_read, namespace_role
from repos import events
from repos.models import Repo
from webhooks import policy
from webhooks.delivery import USER_AGENT, SendResult, Timeouts, send
from webhooks.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    FanOut,
    WatchedItem,
    Webhook,
)
from webhooks.payloads import Message, message_for
from webhooks.signing import sign
from webhooks.ssrf import Resolver

logger = logging.getLogger(__name__)

# Tuning is in settings (HUB_WEBHOOK_*, README's configuration table):
# WEBHOOK_COUNTDOWN_LIMIT_SECONDS: retries due within this are queued with a countdown (well
#   under Redis' visibility timeout, SECURITY.md 8); later ones wait in the table for the sweep.
# WEBHOOK_SWEEP_BATCH: rows one sweep re-queues.
# WEBHOOK_DRAIN_BATCH: fan-out and the sweep queue one drain task per this many deliveries
#   (several worker processes then share a large fan-out); a drain claims whatever is due.
# WEBHOOK_SEND_THREADS: requests one drain has in flight at once (each thread sends one).
# WEBHOOK_DRAIN_SECONDS: a drain stops claiming after this long and queues its continuation,
#   so other tasks get the worker in between and a drain stays far below the visibility timeout.


def event_key(event: events.Event) -> str:
    """The outbox row id when dispatched from one; else a digest of the event's content."""
    record_id = events.current_record_id()
    if record_id is not None:
        return f"evt:{record_id}"
    content = json.dumps({"kind": event.kind, **asdict(event)}, sort_keys=True, default=str)
    return "sha:" + hashlib.sha256(content.encode()).hexdigest()[:56]


def enqueue_after_commit(delivery_ids: Iterable[int]) -> None:
    """Once the rows are committed, queue drain tasks for them (one per WEBHOOK_DRAIN_BATCH)."""
    count = len(list(delivery_ids))
    for _ in range(math.ceil(count / settings.WEBHOOK_DRAIN_BATCH)):
        transaction.on_commit(_enqueue_drain, robust=True)


def _enqueue_drain() -> None:
    from webhooks.tasks import drain_deliveries  # tasks import this module

    drain_deliveries.delay()


# --- fan-out ----------------------------------------------------------------------------------


def fan_out_enqueue(*, event: events.Event) -> None:
    """Record that `event` is owed a fan-out, then queue the task. The row, not the broker,
    is what the sweep trusts: a queue lost with the broker is queued again. Safe to call
    twice (a re-dispatched outbox row): a fan-out already done is not queued again."""
    from webhooks.tasks import fan_out_event  # tasks import this module

    key = event_key(event)
    payload = asdict(event)
    row, created = FanOut.objects.get_or_create(
        key=key,
        defaults={"kind": event.kind, "payload": payload, "enqueued_at": timezone.now()},
    )
    if not created and row.done_at is not None:
        return
    fan_out_event.delay(kind=event.kind, payload=payload, key=key)


def fan_out_run(*, event: events.Event, key: str) -> list[int]:
    """The fan-out task's work: store and queue the deliveries, then mark the fan-out done
    (a worker dying in between only means the sweep runs this again, which adds nothing)."""
    ids = deliveries_create_for_event(event=event, key=key)
    FanOut.objects.filter(key=key, done_at__isnull=True).update(done_at=timezone.now())
    return ids


def _may_hear(
    webhook: Webhook, event: events.Event, repo: Repo | None, owner: Namespace | None
) -> bool:
    """Only subscribers who may read the repo hear about it (a private repo's name included):
    a user's webhook what the user may read now, an org's what the org itself may."""
    if isinstance(event, events.RepoDeleted):
        if event.private is False:
            return True
        if webhook.org_id is not None:
            return owner is not None and owner.pk == webhook.org.namespace_id  # type: ignore[union-attr]
        user = webhook.owner
        return (
            user is not None
            and user.is_active
            and owner is not None
            and namespace_role(user, owner.pk) is not None
        )
    if repo is None:
        return False
    if webhook.org_id is not None:
        return namespace_can_read(webhook.org.namespace_id, repo)  # type: ignore[union-attr]
    return (
        webhook.owner is not None
        and webhook.owner.is_active
        and can(webhook.owner, Action.READ, repo)
    )


def deliveries_create_for_event(*, event: events.Event, key: str) -> list[int]:
    """Store one delivery per enabled, entitled subscriber and queue them; returns their ids.

    Idempotent: a second run for the same `key` creates and queues nothing new.
    """
    repo = None
    if not isinstance(event, events.RepoDeleted):
        repo = Repo.objects.select_related("owner").filter(pk=event.repo_id).first()
    names = {event.full_name.lower()} if getattr(event, "full_name", "") else set()
    if repo is not None:
        owner: Namespace | None = repo.owner
        names.add(repo.full_name.lower())
        kind = repo.kind
    else:
        owner = Namespace.objects.filter(name__iexact=event.full_name.split("/", 1)[0]).first()
        kind = getattr(event, "repo_kind", "model")
    if isinstance(event, events.RepoConfigChanged):
        moved = event.changes.get("name")
        if isinstance(moved, dict):  # watchers of the old name hear of the move too
            names.update(str(moved.get(k, "")).lower() for k in ("old", "new"))
    message = message_for(event, repo, owner_id=owner.pk if owner else None)
    if message is None:
        return []
    namespaces = {n.split("/", 1)[0] for n in names if n}
    if owner is not None:
        namespaces.add(owner.name.lower())
    watcher_ids = WatchedItem.objects.filter(
        Q(type__in=["user", "org"], name_lower__in=namespaces) | Q(type=kind, name_lower__in=names)
    ).values_list("webhook_id", flat=True)
    webhooks = Webhook.objects.filter(pk__in=watcher_ids, disabled=False).select_related(
        "owner", "org"
    )
    now = timezone.now()
    rows = [
        _new_delivery(webhook, message, key=key, now=now)
        for webhook in webhooks
        if message.domain in webhook.domains and _may_hear(webhook, event, repo, owner)
    ]
    if not rows:
        return []
    with transaction.atomic():
        existing = set(
            Delivery.objects.filter(
                event_key=key, webhook__in=[r.webhook for r in rows]
            ).values_list("webhook_id", flat=True)
        )
        fresh = [r for r in rows if r.webhook.pk not in existing]
        Delivery.objects.bulk_create(fresh, ignore_conflicts=True)
        ids = list(
            Delivery.objects.filter(
                event_key=key,
                webhook__in=[r.webhook for r in fresh],
                state=DeliveryState.PENDING,
                attempts=0,
            ).values_list("pk", flat=True)
        )
        enqueue_after_commit(ids)
    return ids


def _new_delivery(webhook: Webhook, message: Message, *, key: str, now: datetime) -> Delivery:
    return Delivery(
        webhook=webhook,
        event_key=key,
        action=message.action,
        scope=message.scope,
        repo_name=message.repo_name[:200],
        body=message.body(webhook_id=webhook.public_id),
        next_attempt_at=now,
        enqueued_at=now,
    )


# --- one attempt ------------------------------------------------------------------------------


def _request_headers(webhook: Webhook, delivery: Delivery, body: bytes) -> dict[str, str]:
    timestamp = int(time.time())  # fresh on every attempt; the id stays the same
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
    }
    if webhook.secret:
        headers["webhook-signature"] = sign(
            secret=webhook.secret, message_id=delivery.message_id, timestamp=timestamp, body=body
        )
        if webhook.send_secret_header:
            headers["X-Webhook-Secret"] = webhook.secret
    return headers


def _logged_headers(headers: dict[str, str]) -> dict[str, str]:
    """Headers as stored in the log: the clear-text secret never is (SECURITY.md 24)."""
    shown = dict(headers)
    if "X-Webhook-Secret" in shown:
        secret = shown["X-Webhook-Secret"]
        shown["X-Webhook-Secret"] = f"…{secret[-4:]}" if len(secret) > 8 else "…"
    return shown


def delivery_attempt(*, delivery_id: int, resolver: Resolver | None = None) -> str | None:
    """Claim, send and record one attempt; returns the outcome, None when not claimed.

    Safe to run twice or concurrently: only the caller whose conditional UPDATE matched
    sends. Raises nothing for receiver trouble; that is recorded and scheduled.
    """
    now = timezone.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=now
    ).update(
        state=DeliveryState.SENDING,
        attempts=F("attempts") + 1,
        round_attempts=F("round_attempts") + 1,
        lease_until=now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS),
    )
    if not claimed:
        return None  # another worker has it, it is not due yet, or it is finished
    delivery = Delivery.objects.select_related("webhook").get(pk=delivery_id)
    sending = _prepare(delivery, delivery.attempts, now=now)
    if sending is None:
        return DeliveryState.CANCELLED
    result = _send(sending, resolver)
    with transaction.atomic():
        return _conclude(sending, result)


@dataclass
class _Sending:
    """A claimed delivery on its way out: what is sent, and the fencing token to record it."""

    delivery: Delivery
    number: int  # the attempt number our claim set; the row is ours while it still says so
    body: bytes
    headers: dict[str, str]
    started_at: datetime


def _prepare(delivery: Delivery, number: int, *, now: datetime) -> _Sending | None:
    """Sign a claimed delivery for sending; None (and the claim undone) when its webhook was
    disabled in the meantime."""
    webhook = delivery.webhook
    if webhook.disabled and not delivery.is_test:
        Delivery.objects.filter(pk=delivery.pk, attempts=number).update(
            state=DeliveryState.CANCELLED,
            attempts=F("attempts") - 1,  # nothing was sent
            round_attempts=F("round_attempts") - 1,
            lease_until=None,
            completed_at=now,
            last_error="The webhook was disabled before this was sent.",
        )
        return None
    body = delivery.body.encode()
    headers = _request_headers(webhook, delivery, body)
    return _Sending(delivery, number, body, headers, started_at=timezone.now())


def _send(sending: _Sending, resolver: Resolver | None) -> SendResult:
    """The HTTP part only (no database), so it may run in a drain's sending thread."""
    return send(
        url=sending.delivery.webhook.url,
        body=sending.body,
        headers=sending.headers,
        allow_local=settings.WEBHOOK_ALLOW_LOCAL,
        timeouts=Timeouts(
            connect=settings.WEBHOOK_CONNECT_TIMEOUT_SECONDS,
            read=settings.WEBHOOK_READ_TIMEOUT_SECONDS,
            total=settings.WEBHOOK_TOTAL_TIMEOUT_SECONDS,
        ),
        resolver=resolver,
    )


def _conclude(sending: _Sending, result: SendResult) -> str:
    """Decide what the answer means and record it; call inside a transaction."""
    decision = policy.decide(
        status=result.status,
        headers=result.headers,
        error=result.error,
        error_kind=result.error_kind,
        attempt=sending.delivery.round_attempts,
        max_attempts=settings.WEBHOOK_MAX_ATTEMPTS,
        base=settings.WEBHOOK_RETRY_BASE_SECONDS,
        now=timezone.now(),
    )
    return _record(
        sending.delivery, sending.number, sending.headers, sending.started_at, result, decision
    )


def _record(
    delivery: Delivery,
    number: int,
    headers: dict[str, str],
    started_at: datetime,
    result: SendResult,
    decision: policy.Decision,
) -> str:
    """Write an attempt's result if the row is still ours; inside the caller's transaction."""
    now = timezone.now()
    next_at = policy.next_time(now, decision.delay)
    fields: dict[str, object] = {
        "lease_until": None,
        "last_status": result.status,
        "last_error": decision.reason[:500],
    }
    if decision.outcome == "retry":
        queue_now = decision.delay <= settings.WEBHOOK_COUNTDOWN_LIMIT_SECONDS
        fields.update(
            state=DeliveryState.PENDING,
            next_attempt_at=next_at,
            enqueued_at=next_at if queue_now else None,
        )
    else:
        fields.update(state=decision.outcome, completed_at=now)
    held = Delivery.objects.filter(
        pk=delivery.pk, state=DeliveryState.SENDING, attempts=number
    ).update(**fields)
    DeliveryAttempt.objects.create(
        delivery_id=delivery.pk,
        number=number,
        started_at=started_at,
        duration_ms=result.duration_ms,
        request_headers=_logged_headers(headers),
        response_status=result.status,
        response_headers=result.headers,
        response_body=result.body.decode("utf-8", "replace"),
        error=result.error[:500],
        # "stale": our lease ran out and the row moved on; this result changes nothing.
        outcome=decision.outcome if held else "stale",
    )
    if held and not delivery.is_test:
        _count_event_outcome(delivery.webhook_id, decision)
    if (
        held
        and decision.outcome == "retry"
        and decision.delay <= settings.WEBHOOK_COUNTDOWN_LIMIT_SECONDS
    ):
        from webhooks.tasks import deliver

        transaction.on_commit(
            lambda: deliver.apply_async(
                kwargs={"delivery_id": delivery.pk}, countdown=decision.delay
            ),
            robust=True,
        )
    return decision.outcome if held else "stale"


def _count_event_outcome(webhook_id: int, decision: policy.Decision) -> None:
    """Consecutive failed events disable a webhook; one success resets the count."""
    if decision.outcome == "succeeded":
        Webhook.objects.filter(pk=webhook_id, consecutive_failures__gt=0).update(
            consecutive_failures=0
        )
        return
    if decision.outcome != "failed":
        return
    Webhook.objects.filter(pk=webhook_id).update(consecutive_failures=F("consecutive_failures") + 1)
    webhook = Webhook.objects.get(pk=webhook_id)
    reason = decision.disable_reason
    limit = settings.WEBHOOK_DISABLE_AFTER_FAILED_EVENTS
    if not reason and limit > 0 and webhook.consecutive_failures >= limit:
        reason = (
            f"Disabled automatically after {webhook.consecutive_failures} consecutive failed "
            f"deliveries (last: {decision.reason})."
        )
    if reason:
        Webhook.objects.filter(pk=webhook_id, disabled=False).update(
            disabled=True, disabled_at=timezone.now(), disabled_reason=reason[:300]
        )


# --- drain: many deliveries per task ----------------------------------------------------------


def _claim_due(limit: int, *, now: datetime) -> list[tuple[int, int]]:
    """Claim up to `limit` due deliveries with one conditional UPDATE; [(id, attempt number)].

    The same claim as delivery_attempt's (pending and due -> sending, attempts + 1, lease),
    for a few rows at once. PostgreSQL skips rows another drain has locked; SQLite has one
    writer at a time, so the statement is atomic there as it is.
    """
    connection = connections[router.db_for_write(Delivery)]
    qn = connection.ops.quote_name
    col = {f.name: qn(f.column) for f in Delivery._meta.concrete_fields}
    table = qn(Delivery._meta.db_table)
    due = f"{col['state']} = %s AND {col['next_attempt_at']} <= %s"
    pick = (
        f"SELECT {col['id']} FROM {table} WHERE {due} "  # noqa: S608
        f"ORDER BY {col['next_attempt_at']}, {col['id']} LIMIT %s"
    )
    if connection.vendor == "postgresql":
        # ANY(ARRAY(...)) runs the pick once; as `IN (subquery)` the planner may run it again
        # per row and claim more than `limit` rows.
        chosen = f"= ANY(ARRAY({pick} FOR UPDATE SKIP LOCKED))"
    else:
        chosen = f"IN ({pick})"  # SQLite: a non-correlated IN list is computed once
    # Only quoted identifiers from the model are formatted in; every value is a parameter.
    sql = (
        f"UPDATE {table} SET {col['state']} = %s, {col['attempts']} = {col['attempts']} + 1, "  # noqa: S608
        f"{col['round_attempts']} = {col['round_attempts']} + 1, {col['lease_until']} = %s "
        f"WHERE {due} AND {col['id']} {chosen} RETURNING {col['id']}, {col['attempts']}"
    )
    at = connection.ops.adapt_datetimefield_value
    lease = now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    pending = DeliveryState.PENDING.value
    params = [DeliveryState.SENDING.value, at(lease), pending, at(now), pending, at(now), limit]
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(int(pk), int(number)) for pk, number in cursor.fetchall()]


def deliveries_drain(
    *,
    seconds: float | None = None,
    concurrency: int | None = None,
    resolver: Resolver | None = None,
) -> tuple[int, bool]:
    """Send due deliveries until none is left or `seconds` ran out; (attempted, more left).

    Claims only as many rows as there are idle sending threads, right before sending them,
    so no claimed row waits behind a slow receiver while its lease runs. Results are
    recorded by this thread as they come in, each batch in one transaction; a killed worker
    leaves at most its in-flight rows `sending`, for the sweep to release after the lease.
    """
    budget = settings.WEBHOOK_DRAIN_SECONDS if seconds is None else seconds
    width = max(1, concurrency or settings.WEBHOOK_SEND_THREADS)
    deadline = time.monotonic() + budget
    in_flight: dict[Future[SendResult], _Sending] = {}
    attempted = 0
    claiming = True
    more = False
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="webhook-send") as pool:
        while True:
            free = width - len(in_flight)
            if claiming and free > 0:
                if time.monotonic() >= deadline:
                    claiming, more = False, True
                else:
                    now = timezone.now()
                    claimed = _claim_due(free, now=now)
                    claiming = bool(claimed)  # nothing due: finish what is in flight
                    for sending in _prepare_claimed(claimed, now=now):
                        in_flight[pool.submit(_send, sending, resolver)] = sending
            if not in_flight:
                if claiming:
                    continue  # everything claimed was cancelled: look again
                break
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            with transaction.atomic():
                for future in done:
                    _conclude(in_flight.pop(future), future.result())
            attempted += len(done)
    return attempted, more


def _prepare_claimed(claimed: list[tuple[int, int]], *, now: datetime) -> list[_Sending]:
    if not claimed:
        return []
    rows = Delivery.objects.select_related("webhook").in_bulk([pk for pk, _ in claimed])
    out = []
    for pk, number in claimed:
        delivery = rows.get(pk)
        if delivery is None:
            continue  # its webhook was deleted just now (cascade): nothing to send
        sending = _prepare(delivery, number, now=now)
        if sending is not None:
            out.append(sending)
    return out


# --- sweep ------------------------------------------------------------------------------------


def deliveries_sweep(*, now: datetime | None = None) -> tuple[int, int]:
    """Return expired leases to pending and queue due deliveries; (released, queued).

    This is what makes delivery at-least-once across a killed worker or a lost queue: the
    table, not the broker, holds the schedule.
    """
    now = now or timezone.now()
    released = 0
    expired = Delivery.objects.filter(state=DeliveryState.SENDING, lease_until__lt=now).values_list(
        "pk", "attempts"
    )[: settings.WEBHOOK_SWEEP_BATCH]
    for delivery_id, number in list(expired):
        with transaction.atomic():
            moved = Delivery.objects.filter(
                pk=delivery_id, state=DeliveryState.SENDING, attempts=number, lease_until__lt=now
            ).update(
                state=DeliveryState.PENDING,
                next_attempt_at=now,
                lease_until=None,
                enqueued_at=None,
                last_error="The worker stopped during the attempt.",
            )
            if moved:
                DeliveryAttempt.objects.create(
                    delivery_id=delivery_id,
                    number=number,
                    started_at=now,
                    outcome="lost",
                    error="No result: the worker stopped during this attempt (lease expired).",
                )
                released += 1
    requeue_before = now - timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    _fan_outs_requeue(now=now, before=requeue_before)
    due = list(
        Delivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=now)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=requeue_before))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[: settings.WEBHOOK_SWEEP_BATCH]
    )
    if due:
        Delivery.objects.filter(pk__in=due).update(enqueued_at=now)
        for _ in range(math.ceil(len(due) / settings.WEBHOOK_DRAIN_BATCH)):
            _enqueue_drain()
    return released, len(due)


FAN_OUT_KEEP = timedelta(days=1)  # done fan-out rows are kept this long (a re-dispatch is a no-op)


def _fan_outs_requeue(*, now: datetime, before: datetime) -> int:
    """Queue again the fan-outs still not done whose task was queued before `before` (lost
    with the broker, or its worker died), and forget old finished ones; returns how many."""
    from webhooks.tasks import fan_out_event  # tasks import this module

    FanOut.objects.filter(done_at__lt=now - FAN_OUT_KEEP).delete()
    stale = list(
        FanOut.objects.filter(done_at__isnull=True, enqueued_at__lt=before).order_by("pk")[
            : settings.WEBHOOK_SWEEP_BATCH
        ]
    )
    for row in stale:
        if FanOut.objects.filter(pk=row.pk, done_at__isnull=True).update(enqueued_at=now):
            fan_out_event.delay(kind=row.kind, payload=row.payload, key=row.key)
    return len(stale)
