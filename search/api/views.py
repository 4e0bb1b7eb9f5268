"""Listing and search API: list_models / list_datasets, facet counts, quick search."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import BadRequestError
from repos.api.common import next_link
from repos.api.listing import listing_items, page_size, parse_limit, truthy
from repos.models import RepoKind
from search.backends.base import SearchQuery
from search.params import query_from_params
from search.selectors import repo_facets, repo_search

MAX_PER_FACET = 100
QUICK_LIMIT = 5


class RepoListApi(APIView):
    """huggingface_hub list_models / list_datasets -> GET /api/models, GET /api/datasets.

    `search` (substring of the id; repeated for datasets: all must match), `author`,
    `filter` (repeated; all must be tags, e.g. `license:mit`, `dataset:x`, `pytorch`),
    `pipeline_tag`, `library`, `language`, `license` (a facet value each), `q` (full text
    over name, description and card: a Hubforge extension), `sort` (descending; legacy
    `direction=-1`, and `direction=1` ascending), `limit` (total), `full`, `cardData`,
    `expand` (repeated), `gated`. The client follows `Link: <url>; rel="next"`.
    """

    kind: str = RepoKind.MODEL

    def get(self, request: Request) -> Response:
        q = request.query_params
        query = query_from_params(self.kind, q)
        limit = parse_limit(q.get("limit"))
        size = min(page_size(), limit) if limit else page_size()
        page = repo_search(user=request.user, query=query, size=size, cursor=q.get("cursor"))
        extra = set(q.getlist("expand"))
        if truthy(q.get("full")):
            extra |= {"sha", "siblings", "downloadsAllTime"}
        if truthy(q.get("cardData")):
            extra.add("cardData")
        response = Response(listing_items(page.repos, page.stats, extra=extra))
        remaining = None if limit is None else limit - len(page.repos)
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


def _per_facet(raw: str | None) -> int:
    if raw in (None, ""):
        return 10
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PER_FACET:
        raise BadRequestError(f"per_facet must be between 1 and {MAX_PER_FACET}.")
    return int(raw)


def facets_json(kind: str, request: Request) -> dict[str, Any]:
    q = request.query_params
    query = query_from_params(kind, q)
    found = repo_facets(user=request.user, query=query, per_facet=_per_facet(q.get("per_facet")))
    return {
        "total": found.total,
        # Counts estimated from a sample of the matches (large result sets): search/README.md.
        "approximate": found.approximate,
        "facets": {
            name: [{"value": c.value, "count": c.count, "tag": c.tag} for c in counts]
            for name, counts in found.by_facet.items()
        },
    }


class RepoFacetsApi(APIView):
    """GET /api/{models|datasets}/facets?<listing parameters>&per_facet=10 (Hubforge).

    How many repos the viewer may read match the query, and the most common values of
    each facet among them: `{"total": n, "approximate": false, "facets": {"task":
    [{"value", "count", "tag"}]}}`. Past 1,000 matches of a narrowed query the numbers are
    estimates (`approximate` true); the listing itself is always exact.
    `tag` is the `filter=` value that narrows the listing to that value.
    """

    kind: str = RepoKind.MODEL

    def get(self, request: Request) -> Response:
        return Response(facets_json(self.kind, request))


class ModelFacetsApi(RepoFacetsApi):
    kind = RepoKind.MODEL


class DatasetFacetsApi(RepoFacetsApi):
    kind = RepoKind.DATASET


class ModelTagsByTypeApi(APIView):
    """GET /api/models-tags-by-type (the Hub's tag catalogue), from the readable repos.

    `{"pipeline_tag": [{"id", "label", "type", "count"}], "library": [...], ...}`.
    """

    TYPES = {"task": "pipeline_tag", "library": "library", "license": "license",
             "language": "language", "dataset": "dataset"}  # fmt: skip

    def get(self, request: Request) -> Response:
        found = repo_facets(
            user=request.user, query=SearchQuery(kind=RepoKind.MODEL), per_facet=MAX_PER_FACET
        )
        out: dict[str, list[dict[str, Any]]] = {}
        for facet, counts in found.by_facet.items():
            kind = self.TYPES[facet]
            out[kind] = [
                {"id": c.tag, "label": c.value, "type": kind, "count": c.count} for c in counts
            ]
        return Response(out)


class QuickSearchApi(APIView):
    """GET /api/quicksearch?q=... (the header's suggestions): a few readable models and
    datasets whose names match every word (the last as a prefix), most trending first."""

    def get(self, request: Request) -> Response:
        text = request.query_params.get("q", "").strip()[:200]
        out: dict[str, Any] = {"q": text, "models": [], "datasets": []}
        if not text:
            return Response(out)
        for kind, key in ((RepoKind.MODEL, "models"), (RepoKind.DATASET, "datasets")):
            query = SearchQuery(kind=kind, text=text, names_only=True, sort="trendingScore")
            page = repo_search(user=request.user, query=query, size=QUICK_LIMIT)
            out[key] = [
                {"id": r.full_name, "url": f"/{r.url_path}", "private": r.private}
                for r in page.repos
            ]
        return Response(out)
