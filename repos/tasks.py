"""Background work owned by repos: event dispatch and housekeeping."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from repos import events


@shared_task
def dispatch_event(*, record_id: int) -> None:
    """Run the subscribers of one outbox event; idempotent (a dispatched row is skipped)."""
    events.dispatch(record_id)


@shared_task
def sweep_events() -> int:
    """Reconcile git pushes their requests did not record, then re-enqueue events whose
    on-commit dispatch was lost (broker down, process killed); idempotent."""
    from repos.pushes import pending_push_sweep

    grace = timedelta(seconds=settings.PUSH_RECONCILE_GRACE_SECONDS)
    return pending_push_sweep(older_than=grace) + events.sweep()


@shared_task
def sweep_stale_locks() -> int:
    """Remove git ref lock files left behind by killed processes."""
    from repos.git.store import git_store

    return git_store().remove_stale_locks()


@shared_task
def refresh_repo_usage(*, repo_id: int) -> None:
    """Re-measure one repo's git objects (after a push or commit); idempotent."""
    from repos.quotas import repo_usage_refresh

    repo_usage_refresh(repo_id=repo_id)


@shared_task
def sweep_storage_usage() -> int:
    """Measure repos never measured and re-measure the oldest figures (a bounded batch)."""
    from repos.quotas import usage_sweep

    return usage_sweep()
