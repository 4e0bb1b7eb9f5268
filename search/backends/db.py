"""The database backend (default): SQL over Repo, RepoMetadata and RepoTag, plus full text.

Every query starts from `Repo.objects.visible_to(user)`, so the repo table itself, not a
copy, decides what the viewer may see: a repo made private is gone from results and
counts the moment its row changes, before any reindex. Repos not indexed yet (created a
moment ago) are still listed, with zero counts, by a left join on RepoMetadata.

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
from django.db.models.functions import Coalesce, Concat, Lower

from repos.listing import decode_cursor, encode_cursor
from repos.models import Repo
from search.backends.base import (
    FACETS,
    FacetCount,
    Facets,
    SearchPage,
    SearchQuery,
    Viewer,
    text_terms,
)
from search.models import RepoTag


def _sort_expression(key: str) -> Any:
    if key in ("created_at", "last_modified"):
        return F(key)
    if key == "id_lower":
        return Lower(Concat("owner__name", Value("/"), "name"))
    if key == "trending_score":
        return Coalesce(F("search_meta__trending_score"), Value(0.0))
    return Coalesce(F(f"search_meta__{key}"), Value(0))  # likes, downloads


def fulltext_sql(terms: list[str], *, names_only: bool, vendor: str) -> tuple[str, list[str]]:
    """(SQL selecting matching repo ids, params) for the vendor's full-text index."""
    if vendor == "postgresql":
        weight = "A" if names_only else ""
        parts = [f"'{t}':{weight}" if weight else f"'{t}'" for t in terms[:-1]]
        parts.append(f"'{terms[-1]}':*{weight}")
        return (
            "SELECT repo_id FROM search_repometadata "
            "WHERE search_vector @@ to_tsquery('simple', %s)",
            [" & ".join(parts)],
        )
    column = "full_id : " if names_only else ""
    phrases = [f'{column}"{t}"' for t in terms[:-1]] + [f'{column}"{terms[-1]}"*']
    return "SELECT rowid FROM search_fts WHERE search_fts MATCH %s", [" AND ".join(phrases)]


def filtered(user: Viewer, query: SearchQuery) -> QuerySet[Repo]:
    """Readable repos of the query's kind matching every criterion (unordered)."""
    qs = Repo.objects.visible_to(user).filter(kind=query.kind)
    if query.author:
        qs = qs.filter(owner__name__iexact=query.author)
    terms = [t for t in query.search if t]
    if terms:
        qs = qs.annotate(full_id=Concat("owner__name", Value("/"), "name"))
        for term in terms:
            qs = qs.filter(full_id__icontains=term)
    if query.gated is True:
        qs = qs.exclude(gated="")
    elif query.gated is False:
        qs = qs.filter(gated="")
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
