"""The Elasticsearch backend without a server: its mapping, documents and query DSL as dicts."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser

from orgs.services import user_create
from repos.listing import encode_cursor
from repos.models import Repo
from search.backends.base import SearchQuery
from search.backends.es import build_facets, build_search, document, index_body
from search.cards import extract_metadata
from search.indexer import metadata_save
from search.models import RepoMetadata

pytestmark = pytest.mark.django_db


def test_mapping_is_explicit_and_strict() -> None:
    body = index_body("hubforge-repos-1")
    mapping = body["mappings"]
    assert mapping["dynamic"] == "strict"
    props = mapping["properties"]
    for keyword in ("kind", "tags", "task", "library", "license", "language", "dataset", "size",
                    "gated", "id_lower"):  # fmt: skip
        assert props[keyword] == {"type": "keyword"}, keyword
    assert props["owner"] == {"type": "keyword", "normalizer": "hub_lower"}
    assert props["full_id"] == {
        "type": "text",
        "analyzer": "hub_words",
        "fields": {"raw": {"type": "keyword", "normalizer": "hub_lower"}},
    }
    assert props["card_text"] == {"type": "text", "analyzer": "hub_words"}
    assert props["private"] == {"type": "boolean"}
    assert props["created_at"] == {"type": "date"}
    assert props["trending_score"] == {"type": "float"}
    assert props["likes"] == {"type": "integer"}
    analysis = body["settings"]["analysis"]
    assert analysis["analyzer"]["hub_words"] == {
        "type": "custom",
        "tokenizer": "hub_words_split",
        "filter": ["lowercase", "asciifolding"],
    }
    assert analysis["tokenizer"]["hub_words_split"]["pattern"] == r"[^\p{L}\p{N}]+"


def test_document_carries_facets_sort_keys_and_visibility() -> None:
    alice = user_create(username="alice", password=None)
    repo = Repo.objects.create(owner=alice.namespace, name="m", private=True)
    meta = extract_metadata(
        kind="model",
        readme="---\nlicense: mit\npipeline_tag: fill-mask\nlanguage: en\ndatasets: [d]\n---\nhi",
        files=["model.safetensors"],
    )
    metadata_save(repo=repo, sha="a" * 40, meta=meta)
    doc = document(repo, RepoMetadata.objects.get(pk=repo.pk))
    assert doc["private"] is True
    assert doc["owner_id"] == alice.namespace_id
    assert (doc["task"], doc["license"], doc["language"], doc["dataset"]) == (
        ["fill-mask"],
        ["mit"],
        ["en"],
        ["d"],
    )
    assert doc["size"] == []
    assert "license:mit" in doc["tags"]
    assert "safetensors" in doc["tags"]
    assert doc["card_text"] == "hi"
    assert set(doc) <= set(index_body("x")["mappings"]["properties"])  # strict mapping accepts it


def test_search_dsl_filters_visibility_terms_and_sorts() -> None:
    bob = user_create(username="bob", password=None)
    query = SearchQuery(
        kind="model",
        search=("Be*rt",),
        text="striped hors",
        author="Alice",
        tags=("license:mit",),
        facets=(("task", "fill-mask"),),
        gated=False,
        sort="likes",
    )
    when = datetime.datetime(2025, 1, 2, tzinfo=datetime.UTC)
    cursor = encode_cursor(3, 41)
    dsl = build_search(bob, query, size=10, cursor=cursor).to_dict()
    assert dsl["size"] == 11
    assert dsl["_source"] is False
    assert dsl["sort"] == [{"likes": {"order": "desc"}}, {"repo_id": {"order": "desc"}}]
    assert dsl["search_after"] == [3, 41]
    bool_query = dsl["query"]["bool"]
    assert bool_query["filter"] == [
        {"term": {"kind": "model"}},
        {"bool": {"should": [{"term": {"private": False}},
                             {"term": {"owner_id": bob.namespace_id}}],
                  "minimum_should_match": 1}},
        {"term": {"owner": "Alice"}},
        {"wildcard": {"full_id.raw": {"value": "*be\\*rt*"}}},
        {"term": {"gated": ""}},
        {"term": {"tags": "license:mit"}},
        {"term": {"task": "fill-mask"}},
    ]  # fmt: skip
    fields = ["full_id^3", "description^2", "card_text"]
    assert bool_query["must"] == [  # every word; the last one as a prefix
        {"multi_match": {"query": "striped", "fields": fields, "operator": "and"}},
        {"multi_match": {"query": "hors", "fields": fields, "type": "phrase_prefix"}},
    ]  # fmt: skip
    dated = build_search(
        AnonymousUser(),
        SearchQuery(kind="dataset", sort="createdAt", descending=False),
        size=5,
        cursor=encode_cursor(when, 7),
    ).to_dict()
    assert dated["query"]["bool"]["filter"][1] == {"term": {"private": False}}
    assert dated["sort"][0] == {"created_at": {"order": "asc"}}
    assert dated["search_after"] == [int(when.timestamp() * 1000), 7]


def test_superuser_sees_everything_and_names_only_searches_names() -> None:
    root = user_create(username="root", password=None)
    root.is_superuser = True
    query = SearchQuery(kind="model", text="bert", names_only=True)
    dsl = build_search(root, query, size=5).to_dict()
    assert dsl["query"]["bool"]["filter"] == [{"term": {"kind": "model"}}]
    assert dsl["query"]["bool"]["must"] == [{"multi_match": {"query": "bert", "fields": ["full_id"],
                                      "type": "phrase_prefix"}}]  # fmt: skip


def test_facet_dsl_is_terms_aggregations_with_an_exact_total() -> None:
    dsl = build_facets(AnonymousUser(), SearchQuery(kind="dataset"), per_facet=7).to_dict()
    assert dsl["size"] == 0
    assert dsl["track_total_hits"] is True
    assert dsl["aggs"] == {
        name: {"terms": {"field": name, "size": 7}}
        for name in ("task", "library", "license", "language", "size")
    }
    assert {"term": {"private": False}} in dsl["query"]["bool"]["filter"]
