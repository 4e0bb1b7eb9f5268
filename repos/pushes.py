"""Git pushes become events at least once: a pending row before the refs move, reconciled.

receive-pack moves the refs; the hub learns what moved from its report, after the response
is sent (repos/git/http.py). Between the two, a failed database write or a killed process
would leave a push with no `repo.updated` event, so:

1. When the pre-receive hook approves a push, `pending_push_create` commits a PendingPush
   row (repo, ref updates old -> new, actor, token, time) before receive-pack moves a ref.
2. After the response, `pending_push_record` publishes one RepoUpdated for the refs the
   report says moved and marks the row `recorded`, in one transaction.
3. The event sweep (repos.tasks.sweep_events, every minute in both profiles) calls
   `pending_push_sweep`: a row still `pending` after a grace period is reconciled with the
   refs on disk, oldest first, each in its own transaction.

Reconciling one planned update U = (ref, old -> new) of a pending row P. `current` is the
ref now (zeros when absent); `later` are the updates of that ref made after P: what later
pushes published (`recorded`, `reconciled` rows) or plan (`pending` rows), and the ref's
updates in `repo.updated` events of other sources (commit API, branch/tag endpoints, merges)
created after P.

- No later update of the ref:
  - current == new: the push landed -> publish U.
  - current == old: it never moved (rejected, failed, killed before the update) -> nothing.
  - otherwise it moved with no record at all -> publish what happened: ref, old -> current.
- Some later update starts from `new` (its old == U.new): U landed and was built on
  -> publish U (the later event announces only its own step).
- Otherwise the later updates account for the ref (a retry of the same push, a reset,
  another branch tip): whatever U did is covered by them -> nothing.

The row's state is the claim, taken under a row lock (SELECT FOR UPDATE on PostgreSQL; the
SQLite profile's IMMEDIATE transactions serialize writers): a `recorded` or `reconciled` row
is never published again, so a push recorded by its request is never announced twice. If the
request turns up after the sweep (it was slower than the grace period), it publishes the refs
the sweep did not announce, per ref name, and nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from orgs.models import User
from repos import events
from repos.discussions import pr_record_push
from repos.git.store import ZERO_SHA, git_store
from repos.models import EventRecord, PendingPush, Repo
from repos.services import repo_record_push

logger = logging.getLogger(__name__)

Update = dict[str, str]  # {"ref", "old", "new"}
_FINISHED = (
    PendingPush.State.RECORDED,
    PendingPush.State.RECONCILED,
    PendingPush.State.DROPPED,
)


def pending_push_create(
    *, repo: Repo, updates: Iterable[tuple[str, str, str]], actor: User | AnonymousUser | None
) -> int:
    """Commit the row for an approved push (pre-receive, before any ref moves); its id."""
    user = actor if isinstance(actor, User) else None
    token = getattr(user, "access_token", None)
    row = PendingPush.objects.create(
        repo=repo,
        updates=[{"ref": ref, "old": old, "new": new} for old, new, ref in updates],
        actor=user,
        token_id=getattr(token, "pk", None),
    )
    return row.pk


def pending_push_record(*, pending_id: int, ok_refs: set[str], repo: Repo | None = None) -> None:
    """After receive-pack: publish the updates it reported `ok` and mark the row recorded.

    Idempotent: a recorded row is left alone; after the sweep, only refs it did not announce."""
    with transaction.atomic():
        row = PendingPush.objects.select_for_update().filter(pk=pending_id).first()
        if row is None or row.state == PendingPush.State.RECORDED:
            return  # the repo is gone, or this ran already
        announced = {u["ref"] for u in row.published}
        updates = [u for u in row.updates if u["ref"] in ok_refs and u["ref"] not in announced]
        if repo is None or repo.pk != row.repo_id:
            repo = Repo.objects.select_related("owner").get(pk=row.repo_id)
        _publish(repo=repo, row=row, updates=updates)
        row.state = PendingPush.State.RECORDED
        row.published = [*row.published, *updates]
        row.finished_at = timezone.now()
        row.save(update_fields=["state", "published", "finished_at"])


def pending_push_sweep(
    *, older_than: timedelta, keep: timedelta = timedelta(days=7), limit: int = 200
) -> int:
    """Reconcile pending rows older than `older_than` with the refs on disk (oldest first) and
    delete finished rows older than `keep`; returns how many rows were reconciled."""
    now = timezone.now()
    PendingPush.objects.filter(state__in=_FINISHED, finished_at__lt=now - keep).delete()
    ids = list(
        PendingPush.objects.filter(state=PendingPush.State.PENDING, created_at__lt=now - older_than)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for pending_id in ids:
        try:
            done += pending_push_reconcile(pending_id=pending_id)
        except Exception:  # one broken row (a repo folder gone) must not block the others
            logger.exception("reconciling pending push %s failed", pending_id)
    return done


def pending_push_reconcile(*, pending_id: int) -> int:
    """Publish what a pending push really did (module docstring); 1 if this call settled it."""
    repo_id = PendingPush.objects.filter(pk=pending_id).values_list("repo_id", flat=True).first()
    if repo_id is None:
        return 0
    repo = Repo.objects.select_related("owner").filter(pk=repo_id).first()
    if repo is None:
        return 0  # deleted meanwhile: its rows went with it
    refs = git_store().refs(repo.storage_key)  # read before the lock: the refs have settled
    with transaction.atomic():
        row = PendingPush.objects.select_for_update().filter(pk=pending_id).first()
        if row is None or row.state != PendingPush.State.PENDING:
            return 0  # its request recorded it meanwhile
        updates = reconcile_updates(row=row, refs=refs)
        _publish(repo=repo, row=row, updates=updates)
        row.state = PendingPush.State.RECONCILED if updates else PendingPush.State.DROPPED
        row.published = updates
        row.finished_at = timezone.now()
        row.save(update_fields=["state", "published", "finished_at"])
    logger.warning(
        "push %s to %s was not recorded by its request; reconciled: %s",
        row.pk,
        repo.full_name,
        updates or "nothing moved",
    )
    return 1


def reconcile_updates(*, row: PendingPush, refs: dict[str, str]) -> list[Update]:
    """The updates to publish for a pending row, given the repo's refs now (the rule above)."""
    later = _later_updates(row=row, refs={u["ref"] for u in row.updates})
    out: list[Update] = []
    for u in row.updates:
        ref, old, new = u["ref"], u["old"], u["new"]
        current = refs.get(ref, ZERO_SHA)
        after = later.get(ref, [])
        if not after:
            if current == new:
                out.append({"ref": ref, "old": old, "new": new})
            elif current != old:
                out.append({"ref": ref, "old": old, "new": current})
        elif any(v["old"] == new for v in after):
            out.append({"ref": ref, "old": old, "new": new})
    return out


def _later_updates(*, row: PendingPush, refs: set[str]) -> dict[str, list[Update]]:
    """Updates of `refs` in the same repo made after `row`: later pushes (published, or
    planned while pending) and other sources' repo.updated events."""
    found: dict[str, list[Update]] = {}
    later_pushes = PendingPush.objects.filter(repo_id=row.repo_id, pk__gt=row.pk).exclude(
        state=PendingPush.State.DROPPED
    )
    for state, planned, published in later_pushes.values_list("state", "updates", "published"):
        for u in planned if state == PendingPush.State.PENDING else published:
            if u.get("ref") in refs:
                found.setdefault(u["ref"], []).append(u)
    # Pushes are accounted for by their rows; the sweep's own events would look "later".
    others = (
        EventRecord.objects.filter(
            kind=events.RepoUpdated.kind,
            created_at__gte=row.created_at,
            payload__repo_id=row.repo_id,
        )
        .filter(~Q(payload__source="git"))
        .values_list("payload", flat=True)
    )
    for payload in others:
        for u in payload.get("updates", []):
            if u.get("ref") in refs:
                found.setdefault(u["ref"], []).append(u)
    return found


def _publish(*, repo: Repo, row: PendingPush, updates: list[Update]) -> None:
    """One RepoUpdated for `updates`, and pushed commits in their pull requests' timelines."""
    if not updates:
        return
    repo_record_push(
        repo=repo,
        updates=[events.RefUpdate(ref=u["ref"], old=u["old"], new=u["new"]) for u in updates],
        source="git",
    )
    actor = row.actor
    if actor is None:
        return
    for u in updates:
        if u["ref"].startswith("refs/pr/"):
            pr_record_push(actor=actor, repo=repo, ref=u["ref"], old=u["old"], new=u["new"])
