"""Search with the real client: a README with front matter uploaded through HfApi is
indexed by the worker, then found by list_models filters, search, sort, and model_info."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.e2e.conftest import HubServer

pytestmark = pytest.mark.e2e

CARD = """---
license: mit
pipeline_tag: text-classification
library_name: transformers
language: [en]
datasets: [{owner}/reviews]
tags: [e2e-search]
---
# {name}

Rates {word} reviews.
"""


def eventually(check: Callable[[], Any], *, timeout: float = 60.0) -> Any:
    """Poll `check` until it returns something truthy: indexing runs in the worker."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def _upload_card(server: HubServer, token: str, repo: str, word: str) -> None:
    owner, name = repo.split("/")
    card = CARD.format(owner=owner, name=name, word=word)
    server.api(token).upload_file(
        path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo
    )


def test_uploaded_card_feeds_filters_search_sort_and_model_info(hub_server: HubServer) -> None:
    server = hub_server
    owner, token = server.create_user()
    word = server.unique("quokka")
    liked = server.create_repo(token, "e2e-search-liked")
    plain = server.create_repo(token, "e2e-search-plain")
    for repo in (liked, plain):
        _upload_card(server, token, repo, word)
    fan_token = server.create_user()[1]
    requests.post(
        f"{server.url}/api/models/{liked}/like",
        headers={"Authorization": f"Bearer {fan_token}"},
        timeout=30,
    ).raise_for_status()
    api = server.api(None)

    def indexed() -> list[str]:
        found = [m.id for m in api.list_models(filter="license:mit", author=owner)]
        return found if len(found) == 2 else []

    assert sorted(eventually(indexed)) == sorted([liked, plain])
    info = api.model_info(liked)
    assert info.pipeline_tag == "text-classification"
    assert info.library_name == "transformers"
    assert {"license:mit", "e2e-search", "en", f"dataset:{owner}/reviews"} <= set(info.tags)
    assert info.card_data is not None
    assert info.card_data.license == "mit"
    ranked = [m.id for m in api.list_models(search="e2e-search", author=owner, sort="likes")]
    assert ranked == [liked, plain]
    both = [m.id for m in api.list_models(filter=["license:mit", "e2e-search"], author=owner)]
    assert sorted(both) == sorted([liked, plain])
    tasks = [m.id for m in api.list_models(pipeline_tag="text-classification", author=owner)]
    assert sorted(tasks) == sorted([liked, plain])
    assert list(api.list_models(filter="license:apache-2.0", author=owner)) == []
    full_text = requests.get(f"{server.url}/api/models", params={"q": word}, timeout=30).json()
    assert sorted(m["id"] for m in full_text) == sorted([liked, plain])


def test_private_repo_absent_from_other_users_results_and_counts(hub_server: HubServer) -> None:
    server = hub_server
    owner, token = server.create_user()
    word = server.unique("wombat")
    secret = server.create_repo(token, "e2e-search-secret", private=True)
    _upload_card(server, token, secret, word)
    owner_api = server.api(token)

    def indexed() -> bool:
        return [m.id for m in owner_api.list_models(filter="e2e-search", author=owner)] == [secret]

    assert eventually(indexed)
    facets = requests.get(
        f"{server.url}/api/models/facets",
        params={"q": word},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    assert facets["total"] == 1
    assert facets["facets"]["license"] == [{"value": "mit", "count": 1, "tag": "license:mit"}]
    _other, other_token = server.create_user()
    for viewer in (None, other_token):
        api = server.api(viewer)
        assert [m.id for m in api.list_models(filter="e2e-search", author=owner)] == []
        assert [m.id for m in api.list_models(search="e2e-search-secret")] == []
        headers = {"Authorization": f"Bearer {viewer}"} if viewer else {}
        counts = requests.get(
            f"{server.url}/api/models/facets", params={"q": word}, headers=headers, timeout=30
        ).json()
        assert counts["total"] == 0
        assert counts["facets"]["license"] == []
        quick = requests.get(
            f"{server.url}/api/quicksearch", params={"q": "e2e-search-secret"}, headers=headers,
            timeout=30,
        ).json()  # fmt: skip
        assert quick["models"] == []
        page = requests.get(f"{server.url}/models", params={"q": word}, headers=headers, timeout=30)
        assert page.status_code == 200
        assert secret not in page.text
