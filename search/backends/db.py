"""The database backend (default): SQL over RepoMetadata and RepoTag joined to Repo, plus full text.

Queries are driven by RepoMetadata (one row per repo, created with the repo), whose
indexes hold every sort key with the id as tie-breaker, so a first page reads one index
in order. Visibility is a condition on the joined `repo` row itself, not on a copy: a
repo made private is gone from results and counts the moment its row changes, before
any reindex.

Full text is vendor-specific (migration 0002): FTS5 `MATCH` on SQLite, a tsvector
`@@ to_tsquery` on PostgreSQL; both match every word, the last one as a prefix, so
results update as the user types. Facet counts are one GROUP BY over RepoTag restricted
to the matching repos.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat, Lower

from orgs.permissions import readable_scope
from repos.listing import decode_cursor, encode_cursor
from search.backends.base import (
    FACETS,
    FacetCount,
    Facets,
    SearchPage,
    SearchQuery,
    Viewer,
    text_terms,
)
from search.models import RepoMetadata, RepoTag


def _sort_expression(key: str) -> Any:
    if key == "id_lower":
        return Lower(Concat("repo__owner__name", Value("/"), "repo__name"))
    return F(key)  # a column of RepoMetadata, indexed with the tie-breaker


def visible(user: Viewer) -> Q:
    """`Repo.objects.visible_to(user)` (repos/models.py) as a condition on the joined repo.

    Written against the join, not as `repo__in=<subquery>`, so the database can walk a sort
    index and stop after one page; tests/search/suite.py pins both to the same answers.
    """
    scope = readable_scope(user)  # type: ignore[arg-type]  # orgs and teams (orgs/permissions)
    if scope is None:
        return Q()
    namespace_ids, repo_ids = scope
    condition = Q(repo__private=False)
    if namespace_ids:
        condition |= Q(repo__owner_id__in=namespace_ids)
    if repo_ids:
        condition |= Q(repo_id__in=repo_ids)
    return condition


def fulltext_sql(terms: list[str], *, names_only: bool, vendor: str) -> tuple[str, list[str]]:
    """(SQL selecting matching repo ids, params) for the vendor's full-text index."""
    if vendor == "postgresql":
        column = "search_names" if names_only else "search_vector"
        parts = [f"'{t}'" for t in terms[:-1]] + [f"'{terms[-1]}':*"]
        return (
            f"SELECT repo_id FROM search_repometadata "  # noqa: S608 (column is one of two names)
            f"WHERE {column} @@ to_tsquery('simple', %s)",
            [" & ".join(parts)],
        )
    column = "full_id : " if names_only else ""
    phrases = [f'{column}"{t}"' for t in terms[:-1]] + [f'{column}"{terms[-1]}"*']
    return "SELECT rowid FROM search_fts WHERE search_fts MATCH %s", [" AND ".join(phrases)]


def filtered(user: Viewer, query: SearchQuery) -> QuerySet[RepoMetadata]:
    """Index rows of readable repos of the query's kind matching every criterion."""
    qs = RepoMetadata.objects.filter(visible(user), kind=query.kind)
    if query.author:
        qs = qs.filter(repo__owner__name__iexact=query.author)
    terms = [t for t in query.search if t]
    if terms:  # the live name, not the indexed copy: a rename is searchable at once
        qs = qs.annotate(live_id=Concat("repo__owner__name", Value("/"), "repo__name"))
        for term in terms:
            qs = qs.filter(live_id__icontains=term)
    if query.gated is True:
        qs = qs.exclude(repo__gated="")
    elif query.gated is False:
        qs = qs.filter(repo__gated="")
    for tag in dict.fromkeys(t for t in query.tags if t):
        qs = qs.filter(pk__in=RepoTag.objects.filter(tag=tag).values("repo_id"))
    for facet, value in dict.fromkeys(query.facets):
        qs = qs.filter(pk__in=RepoTag.objects.filter(facet=facet, value=value).values("repo_id"))
    words = text_terms(query.text)
    if words:
        sql, params = fulltext_sql(words, names_only=query.names_only, vendor=connection.vendor)
        qs = qs.filter(pk__in=RawSQL(sql, params))  # noqa: S611 (params are bound, not inlined)
    return qs


class DatabaseBackend:
    name = "db"

    def index(self, *, repo_ids: list[int]) -> None:
        """Nothing to do: the RepoMetadata rows (and their full-text index) are the index."""

    def remove(self, *, repo_id: int) -> None:
        """Nothing to do: the rows are deleted with the repo (cascade)."""

    def reindex(self) -> int:
        from search.indexer import index_all
        from search.stats import stats_refresh

        done = index_all()
        stats_refresh()
        return done

    def search(
        self, *, user: Viewer, query: SearchQuery, size: int, cursor: str | None = None
    ) -> SearchPage:
        key = query.key
        qs = filtered(user, query).annotate(sort_value=_sort_expression(key))
        if cursor:
            value, pk = decode_cursor(cursor, key)
            if query.descending:
                qs = qs.filter(Q(sort_value__lt=value) | Q(sort_value=value, pk__lt=pk))
            else:
                qs = qs.filter(Q(sort_value__gt=value) | Q(sort_value=value, pk__gt=pk))
        order = ["-sort_value", "-pk"] if query.descending else ["sort_value", "pk"]
        rows = list(qs.order_by(*order).values_list("pk", "sort_value")[: size + 1])
        next_cursor = None
        if len(rows) > size:
            rows = rows[:size]
            next_cursor = encode_cursor(rows[-1][1], rows[-1][0])
        return SearchPage(repo_ids=[pk for pk, _ in rows], next_cursor=next_cursor)

    def facets(self, *, user: Viewer, query: SearchQuery, per_facet: int = 10) -> Facets:
        qs = filtered(user, query)
        names = FACETS.get(query.kind, FACETS["model"])
        rows = (
            RepoTag.objects.filter(repo_id__in=qs.values("pk"), facet__in=names)
            .values("facet", "value", "tag")
            .annotate(n=Count("pk"))
            .order_by("facet", "-n", "value")
        )
        by_facet: dict[str, list[FacetCount]] = {name: [] for name in names}
        for row in rows:
            values = by_facet[row["facet"]]
            if len(values) < per_facet:
                values.append(FacetCount(value=row["value"], count=row["n"], tag=row["tag"]))
        return Facets(total=qs.count(), by_facet=by_facet)
