"""Single sign-on end to end: a live hub (`hubforge serve`) and the test OIDC provider on
loopback, driven by headless Chromium and the git binary.

A person signs in with the organization's SSO in the browser (just-in-time account, mapped
admin role), creates a token (authorized for the org because it came from the SSO
session) and turns "SSO required" on; then a member's password-made token is refused by
`git ls-remote` with the hub's explanation, and the SSO-authorized token is accepted.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.conftest import HubServer, browser_page, start_server, stop_server
from tests.sso.oidc_idp import CLIENT_ID, CLIENT_SECRET, OIDCProvider, running_provider

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.git]


@pytest.fixture(scope="module")
def sso_hub() -> Iterator[tuple[HubServer, OIDCProvider]]:
    # Its own server: the IdP is on loopback, which only HUB_SSO_ALLOW_LOCAL permits.
    server, db_name = start_server({"HUB_SSO_ALLOW_LOCAL": "true"})
    try:
        with running_provider() as idp:
            yield server, idp
    finally:
        stop_server(server, db_name)


def test_browser_sso_sign_in_then_required_sso_at_git(sso_hub, browser, git_env) -> None:  # type: ignore[no-untyped-def]
    server, idp = sso_hub
    org = f"sso{uuid.uuid4().hex[:6]}"
    owner, owner_token = server.create_user(role="write")
    server.cli("org", "create", org, "--admin", owner)
    auth = {"Authorization": f"Bearer {owner_token}"}
    repo = requests.post(
        f"{server.url}/api/repos/create",
        json={"name": "weights", "organization": org, "private": True},
        headers=auth,
        timeout=30,
    )
    assert repo.status_code == 200, repo.text
    idp.redirect_uris = {f"{server.url}/organizations/{org}/sso/callback"}
    config = requests.put(
        f"{server.url}/api/organizations/{org}/sso",
        json={
            "protocol": "oidc",
            "issuer": idp.url,
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "roleMapping": [{"value": "hub-admins", "role": "admin"}],
            "defaultRole": "read",
        },
        headers=auth,
        timeout=30,
    )
    assert config.status_code == 200, config.text

    # The browser: the login page offers the org's SSO; the IdP signs "grace" in.
    person = f"grace{uuid.uuid4().hex[:4]}"
    idp.user = {
        "sub": f"sub-{person}",
        "preferred_username": person,
        "email": f"{person}@corp.test",
        "email_verified": True,
        "name": "Grace H",
        "groups": ["hub-admins"],
    }
    page = browser_page(browser)
    page.goto(f"{server.url}/login?org={org}&next=/{org}/weights")
    page.click(f"text=Sign in with {org} SSO")
    page.wait_for_url(f"{server.url}/{org}/weights")
    assert page.locator(".avatar-button").is_visible()
    assert "weights" in page.title()

    # A token made in this SSO session is authorized for the org; the org then requires SSO.
    page.goto(f"{server.url}/settings/tokens")
    page.fill("#id_name", "sso-made")
    page.check("input[name=role][value=write]")
    page.click("text=Create token")
    sso_token = page.input_value("#token-secret")
    required = requests.put(
        f"{server.url}/api/organizations/{org}/sso",
        json={"required": True},
        headers={"Authorization": f"Bearer {sso_token}"},
        timeout=30,
    )
    assert required.status_code == 200, required.text
    page.goto(f"{server.url}/settings/sso")
    assert page.locator(f"[data-sso-org={org}]").inner_text().count("signed in through SSO") == 1

    # A member whose token was made without SSO: git shows the hub's reason.
    member, member_token = server.create_user(role="write")
    server.cli("org", "add-member", org, member, "--role", "write")
    refused = subprocess.run(
        [
            "git",
            "ls-remote",
            server.url.replace("http://", f"http://u:{member_token}@") + f"/{org}/weights",
        ],
        env=git_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0
    assert "requires single sign-on" in refused.stderr, refused.stderr
    accepted = subprocess.run(
        [
            "git",
            "ls-remote",
            server.url.replace("http://", f"http://u:{sso_token}@") + f"/{org}/weights",
        ],
        env=git_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert accepted.returncode == 0, accepted.stderr
    assert "refs/heads/main" in accepted.stdout

    # The member's browser with a password session gets the "sign in with SSO" page.
    member_page = browser_page(browser)
    member_page.goto(f"{server.url}/login")
    member_page.fill("#id_username", member)
    member_page.fill("#id_password", "correct-horse-1")
    member_page.click("button[type=submit]")
    member_page.wait_for_url(f"{server.url}/")
    member_page.goto(f"{server.url}/{org}/weights")
    assert member_page.locator(f"[data-sso-required={org}]").is_visible()
