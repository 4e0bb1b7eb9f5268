"""The events outbox: written in the caller's transaction, dispatched after commit, swept."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from repos import events
from repos.models import EventRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def received(monkeypatch) -> list[events.Event]:  # type: ignore[no-untyped-def]
    """Events delivered to a test subscriber (the real subscribers are set aside)."""
    monkeypatch.setattr(events, "_subscribers", defaultdict(list))
    seen: list[events.Event] = []
    events.subscribe(events.RepoUpdated, seen.append)
    events.subscribe(events.RepoCreated, seen.append)
    return seen


def _updated(repo_id: int = 7) -> events.RepoUpdated:
    return events.RepoUpdated(
        repo_id=repo_id,
        full_name="ns/name",
        repo_kind="model",
        source="git",
        updates=[{"ref": "refs/heads/main", "old": "a" * 40, "new": "b" * 40}],
    )


def test_publish_writes_a_row_and_dispatches_only_after_commit(
    received,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    event = _updated()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        events.publish(event)
        record = EventRecord.objects.get()
        assert record.kind == "repo.updated"
        assert record.payload["updates"] == event.updates
        assert record.dispatched_at is None
        assert received == []  # nothing leaves before the transaction commits
    assert len(callbacks) == 1
    assert received == [event]
    record.refresh_from_db()
    assert record.dispatched_at is not None


def test_a_rolled_back_transaction_publishes_nothing(
    received,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    def failing_write() -> None:
        with transaction.atomic():
            events.publish(_updated())
            raise RuntimeError("the write failed")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        failing_write()
    assert callbacks == []
    assert not EventRecord.objects.exists()
    assert received == []


def test_dispatch_is_idempotent(received) -> None:  # type: ignore[no-untyped-def]
    events.publish(_updated())  # on_commit never fires inside the test transaction
    record = EventRecord.objects.get()
    events.dispatch(record.pk)
    events.dispatch(record.pk)
    assert received == [_updated()]
    first = EventRecord.objects.get().dispatched_at
    events.dispatch(record.pk)
    assert EventRecord.objects.get().dispatched_at == first
    assert len(received) == 1
    events.dispatch(record.pk + 1000)  # a missing row is ignored


def test_a_failing_subscriber_leaves_the_row_for_the_sweep(received) -> None:  # type: ignore[no-untyped-def]
    def broken(event: events.Event) -> None:
        raise ConnectionError("broker down")

    events.subscribe(events.RepoUpdated, broken)
    events.publish(_updated())
    record = EventRecord.objects.get()
    with pytest.raises(ConnectionError):
        events.dispatch(record.pk)
    assert EventRecord.objects.get().dispatched_at is None


def test_unknown_kinds_are_marked_dispatched(received) -> None:  # type: ignore[no-untyped-def]
    record = EventRecord.objects.create(kind="repo.exploded", payload={"repo_id": 1})
    events.dispatch(record.pk)
    assert EventRecord.objects.get().dispatched_at is not None
    assert received == []


def test_sweep_re_enqueues_old_undispatched_rows_only(received) -> None:  # type: ignore[no-untyped-def]
    events.publish(_updated(1))  # old and lost: swept
    events.publish(_updated(2))  # recent: its on-commit dispatch may still be under way
    events.publish(_updated(3))  # old but already dispatched
    lost, recent, done = EventRecord.objects.order_by("pk")
    an_hour_ago = timezone.now() - timedelta(hours=1)
    EventRecord.objects.filter(pk__in=[lost.pk, done.pk]).update(created_at=an_hour_ago)
    EventRecord.objects.filter(pk=done.pk).update(dispatched_at=an_hour_ago)

    assert events.sweep() == 1  # tasks run eagerly in tests: dispatched right away
    assert [e.repo_id for e in received] == [1]
    assert EventRecord.objects.get(pk=lost.pk).dispatched_at is not None
    assert EventRecord.objects.get(pk=recent.pk).dispatched_at is None
    assert events.sweep() == 0
    assert events.sweep(older_than=timedelta(0)) == 1
    assert sorted(e.repo_id for e in received) == [1, 2]


def test_payload_round_trips_every_event_type(received) -> None:  # type: ignore[no-untyped-def]
    samples = [
        events.RepoCreated(repo_id=1, full_name="a/b", repo_kind="dataset", head_sha="c" * 40),
        _updated(),
        events.RepoDeleted(repo_id=1, full_name="a/b"),
        events.RepoConfigChanged(repo_id=1, full_name="a/b", changes={"private": True}),
    ]
    for event in samples:
        events.publish(event)
    rows = list(EventRecord.objects.order_by("pk"))
    assert [r.kind for r in rows] == ["repo.created", "repo.updated", "repo.deleted", "repo.config"]
    for row, event in zip(rows, samples, strict=True):
        assert events.EVENT_TYPES[row.kind](**row.payload) == event
