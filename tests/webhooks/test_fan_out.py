"""A repo event's fan-out is written down before its task is queued, so a broker that loses
the task (a Redis restart without persistence) loses no delivery: the sweep queues it again."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

import pytest
from django.utils import timezone

from orgs.models import User
from tests.webhooks.helpers import push_event
from webhooks import dispatch
from webhooks.dispatch import deliveries_sweep, fan_out_enqueue
from webhooks.models import Delivery, FanOut
from webhooks.services import webhook_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir", "local_targets")]


@pytest.fixture
def watching(alice: User) -> None:
    # Port 9 (discard) refuses: the deliveries stay pending for a retry, which is all we need.
    webhook_create(
        actor=alice, url="http://127.0.0.1:9/", watched=[{"type": "user", "name": "alice"}]
    )


@pytest.fixture
def lost_tasks(monkeypatch: pytest.MonkeyPatch) -> list[dict]:  # type: ignore[type-arg]
    """The fan-out task goes to a broker that forgets it (nothing runs)."""
    from webhooks.tasks import fan_out_event

    sent: list[dict] = []  # type: ignore[type-arg]
    monkeypatch.setattr(fan_out_event, "delay", lambda **kw: sent.append(kw))
    return sent


def test_the_fan_out_is_recorded_then_marked_done_by_its_task(alice, repo, watching) -> None:  # type: ignore[no-untyped-def]
    event = push_event(repo)
    fan_out_enqueue(event=event)  # tasks run inline in these tests
    row = FanOut.objects.get()
    assert (row.kind, row.payload, row.done_at is not None) == (event.kind, asdict(event), True)
    assert Delivery.objects.count() == 1
    fan_out_enqueue(event=event)  # a re-dispatched outbox row: done already, nothing queued
    assert (FanOut.objects.count(), Delivery.objects.count()) == (1, 1)


def test_a_fan_out_lost_with_the_broker_is_queued_again_by_the_sweep(
    alice, repo, watching, lost_tasks, settings
) -> None:  # type: ignore[no-untyped-def]
    fan_out_enqueue(event=push_event(repo))
    assert len(lost_tasks) == 1
    assert Delivery.objects.count() == 0  # the task never ran
    row = FanOut.objects.get()
    assert row.done_at is None
    deliveries_sweep()  # too early: the task may still be on its way
    assert len(lost_tasks) == 1
    later = timezone.now() + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS + 1)
    deliveries_sweep(now=later)
    assert len(lost_tasks) == 2
    assert lost_tasks[1] == lost_tasks[0]  # the same kind, payload and key
    # The re-queued task runs (on a broker that keeps it this time): deliveries exist once.
    from webhooks.tasks import fan_out_event

    assert fan_out_event.run(**lost_tasks[1]) == 1
    assert fan_out_event.run(**lost_tasks[1]) == 0
    assert Delivery.objects.count() == 1
    assert FanOut.objects.get().done_at is not None
    deliveries_sweep(now=later + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS + 1))
    assert len(lost_tasks) == 2  # done: never queued again


def test_finished_fan_outs_are_forgotten_after_a_day(alice, repo, watching) -> None:  # type: ignore[no-untyped-def]
    fan_out_enqueue(event=push_event(repo))
    deliveries_sweep(now=timezone.now() + dispatch.FAN_OUT_KEEP - timedelta(minutes=1))
    assert FanOut.objects.count() == 1
    deliveries_sweep(now=timezone.now() + dispatch.FAN_OUT_KEEP + timedelta(minutes=1))
    assert FanOut.objects.count() == 0


def test_the_handler_subscribed_to_repo_events_records_the_fan_out(
    alice,
    watching,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    from repos.services import repo_create

    with django_capture_on_commit_callbacks(execute=True):
        repo = repo_create(actor=alice, namespace="alice", name="fresh", kind="model")
    row = FanOut.objects.get()
    assert row.key.startswith("evt:")
    assert row.payload["repo_id"] == repo.pk
    assert row.done_at is not None
