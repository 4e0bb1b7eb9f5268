"""Pending pushes: recorded once by their request, or reconciled with the refs by the sweep.

The refs are moved here as receive-pack would move them (a compare-and-swap on disk, no
event); a row is "lost" when its request never calls pending_push_record.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orgs.services import user_create
from repos.commits import AddFile, commit_create
from repos.git.store import ZERO_SHA, git_store
from repos.models import EventRecord, PendingPush, Repo, RepoKind
from repos.pushes import (
    pending_push_create,
    pending_push_record,
    pending_push_sweep,
)
from repos.services import repo_create
from repos.tasks import sweep_events

B, C = "b" * 40, "c" * 40
MAIN = "refs/heads/main"
GRACE = timedelta(minutes=2)


@pytest.fixture
def owner(db, data_dir):  # type: ignore[no-untyped-def]
    return user_create(username="alice", password=None)


@pytest.fixture
def repo(owner) -> Repo:  # type: ignore[no-untyped-def]
    return repo_create(actor=owner, namespace=None, name="m", kind=RepoKind.MODEL)


def _head(repo: Repo, ref: str = MAIN) -> str:
    return git_store().refs(repo.storage_key).get(ref, ZERO_SHA)


def _move(repo: Repo, ref: str, new: str) -> None:
    """What receive-pack does once the hook said yes: the ref moves, no event."""
    git_store().update_ref(repo.storage_key, ref, _head(repo, ref), new)


def _push(repo: Repo, owner, *updates: tuple[str, str, str], age: timedelta = GRACE * 2) -> int:  # type: ignore[no-untyped-def]
    """A pending row as the pre-receive hook writes it, `age` old."""
    pending_id = pending_push_create(repo=repo, updates=list(updates), actor=owner)
    PendingPush.objects.filter(pk=pending_id).update(created_at=timezone.now() - age)
    return pending_id


def _published(repo: Repo) -> list[list[tuple[str, str, str]]]:
    """The ref updates of each git repo.updated event of `repo`, oldest first."""
    rows = EventRecord.objects.filter(kind="repo.updated", payload__repo_id=repo.pk).order_by("pk")
    return [
        [(u["ref"], u["old"], u["new"]) for u in r.payload["updates"]]
        for r in rows
        if r.payload["source"] == "git"
    ]


def _state(pending_id: int) -> str:
    return PendingPush.objects.get(pk=pending_id).state


# --- the request records its push -------------------------------------------------------------


def test_the_request_publishes_its_push_once_and_the_sweep_leaves_it(repo, owner) -> None:  # type: ignore[no-untyped-def]
    h = _head(repo)
    pending_id = _push(repo, owner, (h, B, MAIN))
    _move(repo, MAIN, B)
    pending_push_record(pending_id=pending_id, ok_refs={MAIN})
    pending_push_record(pending_id=pending_id, ok_refs={MAIN})  # a second call: nothing more
    assert pending_push_sweep(older_than=GRACE) == 0
    assert _published(repo) == [[(MAIN, h, B)]]
    row = PendingPush.objects.get(pk=pending_id)
    assert (row.state, row.actor_id) == (PendingPush.State.RECORDED, owner.pk)
    assert row.published == [{"ref": MAIN, "old": h, "new": B}]


def test_the_request_publishes_only_refs_reported_ok(repo, owner) -> None:  # type: ignore[no-untyped-def]
    h = _head(repo)
    both = _push(repo, owner, (h, B, MAIN), (ZERO_SHA, C, "refs/tags/v1"))
    pending_push_record(pending_id=both, ok_refs={"refs/tags/v1"})
    refused = _push(repo, owner, (h, C, MAIN))
    pending_push_record(pending_id=refused, ok_refs=set())  # `ng` for every ref: no event
    assert _published(repo) == [[("refs/tags/v1", ZERO_SHA, C)]]
    assert _state(refused) == PendingPush.State.RECORDED


# --- the sweep reconciles what no request recorded ----------------------------------------------


def test_a_lost_push_that_landed_is_published_once(repo, owner) -> None:  # type: ignore[no-untyped-def]
    h = _head(repo)
    pending_id = _push(repo, owner, (h, B, MAIN), (ZERO_SHA, C, "refs/tags/v1"))
    _move(repo, MAIN, B)
    _move(repo, "refs/tags/v1", C)
    assert pending_push_sweep(older_than=GRACE) == 1
    assert pending_push_sweep(older_than=GRACE) == 0
    assert _published(repo) == [[(MAIN, h, B), ("refs/tags/v1", ZERO_SHA, C)]]
    assert _state(pending_id) == PendingPush.State.RECONCILED


def test_a_lost_deletion_that_landed_is_published(repo, owner) -> None:  # type: ignore[no-untyped-def]
    h = _head(repo)
    _move(repo, "refs/heads/dev", h)
    _push(repo, owner, (h, ZERO_SHA, "refs/heads/dev"))
    _move(repo, "refs/heads/dev", ZERO_SHA)
    pending_push_sweep(older_than=GRACE)
    assert _published(repo) == [[("refs/heads/dev", h, ZERO_SHA)]]


def test_a_push_whose_refs_never_moved_is_dropped(repo, owner) -> None:  # type: ignore[no-untyped-def]
    h = _head(repo)
    pending_id = _push(repo, owner, (h, B, MAIN), (ZERO_SHA, C, "refs/tags/v1"))
    assert pending_push_sweep(older_than=GRACE) == 1
    assert _published(repo) == []
    assert _state(pending_id) == PendingPush.State.DROPPED


def test_the_sweep_waits_out_the_grace_period(repo, owner) -> None:  # type: ignore[no-untyped-def]
    pending_id = _push(repo, owner, (_head(repo), B, MAIN), age=timedelta(seconds=5))
    _move(repo, MAIN, B)
    assert pending_push_sweep(older_than=GRACE) == 0
    assert _state(pending_id) == PendingPush.State.PENDING


def test_a_ref_moved_since_with_no_record_is_published_as_it_moved(repo, owner) -> None:  # type: ignore[no-untyped-def]
    h = _head(repo)
    _push(repo, owner, (h, B, MAIN))
    _move(repo, MAIN, C)  # neither the plan nor the old value, and nothing recorded it
    pending_push_sweep(older_than=GRACE)
    assert _published(repo) == [[(MAIN, h, C)]]


def test_a_later_push_built_on_the_lost_one_proves_it_landed(repo, owner) -> None:  # type: ignore[no-untyped-def]
    h = _head(repo)
    lost = _push(repo, owner, (h, B, MAIN))
    _move(repo, MAIN, B)
    later = _push(repo, owner, (B, C, MAIN))
    _move(repo, MAIN, C)
    pending_push_record(pending_id=later, ok_refs={MAIN})
    pending_push_sweep(older_than=GRACE)
    # The later event announced B -> C only; H -> B is the lost push's own step.
    assert _published(repo) == [[(MAIN, B, C)], [(MAIN, h, B)]]
    assert _state(lost) == PendingPush.State.RECONCILED


def test_a_recorded_retry_of_the_same_push_is_not_announced_twice(repo, owner) -> None:  # type: ignore[no-untyped-def]
    h = _head(repo)
    failed = _push(repo, owner, (h, B, MAIN))  # its receive-pack died before the update
    retry = _push(repo, owner, (h, B, MAIN))
    _move(repo, MAIN, B)
    pending_push_record(pending_id=retry, ok_refs={MAIN})
    pending_push_sweep(older_than=GRACE)
    assert _published(repo) == [[(MAIN, h, B)]]
    assert _state(failed) == PendingPush.State.DROPPED


def test_a_later_recorded_force_push_covers_the_ref(repo, owner) -> None:  # type: ignore[no-untyped-def]
    h = _head(repo)
    _push(repo, owner, (h, B, MAIN))
    forced = _push(repo, owner, (h, C, MAIN))
    _move(repo, MAIN, C)
    pending_push_record(pending_id=forced, ok_refs={MAIN})
    pending_push_sweep(older_than=GRACE)
    assert _published(repo) == [[(MAIN, h, C)]]


def test_two_lost_pushes_in_a_row_are_each_published_in_order(repo, owner) -> None:  # type: ignore[no-untyped-def]
    h = _head(repo)
    _push(repo, owner, (h, B, MAIN))
    _move(repo, MAIN, B)
    _push(repo, owner, (B, C, MAIN))
    _move(repo, MAIN, C)
    assert pending_push_sweep(older_than=GRACE) == 2
    assert _published(repo) == [[(MAIN, h, B)], [(MAIN, B, C)]]


def test_a_commit_api_change_after_a_failed_push_covers_the_ref(repo, owner) -> None:  # type: ignore[no-untyped-def]
    h = _head(repo)
    lost = _push(repo, owner, (h, B, MAIN))  # never moved: the commit below starts from h
    commit_create(
        actor=owner,
        repo=repo,
        revision="main",
        operations=[AddFile("a.txt", b"a")],
        summary="api",
    )
    assert _head(repo) not in (h, B)
    pending_push_sweep(older_than=GRACE)
    assert _published(repo) == []
    assert _state(lost) == PendingPush.State.DROPPED


# --- the request and the sweep meet ----------------------------------------------------------


def test_a_request_slower_than_the_grace_period_still_publishes(repo, owner) -> None:  # type: ignore[no-untyped-def]
    h = _head(repo)
    pending_id = _push(repo, owner, (h, B, MAIN))
    pending_push_sweep(older_than=GRACE)  # the refs had not moved yet: dropped
    _move(repo, MAIN, B)
    pending_push_record(pending_id=pending_id, ok_refs={MAIN})  # its report says ok
    assert _published(repo) == [[(MAIN, h, B)]]
    assert _state(pending_id) == PendingPush.State.RECORDED


def test_a_request_after_the_sweep_published_adds_nothing(repo, owner) -> None:  # type: ignore[no-untyped-def]
    h = _head(repo)
    pending_id = _push(repo, owner, (h, B, MAIN))
    _move(repo, MAIN, B)
    pending_push_sweep(older_than=GRACE)
    pending_push_record(pending_id=pending_id, ok_refs={MAIN})
    assert _published(repo) == [[(MAIN, h, B)]]


def test_finished_rows_are_kept_a_week_then_deleted(repo, owner) -> None:  # type: ignore[no-untyped-def]
    h = _head(repo)
    old = _push(repo, owner, (h, B, MAIN))
    pending_push_record(pending_id=old, ok_refs=set())
    PendingPush.objects.filter(pk=old).update(finished_at=timezone.now() - timedelta(days=8))
    recent = _push(repo, owner, (h, C, MAIN))
    pending_push_record(pending_id=recent, ok_refs=set())
    waiting = _push(repo, owner, (h, C, MAIN), age=timedelta(days=30))
    _move(repo, MAIN, C)
    pending_push_sweep(older_than=GRACE)
    assert set(PendingPush.objects.values_list("pk", flat=True)) == {recent, waiting}


def test_the_event_sweep_task_reconciles_pushes(repo, owner, settings) -> None:  # type: ignore[no-untyped-def]
    settings.PUSH_RECONCILE_GRACE_SECONDS = 0
    h = _head(repo)
    _push(repo, owner, (h, B, MAIN), age=timedelta(seconds=1))
    _move(repo, MAIN, B)
    sweep_events()
    assert _published(repo) == [[(MAIN, h, B)]]


def test_deleting_the_repo_deletes_its_pending_pushes(repo, owner) -> None:  # type: ignore[no-untyped-def]
    _push(repo, owner, (_head(repo), B, MAIN))
    Repo.objects.filter(pk=repo.pk).delete()
    assert not PendingPush.objects.exists()
    assert pending_push_sweep(older_than=GRACE) == 0
