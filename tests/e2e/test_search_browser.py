"""The /models page in headless Chromium: instant results as you type (htmx), a facet click
narrowing the list and its counts, the sort menu, pages, and the header's suggestions;
another user's private repo never shows up in any of them."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.conftest import HubServer
from tests.e2e.helpers import poll

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CARD = "---\nlicense: {license}\npipeline_tag: text-classification\n---\n# {name}\n"
N_REPOS = 33  # more than one page of 30 (the `page` fixture: tests/e2e/conftest.py)


def _listed(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator(".repo-item-name").all_inner_texts()


def _facet(page, label: str, value: str):  # type: ignore[no-untyped-def]
    section = page.locator("section.facet", has=page.locator("h3", has_text=label))
    return section.locator("a.facet-link", has=page.locator(".facet-value", has_text=value))


def test_models_page_search_facets_sort_pages_and_suggestions(hub_server: HubServer, page) -> None:  # type: ignore[no-untyped-def]
    server = hub_server
    owner, token = server.create_user()
    word = server.unique("wombat")
    repos = [server.create_repo(token, f"{word}-{i:02d}") for i in range(N_REPOS)]
    api = server.api(token)
    for repo, license in ((repos[0], "mit"), (repos[1], "mit"), (repos[2], "apache-2.0")):
        card = CARD.format(license=license, name=repo)
        api.upload_file(path_or_fileobj=card.encode(), path_in_repo="README.md", repo_id=repo)
    other, other_token = server.create_user()
    secret = server.create_repo(other_token, f"{word}-secret", private=True)
    requests.post(  # one like: first by likes
        f"{server.url}/api/models/{repos[5]}/like",
        headers={"Authorization": f"Bearer {other_token}"},
        timeout=30,
    ).raise_for_status()

    def indexed() -> bool:
        facets = requests.get(
            f"{server.url}/api/models/facets", params={"q": word}, timeout=30
        ).json()
        licenses = {c["value"]: c["count"] for c in facets["facets"]["license"]}
        return facets["total"] == N_REPOS and licenses == {"mit": 2, "apache-2.0": 1}

    poll(indexed, timeout=90, interval=0.3, what="the cards to be indexed")

    # Typing: htmx swaps the results in place (no page load) and pushes the URL.
    page.goto(f"{server.url}/models")
    page.evaluate("window.__samePage = true")
    page.locator(".search-page .search-input").press_sequentially(word, delay=20)
    page.wait_for_url(f"**/models?q={word}*")
    total = page.locator(".results-total")
    total.filter(has_text=f"{N_REPOS} models").wait_for()
    assert page.evaluate("window.__samePage") is True
    first_page = _listed(page)
    assert len(first_page) == 30
    assert all(name.startswith(f"{owner}/{word}-") for name in first_page)
    assert secret not in first_page
    assert _facet(page, "Licenses", "mit").locator(".facet-count").inner_text() == "2"

    # A facet click: the list and the counts narrow to it; the chip takes it back off.
    _facet(page, "Licenses", "mit").click()
    total.filter(has_text="2 models").wait_for()
    assert "filter=license%3Amit" in page.url
    assert sorted(_listed(page)) == sorted(repos[:2])
    assert _facet(page, "Licenses", "mit").locator(".facet-count").inner_text() == "2"
    assert _facet(page, "Licenses", "apache-2.0").count() == 0
    assert page.locator("a.facet-link.active").count() == 1
    page.locator("a.chip", has_text="license:mit").click()
    total.filter(has_text=f"{N_REPOS} models").wait_for()
    assert page.evaluate("window.__samePage") is True

    # The sort menu.
    page.locator(".sort-menu summary").click()
    page.locator(".sort-menu a", has_text="Most likes").click()
    page.locator(".sort-menu summary", has_text="Most likes").wait_for()
    assert "sort=likes" in page.url
    assert _listed(page)[0] == repos[5]
    page.locator(".sort-menu summary").click()
    page.locator(".sort-menu a", has_text="Newest").click()
    page.locator(".sort-menu summary", has_text="Newest").wait_for()
    newest = _listed(page)
    assert newest[:3] == [repos[-1], repos[-2], repos[-3]]

    # Pages: the rest on the second, and back.
    page.locator(".pager a", has_text="Next page").click()
    page.locator(".pager a", has_text="First page").wait_for()
    second = _listed(page)
    assert second == [repos[2], repos[1], repos[0]]
    assert not set(second) & set(newest)
    assert page.locator(".pager a", has_text="Next page").count() == 0
    page.locator(".pager a", has_text="First page").click()
    page.locator(".pager a", has_text="Next page").wait_for()
    assert _listed(page) == newest
    assert page.evaluate("window.__samePage") is True

    # The header's suggestions, as you type: readable repos only, at most five.
    header = page.locator(".header-search input[data-quicksearch]")
    header.press_sequentially(word[:-2], delay=20)
    panel = page.locator(".quicksearch-panel")
    panel.locator("a", has_text=f"{owner}/{word}-").first.wait_for()
    suggested = panel.locator("a:not(.quicksearch-all)").all_inner_texts()
    assert 1 <= len(suggested) <= 5
    assert all(s.startswith(f"{owner}/{word}-") for s in suggested)
    assert secret not in " ".join(suggested)
    panel.locator("a", has_text=suggested[0]).click()
    page.wait_for_url(f"{server.url}/{suggested[0]}")
    assert other  # the private repo's owner exists; the anonymous browser never saw the repo
