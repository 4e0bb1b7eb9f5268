"""list_models / list_datasets with the real client, on a server with 3 items per page so
every listing crosses pages through the `Link` header (utils/_pagination.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import HubServer, start_server, stop_server
from tests.e2e.helpers import clone, commit_file, git

pytestmark = pytest.mark.e2e

PAGE = 3


@pytest.fixture(scope="module")
def small_pages() -> Iterator[HubServer]:
    server, db_name = start_server(extra_env={"HUB_API_PAGE_SIZE": str(PAGE)})
    try:
        yield server
    finally:
        stop_server(server, db_name)


@pytest.fixture(scope="module")
def catalog(small_pages: HubServer) -> dict[str, object]:
    """One author with 7 models (one private) and 4 datasets, created in a known order."""
    server = small_pages
    author, token = server.create_user()
    models = [server.create_repo(token, f"Bert-{i}") for i in range(5)]
    models += [server.create_repo(token, "gpt-small"), server.create_repo(token, "gpt-large")]
    secret = server.create_repo(token, "bert-secret", private=True)
    datasets = [server.create_repo(token, f"squad-{i}", kind="dataset") for i in range(4)]
    return {
        "author": author,
        "token": token,
        "models": models,
        "secret": secret,
        "datasets": datasets,
    }


def _ids(items) -> list[str]:  # type: ignore[no-untyped-def]
    return [i.id for i in items]


def _all_pages(url: str, params: dict[str, str]) -> list[dict]:
    r = requests.get(url, params=params, timeout=30)
    items = r.json()
    while "next" in r.links:
        r = requests.get(r.links["next"]["url"], timeout=30)
        items += r.json()
    return items


def test_pages_are_followed_through_link(small_pages: HubServer, catalog: dict) -> None:
    api = small_pages.api(None)
    listed = _ids(api.list_models(author=catalog["author"], sort="createdAt"))
    assert listed == list(reversed(catalog["models"]))  # newest first, 7 items over 3 pages
    raw = requests.get(
        f"{small_pages.url}/api/models",
        params={"author": catalog["author"], "sort": "createdAt"},
        timeout=30,
    )
    assert len(raw.json()) == PAGE
    next_url = raw.links["next"]["url"]
    assert next_url.startswith(f"{small_pages.url}/api/models?")  # absolute
    second = requests.get(next_url, timeout=30)
    assert [i["id"] for i in second.json()] == listed[PAGE : 2 * PAGE]
    last = requests.get(requests.get(next_url, timeout=30).links["next"]["url"], timeout=30)
    assert [i["id"] for i in last.json()] == listed[2 * PAGE :]
    assert "next" not in last.links


def test_private_repos_only_for_readers(small_pages: HubServer, catalog: dict) -> None:
    author = catalog["author"]
    _other, other_token = small_pages.create_user()
    owner_view = _ids(
        small_pages.api(catalog["token"]).list_models(author=author, sort="created_at", limit=100)
    )
    assert catalog["secret"] in owner_view
    assert len(owner_view) == 8
    for viewer in (None, other_token):
        seen = _ids(small_pages.api(viewer).list_models(author=author))
        assert catalog["secret"] not in seen
        assert len(seen) == 7
    item = next(
        m
        for m in small_pages.api(catalog["token"]).list_models(author=author)
        if m.id == catalog["secret"]
    )
    assert item.private is True


def test_limit_caps_the_total_across_pages(small_pages: HubServer, catalog: dict) -> None:
    raw = requests.get(
        f"{small_pages.url}/api/models",
        params={"author": catalog["author"], "limit": 4},
        timeout=30,
    )
    assert len(raw.json()) == PAGE
    rest = requests.get(raw.links["next"]["url"], timeout=30)
    assert len(rest.json()) == 1
    assert "next" not in rest.links
    listed = _ids(small_pages.api(None).list_models(author=catalog["author"], limit=4))
    assert len(listed) == 4


def test_search_is_a_case_insensitive_substring_of_the_id(
    small_pages: HubServer, catalog: dict
) -> None:
    api = small_pages.api(None)
    author = catalog["author"]
    assert sorted(_ids(api.list_models(search="BERT-", author=author))) == sorted(
        catalog["models"][:5]
    )
    assert sorted(_ids(api.list_models(search="gpt"))) == sorted(catalog["models"][5:])
    assert _ids(api.list_models(search=f"{author}/gpt-s")) == [catalog["models"][5]]
    assert _ids(api.list_models(search="no-such-thing")) == []
    # list_datasets sends `search` twice when dataset_name is given: both must match.
    found = _ids(api.list_datasets(search="squad", dataset_name="-2"))
    assert found == [catalog["datasets"][2]]


def test_datasets_and_models_are_listed_apart(small_pages: HubServer, catalog: dict) -> None:
    api = small_pages.api(None)
    datasets = list(api.list_datasets(author=catalog["author"], sort="lastModified"))
    assert sorted(_ids(datasets)) == sorted(catalog["datasets"])
    assert all(d.downloads == 0 and d.likes == 0 for d in datasets)
    assert datasets[0].last_modified is not None
    assert datasets[0].created_at is not None
    assert not set(_ids(api.list_models(author=catalog["author"]))) & set(catalog["datasets"])


def test_sort_by_likes_descending_and_legacy_direction(
    small_pages: HubServer, catalog: dict
) -> None:
    server = small_pages
    liked, more_liked = catalog["models"][1], catalog["models"][3]
    fans = [server.create_user()[1] for _ in range(2)]
    for token, repo in ((fans[0], liked), (fans[0], more_liked), (fans[1], more_liked)):
        r = requests.post(
            f"{server.url}/api/models/{repo}/like",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        r.raise_for_status()
    ranked = list(server.api(None).list_models(author=catalog["author"], sort="likes"))
    assert [m.id for m in ranked[:2]] == [more_liked, liked]
    assert [m.likes for m in ranked[:3]] == [2, 1, 0]
    legacy = requests.get(
        f"{server.url}/api/models",
        timeout=30,
        params={"author": catalog["author"], "sort": "likes", "direction": "-1", "limit": 2},
    )
    assert [m["id"] for m in legacy.json()[:2]] == [more_liked, liked]
    ids = [
        m["id"]
        for m in _all_pages(
            f"{server.url}/api/models",
            {"author": catalog["author"], "sort": "likes", "direction": "1"},
        )
    ]
    assert len(ids) == 7
    assert ids[-2:] == [liked, more_liked]
    trending = list(server.api(None).list_models(author=catalog["author"], sort="trending_score"))
    assert trending[0].id == more_liked
    downloads = _ids(server.api(None).list_models(author=catalog["author"], sort="downloads"))
    assert len(downloads) == 7


def test_full_card_data_and_expand(
    small_pages: HubServer, catalog: dict, git_env, tmp_path: Path
) -> None:
    server = small_pages
    api = server.api(None)
    full = list(api.list_models(author=catalog["author"], full=True, limit=2))
    assert [len(m.sha or "") for m in full] == [40, 40]
    assert [[s.rfilename for s in m.siblings or []] for m in full] == [[".gitattributes"]] * 2
    expanded = list(api.list_models(author=catalog["author"], expand=["sha", "likes"], limit=1))
    assert len(expanded[0].sha or "") == 40

    user, token = server.create_user()
    repo = server.create_repo(token, "carded")
    work = tmp_path / "w"
    clone(server, repo, work, git_env, token)
    commit_file(work, git_env, "README.md", "---\nlicense: mit\ntags: [demo]\n---\n# Card\n")
    git("push", "-q", "origin", "main", cwd=work, env=git_env)
    (item,) = api.list_models(author=user, cardData=True)
    assert item.card_data is not None
    assert item.card_data.license == "mit"
    assert item.card_data.tags == ["demo"]
    (plain,) = api.list_models(author=user)
    assert plain.card_data is None


def test_filters_and_bad_parameters(small_pages: HubServer, catalog: dict) -> None:
    api = small_pages.api(None)
    # No repo carries the tag: nothing matches (filters are never ignored).
    assert _ids(api.list_models(author=catalog["author"], filter="text-classification")) == []
    assert len(_ids(api.list_models(author=catalog["author"], gated=False))) == 7
    assert _ids(api.list_models(author=catalog["author"], gated=True)) == []
    for params in (
        {"sort": "bogus"},
        {"limit": "-1"},
        {"cursor": "not-a-cursor"},
        {"direction": "2"},
    ):
        r = requests.get(f"{small_pages.url}/api/models", params=params, timeout=30)
        assert r.status_code == 400, params
        assert r.json()["error"]


def test_liked_repos_and_likers_paginate(small_pages: HubServer) -> None:
    server = small_pages
    user, token = server.create_user()
    repos = [server.create_repo(token) for _ in range(PAGE + 2)]
    fans = [server.create_user() for _ in range(PAGE + 1)]
    for repo in repos:
        requests.post(
            f"{server.url}/api/models/{repo}/like",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).raise_for_status()
    for _name, fan_token in fans:
        requests.post(
            f"{server.url}/api/models/{repos[0]}/like",
            headers={"Authorization": f"Bearer {fan_token}"},
            timeout=30,
        ).raise_for_status()
    likes = server.api(None).list_liked_repos(user)
    assert likes.models == list(reversed(repos))  # newest like first, across 2 pages
    likers = [u.username for u in server.api(None).list_repo_likers(repos[0])]
    assert likers == [name for name, _ in reversed(fans)] + [user]


def test_fine_grained_tokens_list_only_the_private_repos_they_may_read(
    small_pages: HubServer,
) -> None:
    """list_models(token=...) under each kind of token: public repos for everyone, private
    ones only where the token's scopes (orgs/tokens.py) let it read, across pages."""
    server = small_pages
    owner, write = server.create_user()
    org = server.unique("org")
    server.cli("org", "create", org, "--admin", owner)
    api = server.api(write)
    org_private = [
        api.create_repo(f"{org}/kite-{i}", private=True).repo_id for i in range(PAGE + 1)
    ]
    org_public = [api.create_repo(f"{org}/open-{i}").repo_id for i in range(2)]
    own_private = server.create_repo(write, "mine", private=True)
    own_public = server.create_repo(write, "shared")

    def fine(*scopes: str) -> str:
        args = ["token", "create", owner, "--role", "fineGrained", "--name", "fine"]
        for scope in scopes:
            args += ["--scope", scope]
        return server.cli(*args).stdout.strip().splitlines()[-1]

    def listed(token: str, author: str) -> set[str]:
        return set(_ids(server.api(None).list_models(author=author, token=token)))

    cases = {  # token -> (org's repos listed, owner's repos listed)
        server.token(owner, "read"): (org_private + org_public, [own_private, own_public]),
        fine(f"model:{org_private[0]}:repo.content.read"): (
            [org_private[0], *org_public],
            [own_public],
        ),
        fine(f"user:{owner}:repo.content.read"): (org_public, [own_private, own_public]),
        fine(f"org:{org}:repo.write"): (org_private + org_public, [own_public]),
        fine(f"org:{org}:repos.create", f"user:{owner}:webhooks.manage"): (
            org_public,
            [own_public],
        ),
    }
    for token, (in_org, own) in cases.items():
        assert listed(token, org) == set(in_org)
        assert listed(token, owner) == set(own)
    scoped = fine(f"model:{org_private[0]}:repo.content.read")
    for name in org_private:  # what a listing shows, the repo's own door opens, and no more
        assert server.api(scoped).repo_exists(name) == (name == org_private[0])
