"""The org's "Access tokens" area: which tokens reach the org, revoking and restoring a
token's access to the org (at every door, at once), the page, the API and the owner's view."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from orgs.models import AccessToken, AuditEvent, Organization, User
from orgs.org_services import member_add, team_create, team_member_set
from orgs.org_tokens import org_token_list, org_token_revoke
from orgs.services import token_create, token_revoke
from orgs.tokens import ScopeSpec
from repos.models import Repo
from repos.services import repo_create, repo_update_settings
from repos.teams import team_repo_add
from tests.orgs.helpers import browser, fresh, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]


@pytest.fixture
def world(boss: User, org: Organization) -> dict[str, object]:
    """Members (write, read), a team-only contractor, an outsider; their tokens; repos."""
    writer, reader, contractor, outsider = (
        make_user(n) for n in ("writer", "reader", "contractor", "outsider")
    )
    member_add(actor=boss, org=org, user=writer, role="write")
    member_add(actor=boss, org=org, user=reader, role="read")
    secret = repo_create(actor=boss, namespace="acme", name="secret", private=True)
    public = repo_create(actor=boss, namespace="acme", name="open")
    gated = repo_create(actor=boss, namespace="acme", name="gated")
    repo_update_settings(actor=boss, repo=gated, gated="manual")
    team = team_create(actor=boss, org=org, name="vendors")
    team_member_set(actor=boss, team=team, username="contractor", role="write")
    team_repo_add(actor=boss, team=team, repo=secret)
    repo_create(actor=writer, namespace=None, name="own", private=True)

    def fine(user: User, name: str, *specs: ScopeSpec) -> str:
        return token_create(user=user, name=name, role="fineGrained", scopes=specs)[1]

    tokens = {
        "writer-write": token_create(user=writer, name="laptop", role="write")[1],
        "reader-read": token_create(user=reader, name="ci", role="read")[1],
        "writer-org": fine(writer, "org-scoped", ScopeSpec("org", "acme", ("repo.write",))),
        "writer-repo": fine(
            writer, "repo-scoped", ScopeSpec("model", "acme/secret", ("repo.content.read",))
        ),
        "writer-own": fine(writer, "own-only", ScopeSpec("user", "writer", ("repo.write",))),
        "contractor-write": token_create(user=contractor, name="vendor", role="write")[1],
        "outsider-write": token_create(user=outsider, name="x", role="write")[1],
        "boss-write": token_create(user=boss, name="admin-laptop", role="write")[1],
    }
    gone = token_create(user=writer, name="revoked", role="write")[0]
    token_revoke(user=writer, token_id=gone.pk)
    expired = token_create(user=writer, name="expired", role="write")[0]
    AccessToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(1))
    return {"tokens": tokens, "secret": secret, "public": public, "gated": gated}


def _id(name: str) -> int:
    return AccessToken.objects.get(name=name).pk


def _client(secret: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_the_list_holds_live_tokens_that_can_act_in_the_org(
    boss: User, org: Organization, world: dict
) -> None:  # type: ignore[type-arg]
    rows = {row.token.name: row for row in org_token_list(actor=boss, org=org)}
    assert set(rows) == {
        "laptop",
        "ci",
        "org-scoped",
        "repo-scoped",
        "vendor",
        "admin-laptop",
    }  # not: own-only (no scope here), x (an outsider's), revoked, expired
    assert rows["vendor"].owner_role == "team"
    assert rows["ci"].owner_role == "read"
    assert rows["laptop"].access.startswith("Write")
    assert rows["org-scoped"].access == "org acme: repo.write"
    assert rows["repo-scoped"].access == "model acme/secret: repo.content.read"
    assert not any(row.blocked for row in rows.values())


def test_revoked_access_closes_every_org_door_for_that_token_only(
    boss: User, org: Organization, world: dict
) -> None:  # type: ignore[type-arg]
    tokens = world["tokens"]
    laptop = _client(tokens["writer-write"])
    assert laptop.get("/api/models/acme/secret").status_code == 200
    org_token_revoke(actor=boss, org=org, token_id=_id("laptop"))
    for path in (
        "/api/models/acme/secret",
        "/acme/secret/resolve/main/.gitattributes",
        "/acme/secret.git/info/refs?service=git-upload-pack",
        "/acme/secret",
    ):
        assert laptop.get(path).status_code == 404, path
    # Public repos: what an anonymous visitor gets, reads but no writes.
    assert laptop.get("/api/models/acme/open").status_code == 200
    push = laptop.get("/acme/open.git/info/refs", {"service": "git-receive-pack"})
    assert push.status_code == 403
    gated = laptop.get("/acme/gated/resolve/main/.gitattributes")
    assert (gated.status_code, gated["X-Error-Code"]) == (403, "GatedRepo")
    create = laptop.post(
        "/api/repos/create",
        {"name": "new", "organization": "acme"},
        content_type="application/json",
    )
    assert create.status_code == 403
    listed = {m["id"] for m in laptop.get("/api/models", {"author": "acme"}).json()}
    assert listed == {"acme/open", "acme/gated"}
    # Elsewhere the token works as before, and so do the owner's session and other tokens.
    assert laptop.get("/api/models/writer/own").status_code == 200
    assert browser(fresh(User.objects.get(username="writer"))).get("/acme/secret").status_code == (
        200
    )
    assert _client(tokens["writer-org"]).get("/api/models/acme/secret").status_code == 200


def test_a_cut_off_admin_token_cannot_manage_the_org(
    boss: User, org: Organization, world: dict
) -> None:  # type: ignore[type-arg]
    admin = _client(world["tokens"]["boss-write"])
    assert admin.get("/api/organizations/acme/tokens").status_code == 200
    org_token_revoke(actor=boss, org=org, token_id=_id("admin-laptop"))
    assert admin.get("/api/organizations/acme/tokens").status_code == 403
    assert admin.get("/organizations/acme/settings/audit").status_code == 404
    r = admin.put(
        "/api/organizations/acme/members/reader", {"role": "write"}, content_type="application/json"
    )
    assert r.status_code == 403


def test_api_lists_revokes_and_restores(boss: User, org: Organization, world: dict) -> None:  # type: ignore[type-arg]
    api = _client(world["tokens"]["boss-write"])
    rows = api.get("/api/organizations/acme/tokens").json()
    org_scoped = next(r for r in rows if r["name"] == "org-scoped")
    assert org_scoped["owner"] == {"user": "writer", "roleInOrg": "write"}
    assert org_scoped["role"] == "fineGrained"
    assert org_scoped["scopes"] == [{"type": "org", "name": "acme", "permissions": ["repo.write"]}]
    assert org_scoped["masked"].startswith("hf_…")
    assert org_scoped["revokedForOrg"] is False
    assert set(org_scoped) >= {"createdAt", "lastUsedAt", "expiresAt", "id"}

    scoped = _client(world["tokens"]["writer-org"])
    r = api.delete(f"/api/organizations/acme/tokens/{org_scoped['id']}")
    assert r.json() == {"id": org_scoped["id"], "revokedForOrg": True}
    assert api.delete(f"/api/organizations/acme/tokens/{org_scoped['id']}").status_code == 200
    assert scoped.get("/api/models/acme/secret").status_code == 404
    rows = {r["name"]: r for r in api.get("/api/organizations/acme/tokens").json()}
    assert rows["org-scoped"]["revokedForOrg"] is True
    r = api.post(f"/api/organizations/acme/tokens/{org_scoped['id']}/restore")
    assert r.json() == {"id": org_scoped["id"], "revokedForOrg": False}
    assert scoped.get("/api/models/acme/secret").status_code == 200
    again = api.post(f"/api/organizations/acme/tokens/{org_scoped['id']}/restore")
    assert again.status_code == 404  # nothing to restore

    events = AuditEvent.objects.filter(verb__startswith="org.token.").order_by("id")
    assert [(e.verb, e.namespace_name, e.details["owner"]) for e in events] == [
        ("org.token.revoke", "acme", "writer"),
        ("org.token.restore", "acme", "writer"),
    ]
    assert "hf_" not in repr([vars(e) for e in events]).replace("hf_…", "")

    # Only admins; tokens of people outside the org, and junk ids, are not found.
    for who in ("writer-write", "reader-read"):
        assert _client(world["tokens"][who]).get("/api/organizations/acme/tokens").status_code == (
            403
        )
    outsider_token = _id("x")
    assert api.delete(f"/api/organizations/acme/tokens/{outsider_token}").status_code == 404
    assert api.delete("/api/organizations/acme/tokens/nope").status_code == 404
    assert Client().get("/api/organizations/acme/tokens").status_code == 401


def test_org_tokens_page_and_the_owner_token_page(
    boss: User, org: Organization, world: dict
) -> None:  # type: ignore[type-arg]
    admin = browser(boss)
    page = admin.get("/organizations/acme/settings/tokens").content.decode()
    assert 'data-tab="tokens" class="active"' in page
    assert f'data-token="{_id("laptop")}"' in page
    assert "own-only" not in page
    assert 'href="/settings/tokens?org=acme"' in page
    r = admin.post(
        "/organizations/acme/settings/tokens", {"token": _id("laptop"), "action": "revoke"}
    )
    assert r.status_code == 302
    page = admin.get("/organizations/acme/settings/tokens").content.decode()
    revoked_section = page.split('id="org-tokens-revoked"', 1)[1]
    assert f'data-token="{_id("laptop")}"' in revoked_section
    bad = admin.post("/organizations/acme/settings/tokens", {"token": "0", "action": "revoke"})
    assert bad.status_code == 302  # the error is a message on the page, not a 500
    assert (
        browser(User.objects.get(username="writer"))
        .get("/organizations/acme/settings/tokens")
        .status_code
        == 404
    )

    # The owner sees the block on its own page, and can make a token for the org from a link.
    writer_page = browser(User.objects.get(username="writer"))
    mine = writer_page.get("/settings/tokens").content.decode()
    assert "no access to acme" in mine
    prefilled = writer_page.get("/settings/tokens", {"org": "acme"}).content.decode()
    assert 'name="scope-0-name" value="acme"' in prefilled
    assert 'value="org" selected' in prefilled
    assert 'name="scope-0-perm" value="repo.content.read" checked' in prefilled
    assert 'value="fineGrained" required id="id_role_2" checked' in prefilled


def test_revocation_reaches_gated_downloads_of_members(
    boss: User, org: Organization, world: dict
) -> None:  # type: ignore[type-arg]
    reader = _client(world["tokens"]["reader-read"])
    gated = Repo.objects.get(name="gated")
    assert reader.get(f"/{gated.full_name}/resolve/main/.gitattributes").status_code == 200
    org_token_revoke(actor=boss, org=org, token_id=_id("ci"))
    refused = reader.get(f"/{gated.full_name}/resolve/main/.gitattributes")
    assert refused.status_code == 403
    assert refused["X-Error-Code"] == "GatedRepo"


def test_org_tokens_page_queries_are_bounded(
    boss: User, org: Organization, world: dict, django_assert_max_num_queries
) -> None:  # type: ignore[type-arg,no-untyped-def]
    for i in range(20):
        token_create(user=User.objects.get(username="writer"), name=f"extra-{i}", role="read")
    client = browser(boss)
    with django_assert_max_num_queries(12):
        page = client.get("/organizations/acme/settings/tokens")
    assert page.status_code == 200
    assert page.content.decode().count("data-token=") == 26
