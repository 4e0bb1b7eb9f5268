"""Maintained facet counts (search/counts.py) and the database backend's count and plan paths.

The triggers must leave `FacetCount` equal to a fresh recount after anything that changes
tags or visibility, by whatever route (ORM save, bare UPDATE, cascade delete); every viewer
must see exactly the repos it may read counted; past the sample size counts are estimates
made from readable repos only. Runs on SQLite, and on PostgreSQL with HUB_TEST_DATABASE_URL.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection

from orgs.models import User
from orgs.services import user_create
from repos.models import Repo, RepoKind
from search.backends import db as db_backend
from search.backends.base import SearchQuery
from search.backends.db import DatabaseBackend
from search.cards import extract_metadata
from search.counts import ensure_facet_counts, facet_counts_rebuild
from search.indexer import metadata_save
from search.models import FacetCount, RepoTag
from tests.search.suite import BackendBehaviour, card

pytestmark = pytest.mark.django_db


def snapshot() -> dict[tuple[str, str, str], tuple[int, int, str]]:
    return {
        (c.kind, c.facet, c.value): (c.public, c.private, c.tag)
        for c in FacetCount.objects.all()
        if c.public or c.private
    }


def recounted() -> dict[tuple[str, str, str], tuple[int, int, str]]:
    facet_counts_rebuild()
    return snapshot()


def make(owner: User, name: str, *, private: bool = False, kind: str = "model", **fields: Any):  # type: ignore[no-untyped-def]
    repo = Repo.objects.create(owner=owner.namespace, name=name, kind=kind, private=private)
    meta = extract_metadata(kind=kind, readme=card(**fields) if fields else None, files=[])
    metadata_save(repo=repo, sha="0" * 40, meta=meta)
    return repo


def counts(found) -> dict[str, list[tuple[str, int]]]:  # type: ignore[no-untyped-def]
    return {name: [(c.value, c.count) for c in values] for name, values in found.by_facet.items()}


@pytest.fixture
def alice() -> User:
    return user_create(username="alice", password=None)


@pytest.fixture
def bob() -> User:
    return user_create(username="bob", password=None)


def test_triggers_keep_counts_equal_to_a_recount_through_every_change(alice, bob) -> None:
    a = make(alice, "a", license="mit", language=["en", "fr"], pipeline_tag="fill-mask")
    b = make(alice, "b", private=True, license="mit", language=["en"])
    make(bob, "d", kind=RepoKind.DATASET, license="mit", task_categories=["translation"])
    live = snapshot()
    assert live[("model", "license", "mit")] == (1, 1, "license:mit")
    assert live[("model", "", "")] == (1, 1, "")
    assert live[("dataset", "license", "mit")] == (1, 0, "license:mit")
    assert live == recounted()

    # A new card: values leave and arrive; a reindex with the same card changes nothing.
    meta = extract_metadata(
        kind="model", readme=card(license="apache-2.0", language=["en"]), files=[]
    )
    metadata_save(repo=a, sha="1" * 40, meta=meta)
    metadata_save(repo=a, sha="1" * 40, meta=meta)
    live = snapshot()
    assert ("model", "task", "fill-mask") not in live
    assert live[("model", "license", "mit")] == (0, 1, "license:mit")
    assert live[("model", "language", "en")] == (1, 1, "en")
    assert live == recounted()

    # Visibility: through save() (the settings service), then a bare UPDATE (no signal).
    b.private = False
    b.save(update_fields=["private"])
    assert snapshot()[("model", "license", "mit")] == (1, 0, "license:mit")
    Repo.objects.filter(pk=a.pk).update(private=True)
    live = snapshot()
    assert live[("model", "license", "apache-2.0")] == (0, 1, "license:apache-2.0")
    assert live[("model", "", "")] == (1, 1, "")
    assert live == recounted()

    # A tag row edited in place moves its count too.
    RepoTag.objects.filter(repo=b, facet="license").update(value="bsd", tag="license:bsd")
    assert snapshot()[("model", "license", "bsd")] == (1, 0, "license:bsd")
    assert snapshot() == recounted()

    # Deletion through the ORM (tags and row cascade first) ...
    b.delete()
    assert snapshot() == recounted()
    assert snapshot()[("model", "", "")] == (0, 1, "")
    # ... and a repo row removed before its tag rows (no cascade in the database).
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            cursor.execute("PRAGMA defer_foreign_keys = ON")
        cursor.execute("DELETE FROM repos_repo WHERE id = %s", [a.pk])
        assert ("model", "", "") not in snapshot()
        cursor.execute("DELETE FROM search_repotag WHERE repo_id = %s", [a.pk])
        cursor.execute("DELETE FROM search_repometadata WHERE repo_id = %s", [a.pk])
    assert ("model", "license", "apache-2.0") not in snapshot()
    assert snapshot() == recounted()


def test_triggers_dropped_by_a_table_rebuild_come_back_after_migrate(alice) -> None:
    make(alice, "a", license="mit")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER search_fc_repo ON repos_repo")
        else:
            cursor.execute("DROP TRIGGER search_fc_repo_au")
    Repo.objects.filter(name="a").update(private=True)  # missed: no trigger
    assert snapshot()[("model", "license", "mit")] == (1, 0, "license:mit")
    ensure_facet_counts()  # what post_migrate runs
    assert snapshot()[("model", "license", "mit")] == (0, 1, "license:mit")
    Repo.objects.filter(name="a").update(private=False)  # followed again
    assert snapshot()[("model", "license", "mit")] == (1, 0, "license:mit")


def test_catalogue_counts_add_only_what_each_viewer_may_read(alice, bob) -> None:
    for i in range(3):
        make(bob, f"pub{i}", license="mit", language=["en"])
    make(bob, "pub-apache", license="apache-2.0", language=["de"])
    for i in range(4):  # alice's private repos outnumber every public value of "de"
        make(alice, f"mine{i}", private=True, license="apache-2.0", language=["de", "fr"])
    admin = User.objects.create_superuser(username="root", password="x", email="r@x.io")
    backend = DatabaseBackend()
    query = SearchQuery(kind="model")
    seen = {
        "anonymous": backend.facets(user=AnonymousUser(), query=query, per_facet=1),
        "bob": backend.facets(user=bob, query=query, per_facet=1),
        "alice": backend.facets(user=alice, query=query, per_facet=1),
        "admin": backend.facets(user=admin, query=query, per_facet=1),
    }
    for viewer in ("anonymous", "bob"):
        assert seen[viewer].total == 4
        assert counts(seen[viewer])["license"] == [("mit", 3)]
        assert counts(seen[viewer])["language"] == [("en", 3)]
    for viewer in ("alice", "admin"):
        assert seen[viewer].total == 8
        # A value outside the public top climbs into it with the private repos.
        assert counts(seen[viewer])["license"] == [("apache-2.0", 5)]
        assert counts(seen[viewer])["language"] == [("de", 5)]
    # The same answers as counting the tags of every readable repo.
    for name, user in (("anonymous", AnonymousUser()), ("alice", alice)):
        qs = db_backend.filtered(user, query)
        exact = RepoTag.objects.filter(repo_id__in=qs.values("pk"), facet="license")
        assert seen[name].by_facet["license"][0].count == exact.filter(value=(
            seen[name].by_facet["license"][0].value
        )).count()  # fmt: skip


def test_narrowed_counts_past_the_sample_are_estimates_of_readable_repos(
    alice, bob, monkeypatch
) -> None:
    for i in range(8):
        make(bob, f"zebra-{i}", license="mit" if i % 2 else "apache-2.0")
    for i in range(6):  # the newest matches, private: never in the sample of others
        make(alice, f"zebra-secret-{i}", private=True, license="gpl-3.0")
    backend = DatabaseBackend()
    query = SearchQuery(kind="model", text="zebra")
    exact = backend.facets(user=bob, query=query)
    assert (exact.total, exact.approximate) == (8, False)
    assert counts(exact)["license"] == [("apache-2.0", 4), ("mit", 4)]

    monkeypatch.setattr(db_backend, "SAMPLE", 4)
    estimate = backend.facets(user=bob, query=query)
    assert estimate.approximate
    assert 4 <= estimate.total <= 14  # 4 newest public matches, scaled by their id span
    values = {v for v, _ in counts(estimate)["license"]}
    assert values <= {"mit", "apache-2.0"}  # alice's private licence is never sampled
    mine = backend.facets(user=alice, query=query)
    assert {v for v, _ in counts(mine)["license"]} == {"gpl-3.0"}  # her 4 newest
    # Results stay exact whatever the counts do.
    page = backend.search(user=bob, query=query, size=50)
    assert len(page.repo_ids) == 8


class TestDatabaseBackendOtherPlans(BackendBehaviour):
    """The shared suite again, with the plans small data never takes by itself: SQLite
    walking the sort index for every full-text query, PostgreSQL tag filters as subqueries."""

    @pytest.fixture
    def backend(self, monkeypatch) -> DatabaseBackend:  # type: ignore[no-untyped-def]
        def walk(query: SearchQuery, lists: list, sizes: list, limit: int) -> bool:  # type: ignore[type-arg]
            return bool(lists) and not query.author and query.key != "id_lower"

        monkeypatch.setattr(db_backend, "_walk_sort_index", walk)
        monkeypatch.setattr(db_backend, "LITERAL_MAX", 0)
        return DatabaseBackend()

    @pytest.fixture
    def sync(self):  # type: ignore[no-untyped-def]
        return lambda: None


def test_api_and_page_say_when_counts_are_estimates(alice, monkeypatch) -> None:
    from django.test import Client

    for i in range(5):
        make(alice, f"okapi-{i}", license="mit")
    client = Client()
    exact = client.get("/api/models/facets", {"q": "okapi"}).json()
    assert (exact["total"], exact["approximate"]) == (5, False)
    assert "about" not in client.get("/models", {"q": "okapi"}).content.decode()
    monkeypatch.setattr(db_backend, "SAMPLE", 2)
    estimate = client.get("/api/models/facets", {"q": "okapi"}).json()
    assert estimate["approximate"] is True
    assert estimate["facets"]["license"][0]["value"] == "mit"
    page = client.get("/models", {"q": "okapi"}).content.decode()
    assert "about " in page
    assert page.count('class="repo-item"') == 5  # the list itself is exact
