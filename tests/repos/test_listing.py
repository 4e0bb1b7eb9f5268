"""The listing selector: visibility, search, sorting and keyset pages that never skip or repeat."""

from __future__ import annotations

import datetime

import pytest

from common.errors import BadRequestError
from orgs.models import User
from orgs.services import user_create
from repos.listing import ListingQuery, decode_cursor, encode_cursor, repo_list, repo_stats
from repos.models import Like, Repo, RepoKind


@pytest.fixture
def alice(db) -> User:  # type: ignore[no-untyped-def]
    return user_create(username="alice", password=None)


def _repo(owner: User, name: str, *, kind: str = RepoKind.MODEL, private: bool = False) -> Repo:
    # Rows only: listing reads no git data unless full/cardData is asked for.
    return Repo.objects.create(owner=owner.namespace, name=name, kind=kind, private=private)


def _all(user, query: ListingQuery, size: int) -> list[str]:  # type: ignore[no-untyped-def]
    names: list[str] = []
    cursor = None
    while True:
        page = repo_list(user=user, query=query, size=size, cursor=cursor)
        names += [r.name for r in page.repos]
        if page.next_cursor is None:
            return names
        cursor = page.next_cursor


def test_pages_cover_everything_once_even_with_ties(alice: User) -> None:
    bob = user_create(username="bob", password=None)
    repos = [_repo(alice, f"m{i}") for i in range(7)]
    for r in repos[2:5]:  # three repos tied at one like, the rest at zero
        Like.objects.create(user=bob, repo=r)
    query = ListingQuery(kind=RepoKind.MODEL, sort="likes")
    names = _all(alice, query, size=2)
    assert sorted(names) == sorted(r.name for r in repos)
    assert set(names[:3]) == {"m2", "m3", "m4"}
    ascending = _all(alice, ListingQuery(kind=RepoKind.MODEL, sort="likes", descending=False), 3)
    assert ascending == list(reversed(names))


def test_created_at_pages_newest_first(alice: User) -> None:
    base = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    for i in range(5):
        r = _repo(alice, f"r{i}")
        Repo.objects.filter(pk=r.pk).update(created_at=base + datetime.timedelta(hours=i % 2))
    names = _all(alice, ListingQuery(kind=RepoKind.MODEL), size=2)
    assert names == ["r3", "r1", "r4", "r2", "r0"]  # by date, then newest id


def test_private_repos_only_for_their_readers(alice: User) -> None:
    from django.contrib.auth.models import AnonymousUser

    bob = user_create(username="bob", password=None)
    _repo(alice, "open")
    _repo(alice, "hidden", private=True)
    query = ListingQuery(kind=RepoKind.MODEL, author="ALICE")
    assert sorted(_all(alice, query, 10)) == ["hidden", "open"]
    assert _all(bob, query, 10) == ["open"]
    assert _all(AnonymousUser(), query, 10) == ["open"]


def test_search_terms_all_match_the_id_ignoring_case(alice: User) -> None:
    for name in ("Bert-base", "bert-large", "gpt2"):
        _repo(alice, name)
    _repo(alice, "bert-data", kind=RepoKind.DATASET)
    search = ListingQuery(kind=RepoKind.MODEL, search=("BERT",))
    assert sorted(_all(alice, search, 10)) == ["Bert-base", "bert-large"]
    both = ListingQuery(kind=RepoKind.MODEL, search=("alice/bert", "large"))
    assert _all(alice, both, 10) == ["bert-large"]
    assert _all(alice, ListingQuery(kind=RepoKind.DATASET, search=("bert",)), 10) == ["bert-data"]


def test_tag_filters_match_nothing_while_no_tags_are_stored(alice: User) -> None:
    _repo(alice, "m")
    assert _all(alice, ListingQuery(kind=RepoKind.MODEL, tags=("pytorch",)), 10) == []
    assert _all(alice, ListingQuery(kind=RepoKind.MODEL, tags=()), 10) == ["m"]


def test_gated_filter(alice: User) -> None:
    _repo(alice, "open")
    Repo.objects.filter(pk=_repo(alice, "gated").pk).update(gated="manual")
    assert _all(alice, ListingQuery(kind=RepoKind.MODEL, gated=True), 10) == ["gated"]
    assert _all(alice, ListingQuery(kind=RepoKind.MODEL, gated=False), 10) == ["open"]


@pytest.mark.parametrize(
    "sort", ["createdAt", "lastModified", "likes", "downloads", "trendingScore", "created_at", "id"]
)
def test_every_sort_pages_through(alice: User, sort: str) -> None:
    for i in range(4):
        _repo(alice, f"s{i}")
    assert sorted(_all(alice, ListingQuery(kind=RepoKind.MODEL, sort=sort), 3)) == [
        "s0",
        "s1",
        "s2",
        "s3",
    ]


def test_bad_sort_and_forged_cursors_are_refused(alice: User) -> None:
    with pytest.raises(BadRequestError, match="Invalid sort"):
        repo_list(user=alice, query=ListingQuery(kind=RepoKind.MODEL, sort="nope"), size=5)
    for cursor in ("???", "bm90IGpzb24", encode_cursor("text", 1), encode_cursor(1, "x")):
        with pytest.raises(BadRequestError, match="Invalid cursor"):
            repo_list(
                user=alice,
                query=ListingQuery(kind=RepoKind.MODEL, sort="likes"),
                size=5,
                cursor=cursor,
            )
    when = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    assert decode_cursor(encode_cursor(when, 7), "created_at") == (when, 7)


def test_repo_stats_counts_likes(alice: User) -> None:
    bob = user_create(username="bob", password=None)
    liked, other = _repo(alice, "a"), _repo(alice, "b")
    Like.objects.create(user=bob, repo=liked)
    Like.objects.create(user=alice, repo=liked)
    stats = repo_stats(repos=[liked, other])
    assert (stats[liked.pk].likes, stats[liked.pk].trending_score) == (2, 2)
    assert stats[other.pk].likes == 0
    assert stats[other.pk].downloads.recent == 0
    assert repo_stats(repos=[]) == {}
