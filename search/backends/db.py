"""The database backend (default): SQL over RepoMetadata and RepoTag joined to Repo, plus full text.

Queries are driven by RepoMetadata (one row per repo, created with the repo), whose
indexes hold every sort key with the id as tie-breaker, so a first page reads one index
in order. Visibility is a condition on the joined `repo` row itself, not on a copy: a
repo made private is gone from results and counts the moment its row changes, before
any reindex.

Full text is vendor-specific (migration 0002): FTS5 `MATCH` on SQLite, a tsvector
`@@ to_tsquery` on PostgreSQL; both match every word, the last one as a prefix, so
results update as the user types.

Query plans (figures in bench/RESULTS.md, design in search/README.md):

- A page walks a sort index in order and stops after a page of matching readable rows.
  On SQLite, tag sets and full-text matches are id lists; the query walks the sort index
  testing rows against them when that is expected to read fewer rows than driving from
  the shortest list (`_walk_sort_index`), else it is driven by that list and sorted.
  PostgreSQL's planner makes the same choice from its statistics. On PostgreSQL, several
  tag sets (or tags with text) are first intersected into a list of ids (when it is
  short), so only a few hundred rows have their tsvector tested.
- Facet counts of the whole catalogue come from maintained counts (search/counts.py).
  A narrowed query counts the tags of its matches when they are at most `SAMPLE`; past
  that, it counts the `SAMPLE` newest matches and scales by the share of the id range
  they span: `Facets.approximate` is then true (the Hub's counts are approximate too).
  Results and pages are always exact; only such counts are estimates, and they are made
  from readable repos only.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import BooleanField, Count, F, Q, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat, Lower

from orgs.permissions import readable_scope
from repos.listing import decode_cursor, encode_cursor
from search.backends.base import (
    FACETS,
    Facets,
    SearchPage,
    SearchQuery,
    Viewer,
    text_terms,
)
from search.counts import catalogue_facets, top_values
from search.models import FacetCount, RepoMetadata, RepoTag

SAMPLE = 1000  # facet counts over at most this many matches; past it they are estimated
PROBE_MAX = 5000  # SQLite: full-text matches are counted up to this many to choose a plan
LITERAL_MAX = 5000  # PostgreSQL: tag/facet intersections up to this size become an id list


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


def fulltext_sql(
    terms: list[str], *, names_only: bool, vendor: str, min_id: int | None = None
) -> tuple[str, list[Any]]:
    """(SQL selecting matching repo ids, params) for the vendor's full-text index; with
    `min_id`, only ids from there up (FTS5 seeks the range instead of listing every match)."""
    if vendor == "postgresql":
        column = "search_names" if names_only else "search_vector"
        parts = [f"'{t}'" for t in terms[:-1]] + [f"'{terms[-1]}':*"]
        sql = (
            f"SELECT repo_id FROM search_repometadata "  # noqa: S608 (column is one of two names)
            f"WHERE {column} @@ to_tsquery('simple', %s)"
        )
        params: list[Any] = [" & ".join(parts)]
        id_column = "repo_id"
    else:
        column = "full_id : " if names_only else ""
        phrases = [f'{column}"{t}"' for t in terms[:-1]] + [f'{column}"{terms[-1]}"*']
        sql = "SELECT rowid FROM search_fts WHERE search_fts MATCH %s"
        params = [" AND ".join(phrases)]
        id_column = "rowid"
    if min_id is not None:
        sql += f" AND {id_column} >= %s"
        params.append(min_id)
    return sql, params


def narrowed(query: SearchQuery) -> bool:
    """Whether the query selects less than every repo of its kind."""
    return bool(
        query.search
        or text_terms(query.text)
        or query.author
        or query.tags
        or query.facets
        or query.gated is not None
    )


def _tag_sets(query: SearchQuery, min_id: int | None) -> list[QuerySet[RepoTag]]:
    sets = [RepoTag.objects.filter(tag=tag) for tag in dict.fromkeys(t for t in query.tags if t)]
    sets += [RepoTag.objects.filter(facet=f, value=v) for f, v in dict.fromkeys(query.facets)]
    if min_id is not None:
        sets = [s.filter(repo_id__gte=min_id) for s in sets]
    return [s.values("repo_id") for s in sets]


def _tag_id_list(sets: list[QuerySet[RepoTag]]) -> list[int] | None:
    """The ids carrying every tag, when at most LITERAL_MAX (None: too many to list)."""
    combined = sets[0].intersection(*sets[1:]) if len(sets) > 1 else sets[0]
    ids = list(combined.values_list("repo_id", flat=True)[: LITERAL_MAX + 1])
    return ids if len(ids) <= LITERAL_MAX else None


def _walk_sort_index(
    query: SearchQuery, lists: list[tuple[str, list[Any]]], sizes: list[int | None], limit: int
) -> bool:
    """SQLite: whether to walk the sort index, testing each row against the id lists (tag
    sets, full-text matches), instead of driving the query from the shortest list and
    sorting all it selects.

    A list's size is known from the maintained counts (tags and facet values) or counted
    (up to PROBE_MAX). Taking the lists as independent, a walk reads about `limit /
    (product of their shares of the kind's repos)` rows before it has a page, and driving
    reads the shortest list: the cheaper one wins. So one dense list (a common word, a
    common licence) walks, and a combination that leaves few rows drives.
    """
    if not lists or query.author or query.key == "id_lower":
        return False
    total = sizes.pop()  # the kind's repos, appended by _known_sizes
    counted = []
    with connection.cursor() as cursor:
        for (sql, params), size in zip(lists, sizes, strict=True):
            if size is None:
                cursor.execute(f"SELECT count(*) FROM ({sql} LIMIT %s)", [*params, PROBE_MAX])  # noqa: S608
                size = cursor.fetchone()[0]
            counted.append(min(size, total))
    share = 1.0
    for size in counted:
        share *= size / max(total, 1)
    return share > 0 and limit / share < min(counted)


def _known_sizes(query: SearchQuery, has_text: bool) -> list[int | None]:
    """Repos per tag set (then None for the text list), and the kind's total last, from
    the maintained counts in one query; None where they do not say (a tag no facet has).
    Public and private alike: this only chooses a plan."""
    tags = list(dict.fromkeys(t for t in query.tags if t))
    facets = list(dict.fromkeys(query.facets))
    wanted = Q(facet="", value="") | Q(tag__in=tags)
    for facet, value in facets:
        wanted |= Q(facet=facet, value=value)
    by_tag: dict[str, int] = {}
    by_facet: dict[tuple[str, str], int] = {}
    for facet, value, tag, n in (
        FacetCount.objects.filter(wanted, kind=query.kind)
        .annotate(n=F("public") + F("private"))
        .values_list("facet", "value", "tag", "n")
    ):
        by_facet[(facet, value)] = n
        if facet:
            by_tag[tag] = by_tag.get(tag, 0) + n
    sizes: list[int | None] = [by_tag.get(t) for t in tags]
    sizes += [by_facet.get(key, 0) for key in facets]
    if has_text:
        sizes.append(None)
    return [*sizes, by_facet.get(("", ""), 0)]


def filtered(
    user: Viewer, query: SearchQuery, *, min_id: int | None = None, limit: int | None = None
) -> QuerySet[RepoMetadata]:
    """Index rows of readable repos of the query's kind matching every criterion (with
    `min_id`, only those from that repo id up). `limit`: how many rows in sort order the
    caller will read, for the choice of plan (None: all of them, or in id order)."""
    qs = RepoMetadata.objects.filter(visible(user), kind=query.kind)
    if min_id is not None:
        qs = qs.filter(pk__gte=min_id)
    if query.author:
        qs = qs.filter(repo__owner__name__iexact=query.author)
    terms = list(dict.fromkeys(t for t in query.search if t))
    if terms and connection.vendor == "postgresql":
        # `full_id` follows renames in the rename's own transaction (handlers.on_repo_saved):
        # a trigram index answers it (migration 0005).
        for term in terms:
            qs = qs.filter(full_id__icontains=term)
    elif terms:  # SQLite: the live name, from the small repo and namespace rows
        qs = qs.annotate(live_id=Concat("repo__owner__name", Value("/"), "repo__name"))
        for term in terms:
            qs = qs.filter(live_id__icontains=term)
    if query.gated is True:
        qs = qs.exclude(repo__gated="")
    elif query.gated is False:
        qs = qs.filter(repo__gated="")
    sets = _tag_sets(query, min_id)
    words = text_terms(query.text)
    if connection.vendor == "postgresql":
        return _postgresql_lists(qs, query, sets, words)
    lists = [(sql, list(params)) for sql, params in (t.query.sql_with_params() for t in sets)]
    if words:
        text = fulltext_sql(words, names_only=query.names_only, vendor="sqlite", min_id=min_id)
        lists.append(text)
    # The unary + keeps SQLite from driving the query by a list: it walks the sort index.
    column = '"search_repometadata"."repo_id"'
    sizes = _known_sizes(query, bool(words)) if limit is not None and lists else []
    if sizes and _walk_sort_index(query, lists, sizes, limit or 0):
        column = "+" + column
    for sql, params in lists:
        qs = qs.filter(RawSQL(f"{column} IN ({sql})", params, output_field=BooleanField()))  # noqa: S611
    return qs


def _postgresql_lists(
    qs: QuerySet[RepoMetadata], query: SearchQuery, sets: list[QuerySet[RepoTag]], words: list[str]
) -> QuerySet[RepoMetadata]:
    """Tag sets as one short id list when they intersect to few ids, the full-text match as a
    condition on the row itself: the planner can then combine the tsvector index and the
    ids as bitmaps instead of testing every candidate row's tsvector."""
    # One set alone (no text) is as cheap as a semi-join on its own index: no list then.
    ids = _tag_id_list(sets) if len(sets) > 1 or (sets and words) else None
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    else:
        for tagged in sets:
            qs = qs.filter(pk__in=tagged)
    if words:
        column = "search_names" if query.names_only else "search_vector"
        _, params = fulltext_sql(words, names_only=query.names_only, vendor="postgresql")
        match = RawSQL(  # noqa: S611 (params are bound; column is one of two names)
            f'"search_repometadata"."{column}" @@ to_tsquery(\'simple\', %s)',
            params,
            output_field=BooleanField(),
        )
        qs = qs.filter(match)
    return qs


class DatabaseBackend:
    name = "db"

    def index(self, *, repo_ids: list[int]) -> None:
        """Nothing to do: the RepoMetadata rows (and their full-text index) are the index."""

    def remove(self, *, repo_id: int) -> None:
        """Nothing to do: the rows are deleted with the repo (cascade)."""

    def reindex(self) -> int:
        from search.counts import facet_counts_rebuild
        from search.indexer import index_all
        from search.stats import stats_refresh

        done = index_all()
        stats_refresh()
        facet_counts_rebuild()
        return done

    def search(
        self, *, user: Viewer, query: SearchQuery, size: int, cursor: str | None = None
    ) -> SearchPage:
        key = query.key
        qs = filtered(user, query, limit=size + 1).annotate(sort_value=_sort_expression(key))
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
        names = FACETS.get(query.kind, FACETS["model"])
        if not narrowed(query):
            return catalogue_facets(user=user, kind=query.kind, names=names, per_facet=per_facet)
        ids, share = _newest_matches(user, query)
        rows = (
            RepoTag.objects.filter(repo_id__in=ids, facet__in=names)
            .values("facet", "value", "tag")
            .annotate(n=Count("pk"))
        )
        counts = {(r["facet"], r["value"]): [_scale(r["n"], share), r["tag"]] for r in rows}
        return Facets(
            total=_scale(len(ids), share),
            by_facet=top_values(counts, names, per_facet),
            approximate=share < 1.0,
        )


def _newest_matches(user: Viewer, query: SearchQuery) -> tuple[list[int], float]:
    """(ids, share): every match when they are at most SAMPLE (share 1), else the SAMPLE
    newest and the share of the id range they span, which they stand for.

    Looks at a window of the newest ids first (FTS5 seeks it instead of listing every
    match), then, when it held too few matches, at a window as much wider as the matches
    found there say is needed (twice that, to be safe), or at every id: a dense query
    reads a few thousand rows, a sparse one two small sets.
    """
    lo, hi = _id_bounds()
    window = SAMPLE * 4
    while True:
        start = hi - window + 1 if hi - window + 1 > lo else None
        newest = filtered(user, query, min_id=start).order_by("-pk")
        ids = list(newest.values_list("pk", flat=True)[: SAMPLE + 1])
        if len(ids) > SAMPLE:
            ids = ids[:SAMPLE]
            return ids, max(hi - ids[-1] + 1, 1) / max(hi - lo + 1, 1)
        if start is None:
            return ids, 1.0
        window = window * 2 * (SAMPLE + 1) // max(len(ids), 1)


def _id_bounds() -> tuple[int, int]:
    """Lowest and highest index row ids, in one query (each subquery is one index seek)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT min(repo_id) FROM search_repometadata),"
            " (SELECT max(repo_id) FROM search_repometadata)"
        )
        lo, hi = cursor.fetchone()
    return lo or 0, hi or 0


def _scale(n: int, share: float) -> int:
    return n if share >= 1.0 else round(n / share)
