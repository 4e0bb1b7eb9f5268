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
