"""Indexing services: read a commit's card and files, write RepoMetadata and tags, feed the backend.

`repo_index` is what the Celery tasks call. It is idempotent and safe to run late: it
reloads the repo, and a task naming a commit that is no longer the default branch's
head does nothing (the newer push has its own task). Reading git happens before the
transaction that writes the rows (STYLE.md 2.5: no I/O in long transactions).
"""

from __future__ import annotations

import logging

from django.db import transaction

from common.errors import HubError
from repos.files import FileEntry, list_entries, read_small_blobs
from repos.git.store import git_store
from repos.models import Repo
from search.backends import search_backend
from search.backends.base import facet_tag
from search.cards import INFERENCE_FILES, CardMetadata, extract_metadata
from search.models import RepoMetadata, RepoTag
from search.stats import stats_refresh

logger = logging.getLogger(__name__)

README = "README.md"
MAX_README_BYTES = 5 * 1024 * 1024


def head_sha(repo: Repo) -> str:
    """The default branch's commit, or "" when the branch does not exist (emptied repo)."""
    try:
        return git_store().resolve(repo.storage_key, repo.default_branch)
    except HubError:
        return ""


def commit_metadata(repo: Repo, commit: str) -> CardMetadata:
    """Card metadata of one commit; hostile or unreadable content becomes warnings."""
    if not commit:
        return CardMetadata()
    try:
        entries = [e for e in list_entries(repo, commit=commit, recursive=True) if e.type == "file"]
    except HubError:
        return CardMetadata(warnings=["The files of this revision could not be read."])
    by_path = {e.path: e for e in entries}
    readme, warnings = _readme(repo, by_path.get(README))
    wanted = [by_path[name] for name in INFERENCE_FILES if _small(by_path.get(name))]
    blobs = read_small_blobs(repo, [e.oid for e in wanted]) if wanted else {}
    small = {e.path: blobs[e.oid] for e in wanted if e.oid in blobs}
    meta = extract_metadata(kind=repo.kind, readme=readme, files=list(by_path), small_files=small)
    meta.warnings[:0] = warnings
    return meta


def _small(entry: FileEntry | None) -> bool:
    return entry is not None and entry.lfs is None and entry.size <= 256 * 1024


def _readme(repo: Repo, entry: FileEntry | None) -> tuple[str | None, list[str]]:
    if entry is None:
        return None, []
    if entry.lfs is not None:
        return None, ["README.md is stored with Git LFS: its metadata is not read."]
    if entry.size > MAX_README_BYTES:
        return None, [f"README.md is larger than {MAX_README_BYTES // 2**20} MiB: not indexed."]
    data = git_store().read_blob(repo.storage_key, entry.oid)
    return data.decode("utf-8", "replace"), []


def _tag_rows(repo: Repo, meta: CardMetadata) -> list[RepoTag]:
    rows: dict[tuple[str, str], RepoTag] = {}
    for facet, values in meta.facet_values(repo.kind).items():
        for value in values:
            tag = facet_tag(repo.kind, facet, value)[:255]
            rows[(tag, facet)] = RepoTag(repo=repo, tag=tag, facet=facet, value=value[:255])
    for tag in meta.tags:
        covered = any(key[0] == tag[:255] for key in rows)
        if not covered:
            rows[(tag[:255], "")] = RepoTag(repo=repo, tag=tag[:255])
    return list(rows.values())


def _tags_replace(repo: Repo, rows: list[RepoTag]) -> None:
    """Make the repo's tag rows `rows`, touching only those that change: each written or
    deleted row moves a maintained facet count (search/counts.py), and a reindex that
    changes nothing should not lock those counts."""
    wanted = {(r.tag, r.facet): r for r in rows}
    stale = []
    for pk, tag, facet, value in RepoTag.objects.filter(repo=repo).values_list(
        "pk", "tag", "facet", "value"
    ):
        row = wanted.get((tag, facet))
        if row is not None and row.value == value:
            del wanted[(tag, facet)]
        else:
            stale.append(pk)
    if stale:
        RepoTag.objects.filter(pk__in=stale).delete()
    # In one order, so two transactions take the counts' row locks in the same order.
    RepoTag.objects.bulk_create(sorted(wanted.values(), key=lambda r: (r.facet, r.value, r.tag)))


def metadata_save(*, repo: Repo, sha: str, meta: CardMetadata) -> RepoMetadata:
    """Write the repo's row and tags (replacing the old ones) in one transaction."""
    row = RepoMetadata(
        repo=repo,
        kind=repo.kind,
        indexed_sha=sha,
        full_id=repo.full_name,
        description=repo.description,
        created_at=repo.created_at,
        last_modified=repo.last_modified,
        card_text=meta.card_text,
        card_data=meta.card_data,
        tags=meta.tags,
        library=meta.library[:200],
        pipeline_tag=meta.pipeline_tag[:200],
        license=meta.license[:200],
        languages=meta.languages,
        datasets=meta.datasets,
        base_models=meta.base_models,
        base_model_relation=meta.base_model_relation,
        task_categories=meta.task_categories,
        size_categories=meta.size_categories,
        eval_results=meta.eval_results,
        warnings=meta.warnings,
    )
    with transaction.atomic():
        existing = RepoMetadata.objects.select_for_update().filter(pk=repo.pk).first()
        if existing is not None:  # keep the sort keys: the refresh below recomputes them
            row.likes, row.downloads = existing.likes, existing.downloads
            row.downloads_all_time = existing.downloads_all_time
            row.trending_score, row.stats_at = existing.trending_score, existing.stats_at
        row.save()
        _tags_replace(repo, _tag_rows(repo, meta))
        stats_refresh(repo_ids=[repo.pk])
    return row


def repo_index(*, repo_id: int, sha: str | None = None) -> bool:
    """(Re)index one repo from its default branch; returns whether anything was written.

    `sha` is the commit the caller saw pushed: when the branch has moved on since, this
    call is stale and does nothing. Without `sha` (creation, rename, visibility change,
    `hubforge reindex`) the current head is indexed. A deleted repo is removed.
    """
    repo = Repo.objects.select_related("owner").filter(pk=repo_id).first()
    if repo is None:
        repo_unindex(repo_id=repo_id)
        return False
    head = head_sha(repo)
    if sha is not None and sha != head:
        return False
    meta = commit_metadata(repo, head)
    metadata_save(repo=repo, sha=head, meta=meta)
    search_backend().index(repo_ids=[repo.pk])
    return True


def repo_unindex(*, repo_id: int) -> None:
    """Drop a deleted repo from the backend (its rows went with the repo's cascade)."""
    RepoMetadata.objects.filter(pk=repo_id).delete()
    search_backend().remove(repo_id=repo_id)


def index_all(*, batch: int = 200) -> int:
    """Re-read every repo's card into the database rows; returns the number of repos."""
    done = 0
    ids = Repo.objects.order_by("pk").values_list("pk", flat=True)
    for repo_id in ids.iterator(batch):
        try:
            repo = Repo.objects.select_related("owner").get(pk=repo_id)
        except Repo.DoesNotExist:
            continue
        head = head_sha(repo)
        metadata_save(repo=repo, sha=head, meta=commit_metadata(repo, head))
        done += 1
    return done
