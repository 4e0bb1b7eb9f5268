"""Quotas in headless Chromium against a real server: a site admin sets an org's quota on
/_/quotas, the org admin reads the org's Usage tab (used / quota, the largest repos), and a
browser upload that does not fit shows the refusal on the form, with nothing committed."""

from __future__ import annotations

import os

import pytest

from tests.e2e.conftest import HubServer, browser_page

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PASSWORD = "correct-horse-1"


def _sign_in(page, server: HubServer, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/login")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(f"{server.url}/")


def test_site_admin_sets_a_quota_org_admin_sees_usage_and_upload_is_refused(
    hub_server: HubServer, browser
) -> None:  # type: ignore[no-untyped-def]
    root = hub_server.unique("root")
    hub_server.cli("adduser", root, "--password", PASSWORD, "--admin")
    boss, boss_token = hub_server.create_user(password=PASSWORD)
    org = hub_server.unique("quotaorg")
    hub_server.cli("org", "create", org, "--admin", boss)
    api = hub_server.api(boss_token)
    repo = api.create_repo(f"{org}/weights").repo_id
    api.upload_file(path_or_fileobj=os.urandom(300_000), path_in_repo="w.bin", repo_id=repo)

    # The site admin gives the org 1 MB.
    admin = browser_page(browser)
    _sign_in(admin, hub_server, root)
    admin.goto(f"{hub_server.url}/_/quotas")
    admin.fill("#id_name", org)
    admin.fill("#id_quota", "1MB")
    admin.click("button:has-text('Save quota')")
    admin.wait_for_url(f"{hub_server.url}/_/quotas/{org}")
    assert "976.6 KiB" in admin.locator("#usage h2").inner_text()
    admin.goto(f"{hub_server.url}/_/quotas")
    assert "976.6 KiB" in admin.locator(f"tr[data-namespace='{org}']").inner_text()

    # The org admin finds it under the org's settings, Usage tab.
    page = browser_page(browser)
    _sign_in(page, hub_server, boss)
    page.goto(f"{hub_server.url}/organizations/{org}/settings")
    page.click(".settings-nav a:has-text('Usage')")
    page.wait_for_url(f"{hub_server.url}/organizations/{org}/settings/usage")
    summary = page.locator("#usage h2").inner_text()
    assert "used of 976.6 KiB" in summary
    assert page.locator("meter.usage-meter").count() == 1
    assert "293.0 KiB" in page.locator(f"tr[data-repo='{repo}']").inner_text()  # LFS
    if os.environ.get("HUB_TEST_SCREENSHOT_DIR"):  # for a look at the page while developing
        page.screenshot(path=f"{os.environ['HUB_TEST_SCREENSHOT_DIR']}/usage.png", full_page=True)

    # A browser upload that does not fit is refused on the form; nothing is committed.
    before = api.list_repo_files(repo)
    page.goto(f"{hub_server.url}/{repo}/upload")
    page.set_input_files(
        "#id_files",
        files=[
            {
                "name": "big.bin",
                "mimeType": "application/octet-stream",
                "buffer": os.urandom(900_000),
            }
        ],
    )
    page.click("button:has-text('Commit changes')")
    page.wait_for_load_state()
    error = page.locator(".alert-error").inner_text()
    assert f"Storage quota exceeded for {org}" in error
    assert api.list_repo_files(repo) == before
