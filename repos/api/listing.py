"""Pieces of the listing answers (GET /api/models, /api/datasets) that know only repos.

The listing views themselves live in search/api (they query the search backend); they
build each item here, so ModelInfo/DatasetInfo objects have one shape everywhere.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from common.errors import BadRequestError, HubError
from repos.api.info import card_data, repo_files, repo_summary_json, resolve_commit, sibling_json
from repos.extensions import info_extras
from repos.listing import RepoStats
from repos.models import Repo

DEFAULT_PAGE_SIZE = 1000
# Extra fields that cost a git read per repo: only with full=true, cardData=true or expand.
_GIT_FIELDS = {"sha", "siblings", "cardData"}


def page_size() -> int:
    """Items per page: HUB_API_PAGE_SIZE (default and maximum 1000, as on the Hub)."""
    return max(1, min(int(getattr(settings, "API_PAGE_SIZE", DEFAULT_PAGE_SIZE)), 1000))


def parse_limit(raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise BadRequestError("limit must be a positive integer.")
    return int(raw)


def truthy(raw: str | None) -> bool:
    return (raw or "").lower() in ("1", "true")


def _git_fields(repo: Repo, wanted: set[str]) -> dict[str, Any]:
    """sha, siblings and cardData of the default branch's head."""
    try:
        commit = resolve_commit(repo, None)
    except HubError:  # an emptied default branch: list the repo without these fields
        return {}
    out: dict[str, Any] = {"sha": commit}
    if "siblings" in wanted:
        out["siblings"] = [sibling_json(e, blobs=False) for e in repo_files(repo, commit=commit)]
    if "cardData" in wanted:
        out["cardData"] = card_data(repo, commit=commit)
    return out


def listing_items(
    repos: list[Repo], stats: dict[int, RepoStats], *, extra: set[str]
) -> list[dict[str, Any]]:
    """ModelInfo/DatasetInfo-shaped objects (only `id` is required by the client), with
    the fields registered providers add (tags, pipeline_tag, ...: repos/extensions.py)."""
    extras = info_extras(repos)
    items = []
    for repo in repos:
        item = repo_summary_json(repo, stats[repo.pk])
        item.update(extras[repo.pk])
        if "downloadsAllTime" not in extra:
            item.pop("downloadsAllTime")
        if extra & _GIT_FIELDS:
            item.update(_git_fields(repo, extra))
        items.append(item)
    return items
