"""The /models and /datasets pages: search box, facet sidebar with counts, sort, pages.

The same parameters as the API (`q`, `search`, `filter`, `pipeline_tag`, `sort`, ...),
so a page's URL is shareable and the API answers the same query. An htmx request
(typing in the search box, a facet click) gets only the page body back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_GET

from common.errors import BadRequestError
from repos.models import RepoKind
from search.backends.base import Facets
from search.params import query_from_params
from search.selectors import ResultPage, repo_facets, repo_search

PAGE_SIZE = 30
SORT_CHOICES = (
    ("trendingScore", "Trending"),
    ("likes", "Most likes"),
    ("downloads", "Most downloads"),
    ("lastModified", "Recently updated"),
    ("createdAt", "Newest"),
)
FACET_LABELS = {
    "task": "Tasks",
    "library": "Libraries",
    "license": "Licenses",
    "language": "Languages",
    "dataset": "Datasets",
    "size": "Size",
}


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    active: bool = False
    count: int | None = None


def _url(path: str, params: QueryDict, **changes: list[str]) -> str:
    """`path?...` with some parameters replaced (an empty list removes one); no cursor."""
    items = [(k, v) for k, values in params.lists() if k not in changes for v in values]
    items = [(k, v) for k, v in items if k != "cursor"]
    items += [(k, v) for k, values in changes.items() for v in values]
    query = urlencode(items)
    return f"{path}?{query}" if query else path


def _facet_links(path: str, params: QueryDict, facets: Facets) -> list[tuple[str, list[Link]]]:
    active = params.getlist("filter")
    out = []
    for name, counts in facets.by_facet.items():
        links = []
        for c in counts:
            on = c.tag in active
            tags = [t for t in active if t != c.tag] if on else [*active, c.tag]
            links.append(Link(c.value, _url(path, params, filter=tags), on, c.count))
        if links:
            out.append((FACET_LABELS.get(name, name), links))
    return out


def _listing(request: HttpRequest, kind: str) -> HttpResponse:
    path = "/datasets" if kind == RepoKind.DATASET else "/models"
    params = request.GET
    sort = params.get("sort") or "trendingScore"
    error = None
    page = ResultPage(repos=[], next_cursor=None)
    facets = Facets(total=0)
    try:
        query = query_from_params(kind, params, default_sort="trendingScore")
        page = repo_search(
            user=request.user,
            query=query,
            size=PAGE_SIZE,
            cursor=params.get("cursor"),
            with_metadata=True,
        )
        facets = repo_facets(user=request.user, query=query)
    except BadRequestError as exc:
        error = exc.message
    active = params.getlist("filter")
    context: dict[str, Any] = {
        "kind": kind,
        "kind_plural": "Datasets" if kind == RepoKind.DATASET else "Models",
        "path": path,
        "q": params.get("q", ""),
        "sort": sort,
        "page": page,
        "rows": [(r, page.stats[r.pk], page.metas.get(r.pk)) for r in page.repos],
        "facets": _facet_links(path, params, facets),
        "total": facets.total,
        "approximate": facets.approximate,
        "active_tags": [
            Link(t, _url(path, params, filter=[x for x in active if x != t])) for t in active
        ],
        "sorts": [
            Link(label, _url(path, params, sort=[value]), value == sort)
            for value, label in SORT_CHOICES
        ],
        "hidden": [
            (k, v) for k, values in params.lists() if k not in ("q", "cursor") for v in values
        ],
        "next_url": _url(path, params, cursor=[page.next_cursor]) if page.next_cursor else None,
        "first_url": _url(path, params) if params.get("cursor") else None,
        "error": error,
    }
    template = "search/_body.html" if request.headers.get("HX-Request") else "search/list.html"
    return render(request, template, context, status=400 if error else 200)


@require_GET
def model_list(request: HttpRequest) -> HttpResponse:
    return _listing(request, RepoKind.MODEL)


@require_GET
def dataset_list(request: HttpRequest) -> HttpResponse:
    return _listing(request, RepoKind.DATASET)
