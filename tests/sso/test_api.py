"""SSO configuration through the JSON API and the settings pages: who may, what is
validated, what is never shown back, what is audited."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from orgs.models import AuditEvent
from orgs.org_services import member_add
from orgs.services import token_create, user_create
from sso.models import SSOProvider
from tests.sso.conftest import World, oidc_sign_in
from tests.sso.oidc_idp import CLIENT_SECRET, OIDCProvider

pytestmark = pytest.mark.django_db


def _put(client: Client, url: str, body: object, **headers: str):  # type: ignore[no-untyped-def]
    return client.put(url, json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def admin_token(world: World) -> str:
    return token_create(user=world.admin, name="admin", role="write")[1]


def test_admin_reads_config_without_the_secret(world: World, admin_token: str) -> None:
    answer = Client().get("/api/organizations/acme/sso", HTTP_AUTHORIZATION=f"Bearer {admin_token}")
    assert answer.status_code == 200
    body = answer.json()
    assert body["protocol"] == "oidc"
    assert body["clientId"] == "hubforge-test"
    assert body["clientSecret"] == "…" + CLIENT_SECRET[-4:]
    assert CLIENT_SECRET not in answer.content.decode()
    assert body["redirectUri"] == "http://testserver/organizations/acme/sso/callback"
    assert body["roleMapping"][0] == {"value": "ml-writers", "role": "write"}
    stored = SSOProvider.objects.get(pk=world.provider.pk)
    assert CLIENT_SECRET not in stored.oidc_client_secret_enc


def test_update_is_validated_and_audited(world: World, admin_token: str) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {admin_token}"}
    url = "/api/organizations/acme/sso"
    for bad in (
        {"protocol": "ldap"},
        {"roleMapping": [{"value": "x", "role": "owner"}]},
        {"roleMapping": "ml = write"},
        {"sessionHours": 0},
        {"defaultRole": "god"},
        {"scopes": "email"},
        {"issuer": "ftp://idp"},
        {"enabled": "yes"},
    ):
        answer = _put(Client(), url, bad, **auth)
        assert answer.status_code == 422, (bad, answer.content)
        assert answer.json()["error"]
    assert _put(Client(), url, ["not", "an", "object"], **auth).status_code in (400, 422)
    answer = _put(Client(), url, {"clientSecret": "new-secret-value", "sessionHours": 8}, **auth)
    assert answer.status_code == 200
    assert answer.json()["sessionHours"] == 8
    event = AuditEvent.objects.filter(verb="sso.config.update").first()
    assert event is not None
    assert event.namespace_name == "acme"
    assert event.details["client_secret"] == "(changed)"
    assert "new-secret-value" not in json.dumps(event.details)
    assert AuditEvent.objects.filter(verb="sso.config.create").exists()


def test_non_admins_cannot_read_or_change(world: World) -> None:
    url = "/api/organizations/acme/sso"
    assert Client().get(url).status_code == 401
    member = user_create(username="pat", password=None)
    member_add(actor=None, org=world.org, user=member, role="write")
    _, secret = token_create(user=member, name="t", role="write")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    assert Client().get(url, **auth).status_code == 403
    assert _put(Client(), url, {"enabled": False}, **auth).status_code == 403
    assert Client().get("/api/organizations/nope/sso", **auth).status_code == 404
    assert Client().get("/api/sso", **auth).status_code == 403
    # A read token of the admin cannot change it either (org.members.manage needs write).
    _, read = token_create(user=world.admin, name="r", role="read")
    answer = _put(Client(), url, {"enabled": False}, HTTP_AUTHORIZATION=f"Bearer {read}")
    assert answer.status_code == 403


def test_requiring_sso_needs_one_sso_sign_in_first(
    world: World, admin_token: str, idp: OIDCProvider
) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {admin_token}"}
    answer = _put(Client(), "/api/organizations/acme/sso", {"required": True}, **auth)
    assert answer.status_code == 409
    assert "once" in answer.json()["error"]
    browser = Client()
    browser.force_login(world.admin)
    oidc_sign_in(browser, idp, sub="admin-sub", groups=["ml-admins"])
    # The admin's session is now an SSO session: its token was created before, so the
    # session itself turns the requirement on through the page.
    answer = _put(
        browser,
        "/api/organizations/acme/sso",
        {"required": True},
        HTTP_X_CSRFTOKEN="",
    )
    assert answer.status_code == 200
    assert answer.json()["required"] is True


def test_delete_removes_provider(world: World, admin_token: str) -> None:
    auth = {"HTTP_AUTHORIZATION": f"Bearer {admin_token}"}
    assert Client().delete("/api/organizations/acme/sso", **auth).status_code == 204
    assert not SSOProvider.objects.filter(org=world.org).exists()
    assert AuditEvent.objects.filter(verb="sso.config.delete").exists()
    assert Client().get("/api/organizations/acme/sso", **auth).json()["configured"] is False


def test_instance_provider_is_for_site_admins(db, idp: OIDCProvider) -> None:  # type: ignore[no-untyped-def]
    root = user_create(username="root", password=None, is_admin=True)
    _, secret = token_create(user=root, name="t", role="write")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    body = {"protocol": "oidc", "issuer": idp.url, "clientId": "c", "clientSecret": "abcdef"}
    answer = _put(Client(), "/api/sso", body, **auth)
    assert answer.status_code == 200
    assert answer.json()["organization"] is None
    assert _put(Client(), "/api/sso", {"required": True}, **auth).status_code == 422


def test_settings_page_saves_the_form(world: World) -> None:
    client = Client()
    client.force_login(world.admin)
    general = client.get("/organizations/acme/settings")
    assert b'href="/organizations/acme/settings/sso"' in general.content
    page = client.get("/organizations/acme/settings/sso")
    assert b'data-tab="sso" class="active"' in page.content
    assert page.status_code == 200
    assert b"data-sso-form" in page.content
    assert CLIENT_SECRET.encode() not in page.content
    form = {
        "protocol": "oidc",
        "enabled": "on",
        "issuer": world.provider.oidc_issuer,
        "clientId": "hubforge-test",
        "clientSecret": "",
        "scopes": "openid email",
        "groupsClaim": "roles",
        "roleMapping": "ml-writers = write\nboss = admin",
        "defaultRole": "none",
        "sessionHours": "12",
    }
    answer = client.post("/organizations/acme/settings/sso", form)
    assert answer.status_code == 302, answer.content[:2000]
    provider = SSOProvider.objects.get(pk=world.provider.pk)
    assert provider.oidc_groups_claim == "roles"
    assert provider.default_role == "none"
    assert provider.role_rules[1] == {"value": "boss", "role": "admin"}
    assert provider.oidc_client_secret_last4 == CLIENT_SECRET[-4:]  # kept
    bad = client.post("/organizations/acme/settings/sso", {**form, "roleMapping": "oops"})
    assert bad.status_code == 200
    assert b"Line 1" in bad.content
    other = user_create(username="nobody", password=None)
    client.force_login(other)
    assert client.get("/organizations/acme/settings/sso").status_code == 404
