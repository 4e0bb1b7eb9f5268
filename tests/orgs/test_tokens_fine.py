"""Fine-grained tokens: scopes narrow what a token can do at every door, never widen it."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from common.errors import BadRequestError, NotFoundError
from orgs.models import AccessToken, AuditEvent, Namespace, User
from orgs.permissions import Action, can, can_manage_webhooks, can_write_namespace, token_permits
from orgs.services import token_create, token_revoke, user_create
from orgs.tokens import ScopeSpec, parse_scope
from repos.services import repo_create, repo_move

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]

WHOAMI = "/api/whoami-v2"


def _basic(token: str) -> str:
    return "Basic " + base64.b64encode(f"x:{token}".encode()).decode()


@pytest.fixture
def alice():  # type: ignore[no-untyped-def]
    return user_create(username="alice", password=None)


@pytest.fixture
def repos(alice):  # type: ignore[no-untyped-def]
    a = repo_create(actor=alice, namespace=None, name="a", private=True)
    b = repo_create(actor=alice, namespace=None, name="b", private=True)
    return a, b


def _fine(user, *scopes: str, **kw):  # type: ignore[no-untyped-def]
    return token_create(
        user=user, name="fine", role="fineGrained", scopes=[parse_scope(s) for s in scopes], **kw
    )


def _as(user, token: AccessToken):  # type: ignore[no-untyped-def]
    """The user as the middleware hands it to views: a fresh row with the token attached."""
    fresh = User.objects.get(pk=user.pk)
    fresh.access_token = token
    return fresh


def test_scope_on_repo_a_reads_a_but_not_private_b(client: Client, alice, repos) -> None:  # type: ignore[no-untyped-def]
    a, b = repos
    row, secret = _fine(alice, "model:alice/a:repo.content.read")
    user = _as(alice, row)
    assert can(user, Action.READ, a)
    assert not can(user, Action.READ, b)
    assert not can(user, Action.WRITE, a)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    assert client.get("/api/models/alice/a", **auth).status_code == 200
    r = client.get("/api/models/alice/b", **auth)
    assert r.status_code == 404  # never a 403: b's existence is not revealed
    assert r["X-Error-Code"] == "RepoNotFound"
    assert client.get("/alice/a/resolve/main/.gitattributes", **auth).status_code == 200
    assert client.get("/alice/b/resolve/main/.gitattributes", **auth).status_code == 404


def test_content_read_cannot_push_or_change_settings(client: Client, alice, repos) -> None:  # type: ignore[no-untyped-def]
    _, secret = _fine(alice, "model:alice/a:repo.content.read")
    r = client.get(
        "/alice/a.git/info/refs", {"service": "git-receive-pack"}, HTTP_AUTHORIZATION=_basic(secret)
    )
    assert r.status_code == 403
    r = client.get(
        "/alice/a.git/info/refs", {"service": "git-upload-pack"}, HTTP_AUTHORIZATION=_basic(secret)
    )
    assert r.status_code == 200
    r = client.put(
        "/api/models/alice/a/settings",
        {"private": False},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert r.status_code == 403


def test_repo_write_scope_writes_only_its_repo(alice, repos) -> None:  # type: ignore[no-untyped-def]
    a, b = repos
    row, _ = _fine(alice, "model:alice/a:repo.write")
    user = _as(alice, row)
    assert can(user, Action.WRITE, a)
    assert can(user, Action.READ, a)  # write implies read
    assert not can(user, Action.WRITE, b)
    assert not can(user, Action.READ, b)


def test_namespace_scope_covers_every_repo_of_the_namespace(alice, repos) -> None:  # type: ignore[no-untyped-def]
    a, b = repos
    bob = user_create(username="bob", password=None)
    other = repo_create(actor=bob, namespace=None, name="c", private=True)
    row, _ = _fine(alice, "user:alice:repo.content.read")
    user = _as(alice, row)
    assert can(user, Action.READ, a)
    assert can(user, Action.READ, b)
    assert not can(user, Action.READ, other)  # and never beyond the owner's rights


def test_creating_repos_needs_repos_create_on_the_namespace(client: Client, alice, repos) -> None:  # type: ignore[no-untyped-def]
    ns = alice.namespace
    row, secret = _fine(alice, "model:alice/a:repo.write")
    assert not can_write_namespace(_as(alice, row), ns)
    r = client.post(
        "/api/repos/create",
        {"name": "new", "type": "model"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert r.status_code == 403
    row2, secret2 = _fine(alice, "user:alice:repos.create")
    assert can_write_namespace(_as(alice, row2), ns)
    r = client.post(
        "/api/repos/create",
        {"name": "new", "type": "model"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret2}",
    )
    assert r.status_code == 200, r.content


def test_token_never_grants_more_than_its_owner_has(alice, repos) -> None:  # type: ignore[no-untyped-def]
    a, _ = repos
    bob = user_create(username="bob", password=None)
    row, _ = _fine(alice, "model:alice/a:repo.write")
    assert can(_as(alice, row), Action.WRITE, a)
    repo_move(actor=alice, repo=a, to_namespace="alice", to_name="renamed")
    a.refresh_from_db()
    assert can(_as(alice, row), Action.WRITE, a)  # scoped by id: a rename keeps the scope
    # Bob's namespace: alice cannot create there, so she cannot transfer into it; move the
    # row as an admin would, then alice's token follows her lost rights.
    a.owner = bob.namespace
    a.save(update_fields=["owner"])
    assert not can(_as(alice, row), Action.READ, a)
    assert not can(_as(alice, row), Action.WRITE, a)


def test_a_new_repo_taking_an_old_name_is_not_in_scope(alice, repos) -> None:  # type: ignore[no-untyped-def]
    a, _ = repos
    row, _ = _fine(alice, "model:alice/a:repo.content.read")
    repo_move(actor=alice, repo=a, to_namespace="alice", to_name="moved")
    newcomer = repo_create(actor=alice, namespace=None, name="a", private=True)
    assert not can(_as(alice, row), Action.READ, newcomer)


def test_expired_token_is_refused_at_once(client: Client, alice) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    _, secret = token_create(
        user=alice, name="short", role="read", expires_at=now + timedelta(hours=1)
    )
    assert client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    with time_machine.travel(now + timedelta(hours=1, seconds=1)):
        for header in (f"Bearer {secret}", _basic(secret)):
            r = client.get(WHOAMI, HTTP_AUTHORIZATION=header)
            assert r.status_code == 401
            assert "WWW-Authenticate" in r
    with pytest.raises(BadRequestError):
        token_create(user=alice, name="past", expires_at=now - timedelta(seconds=1))


def test_revoked_fine_grained_token_is_refused(client: Client, alice, repos) -> None:  # type: ignore[no-untyped-def]
    row, secret = _fine(alice, "model:alice/a:repo.write")
    assert (
        client.get("/api/models/alice/a", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    )
    token_revoke(user=alice, token_id=row.pk)
    r = client.get("/api/models/alice/a", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert r.status_code == 401


def test_whoami_shows_fine_grained_scopes(client: Client, alice, repos) -> None:  # type: ignore[no-untyped-def]
    a, _ = repos
    _, secret = _fine(alice, "model:alice/a:repo.content.read", "user:alice:repos.create")
    body = client.get(WHOAMI, HTTP_AUTHORIZATION=f"Bearer {secret}").json()
    access = body["auth"]["accessToken"]
    assert access["role"] == "fineGrained"
    assert access["displayName"] == "fine"
    assert access["fineGrained"]["global"] == []
    assert access["fineGrained"]["scoped"] == [
        {
            "entity": {"_id": str(a.pk), "type": "model", "name": "alice/a"},
            "permissions": ["repo.content.read"],
        },
        {
            "entity": {"_id": str(alice.namespace_id), "type": "user", "name": "alice"},
            "permissions": ["repos.create"],
        },
    ]


def test_scopes_are_validated(alice, repos) -> None:  # type: ignore[no-untyped-def]
    bob = user_create(username="bob", password=None)
    repo_create(actor=bob, namespace=None, name="secret", private=True)
    with pytest.raises(NotFoundError):  # hidden repo: same answer as a missing one
        _fine(alice, "model:bob/secret:repo.content.read")
    with pytest.raises(NotFoundError):
        _fine(alice, "model:alice/missing:repo.content.read")
    with pytest.raises(NotFoundError):
        _fine(alice, "dataset:alice/a:repo.content.read")  # a is a model
    with pytest.raises(BadRequestError):
        _fine(alice, "model:alice/a:repos.create")  # a namespace permission on a repo
    with pytest.raises(BadRequestError):
        _fine(alice, "model:alice/a:everything")
    with pytest.raises(BadRequestError):
        _fine(alice)  # no scope at all
    with pytest.raises(BadRequestError):
        token_create(
            user=alice, name="w", role="write", scopes=[ScopeSpec("user", "alice", ("repo.write",))]
        )
    with pytest.raises(BadRequestError):
        parse_scope("model-without-permissions")
    row, _ = _fine(
        alice,
        "model:ALICE/A:repo.content.read",
        "model:alice/a:repo.write",
        "user:alice:webhooks.manage",
    )
    assert row.scopes[0] == {
        "type": "model",
        "id": row.scopes[0]["id"],
        "name": "alice/a",
        "permissions": ["repo.content.read", "repo.write"],
    }


def test_webhooks_need_webhooks_manage(client: Client, alice, repos) -> None:  # type: ignore[no-untyped-def]
    row, secret = _fine(alice, "model:alice/a:repo.write")
    assert not can_manage_webhooks(_as(alice, row), write=False)
    r = client.get("/api/settings/webhooks", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert r.status_code == 403
    row2, secret2 = _fine(alice, "user:alice:webhooks.manage")
    assert can_manage_webhooks(_as(alice, row2), write=True)
    assert (
        client.get("/api/settings/webhooks", HTTP_AUTHORIZATION=f"Bearer {secret2}").status_code
        == 200
    )


def test_org_members_manage_is_a_namespace_permission(alice) -> None:  # type: ignore[no-untyped-def]
    org = Namespace.objects.create(name="acme", kind=Namespace.Kind.ORG)
    row, _ = _fine(alice, "org:acme:org.members.manage")
    user = _as(alice, row)
    assert token_permits(user, "org.members.manage", namespace_id=org.pk)
    assert not token_permits(user, "repos.create", namespace_id=org.pk)
    read_row, _ = token_create(user=alice, name="r", role="read")
    assert not token_permits(_as(alice, read_row), "org.members.manage", namespace_id=org.pk)


def test_token_page_creates_a_fine_grained_token(client: Client, alice, repos) -> None:  # type: ignore[no-untyped-def]
    client.force_login(alice)
    day = (timezone.now() + timedelta(days=3)).date().isoformat()
    r = client.post(
        "/settings/tokens",
        {
            "name": "ci",
            "role": "fineGrained",
            "expires_on": day,
            "scope-0-type": "model",
            "scope-0-name": "alice/a",
            "scope-0-perm": ["repo.content.read", "repo.write"],
            "scope-1-type": "user",
            "scope-1-name": "",
        },
    )
    assert r.status_code == 200
    row = AccessToken.objects.get(name="ci")
    assert row.role == "fineGrained"
    assert row.scopes[0]["permissions"] == ["repo.content.read", "repo.write"]
    assert row.expires_at is not None
    assert row.expires_at.date().isoformat() > day
    page = client.get("/settings/tokens").content.decode()
    assert "alice/a" in page
    assert "repo.write" in page
    assert "never" in page
    r = client.post(
        "/settings/tokens",
        {
            "name": "bad",
            "role": "fineGrained",
            "scope-0-type": "model",
            "scope-0-name": "alice/zzz",
            "scope-0-perm": ["repo.write"],
        },
    )
    assert "not found" in r.content.decode()
    assert not AccessToken.objects.filter(name="bad").exists()


def test_cli_creates_fine_grained_tokens(alice, repos, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command(
        "token",
        "create",
        "alice",
        "--role",
        "fineGrained",
        "--scope",
        "model:alice/a:repo.content.read",
        "--expires",
        "7d",
    )
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("hf_")
    row = AccessToken.objects.get(digest=AccessToken.digest_of(out[-1]))
    assert row.scopes[0]["name"] == "alice/a"
    assert row.expires_at is not None
    call_command("token", "create", "alice", "--role", "write")
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("hf_")


def test_no_secret_in_any_audit_row(client: Client, alice, repos) -> None:  # type: ignore[no-untyped-def]
    row, secret = _fine(alice, "model:alice/a:repo.write")
    client.put(
        "/api/models/alice/a/settings",
        {"private": False},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    token_revoke(user=alice, token_id=row.pk)
    events = list(AuditEvent.objects.all())
    assert {"token.create", "token.revoke", "repo.visibility"} <= {e.verb for e in events}
    visibility = next(e for e in events if e.verb == "repo.visibility")
    assert visibility.token_id == row.pk
    assert visibility.token_name == "fine"
    for event in events:
        dumped = repr(vars(event))
        assert secret not in dumped
        assert row.digest not in dumped
