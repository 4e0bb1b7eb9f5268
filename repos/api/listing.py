"""GET /api/models and /api/datasets (list_models / list_datasets), paginated with `Link`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import BadRequestError, HubError
from repos.api.common import next_link
from repos.api.info import card_data, repo_files, repo_summary_json, resolve_commit, sibling_json
from repos.listing import ListingQuery, RepoStats, repo_list
from repos.models import Repo, RepoKind

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


def _truthy(raw: str | None) -> bool:
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


def listing_item(repo: Repo, stats: RepoStats, *, extra: set[str]) -> dict[str, Any]:
    """A ModelInfo/DatasetInfo-shaped object; only `id` is required by the client."""
    item = repo_summary_json(repo, stats)
    if "downloadsAllTime" not in extra:
        item.pop("downloadsAllTime")
    if extra & _GIT_FIELDS:
        item.update(_git_fields(repo, extra))
    return item


class RepoListApi(APIView):
    """huggingface_hub list_models / list_datasets -> GET /api/models, GET /api/datasets.

    `search` (substring of the id; repeated for datasets: all must match), `author`,
    `filter` (repeated; all must be tags), `sort` (descending; legacy `direction=-1`, and
    `direction=1` ascending), `limit` (total), `full`, `cardData`, `expand` (repeated),
    `gated`. The client follows `Link: <url>; rel="next"` (utils/_pagination.py).
    """

    kind: str = RepoKind.MODEL

    def get(self, request: Request) -> Response:
        q = request.query_params
        direction = q.get("direction", "-1")
        if direction not in ("-1", "1"):
            raise BadRequestError("direction must be -1 or 1.")
        gated = q.get("gated")
        query = ListingQuery(
            kind=self.kind,
            search=tuple(q.getlist("search")),
            author=q.get("author") or None,
            tags=tuple(q.getlist("filter")),
            gated=None if gated in (None, "") else _truthy(gated),
            sort=q.get("sort") or "createdAt",
            descending=direction == "-1",
        )
        limit = parse_limit(q.get("limit"))
        size = min(page_size(), limit) if limit else page_size()
        page = repo_list(user=request.user, query=query, size=size, cursor=q.get("cursor"))
        extra = set(q.getlist("expand"))
        if _truthy(q.get("full")):
            extra |= {"sha", "siblings", "downloadsAllTime"}
        if _truthy(q.get("cardData")):
            extra.add("cardData")
        items = [listing_item(r, page.stats[r.pk], extra=extra) for r in page.repos]
        response = Response(items)
        remaining = None if limit is None else limit - len(items)
        if page.next_cursor and (remaining is None or remaining > 0):
            response["Link"] = next_link(
                request,
                cursor=page.next_cursor,
                limit=None if remaining is None else str(remaining),
            )
        return response


class ModelListApi(RepoListApi):
    kind = RepoKind.MODEL


class DatasetListApi(RepoListApi):
    kind = RepoKind.DATASET
