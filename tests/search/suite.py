"""The behaviour every search backend must have, as one suite run against each backend.

A module subclasses `BackendBehaviour` and provides two fixtures: `backend` (the backend
under test) and `sync` (makes written documents searchable: nothing for the database,
an index refresh for Elasticsearch). Repos are rows plus metadata built from card text,
with no git, so the suite runs fast on both databases.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser

from common.errors import BadRequestError
from orgs.models import User
from orgs.services import user_create
from repos.listing import encode_cursor
from repos.models import Like, Repo, RepoKind
from search.backends.base import SearchBackend, SearchQuery
from search.cards import extract_metadata
from search.indexer import metadata_save
from search.models import RepoMetadata

Sync = Callable[[], None]


def card(**fields: Any) -> str:
    import json

    lines = [f"{k.replace('_dash_', '-')}: {json.dumps(v)}" for k, v in fields.items()]
    return "---\n" + "\n".join(lines) + "\n---\n"


class BackendBehaviour:
    @pytest.fixture
    def alice(self, db) -> User:  # type: ignore[no-untyped-def]
        return user_create(username="alice", password=None)

    @pytest.fixture
    def bob(self, db) -> User:  # type: ignore[no-untyped-def]
        return user_create(username="bob", password=None)

    @pytest.fixture
    def make(self, backend: SearchBackend) -> Callable[..., Repo]:
        def make(
            owner: User,
            name: str,
            *,
            kind: str = RepoKind.MODEL,
            private: bool = False,
            readme: str | None = None,
            files: tuple[str, ...] = (),
            description: str = "",
        ) -> Repo:
            repo = Repo.objects.create(
                owner=owner.namespace,
                name=name,
                kind=kind,
                private=private,
                description=description,
            )
            meta = extract_metadata(kind=kind, readme=readme, files=list(files))
            metadata_save(repo=repo, sha="0" * 40, meta=meta)
            backend.index(repo_ids=[repo.pk])
            return repo

        return make

    @staticmethod
    def names(backend: SearchBackend, user: Any, query: SearchQuery, size: int = 50) -> list[str]:
        out: list[str] = []
        cursor = None
        while True:
            page = backend.search(user=user, query=query, size=size, cursor=cursor)
            out += list(
                Repo.objects.filter(pk__in=page.repo_ids).in_bulk(page.repo_ids).__getitem__(i).name
                for i in page.repo_ids
            )
            if page.next_cursor is None:
                return out
            cursor = page.next_cursor

    # --- visibility ---------------------------------------------------------------------------

    def test_private_repos_only_for_their_readers_in_results_and_counts(
        self, backend, sync, make, alice, bob
    ) -> None:
        mit = card(license="mit", pipeline_tag="text-classification", language=["en"])
        make(alice, "open-bert", readme=mit + "secret sauce")
        make(alice, "hidden-bert", private=True, readme=mit + "secret sauce")
        sync()
        for query in (
            SearchQuery(kind="model", author="ALICE"),
            SearchQuery(kind="model", text="sauce"),
            SearchQuery(kind="model", text="hid", names_only=True),
            SearchQuery(kind="model", tags=("license:mit",)),
            SearchQuery(kind="model", search=("bert",)),
        ):
            mine = self.names(backend, alice, query)
            for viewer in (bob, AnonymousUser()):
                assert "hidden-bert" not in self.names(backend, viewer, query), query
            if query.text != "hid":
                assert sorted(mine) == ["hidden-bert", "open-bert"], query
        for viewer, expected in ((alice, 2), (bob, 1), (AnonymousUser(), 1)):
            found = backend.facets(user=viewer, query=SearchQuery(kind="model"))
            assert found.total == expected
            assert found.by_facet["license"][0].count == expected
            assert found.by_facet["task"][0].count == expected

    def test_a_repo_made_private_disappears_before_any_reindex(
        self, backend, sync, make, alice, bob
    ) -> None:
        repo = make(alice, "soon-private", readme=card(license="mit"))
        sync()
        query = SearchQuery(kind="model", tags=("license:mit",))
        assert self.names(backend, bob, query) == ["soon-private"]
        Repo.objects.filter(pk=repo.pk).update(private=True)  # no event, no reindex yet
        assert self.names(backend, bob, query) == []
        assert self.names(backend, alice, query) == ["soon-private"]

    # --- filters ------------------------------------------------------------------------------

    def test_tags_all_must_match(self, backend, sync, make, alice) -> None:
        make(alice, "a", readme=card(license="mit", tags=["demo"], datasets=["squad"]))
        make(alice, "b", readme=card(license="apache-2.0", tags=["demo"]))
        make(alice, "c")
        sync()
        q = SearchQuery(kind="model")
        assert self.names(backend, alice, q) != []
        by_tags = {
            ("license:mit",): ["a"],
            ("demo",): ["a", "b"],
            ("demo", "license:apache-2.0"): ["b"],
            ("dataset:squad", "license:apache-2.0"): [],
            ("no-such-tag",): [],
        }
        for tags, expected in by_tags.items():
            found = self.names(backend, alice, SearchQuery(kind="model", tags=tags))
            assert sorted(found) == expected, tags

    def test_facet_filters_and_inferred_task(self, backend, sync, make, alice) -> None:
        make(alice, "clf", readme=card(pipeline_tag="text-classification", library_name="ex"))
        make(alice, "gguf", files=("model-q4.gguf",))
        sync()
        task = SearchQuery(kind="model", facets=(("task", "text-classification"),))
        assert self.names(backend, alice, task) == ["clf"]
        library = SearchQuery(kind="model", facets=(("library", "gguf"),))
        assert self.names(backend, alice, library) == ["gguf"]
        assert self.names(backend, alice, SearchQuery(kind="model", tags=("gguf",))) == ["gguf"]

    def test_search_terms_all_match_the_id_ignoring_case(self, backend, sync, make, alice) -> None:
        for name in ("Bert-base", "bert-large", "gpt2"):
            make(alice, name)
        make(alice, "bert-data", kind=RepoKind.DATASET)
        sync()
        search = SearchQuery(kind="model", search=("BERT",))
        assert sorted(self.names(backend, alice, search)) == ["Bert-base", "bert-large"]
        both = SearchQuery(kind="model", search=("alice/bert", "large"))
        assert self.names(backend, alice, both) == ["bert-large"]
        data = SearchQuery(kind="dataset", search=("bert",))
        assert self.names(backend, alice, data) == ["bert-data"]

    def test_full_text_over_name_description_and_card(self, backend, sync, make, alice) -> None:
        make(alice, "zebra-net", readme=card(license="mit") + "Detects striped horses.")
        make(alice, "plain", description="A model for horse racing odds")
        make(alice, "other", readme="# Nothing to see")
        sync()
        assert self.names(backend, alice, SearchQuery(kind="model", text="zebra")) == ["zebra-net"]
        horses = SearchQuery(kind="model", text="striped hors")  # last word as a prefix
        assert self.names(backend, alice, horses) == ["zebra-net"]
        horse = self.names(backend, alice, SearchQuery(kind="model", text="horse odds"))
        assert horse == ["plain"]  # whole words, except the last, a prefix ("horses" is not)
        prefix = sorted(self.names(backend, alice, SearchQuery(kind="model", text="hors")))
        assert prefix == ["plain", "zebra-net"]
        names_only = SearchQuery(kind="model", text="zeb", names_only=True)
        assert self.names(backend, alice, names_only) == ["zebra-net"]
        striped_names = SearchQuery(kind="model", text="striped", names_only=True)
        assert self.names(backend, alice, striped_names) == []
        # Query syntax of either engine is only punctuation here: the words are what count.
        hostile = SearchQuery(kind="model", text="\"zebra* :: {} ' ^ -( NEAR/")
        assert self.names(backend, alice, hostile) == []  # "near" is in no card
        quoted = SearchQuery(kind="model", text="\"zebra* :: {} ' ^ -(")
        assert self.names(backend, alice, quoted) == ["zebra-net"]

    def test_gated_filter(self, backend, sync, make, alice) -> None:
        make(alice, "open")
        gated = make(alice, "gated")
        Repo.objects.filter(pk=gated.pk).update(gated="manual")
        backend.index(repo_ids=[gated.pk])
        sync()
        assert self.names(backend, alice, SearchQuery(kind="model", gated=True)) == ["gated"]
        assert self.names(backend, alice, SearchQuery(kind="model", gated=False)) == ["open"]

    # --- facets -------------------------------------------------------------------------------

    def test_facet_counts_for_the_current_query(self, backend, sync, make, alice) -> None:
        make(alice, "m1", readme=card(license="mit", language=["en", "fr"], datasets=["squad"]))
        make(alice, "m2", readme=card(license="mit", language=["en"]))
        make(alice, "m3", readme=card(license="apache-2.0", pipeline_tag="fill-mask"))
        make(alice, "d1", kind=RepoKind.DATASET, readme=card(task_categories=["translation"]))
        sync()
        found = backend.facets(user=alice, query=SearchQuery(kind="model"))
        assert found.total == 3
        counts = {n: [(c.value, c.count, c.tag) for c in v] for n, v in found.by_facet.items()}
        assert counts["license"] == [
            ("mit", 2, "license:mit"),
            ("apache-2.0", 1, "license:apache-2.0"),
        ]
        assert counts["language"] == [("en", 2, "en"), ("fr", 1, "fr")]
        assert counts["dataset"] == [("squad", 1, "dataset:squad")]
        assert counts["task"] == [("fill-mask", 1, "fill-mask")]
        narrowed = backend.facets(user=alice, query=SearchQuery(kind="model", tags=("fr",)))
        assert narrowed.total == 1
        assert [(c.value, c.count) for c in narrowed.by_facet["license"]] == [("mit", 1)]
        data = backend.facets(user=alice, query=SearchQuery(kind="dataset"))
        assert data.total == 1
        assert [c.tag for c in data.by_facet["task"]] == ["task_categories:translation"]

    # --- sorting and pages --------------------------------------------------------------------

    def test_pages_cover_everything_once_even_with_ties(
        self, backend, sync, make, alice, bob
    ) -> None:
        repos = [make(alice, f"m{i}") for i in range(7)]
        for r in repos[2:5]:  # three repos tied at one like, the rest at zero
            Like.objects.create(user=bob, repo=r)
        backend.index(repo_ids=[r.pk for r in repos])
        sync()
        query = SearchQuery(kind="model", sort="likes")
        names = self.names(backend, alice, query, size=2)
        assert sorted(names) == sorted(r.name for r in repos)
        assert set(names[:3]) == {"m2", "m3", "m4"}
        ascending = SearchQuery(kind="model", sort="likes", descending=False)
        assert self.names(backend, alice, ascending, size=3) == list(reversed(names))

    def test_created_at_pages_newest_first(self, backend, sync, make, alice) -> None:
        base = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
        repos = []
        for i in range(5):
            r = make(alice, f"r{i}")
            when = base + datetime.timedelta(hours=i % 2)
            Repo.objects.filter(pk=r.pk).update(created_at=when)
            # Creation dates never change, so the index copies them once, with the row.
            RepoMetadata.objects.filter(pk=r.pk).update(created_at=when)
            repos.append(r.pk)
        backend.index(repo_ids=repos)
        sync()
        names = self.names(backend, alice, SearchQuery(kind="model"), size=2)
        assert names == ["r3", "r1", "r4", "r2", "r0"]  # by date, then newest id

    @pytest.mark.parametrize(
        "sort", ["createdAt", "lastModified", "likes", "downloads", "trendingScore", "id"]
    )
    def test_every_sort_pages_through(self, backend, sync, make, alice, sort: str) -> None:
        for i in range(4):
            make(alice, f"s{i}")
        sync()
        found = self.names(backend, alice, SearchQuery(kind="model", sort=sort), size=3)
        assert sorted(found) == ["s0", "s1", "s2", "s3"]

    def test_trending_ranks_recent_interest_first(self, backend, sync, make, alice, bob) -> None:
        old, recent, none = make(alice, "old"), make(alice, "recent"), make(alice, "none")
        carol = user_create(username="carol", password=None)
        for fan in (bob, carol):
            like = Like.objects.create(user=fan, repo=old)
            Like.objects.filter(pk=like.pk).update(
                created_at=like.created_at - datetime.timedelta(days=20)
            )
        Like.objects.create(user=bob, repo=recent)
        from search.stats import stats_refresh

        stats_refresh()
        backend.index(repo_ids=[old.pk, recent.pk, none.pk])
        sync()
        ranked = self.names(backend, alice, SearchQuery(kind="model", sort="trendingScore"))
        assert ranked == ["recent", "old", "none"]
        by_likes = self.names(backend, alice, SearchQuery(kind="model", sort="likes"))
        assert by_likes == ["old", "recent", "none"]

    def test_bad_sort_and_forged_cursors_are_refused(self, backend, sync, make, alice) -> None:
        make(alice, "x")
        sync()
        with pytest.raises(BadRequestError, match="Invalid sort"):
            backend.search(user=alice, query=SearchQuery(kind="model", sort="nope"), size=5)
        for cursor in ("???", "bm90IGpzb24", encode_cursor("text", 1), encode_cursor(1, "x")):
            with pytest.raises(BadRequestError, match="Invalid cursor"):
                backend.search(
                    user=alice, query=SearchQuery(kind="model", sort="likes"), size=5, cursor=cursor
                )
