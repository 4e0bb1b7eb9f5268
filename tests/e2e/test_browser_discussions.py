"""The Community tab in headless Chromium against a real server: a reader opens a discussion
and a contributor's PR (uploaded with create_pr=True) is reviewed and merged by the owner."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import HubServer, browser_page
from tests.e2e.helpers import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PASSWORD = "correct-horse-1"


def test_reader_discusses_and_owner_merges_a_pr_in_the_browser(
    hub_server: HubServer, browser
) -> None:  # type: ignore[no-untyped-def]
    owner, owner_token = hub_server.create_user(password=PASSWORD)
    reader, reader_token = hub_server.create_user(password=PASSWORD)
    repo = hub_server.create_repo(owner_token)
    hub_server.api(reader_token).upload_file(
        path_or_fileobj=b"better docs\n", path_in_repo="docs.md", repo_id=repo, create_pr=True
    )

    page = browser_page(browser)
    sign_in(page, hub_server, reader)
    page.goto(f"{hub_server.url}/{repo}")
    page.click("nav.tabs >> text=Community")
    page.wait_for_url(f"{hub_server.url}/{repo}/discussions")
    assert "Upload docs.md" in page.locator(".discussion-list").inner_text()
    page.click("text=New discussion")
    page.fill("#id_title", "Which license?")
    page.fill("#id_description", "Is it **MIT**?")
    page.click("button:has-text('Publish')")
    page.wait_for_url(f"{hub_server.url}/{repo}/discussions/2")
    assert page.locator(".comment-body strong").inner_text() == "MIT"
    page.fill("#id_comment", "Asking for a friend")
    page.click("button[value=comment]")
    page.wait_for_url(f"{hub_server.url}/{repo}/discussions/2")
    assert "Asking for a friend" in page.locator(".timeline").inner_text()
    page.goto(f"{hub_server.url}/{repo}/discussions/1")
    assert page.locator("button[value=merge]").count() == 0  # readers do not merge

    owner_page = browser_page(browser)
    sign_in(owner_page, hub_server, owner)
    owner_page.goto(f"{hub_server.url}/{repo}/discussions/1/files")
    assert "docs.md" in owner_page.locator(".changes").inner_text()
    assert "+better docs" in owner_page.locator("pre.diff").inner_text()
    owner_page.click("text=Conversation")
    owner_page.click("button[value=merge]")
    owner_page.wait_for_url(f"{hub_server.url}/{repo}/discussions/1")
    assert owner_page.locator("[data-status]").first.inner_text() == "merged"
    owner_page.goto(f"{hub_server.url}/{repo}/discussions?status=closed&type=pull_request")
    assert "Upload docs.md" in owner_page.locator(".discussion-list").inner_text()
    assert "docs.md" in hub_server.api(owner_token).list_repo_files(repo)
