"""Facet counts of the whole catalogue, kept by the database itself, and how a viewer reads them.

`FacetCount` holds, per (kind, facet, value), how many public and how many private repos
carry the value, and per kind (facet "" / value "") how many repos there are. Triggers
keep it exact in the same transaction as every change, whatever makes the change (the
index task's tag rows, a repo made private with `save()` or a bare `UPDATE`, a cascade
delete), so a count can never lag behind visibility:

- a tag row inserted / deleted / changed adds / removes its repo (public or private);
- an index row inserted / deleted adds / removes its repo from the kind's total;
- a repo whose `private` flag flips moves all its values (and its total) across;
- a repo deleted before its rows takes its values with it (the rows that follow find no
  repo and change nothing), so either deletion order leaves the counts right.

The triggers are installed after every `migrate` (`post_migrate`, idempotent), because
SQLite drops a table's triggers when Django rebuilds the table to alter it; the counts are
then recomputed. `facet_counts_rebuild` (also run by the periodic stats refresh and
`hubforge reindex`) recomputes them from the rows, idempotently.

A viewer sees the public counts plus a live count over the private repos it may read
(usually none or a handful); a site admin sees public + private.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models import Count, Q

from orgs.permissions import readable_scope
from search.backends.base import FacetCount as FacetValue
from search.backends.base import Facets, Viewer
from search.models import FacetCount, RepoMetadata, RepoTag

_PUBLIC = "CASE WHEN r.private THEN 0 ELSE 1 END"
_PRIVATE = "CASE WHEN r.private THEN 1 ELSE 0 END"
# Everything a repo counts in: its facet values and, when it has an index row, the total.
_REPO_ROWS = """kind = {repo}.kind AND (
        (facet, value) IN (SELECT t.facet, t.value FROM search_repotag t
                           WHERE t.repo_id = {repo}.id AND t.facet <> '')
        OR (facet = '' AND value = ''
            AND EXISTS (SELECT 1 FROM search_repometadata m WHERE m.repo_id = {repo}.id)))"""


def _add(facet: str, value: str, tag: str, repo_id: str, when: str = "TRUE") -> str:
    return f"""INSERT INTO search_facetcount (kind, facet, value, tag, public, private)
        SELECT r.kind, {facet}, {value}, {tag}, {_PUBLIC}, {_PRIVATE}
        FROM repos_repo r WHERE r.id = {repo_id} AND {when}
        ON CONFLICT (kind, facet, value) DO UPDATE
        SET public = search_facetcount.public + excluded.public,
            private = search_facetcount.private + excluded.private"""  # noqa: S608 (trigger DDL from constant fragments)


def _remove(facet: str, value: str, repo_id: str) -> str:
    one = "(SELECT {} FROM repos_repo r WHERE r.id = " + repo_id + ")"  # noqa: S608 (DDL)
    return f"""UPDATE search_facetcount
        SET public = public - {one.format(_PUBLIC)}, private = private - {one.format(_PRIVATE)}
        WHERE kind = {one.format("r.kind")} AND facet = {facet} AND value = {value}"""  # noqa: S608


def _shift(repo: str, public: str, private: str) -> str:
    return f"""UPDATE search_facetcount SET public = public + {public},
        private = private + {private} WHERE {_REPO_ROWS.format(repo=repo)}"""  # noqa: S608


SQLITE_TRIGGERS = {
    "search_fc_tag_ai": f"""AFTER INSERT ON search_repotag WHEN NEW.facet <> '' BEGIN
        {_add("NEW.facet", "NEW.value", "NEW.tag", "NEW.repo_id")}; END""",
    "search_fc_tag_ad": f"""AFTER DELETE ON search_repotag WHEN OLD.facet <> '' BEGIN
        {_remove("OLD.facet", "OLD.value", "OLD.repo_id")}; END""",
    "search_fc_tag_au": f"""AFTER UPDATE ON search_repotag BEGIN
        {_remove("OLD.facet", "OLD.value", "OLD.repo_id")} AND OLD.facet <> '';
        {_add("NEW.facet", "NEW.value", "NEW.tag", "NEW.repo_id", "NEW.facet <> ''")}; END""",
    "search_fc_meta_ai": f"""AFTER INSERT ON search_repometadata BEGIN
        {_add("''", "''", "''", "NEW.repo_id")}; END""",
    "search_fc_meta_ad": f"""AFTER DELETE ON search_repometadata BEGIN
        {_remove("''", "''", "OLD.repo_id")}; END""",
    "search_fc_repo_au": f"""AFTER UPDATE OF private ON repos_repo
        WHEN OLD.private <> NEW.private BEGIN
        {_shift("NEW", "(CASE WHEN NEW.private THEN -1 ELSE 1 END)",
                "(CASE WHEN NEW.private THEN 1 ELSE -1 END)")}; END""",
    "search_fc_repo_ad": f"""AFTER DELETE ON repos_repo BEGIN
        {_shift("OLD", "(CASE WHEN OLD.private THEN 0 ELSE -1 END)",
                "(CASE WHEN OLD.private THEN -1 ELSE 0 END)")}; END""",
}  # fmt: skip

POSTGRES_FUNCTIONS = {
    "search_fc_tag": f"""BEGIN
        IF TG_OP <> 'INSERT' THEN IF OLD.facet <> '' THEN
            {_remove("OLD.facet", "OLD.value", "OLD.repo_id")};
        END IF; END IF;
        IF TG_OP <> 'DELETE' THEN IF NEW.facet <> '' THEN
            {_add("NEW.facet", "NEW.value", "NEW.tag", "NEW.repo_id")};
        END IF; END IF;
        RETURN NULL; END""",
    "search_fc_meta": f"""BEGIN
        IF TG_OP = 'DELETE' THEN {_remove("''", "''", "OLD.repo_id")};
        ELSE {_add("''", "''", "''", "NEW.repo_id")};
        END IF;
        RETURN NULL; END""",
    "search_fc_repo": f"""BEGIN
        IF TG_OP = 'DELETE' THEN
            {_shift("OLD", "(CASE WHEN OLD.private THEN 0 ELSE -1 END)",
                    "(CASE WHEN OLD.private THEN -1 ELSE 0 END)")};
        ELSIF OLD.private IS DISTINCT FROM NEW.private THEN
            {_shift("NEW", "(CASE WHEN NEW.private THEN -1 ELSE 1 END)",
                    "(CASE WHEN NEW.private THEN 1 ELSE -1 END)")};
        END IF;
        RETURN NULL; END""",
}  # fmt: skip
POSTGRES_TRIGGERS = {
    "search_fc_tag": "AFTER INSERT OR UPDATE OR DELETE ON search_repotag",
    "search_fc_meta": "AFTER INSERT OR DELETE ON search_repometadata",
    "search_fc_repo": "AFTER UPDATE OF private OR DELETE ON repos_repo",
}


def _missing_triggers() -> list[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            wanted = list(SQLITE_TRIGGERS)
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            wanted = list(POSTGRES_TRIGGERS)
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in wanted if name not in present]


def install_count_triggers() -> bool:
    """Create the count triggers that are missing; True when any was (then rebuild)."""
    if connection.vendor not in ("sqlite", "postgresql"):
        return False
    missing = _missing_triggers()
    if not missing:
        return False
    with transaction.atomic(), connection.cursor() as cursor:
        for name in missing:
            if connection.vendor == "sqlite":
                cursor.execute(f"CREATE TRIGGER {name} {SQLITE_TRIGGERS[name]}")
                continue
            cursor.execute(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
                f"AS $fn$ {POSTGRES_FUNCTIONS[name]} $fn$"
            )
            cursor.execute(
                f"CREATE OR REPLACE TRIGGER {name} {POSTGRES_TRIGGERS[name]} "
                f"FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
    return True


def facet_counts_rebuild() -> int:
    """Recompute every count from the tag and index rows; returns rows written. Idempotent.

    On PostgreSQL the table is locked against the triggers meanwhile, so a change that
    commits during the rebuild is either counted by it or applied on top of it, never both.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("LOCK TABLE search_facetcount IN EXCLUSIVE MODE")
        cursor.execute("DELETE FROM search_facetcount")
        cursor.execute(
            f"""INSERT INTO search_facetcount (kind, facet, value, tag, public, private)
            SELECT r.kind, t.facet, t.value, MIN(t.tag), SUM({_PUBLIC}), SUM({_PRIVATE})
              FROM search_repotag t JOIN repos_repo r ON r.id = t.repo_id
             WHERE t.facet <> '' GROUP BY r.kind, t.facet, t.value
            UNION ALL
            SELECT r.kind, '', '', '', SUM({_PUBLIC}), SUM({_PRIVATE})
              FROM search_repometadata m JOIN repos_repo r ON r.id = m.repo_id
             GROUP BY r.kind"""  # noqa: S608 (constant SQL)
        )
        return max(cursor.rowcount, 0)


def ensure_facet_counts(*, using: str = DEFAULT_DB_ALIAS, **kwargs: object) -> None:
    """post_migrate: (re)install the triggers a migration may have dropped, then recount."""
    if using != DEFAULT_DB_ALIAS:
        return
    tables = connection.introspection.table_names()
    if FacetCount._meta.db_table not in tables or RepoTag._meta.db_table not in tables:
        return
    if install_count_triggers():
        facet_counts_rebuild()


def catalogue_facets(*, user: Viewer, kind: str, names: tuple[str, ...], per_facet: int) -> Facets:
    """Counts for every readable repo of `kind` (no other criterion), exact, from the
    maintained rows plus the viewer's readable private repos counted live."""
    scope = readable_scope(user)  # type: ignore[arg-type]  # orgs and teams (orgs/permissions)
    rows = FacetCount.objects.filter(kind=kind)
    counts: dict[tuple[str, str], list] = {}  # (facet, value) -> [count, tag]
    if scope is None:  # a site admin reads every repo: public + private, all values
        for facet, value, tag, public, private in rows.values_list(
            "facet", "value", "tag", "public", "private"
        ):
            counts[(facet, value)] = [public + private, tag]
    else:
        extra = _readable_private(kind=kind, names=names, scope=scope)
        for facet in names:  # each facet's top public values: an index range each
            top = rows.filter(facet=facet, public__gt=0).order_by("-public", "value")
            for value, tag, public in top.values_list("value", "tag", "public")[:per_facet]:
                counts[(facet, value)] = [public, tag]
        # The total, and the public counts of values the readable private repos add to
        # (one of them may climb into the top values).
        rest = Q(facet="", value="")
        for facet, value in extra:
            if (facet, value) not in counts:
                rest |= Q(facet=facet, value=value)
        for facet, value, tag, public in rows.filter(rest).values_list(
            "facet", "value", "tag", "public"
        ):
            counts[(facet, value)] = [public, tag]
        for key, (n, tag) in extra.items():
            counts.setdefault(key, [0, tag])[0] += n
    total = counts.pop(("", ""), [0, ""])[0]
    return Facets(total=total, by_facet=top_values(counts, names, per_facet))


def _readable_private(
    *, kind: str, names: tuple[str, ...], scope: tuple[list[int], list[int]]
) -> dict[tuple[str, str], tuple[int, str]]:
    """{(facet, value): (count, tag)} over the private repos of `kind` the viewer may read;
    ("", "") holds how many there are."""
    namespace_ids, repo_ids = scope
    if not namespace_ids and not repo_ids:
        return {}
    mine = Q(repo__owner_id__in=namespace_ids) | Q(repo_id__in=repo_ids)
    private = RepoMetadata.objects.filter(mine, repo__private=True, repo__kind=kind)
    n = private.count()
    if not n:
        return {}
    out: dict[tuple[str, str], tuple[int, str]] = {("", ""): (n, "")}
    tags = (
        RepoTag.objects.filter(mine, repo__private=True, repo__kind=kind, facet__in=names)
        .values("facet", "value", "tag")
        .annotate(n=Count("pk"))
    )
    for row in tags:
        out[(row["facet"], row["value"])] = (row["n"], row["tag"])
    return out


def top_values(
    counts: dict[tuple[str, str], list], names: tuple[str, ...], per_facet: int
) -> dict[str, list[FacetValue]]:
    """The `per_facet` values with most repos per facet, ties by value; zeros left out."""
    by_facet: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for (facet, value), (n, tag) in counts.items():
        if n > 0 and facet in names:
            by_facet[facet].append((n, value, tag))
    return {
        name: [
            FacetValue(value=value, count=n, tag=tag)
            for n, value, tag in sorted(by_facet[name], key=lambda x: (-x[0], x[1]))[:per_facet]
        ]
        for name in names
    }
