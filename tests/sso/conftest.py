"""SSO test world: a live OIDC provider on loopback, the org `acme` with an admin, and
helpers that drive the real sign-in round trip through Django's test client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import requests
from django.test import Client

from orgs.models import Organization, User
from orgs.org_services import org_create
from orgs.services import user_create
from sso.models import SSOProvider
from sso.services import provider_update
from tests.sso.oidc_idp import CLIENT_ID, CLIENT_SECRET, OIDCProvider, running_provider


@pytest.fixture(scope="session")
def oidc_idp() -> Iterator[OIDCProvider]:
    with running_provider() as idp:
        yield idp


@pytest.fixture
def idp(oidc_idp: OIDCProvider, settings) -> Iterator[OIDCProvider]:  # type: ignore[no-untyped-def]
    settings.SSO_ALLOW_LOCAL = True
    oidc_idp.tamper = None
    oidc_idp.user = {}
    oidc_idp.redirect_uris = {
        "http://testserver/organizations/acme/sso/callback",
        "http://testserver/sso/callback",
    }
    yield oidc_idp
    oidc_idp.tamper = None


@dataclass
class World:
    admin: User
    org: Organization
    provider: SSOProvider


@pytest.fixture
def world(db, idp: OIDCProvider) -> World:  # type: ignore[no-untyped-def]
    admin = user_create(username="acme-admin", password=None, email="admin@acme.test")
    org = org_create(actor=admin, name="acme", fullname="Acme Corp")
    provider = provider_update(
        actor=admin,
        org=org,
        data={
            "protocol": "oidc",
            "issuer": idp.url,
            "clientId": CLIENT_ID,
            "clientSecret": CLIENT_SECRET,
            "roleMapping": [
                {"value": "ml-writers", "role": "write"},
                {"value": "ml-admins", "role": "admin"},
            ],
            "defaultRole": "read",
        },
    )
    return World(admin=admin, org=org, provider=provider)


def oidc_sign_in(
    client: Client,
    idp: OIDCProvider,
    *,
    org: str | None = "acme",
    next_url: str = "",
    **user: object,
):  # type: ignore[no-untyped-def]
    """The browser's round trip: hub -> IdP authorize (real HTTP) -> hub callback.
    Returns the hub's answer to the callback."""
    idp.user = dict(user)
    base = f"/organizations/{org}/sso" if org else "/sso"
    start = client.get(f"{base}/login" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302, start.content[:500]
    assert start["Location"].startswith(idp.url + "/authorize?")
    at_idp = requests.get(start["Location"], allow_redirects=False, timeout=10)
    assert at_idp.status_code == 302, at_idp.text
    back = urlsplit(at_idp.headers["Location"])
    assert back.netloc == "testserver"
    return client.get(f"{back.path}?{back.query}")


def callback_url(client: Client, idp: OIDCProvider, *, org: str = "acme", **user: object) -> str:
    """Start a sign-in and get the IdP's redirect back, without following it."""
    idp.user = dict(user)
    start = client.get(f"/organizations/{org}/sso/login")
    at_idp = requests.get(start["Location"], allow_redirects=False, timeout=10)
    back = urlsplit(at_idp.headers["Location"])
    return f"{back.path}?{back.query}"
