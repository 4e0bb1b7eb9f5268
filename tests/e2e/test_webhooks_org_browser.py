"""Organization webhooks in headless Chromium against a live hub and a real worker: an admin
creates one from the org settings, a private org repo's creation reaches the receiver signed,
a second admin sends a test event and redelivers it from the delivery log, the org API lists
the webhook, and an admin who is removed from the org loses the pages."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from standardwebhooks.webhooks import Webhook as StandardWebhook

from tests.e2e.conftest import HubServer, browser_page
from tests.e2e.helpers import poll
from tests.webhooks.receiver import Receiver, running

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PASSWORD = "correct-horse-1"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running() as r:
        yield r


def _sign_in(page, server: HubServer, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/login")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(f"{server.url}/")


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if os.environ.get("HUB_TEST_SCREENSHOT_DIR"):  # for a look at the page while developing
        page.screenshot(
            path=str(Path(os.environ["HUB_TEST_SCREENSHOT_DIR"]) / name), full_page=True
        )


def test_org_admins_manage_the_orgs_webhooks_in_the_browser(
    hub_server: HubServer, browser, receiver: Receiver
) -> None:
    boss, boss_token = hub_server.create_user(password=PASSWORD)
    deputy, _ = hub_server.create_user(password=PASSWORD)
    org = hub_server.unique("hookorg")
    hub_server.cli("org", "create", org, "--admin", boss, "--member", f"{deputy}:admin")
    base = f"{hub_server.url}/organizations/{org}/settings/webhooks"

    # The first admin finds the tab in the org settings and creates a webhook.
    admin = browser_page(browser)
    _sign_in(admin, hub_server, boss)
    admin.goto(f"{hub_server.url}/organizations/{org}/settings")
    admin.click(".settings-nav a[data-tab=webhooks]")
    admin.wait_for_url(base)
    admin.click("text=+ New webhook")
    assert admin.input_value("#id_watched") == f"org:{org}"
    admin.fill("#id_url", receiver.url)
    admin.fill("#id_secret", SECRET)
    admin.click("button[type=submit]:has-text('Create webhook')")
    admin.wait_for_url(f"{base}/*")
    webhook_id = admin.url.rsplit("/", 1)[1]
    _shot(admin, "org-webhook.png")

    # A private repo of the org: its creation is delivered, signed.
    repo = hub_server.api(boss_token).create_repo(f"{org}/private-model", private=True).repo_id
    [created] = receiver.wait_for(1)
    payload = StandardWebhook(SECRET).verify(created.body, created.headers)
    assert payload["repo"]["name"] == repo
    assert payload["repo"]["private"] is True
    assert payload["webhook"]["id"] == webhook_id

    # The second admin sees it, sends a test event and redelivers it from the log.
    other = browser_page(browser)
    _sign_in(other, hub_server, deputy)
    other.goto(base)
    assert receiver.url in other.locator("table.webhooks").inner_text()
    other.click("table.webhooks a:has-text('Edit')")
    other.click("button:has-text('Send test event')")
    other.wait_for_url(f"{base}/{webhook_id}/deliveries/*")
    [tested] = receiver.wait_for(2)[1:]
    assert json.loads(tested.body)["repo"]["name"] == f"{org}/webhook-test"

    def answered() -> bool:
        other.reload()
        return "HTTP 200" in other.locator(".attempt").first.inner_text()

    poll(answered, timeout=60, what="the attempt in the delivery log")
    _shot(other, "org-webhook-delivery.png")
    other.click("button:has-text('Redeliver')")
    again = receiver.wait_for(3)[2]
    assert again.headers["webhook-id"] == tested.headers["webhook-id"]

    # The org API lists it for admins.
    listed = requests.get(
        f"{hub_server.url}/api/organizations/{org}/settings/webhooks",
        headers={"Authorization": f"Bearer {boss_token}"},
        timeout=30,
    ).json()
    assert [(w["id"], w["owner"]) for w in listed] == [(webhook_id, {"type": "org", "name": org})]

    # Removed from the org, the second admin loses the pages.
    r = requests.delete(
        f"{hub_server.url}/api/organizations/{org}/members/{deputy}",
        headers={"Authorization": f"Bearer {boss_token}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert other.goto(base).status == 404
    assert other.goto(f"{base}/{webhook_id}").status == 404
