"""Reads for the listing API, the search pages and the providers: one backend call each,
then the repos loaded in the backend's order with their counters (three more queries)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Subquery, Value
from django.db.models.functions import Coalesce

from repos.listing import RepoStats, repo_stats
from repos.models import Repo
from search.backends import search_backend
from search.backends.base import Facets, SearchBackend, SearchQuery, Viewer
from search.models import RepoMetadata, RepoTag

RELATION_LABELS = {
    "finetune": ("Finetuned from", "Finetunes"),
    "adapter": ("Adapter for", "Adapters"),
    "quantized": ("Quantized from", "Quantizations"),
    "merge": ("Merged from", "Merges"),
}


@dataclass
class ResultPage:
    repos: list[Repo]
    next_cursor: str | None
    stats: dict[int, RepoStats] = field(default_factory=dict)
    metas: dict[int, RepoMetadata] = field(default_factory=dict)


def repo_search(
    *,
    user: Viewer,
    query: SearchQuery,
    size: int,
    cursor: str | None = None,
    backend: SearchBackend | None = None,
    with_metadata: bool = False,
) -> ResultPage:
    """One page of readable repos matching `query`, in order, with counters.

    BadRequestError for an unknown sort or a cursor the backend did not make.
    """
    page = (backend or search_backend()).search(user=user, query=query, size=size, cursor=cursor)
    found = Repo.objects.select_related("owner").in_bulk(page.repo_ids)
    repos = [found[i] for i in page.repo_ids if i in found]
    metas = RepoMetadata.objects.in_bulk([r.pk for r in repos]) if with_metadata else {}
    return ResultPage(repos, page.next_cursor, repo_stats(repos=repos), metas)


def repo_facets(
    *, user: Viewer, query: SearchQuery, per_facet: int = 10, backend: SearchBackend | None = None
) -> Facets:
    return (backend or search_backend()).facets(user=user, query=query, per_facet=per_facet)


def trending_list(*, user: Viewer, kind: str, limit: int) -> ResultPage:
    query = SearchQuery(kind=kind, sort="trendingScore")
    return repo_search(user=user, query=query, size=limit, with_metadata=True)


def _derived_tags(repo: Repo) -> dict[str, str]:
    return {f"base_model:{rel}:{repo.full_name}": rel for rel in RELATION_LABELS}


def card_metadata_get(*, user: Viewer, repo: Repo) -> RepoMetadata | None:
    """The repo's index row, annotated with `derived_count`: how many readable repos name
    it as their base model (one query, so the repo page stays within its query budget)."""
    children = (
        RepoTag.objects.filter(
            tag__in=_derived_tags(repo),
            repo_id__in=Repo.objects.visible_to(user).values("pk"),
        )
        .order_by()
        .values("facet")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        RepoMetadata.objects.filter(pk=repo.pk)
        .annotate(derived_count=Coalesce(Subquery(children[:1]), Value(0)))
        .first()
    )


def derived_links(*, user: Viewer, repo: Repo) -> dict[str, Any]:
    """Readable repos built on `repo`, per relation: {relation: {label, count, repos}}."""
    tags = _derived_tags(repo)
    visible = Repo.objects.visible_to(user).values("pk")
    counts = (
        RepoTag.objects.filter(tag__in=tags, repo_id__in=visible)
        .values("tag")
        .annotate(n=Count("pk"))
        .values_list("tag", "n")
    )
    out: dict[str, Any] = {}
    for tag, count in counts:
        relation = tags[tag]
        ids = RepoTag.objects.filter(tag=tag).values("repo_id")
        first = Repo.objects.visible_to(user).filter(pk__in=ids).select_related("owner")
        out[relation] = {
            "label": RELATION_LABELS[relation][1],
            "count": count,
            "repos": list(first.order_by("-pk")[:5]),
        }
    return out
