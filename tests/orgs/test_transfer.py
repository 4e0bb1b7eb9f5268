"""Repo transfers between user and org namespaces, both ways: who may, what follows the
repo (redirects, audit), what stays behind (the old org's teams); page and API."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from common.errors import PermissionDeniedError
from orgs.models import AuditEvent, Organization, User
from orgs.org_services import member_add, org_create, team_create, team_member_set
from orgs.permissions import Action, can
from orgs.services import token_create
from repos.models import Repo, RepoRedirect, TeamRepo
from repos.services import repo_create, repo_move
from repos.teams import team_repo_add
from tests.orgs.helpers import api_client, browser, fresh, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]


def _member(org: Organization, boss: User, name: str, role: str) -> User:
    user = make_user(name)
    member_add(actor=boss, org=org, user=user, role=role)
    return fresh(user)


def _move(client: Client, src: str, dst: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    r = client.post(
        "/api/repos/move",
        json.dumps({"fromRepo": src, "toRepo": dst, "type": "model"}),
        content_type="application/json",
    )
    return r.status_code, r.json()


def test_user_to_org_needs_write_or_admin_in_the_org(boss: User, org: Organization) -> None:
    writer = _member(org, boss, "writer", "write")
    contributor = _member(org, boss, "contrib", "contributor")
    reader = _member(org, boss, "reader", "read")
    for user, why in ((contributor, "write or admin role"), (reader, "rights to create")):
        mine = repo_create(actor=user, namespace=None, name="mine")
        with pytest.raises(PermissionDeniedError, match=why):
            repo_move(actor=user, repo=mine, to_namespace="acme", to_name="mine")
        assert Repo.objects.get(pk=mine.pk).owner_id == user.namespace_id
    # A contributor may still create repos in the org: creating is not transferring.
    assert repo_create(actor=contributor, namespace="acme", name="made-here").owner_id == (
        org.namespace_id
    )
    personal = repo_create(actor=writer, namespace=None, name="model", private=True)
    status, body = _move(api_client(writer), "writer/model", "acme/model")
    assert (status, body["name"]) == (200, "acme/model")
    # The org's readers now see it; the old name redirects those who may read the new one.
    assert can(fresh(reader), Action.READ, Repo.objects.get(pk=personal.pk))
    old = api_client(reader).get("/api/models/writer/model")
    assert old.status_code == 307
    assert old["Location"] == "/api/models/acme/model"
    outsider = api_client(make_user("outsider")).get("/api/models/writer/model")
    assert outsider.status_code == 404  # a private repo's new home is not revealed
    assert RepoRedirect.objects.filter(full_name="writer/model").exists()


def test_org_to_user_needs_admin_of_the_repo(boss: User, org: Organization) -> None:
    writer = _member(org, boss, "writer", "write")
    repo = repo_create(actor=boss, namespace="acme", name="model")
    status, body = _move(api_client(writer), "acme/model", "writer/model")
    assert status == 403, body  # write on the repo is not admin of it
    status, body = _move(api_client(boss), "acme/model", "boss/model")
    assert (status, body["name"]) == (200, "boss/model")
    assert Repo.objects.get(pk=repo.pk).full_name == "boss/model"
    # ... and the org's members lost it with the transfer.
    assert not can(fresh(writer), Action.WRITE, Repo.objects.get(pk=repo.pk))
    # Into an org the admin administers, and out to a namespace that is not theirs: refused.
    with pytest.raises(PermissionDeniedError):
        repo_move(actor=boss, repo=Repo.objects.get(pk=repo.pk), to_namespace="writer", to_name="x")


def test_transfer_out_of_an_org_drops_its_team_links(boss: User, org: Organization) -> None:
    contractor = make_user("contractor")
    team = team_create(actor=boss, org=org, name="vendors")
    team_member_set(actor=boss, team=team, username="contractor", role="write")
    repo = repo_create(actor=boss, namespace="acme", name="shared", private=True)
    team_repo_add(actor=boss, team=team, repo=repo)
    assert can(fresh(contractor), Action.WRITE, repo)
    moved = repo_move(actor=boss, repo=repo, to_namespace="boss", to_name="shared")
    assert not TeamRepo.objects.filter(repo=moved).exists()
    assert not can(fresh(contractor), Action.READ, Repo.objects.get(pk=repo.pk))
    event = AuditEvent.objects.filter(verb="repo.transfer").latest("id")
    assert event.details["teams"] == ["vendors"]
    # A rename inside the org keeps the teams.
    again = repo_create(actor=boss, namespace="acme", name="kept")
    team_repo_add(actor=boss, team=team, repo=again)
    repo_move(actor=boss, repo=again, to_namespace="acme", to_name="kept-renamed")
    assert TeamRepo.objects.filter(repo=again).exists()


def test_fine_grained_token_needs_repos_create_on_the_target(boss: User, org: Organization) -> None:
    writer = _member(org, boss, "writer", "write")
    repo_create(actor=writer, namespace=None, name="m")
    narrow = token_create(
        user=writer,
        name="repo-only",
        role="fineGrained",
        scopes=[_spec("user", "writer", "repo.write")],
    )[1]
    client = Client(headers={"Authorization": f"Bearer {narrow}"})
    status, _ = _move(client, "writer/m", "acme/m")
    assert status == 403
    both = token_create(
        user=writer,
        name="both",
        role="fineGrained",
        scopes=[_spec("user", "writer", "repo.write"), _spec("org", "acme", "repos.create")],
    )[1]
    client = Client(headers={"Authorization": f"Bearer {both}"})
    status, body = _move(client, "writer/m", "acme/m")
    assert (status, body["name"]) == (200, "acme/m")


def _spec(kind: str, name: str, *perms: str):  # type: ignore[no-untyped-def]
    from orgs.tokens import ScopeSpec

    return ScopeSpec(type=kind, name=name, permissions=perms)


def test_settings_page_transfers_and_lists_targets(boss: User, org: Organization) -> None:
    writer = _member(org, boss, "writer", "write")
    _member(org, boss, "other", "read")
    other_org = org_create(actor=boss, name="readonly-org")
    member_add(actor=boss, org=other_org, user=writer, role="contributor")
    repo_create(actor=writer, namespace=None, name="m")
    client = browser(writer)
    page = client.get("/writer/m/settings").content.decode()
    assert "<code>writer/m</code>, <code>acme/m</code>" in page
    assert "readonly-org/m" not in page  # contributor there: no transfer target
    refused = client.post("/writer/m/settings", {"form": "rename", "new_id": "readonly-org/m"})
    assert refused.status_code == 200
    assert "write or admin role" in refused.content.decode()
    done = client.post("/writer/m/settings", {"form": "rename", "new_id": "acme/m"})
    assert done.status_code == 302
    assert done["Location"] == "/acme/m/settings"
    assert Repo.objects.filter(owner_id=org.namespace_id, name="m").exists()
    # The writer is no admin of acme/m: the settings page is gone for it, not for the admin.
    assert client.get("/acme/m/settings").status_code == 404
    assert browser(boss).get("/acme/m/settings").status_code == 200
    old = client.get("/writer/m")
    assert (old.status_code, old["Location"]) == (307, "/acme/m")  # the old page redirects
