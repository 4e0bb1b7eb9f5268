"""The shared behaviour suite against a live Elasticsearch, when HUB_TEST_ELASTICSEARCH_URL
is set. This is the one module allowed to skip: no Elasticsearch runs on these machines."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from search.backends.es import ElasticsearchBackend
from tests.search.suite import BackendBehaviour

URL = os.environ.get("HUB_TEST_ELASTICSEARCH_URL", "")

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not URL, reason="HUB_TEST_ELASTICSEARCH_URL is not set"),
]


class TestElasticsearchBackend(BackendBehaviour):
    @pytest.fixture
    def backend(self, settings) -> Iterator[ElasticsearchBackend]:  # type: ignore[no-untyped-def]
        # Repos index through search_backend(): point it at this test's own alias.
        from search.backends import _backend

        prefix = f"hubforge-test-{uuid.uuid4().hex[:8]}"
        settings.ELASTICSEARCH_URL = URL
        settings.ELASTICSEARCH_INDEX = prefix
        _backend.cache_clear()
        backend = ElasticsearchBackend(url=URL, prefix=prefix)
        backend.reindex()  # creates the first versioned index behind the alias
        try:
            yield backend
        finally:
            backend.client.indices.delete(index=f"{prefix}-repos-*", ignore_unavailable=True)
            _backend.cache_clear()

    @pytest.fixture
    def sync(self, backend: ElasticsearchBackend):  # type: ignore[no-untyped-def]
        return lambda: backend.client.indices.refresh(index=backend.alias)

    def test_reindex_swaps_the_alias_to_a_new_index(self, backend, sync, make, alice) -> None:
        make(alice, "kept")
        before = set(backend.client.indices.get_alias(name=backend.alias))
        assert backend.reindex() == 1
        after = set(backend.client.indices.get_alias(name=backend.alias))
        assert len(after) == 1
        assert after != before
        sync()
        assert self.names(backend, alice, self_query()) == ["kept"]


def self_query():  # type: ignore[no-untyped-def]
    from search.backends.base import SearchQuery

    return SearchQuery(kind="model")
