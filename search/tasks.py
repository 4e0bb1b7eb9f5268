"""Search's Celery tasks: idempotent, safe late (a task for an old commit does nothing)."""

from __future__ import annotations

from celery import shared_task
from django.db import OperationalError
from elastic_transport import ConnectionError as EsConnectionError
from elastic_transport import ConnectionTimeout

from search.indexer import repo_index, repo_unindex
from search.stats import stats_refresh

# Elasticsearch down or slow, a deadlock between two index transactions over the same
# facet counts (PostgreSQL aborts one) or a busy SQLite: retried with backoff; anything
# else is a bug to see in logs.
TRANSIENT = (EsConnectionError, ConnectionTimeout, OperationalError)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def index_repo(*, repo_id: int, sha: str | None = None) -> bool:
    return repo_index(repo_id=repo_id, sha=sha)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def index_repo_refs(*, repo_id: int, updates: list[dict[str, str]]) -> bool:
    """After a push: reindex when the default branch moved (to the commit it moved to)."""
    from repos.models import Repo
    from search.models import RepoMetadata

    repo = Repo.objects.filter(pk=repo_id).only("default_branch", "last_modified").first()
    if repo is None:
        repo_unindex(repo_id=repo_id)
        return False
    # Any push bumps lastModified, which the listing sorts on.
    RepoMetadata.objects.filter(pk=repo_id).update(last_modified=repo.last_modified)
    ref = f"refs/heads/{repo.default_branch}"
    moved = [u for u in updates if u.get("ref") == ref]
    if not moved:
        return False  # another branch, a tag, a PR ref: the card on the default branch is as is
    new = moved[-1].get("new", "")
    return repo_index(repo_id=repo_id, sha="" if set(new) <= {"0"} else new)


@shared_task(autoretry_for=TRANSIENT, retry_backoff=True, max_retries=8)
def unindex_repo(*, repo_id: int) -> None:
    repo_unindex(repo_id=repo_id)


@shared_task
def refresh_stats() -> int:
    """Every few minutes (beat): trending decays with time, and downloads have no event."""
    from search.backends import search_backend
    from search.counts import facet_counts_rebuild
    from search.models import RepoMetadata

    written = stats_refresh()
    facet_counts_rebuild()  # exact already (triggers); this heals anything done behind them
    backend = search_backend()
    if backend.name != "db":  # the database backend reads the rows themselves
        ids = list(RepoMetadata.objects.values_list("pk", flat=True))
        for i in range(0, len(ids), 500):
            backend.index(repo_ids=ids[i : i + 500])
    return written
