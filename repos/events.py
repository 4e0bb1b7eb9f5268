"""Repo events: described once, stored in an outbox, dispatched to subscribers after commit.

Consumers (search, datasets_svc, webhooks) subscribe in their AppConfig.ready(); a handler
only enqueues its own app's task. Delivery is at least once: a periodic sweep re-dispatches
outbox rows the on-commit hook did not get out.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, ClassVar

from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = "event"
    repo_id: int


@dataclass(frozen=True)
class RefUpdate:
    ref: str
    old: str  # 40 zeros when the ref is created
    new: str  # 40 zeros when the ref is deleted


@dataclass(frozen=True)
class RepoCreated(Event):
    kind: ClassVar[str] = "repo.created"
    full_name: str = ""
    repo_kind: str = "model"
    head_sha: str = ""


@dataclass(frozen=True)
class RepoUpdated(Event):
    kind: ClassVar[str] = "repo.updated"
    full_name: str = ""
    repo_kind: str = "model"
    updates: list[dict[str, str]] = field(default_factory=list)  # RefUpdate as dicts
    source: str = "git"  # "git" (push) or "api" (commit API, branch/tag endpoints)


@dataclass(frozen=True)
class RepoDeleted(Event):
    kind: ClassVar[str] = "repo.deleted"
    full_name: str = ""
    repo_kind: str = "model"
    # The row is gone when subscribers run: they need this to tell who may hear of it.
    # None in rows written before the field existed; consumers treat that as private.
    private: bool | None = None


@dataclass(frozen=True)
class RepoConfigChanged(Event):
    kind: ClassVar[str] = "repo.config"
    full_name: str = ""
    repo_kind: str = "model"
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DiscussionChanged(Event):
    """A discussion or pull request was opened, commented, renamed, closed, reopened or merged.

    `action` and `scope` are the webhook's (`create`/`update`, `discussion` or
    `discussion.comment`); `comment_id` names the comment event for the latter.
    """

    kind: ClassVar[str] = "discussion.changed"
    full_name: str = ""
    repo_kind: str = "model"
    discussion_id: int = 0
    num: int = 0
    action: str = "update"
    scope: str = "discussion"
    comment_id: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (RepoCreated, RepoUpdated, RepoDeleted, RepoConfigChanged, DiscussionChanged)
}
Handler = Callable[[Event], None]
_subscribers: dict[type[Event], list[Handler]] = defaultdict(list)
# The outbox row being dispatched, so a handler can key idempotent work by it.
_dispatching: ContextVar[int | None] = ContextVar("dispatching_record_id", default=None)


def current_record_id() -> int | None:
    """Id of the outbox row whose subscribers are running (None outside dispatch)."""
    return _dispatching.get()


def subscribe(event_type: type[Event], handler: Handler) -> None:
    if handler not in _subscribers[event_type]:
        _subscribers[event_type].append(handler)


def subscribers(event_type: type[Event]) -> list[Handler]:
    return list(_subscribers[event_type])


def _enqueue(record_id: int) -> None:
    from repos.tasks import dispatch_event  # tasks import this module

    dispatch_event.delay(record_id=record_id)


def publish(event: Event) -> None:
    """Store the event in the outbox within the caller's transaction; dispatch after commit."""
    from repos.models import EventRecord

    record = EventRecord.objects.create(kind=event.kind, payload=asdict(event))
    transaction.on_commit(partial(_enqueue, record.pk), robust=True)


def dispatch(record_id: int) -> None:
    """Hand an outbox row to every subscriber, once it is claimed; safe to call twice."""
    from repos.models import EventRecord

    record = EventRecord.objects.filter(pk=record_id).first()
    if record is None or record.dispatched_at is not None:
        return
    event_type = EVENT_TYPES.get(record.kind)
    if event_type is None:
        logger.warning("unknown event kind %s in outbox row %s", record.kind, record.pk)
    else:
        event = event_type(**record.payload)
        token = _dispatching.set(record.pk)
        try:
            for handler in subscribers(event_type):
                handler(event)
        finally:
            _dispatching.reset(token)
    EventRecord.objects.filter(pk=record.pk, dispatched_at__isnull=True).update(
        dispatched_at=timezone.now()
    )


def sweep(*, older_than: timedelta = timedelta(minutes=1)) -> int:
    """Re-enqueue outbox rows still undispatched after `older_than`; returns how many."""
    from repos.models import EventRecord

    cutoff = timezone.now() - older_than
    ids = list(
        EventRecord.objects.filter(dispatched_at__isnull=True, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
    for record_id in ids:
        _enqueue(record_id)
    return len(ids)
