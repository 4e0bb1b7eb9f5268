""" "SSO required": a member's password session and unauthorized tokens lose the org's
private repos and write access at every door, with a 403 that says how to sign in;
public repos stay readable; an SSO session or an authorized token gets everything back."""

from __future__ import annotations

import base64
import json
import time

import pytest
from django.test import Client

from orgs.models import AuditEvent, User
from orgs.org_services import member_add
from orgs.services import token_create, user_create
from repos.services import repo_create
from sso.models import TokenAuthorization
from sso.policy import SESSION_FLAGS
from tests.sso.conftest import World, oidc_sign_in
from tests.sso.oidc_idp import OIDCProvider

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]

LFS = "application/vnd.git-lfs+json"


@pytest.fixture
def required(world: World) -> World:
    repo_create(actor=world.admin, namespace="acme", name="secret", private=True)
    repo_create(actor=world.admin, namespace="acme", name="open", private=False)
    world.provider.required = True
    world.provider.save()
    return world


@pytest.fixture
def member(required: World) -> User:
    user = user_create(username="mia", password="a long password 123", email="mia@acme.test")
    member_add(actor=None, org=required.org, user=user, role="write")
    return user


def _basic(token: str) -> str:
    return "Basic " + base64.b64encode(f"x:{token}".encode()).decode()


def _doors(client: Client, headers: dict[str, str], repo: str) -> dict[str, int]:
    batch = json.dumps({"operation": "download", "objects": [{"oid": "a" * 64, "size": 1}]})
    return {
        "page": client.get(f"/acme/{repo}", HTTP_ACCEPT="text/html", **headers).status_code,
        "info": client.get(f"/api/models/acme/{repo}", **headers).status_code,
        "pull": client.get(
            f"/acme/{repo}.git/info/refs?service=git-upload-pack", **headers
        ).status_code,
        "push": client.get(
            f"/acme/{repo}.git/info/refs?service=git-receive-pack", **headers
        ).status_code,
        "lfs": client.post(
            f"/acme/{repo}.git/info/lfs/objects/batch",
            batch,
            content_type=LFS,
            HTTP_ACCEPT=LFS,
            **headers,
        ).status_code,
        "resolve": client.get(f"/acme/{repo}/resolve/main/.gitattributes", **headers).status_code,
    }


ALL_403 = dict.fromkeys(("page", "info", "pull", "push", "lfs", "resolve"), 403)


def test_password_session_is_refused_with_a_clear_answer(member: User) -> None:
    client = Client()
    client.force_login(member)
    assert _doors(client, {}, "secret") == ALL_403
    page = client.get("/acme/secret", HTTP_ACCEPT="text/html")
    assert b"Single sign-on required" in page.content
    assert b"/organizations/acme/sso/login?next=/acme/secret" in page.content
    api = client.get("/api/models/acme/secret")
    assert api["X-Error-Code"] == "SSORequired"
    assert "requires single sign-on" in api.json()["error"]
    # Public repos stay readable, but writing to them needs SSO too.
    doors = _doors(client, {}, "open")
    assert doors == {**dict.fromkeys(doors, 200), "push": 403}
    # The org's private repos are not listed either.
    names = [m["id"] for m in client.get("/api/models?author=acme").json()]
    assert names == ["acme/open"]


def test_unauthorized_token_is_refused_at_every_door(member: User) -> None:
    _, secret = token_create(user=member, name="ci", role="write")
    client = Client()
    headers = {"HTTP_AUTHORIZATION": _basic(secret)}
    assert {k: v for k, v in _doors(client, headers, "secret").items() if k != "page"} == {
        k: 403 for k in ALL_403 if k != "page"
    }
    git = client.get("/acme/secret.git/info/refs?service=git-upload-pack", **headers)
    assert git["Content-Type"].startswith("text/plain")
    assert b"this token is not authorized" in git.content
    lfs = client.post(
        "/acme/secret.git/info/lfs/objects/batch",
        json.dumps({"operation": "download", "objects": []}),
        content_type=LFS,
        **headers,
    )
    assert "requires single sign-on" in lfs.json()["message"]


def test_sso_session_gets_access_and_new_tokens_are_authorized(
    member: User, idp: OIDCProvider
) -> None:
    client = Client()
    client.force_login(member)
    answer = oidc_sign_in(
        client, idp, sub="mia-sub", preferred_username="mia", groups=["ml-writers"]
    )
    assert answer.status_code == 302
    doors = _doors(client, {}, "secret")
    assert doors == dict.fromkeys(doors, 200)
    # A token created now (from this SSO session) is authorized for acme.
    response = client.post("/settings/tokens", {"name": "laptop", "role": "write"})
    assert response.status_code == 200
    token = member.tokens.get(name="laptop")
    assert TokenAuthorization.objects.filter(token=token, org__namespace__name="acme").exists()
    secret = response.context["secret"]
    doors = _doors(Client(), {"HTTP_AUTHORIZATION": _basic(secret)}, "secret")
    assert {k: v for k, v in doors.items() if k != "page"} == {k: 200 for k in doors if k != "page"}


def test_older_token_is_authorized_from_the_sso_page(member: User, idp: OIDCProvider) -> None:
    token, secret = token_create(user=member, name="old", role="read")
    headers = {"HTTP_AUTHORIZATION": _basic(secret)}
    assert Client().get("/api/models/acme/secret", **headers).status_code == 403
    client = Client()
    client.force_login(member)
    # Without an SSO sign-in the authorization is refused.
    client.post("/settings/sso/tokens", {"token": token.pk, "org": "acme"})
    assert not TokenAuthorization.objects.filter(token=token).exists()
    oidc_sign_in(client, idp, sub="mia-sub", preferred_username="mia", groups=["ml-writers"])
    page = client.get("/settings/sso")
    assert b'data-token="old"' in page.content
    assert b"not authorized" in page.content
    client.post("/settings/sso/tokens", {"token": token.pk, "org": "acme"})
    assert TokenAuthorization.objects.filter(token=token).exists()
    assert Client().get("/api/models/acme/secret", **headers).status_code == 200
    assert AuditEvent.objects.filter(verb="sso.token.authorize", target_id=str(token.pk)).exists()
    client.post("/settings/sso/tokens", {"token": token.pk, "org": "acme", "action": "remove"})
    assert Client().get("/api/models/acme/secret", **headers).status_code == 403


def test_sso_session_expires(member: User, idp: OIDCProvider) -> None:
    client = Client()
    client.force_login(member)
    oidc_sign_in(client, idp, sub="mia-sub", preferred_username="mia", groups=["ml-writers"])
    assert client.get("/api/models/acme/secret").status_code == 200
    session = client.session
    flags = session[SESSION_FLAGS]
    session[SESSION_FLAGS] = {k: time.time() - 1 for k in flags}
    session.save()
    assert client.get("/api/models/acme/secret").status_code == 403


def test_org_admin_pages_need_sso_too_but_site_admins_do_not(required: World) -> None:
    client = Client()
    client.force_login(required.admin)
    assert client.get("/organizations/acme/settings", HTTP_ACCEPT="text/html").status_code == 403
    assert client.get("/api/organizations/acme/sso").status_code == 403
    root = user_create(username="root", password=None, is_admin=True)
    client.force_login(root)
    assert client.get("/api/models/acme/secret").status_code == 200


def test_not_required_means_password_sessions_work(world: World, data_dir) -> None:  # type: ignore[no-untyped-def]
    repo_create(actor=world.admin, namespace="acme", name="secret", private=True)
    client = Client()
    client.force_login(world.admin)
    assert client.get("/api/models/acme/secret").status_code == 200


def test_outsider_still_gets_404_not_an_sso_hint(required: World) -> None:
    outsider = user_create(username="out", password=None)
    client = Client()
    client.force_login(outsider)
    answer = client.get("/api/models/acme/secret")
    assert answer.status_code == 404
    assert answer["X-Error-Code"] == "RepoNotFound"
