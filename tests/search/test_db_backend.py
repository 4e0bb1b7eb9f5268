"""The shared behaviour suite against the database backend (SQLite, or PostgreSQL when
HUB_TEST_DATABASE_URL is set), plus what only this backend does: full-text SQL per vendor."""

from __future__ import annotations

import pytest

from search.backends.db import DatabaseBackend, fulltext_sql
from tests.search.suite import BackendBehaviour

pytestmark = pytest.mark.django_db


class TestDatabaseBackend(BackendBehaviour):
    @pytest.fixture
    def backend(self) -> DatabaseBackend:
        return DatabaseBackend()

    @pytest.fixture
    def sync(self):  # type: ignore[no-untyped-def]
        return lambda: None  # the rows are the index


def test_fulltext_sql_binds_words_and_prefixes_the_last() -> None:
    sql, params = fulltext_sql(["bert", "ba"], names_only=False, vendor="sqlite")
    assert "MATCH %s" in sql
    assert params == ['"bert" AND "ba"*']
    _, names = fulltext_sql(["ba"], names_only=True, vendor="sqlite")
    assert names == ['full_id : "ba"*']
    sql, params = fulltext_sql(["bert", "ba"], names_only=True, vendor="postgresql")
    assert "search_names @@ to_tsquery('simple', %s)" in sql
    assert params == ["'bert' & 'ba':*"]
    sql, _ = fulltext_sql(["bert"], names_only=False, vendor="postgresql")
    assert "search_vector @@" in sql


def test_sqlite_walks_the_sort_index_only_when_a_page_is_found_sooner_than_a_list() -> None:
    from search.backends.base import SearchQuery
    from search.backends.db import _walk_sort_index

    query = SearchQuery(kind="model", sort="trendingScore")
    one = [("SELECT 1", [])]
    two = one * 2
    assert _walk_sort_index(query, one, [500, 1000], 31)  # half match: ~62 rows walked
    assert not _walk_sort_index(query, one, [40, 1000], 31)  # 775 rows walked > 40 to drive
    assert not _walk_sort_index(query, two, [100, 100, 1000], 31)  # 1% left: drive
    assert _walk_sort_index(query, two, [800, 600, 1000], 31)
    by_id = SearchQuery(kind="model", sort="id")  # no index to walk for that order
    assert not _walk_sort_index(by_id, one, [500, 1000], 31)
