"""The Elasticsearch backend (HUB_ELASTICSEARCH_URL), written with the client's DSL.

- An explicit, strict mapping: keyword fields for filters and facets, text with a word
  analyzer (split on anything but letters and digits, lowercased, folded) for the name,
  description and card, numeric and date fields for sorts.
- Versioned indices behind one alias (`<prefix>-repos` -> `<prefix>-repos-<stamp>`):
  `reindex` builds a new index, swaps the alias in one atomic call and drops the old
  index, so searches never see a half-built index; documents changed during the build
  are copied again after the swap.
- Visibility is a filter in every query (`private: false`, or the viewer's namespace);
  the ids that come back are checked against `Repo` once more, because the index lags
  the database by a task, so a repo made private a moment ago is never shown.

The pure functions (`index_body`, `document`, `build_search`, `build_facets`) make the
mapping and the query DSL testable as dicts without a server.
"""

from __future__ import annotations

import contextlib
import datetime
import time
from typing import Any

from django.db.models import Q
from django.utils import timezone
from elasticsearch import Elasticsearch, NotFoundError, helpers
from elasticsearch.dsl import (
    Boolean,
    Date,
    Document,
    Float,
    Index,
    Integer,
    Keyword,
    Long,
    Search,
    Text,
    analyzer,
    normalizer,
    tokenizer,
)
from elasticsearch.dsl import Q as EsQ
from elasticsearch.dsl.query import Query

from orgs.permissions import readable_scope
from repos.listing import DATE_KEYS, decode_cursor, encode_cursor
from repos.models import Repo
from search.backends.base import (
    FACETS,
    FacetCount,
    Facets,
    SearchPage,
    SearchQuery,
    Viewer,
    facet_tag,
    text_terms,
)
from search.models import RepoMetadata

BATCH = 500
WORDS = analyzer(
    "hub_words",
    tokenizer=tokenizer("hub_words_split", "pattern", pattern=r"[^\p{L}\p{N}]+"),
    filter=["lowercase", "asciifolding"],
)
LOWER = normalizer("hub_lower", filter=["lowercase"])
TEXT_FIELDS = ["full_id^3", "description^2", "card_text"]
# Facet name -> document field.
FACET_FIELDS = {
    "task": "task",
    "library": "library",
    "license": "license",
    "language": "language",
    "dataset": "dataset",
    "size": "size",
}


class RepoDocument(Document):
    repo_id = Long()
    kind = Keyword()
    full_id = Text(analyzer=WORDS, fields={"raw": Keyword(normalizer=LOWER)})
    id_lower = Keyword()
    owner = Keyword(normalizer=LOWER)
    owner_id = Long()
    private = Boolean()
    gated = Keyword()
    description = Text(analyzer=WORDS)
    card_text = Text(analyzer=WORDS)
    tags = Keyword()
    task = Keyword()
    library = Keyword()
    license = Keyword()
    language = Keyword()
    dataset = Keyword()
    size = Keyword()
    base_models = Keyword()
    created_at = Date()
    last_modified = Date()
    likes = Integer()
    downloads = Long()
    trending_score = Float()


def index_body(name: str) -> dict[str, Any]:
    """Settings (with the analysis chain) and the strict mapping of a new index."""
    index = Index(name)
    index.settings(number_of_shards=1, number_of_replicas=0)
    index.document(RepoDocument)
    body = index.to_dict()
    body["mappings"]["dynamic"] = "strict"
    return body


def document(repo: Repo, meta: RepoMetadata | None) -> dict[str, Any]:
    """The indexed form of one repo (its id is the repo id)."""
    doc: dict[str, Any] = {
        "repo_id": repo.pk,
        "kind": repo.kind,
        "full_id": repo.full_name,
        "id_lower": repo.full_name.lower(),
        "owner": repo.owner.name,
        "owner_id": repo.owner_id,
        "private": repo.private,
        "gated": repo.gated,
        "description": repo.description,
        "created_at": repo.created_at.isoformat(),
        "last_modified": repo.last_modified.isoformat(),
    }
    if meta is None:
        return doc | {"likes": 0, "downloads": 0, "trending_score": 0.0, "tags": []}
    facets = {
        "task": [meta.pipeline_tag] if repo.kind == "model" else meta.task_categories,
        "library": [meta.library] if meta.library else [],
        "license": [meta.license] if meta.license else [],
        "language": meta.languages,
        "dataset": meta.datasets if repo.kind == "model" else [],
        "size": meta.size_categories if repo.kind == "dataset" else [],
    }
    return doc | {
        "card_text": meta.card_text,
        "tags": meta.tags,
        **{k: [v for v in values if v] for k, values in facets.items()},
        "base_models": meta.base_models,
        "likes": meta.likes,
        "downloads": meta.downloads,
        "trending_score": meta.trending_score,
    }


def visibility(user: Viewer) -> Query | None:
    """Public repos, or the viewer's own: the same rule as `Repo.objects.visible_to`."""
    scope = readable_scope(user)  # type: ignore[arg-type]  # orgs and teams (orgs/permissions)
    if scope is None:
        return None
    namespace_ids, repo_ids = scope
    if not namespace_ids and not repo_ids:
        return EsQ("term", private=False)
    should = [EsQ("term", private=False)]
    for field_name, ids in (("owner_id", namespace_ids), ("repo_id", repo_ids)):
        if len(ids) == 1:
            should.append(EsQ("term", **{field_name: ids[0]}))
        elif ids:
            should.append(EsQ("terms", **{field_name: ids}))
    return EsQ("bool", should=should, minimum_should_match=1)


def _wildcard_literal(term: str) -> str:
    return term.lower().replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


def _filters(user: Viewer, query: SearchQuery) -> Search:
    s = Search().filter("term", kind=query.kind)
    seen = visibility(user)
    if seen is not None:
        s = s.filter(seen)
    if query.author:
        s = s.filter("term", owner=query.author)
    for term in (t for t in query.search if t):
        s = s.filter("wildcard", **{"full_id.raw": {"value": f"*{_wildcard_literal(term)}*"}})
    if query.gated is True:
        s = s.exclude("term", gated="")
    elif query.gated is False:
        s = s.filter("term", gated="")
    for tag in dict.fromkeys(t for t in query.tags if t):
        s = s.filter("term", tags=tag)
    for facet, value in dict.fromkeys(query.facets):
        s = s.filter("term", **{FACET_FIELDS[facet]: value})
    words = text_terms(query.text)
    if words:
        fields = ["full_id"] if query.names_only else TEXT_FIELDS
        must = [EsQ("multi_match", query=w, fields=fields, operator="and") for w in words[:-1]]
        must.append(EsQ("multi_match", query=words[-1], fields=fields, type="phrase_prefix"))
        s = s.query(EsQ("bool", must=must))
    return s


def _sort_value(key: str, value: Any) -> Any:
    if key in DATE_KEYS and isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    return value


def build_search(
    user: Viewer, query: SearchQuery, *, size: int, cursor: str | None = None
) -> Search:
    """The DSL of one listing page: filters, sort with the id as tie-breaker, search_after."""
    key = query.key
    order = "desc" if query.descending else "asc"
    s = _filters(user, query).sort({key: {"order": order}}, {"repo_id": {"order": order}})
    s = s.source(False).extra(size=size + 1, track_total_hits=False)
    if cursor:
        value, pk = decode_cursor(cursor, key)
        s = s.extra(search_after=[_sort_value(key, value), pk])
    return s


def build_facets(user: Viewer, query: SearchQuery, *, per_facet: int) -> Search:
    """The DSL of facet counts: no hits, a terms aggregation per facet, the exact total."""
    s = _filters(user, query).extra(size=0, track_total_hits=True)
    for name in FACETS.get(query.kind, FACETS["model"]):
        s.aggs.bucket(name, "terms", field=FACET_FIELDS[name], size=per_facet)
    return s


class ElasticsearchBackend:
    name = "es"

    def __init__(self, *, url: str, prefix: str = "", client: Elasticsearch | None = None):
        self.client = client or Elasticsearch(url, request_timeout=30)
        self.alias = f"{prefix or 'hubforge'}-repos"

    # --- writes ------------------------------------------------------------------------------

    def _ensure_alias(self) -> None:
        if not self.client.indices.exists_alias(name=self.alias):
            name = f"{self.alias}-{int(time.time() * 1000)}"
            self.client.indices.create(index=name, **index_body(name))
            self.client.indices.put_alias(index=name, name=self.alias)

    def _actions(self, repos: Q, index: str) -> Any:
        metas = {m.pk: m for m in RepoMetadata.objects.filter(repos)}
        for repo in Repo.objects.filter(
            pk__in=RepoMetadata.objects.filter(repos).values("pk")
        ).select_related("owner"):
            yield {"_index": index, "_id": repo.pk, "_source": document(repo, metas.get(repo.pk))}

    def index(self, *, repo_ids: list[int]) -> None:
        self._ensure_alias()
        helpers.bulk(self.client, self._actions(Q(pk__in=repo_ids), self.alias), stats_only=True)

    def remove(self, *, repo_id: int) -> None:
        with contextlib.suppress(NotFoundError):  # never indexed, or removed already
            self.client.delete(index=self.alias, id=str(repo_id))

    def reindex(self) -> int:
        """Build a new versioned index from the database, then swap the alias atomically."""
        from search.indexer import index_all
        from search.stats import stats_refresh

        index_all()
        stats_refresh()
        started = timezone.now()
        name = f"{self.alias}-{int(time.time() * 1000)}"
        self.client.indices.create(index=name, **index_body(name))
        written = 0
        ids = list(RepoMetadata.objects.order_by("pk").values_list("pk", flat=True))
        for i in range(0, len(ids), BATCH):
            chunk = Q(pk__in=ids[i : i + BATCH])
            ok, _ = helpers.bulk(self.client, self._actions(chunk, name), stats_only=True)
            written += ok
        self.client.indices.refresh(index=name)
        old = list(self.client.indices.get_alias(name=self.alias, ignore_unavailable=True))
        actions = [{"remove": {"index": o, "alias": self.alias}} for o in old]
        actions.append({"add": {"index": name, "alias": self.alias}})
        self.client.indices.update_aliases(actions=actions)
        # Rows written while the new index was built went to the old one: copy them over.
        late = Q(indexed_at__gte=started) | Q(stats_at__gte=started)
        helpers.bulk(self.client, self._actions(late, name), stats_only=True)
        for o in old:
            self.client.indices.delete(index=o, ignore_unavailable=True)
        return written

    # --- reads -------------------------------------------------------------------------------

    def search(
        self, *, user: Viewer, query: SearchQuery, size: int, cursor: str | None = None
    ) -> SearchPage:
        s = build_search(user, query, size=size, cursor=cursor)
        hits = self.client.search(index=self.alias, body=s.to_dict())["hits"]["hits"]
        rows = [(int(h["_id"]), h["sort"]) for h in hits]
        next_cursor = None
        if len(rows) > size:
            rows = rows[:size]
            value, pk = rows[-1][1]
            if query.key in DATE_KEYS:
                value = datetime.datetime.fromtimestamp(value / 1000, tz=datetime.UTC)
            next_cursor = encode_cursor(value, pk)
        ids = [pk for pk, _ in rows]
        readable = set(
            Repo.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True)
        )
        return SearchPage(repo_ids=[i for i in ids if i in readable], next_cursor=next_cursor)

    def facets(self, *, user: Viewer, query: SearchQuery, per_facet: int = 10) -> Facets:
        s = build_facets(user, query, per_facet=per_facet)
        answer = self.client.search(index=self.alias, body=s.to_dict())
        by_facet: dict[str, list[FacetCount]] = {}
        for name in FACETS.get(query.kind, FACETS["model"]):
            buckets = answer.get("aggregations", {}).get(name, {}).get("buckets", [])
            by_facet[name] = [
                FacetCount(
                    value=b["key"], count=b["doc_count"], tag=facet_tag(query.kind, name, b["key"])
                )
                for b in buckets
            ]
        return Facets(total=int(answer["hits"]["total"]["value"]), by_facet=by_facet)
