"""Listing parameters, as huggingface_hub and the search pages send them, to a SearchQuery."""

from __future__ import annotations

from django.http import QueryDict

from common.errors import BadRequestError
from repos.api.listing import truthy
from search.backends.base import FACETS, SearchQuery

# HF parameters that name one facet value (list_models(pipeline_tag=...) and URLs).
FACET_PARAMS = {
    "pipeline_tag": "task",
    "task_categories": "task",
    "library": "library",
    "license": "license",
    "language": "language",
    "dataset": "dataset",
    "size_categories": "size",
}


def query_from_params(kind: str, q: QueryDict, *, default_sort: str = "createdAt") -> SearchQuery:
    """A SearchQuery from the parameters huggingface_hub (and the search pages) send."""
    direction = q.get("direction", "-1")
    if direction not in ("-1", "1"):
        raise BadRequestError("direction must be -1 or 1.")
    gated = q.get("gated")
    facets = []
    for param, facet in FACET_PARAMS.items():
        if facet in FACETS[kind]:
            facets += [(facet, v) for v in q.getlist(param) if v]
    return SearchQuery(
        kind=kind,
        search=tuple(q.getlist("search")),
        text=q.get("q", ""),
        author=q.get("author") or None,
        tags=tuple(q.getlist("filter")),
        facets=tuple(facets),
        gated=None if gated in (None, "") else truthy(gated),
        sort=q.get("sort") or default_sort,
        descending=direction == "-1",
    )
