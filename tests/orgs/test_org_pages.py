"""Organization pages: create, settings (invite, roles, teams), invitation, profile, avatar,
the user's orgs; and the repo pages orgs touch (new repo owner, access-request review)."""

from __future__ import annotations

import pytest
from django.test import Client

from orgs.models import Invitation, Membership, Organization, User
from orgs.org_services import member_add, org_create
from orgs.services import user_create
from repos.models import AccessRequest, Repo, TeamRepo
from repos.services import repo_create, repo_update_settings

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]


def _browser(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def boss() -> User:
    return user_create(username="boss", password=None)


def test_create_org_invite_accept_and_profile(boss: User) -> None:
    alice = user_create(username="alice", password=None)
    b = _browser(boss)
    assert b.get("/organizations/new").status_code == 200
    r = b.post("/organizations/new", {"name": "acme", "fullname": "Acme Corp"})
    assert r.status_code == 302
    assert r["Location"] == "/organizations/acme/settings"
    r = b.post("/organizations/acme/settings", {"form": "invite", "who": "alice", "role": "write"})
    assert r.status_code == 200
    invitation = Invitation.objects.get(invitee=alice)
    assert f"/organizations/acme/invitations/{invitation.token}" in r.content.decode()
    a = _browser(alice)
    assert "acme" in a.get("/settings/organizations").content.decode()  # waiting for alice
    page = a.get(f"/organizations/acme/invitations/{invitation.token}")
    assert b"Accept and join" in page.content
    assert Membership.objects.filter(user=alice).count() == 0  # GET changes nothing
    r = a.post(f"/organizations/acme/invitations/{invitation.token}", {"answer": "accept"})
    assert r.status_code == 302
    assert Membership.objects.get(user=alice).role == "write"
    repo_create(actor=boss, namespace="acme", name="secret", private=True)
    profile = a.get("/acme").content.decode()
    assert "Acme Corp" in profile
    assert "acme/secret" in profile
    assert 'id="org-members"' in profile
    outsider = user_create(username="out", password=None)
    assert "acme/secret" not in _browser(outsider).get("/acme").content.decode()
    assert "acme/secret" not in Client().get("/acme").content.decode()
    # Only admins see the settings page.
    assert a.get("/organizations/acme/settings").status_code == 404


def test_roles_teams_and_team_repos_from_the_settings_page(boss: User) -> None:
    org = org_create(actor=boss, name="acme")
    dev = user_create(username="dev", password=None)
    member_add(actor=boss, org=org, user=dev, role="read")
    repo = repo_create(actor=boss, namespace="acme", name="m", private=True)
    b = _browser(boss)
    b.post("/organizations/acme/settings", {"form": "role", "user": "dev", "role": "admin"})
    assert Membership.objects.get(user=dev).role == "admin"
    r = b.post("/organizations/acme/settings", {"form": "role", "user": "dev", "role": "nope"})
    assert r.status_code == 302
    b.post("/organizations/acme/settings", {"form": "team", "name": "core"})
    contractor = user_create(username="contractor", password=None)
    b.post(
        "/organizations/acme/settings",
        {"form": "team-member", "team": "core", "user": "contractor", "role": "write"},
    )
    b.post("/organizations/acme/teams/core/repos", {"action": "add", "repo": "m", "kind": "model"})
    assert TeamRepo.objects.filter(repo=repo, team__name="core").exists()
    page = b.get("/organizations/acme/settings").content.decode()
    assert 'data-team="core"' in page
    assert "acme/m" in page
    assert _browser(contractor).get("/acme/m").status_code == 200
    # A non-admin cannot touch team repos.
    assert (
        _browser(contractor)
        .post("/organizations/acme/teams/core/repos", {"action": "remove", "repo": "m"})
        .status_code
        == 404
    )
    b.post("/organizations/acme/settings", {"form": "remove", "user": "dev"})
    assert not Membership.objects.filter(user=dev).exists()
    b.post(
        "/organizations/acme/settings",
        {"form": "general", "fullname": "Acme", "default_private": "on"},
    )
    assert Organization.objects.get(pk=org.pk).default_private


def test_avatar_initials_and_upload(boss: User) -> None:
    org_create(actor=boss, name="acme", fullname="Acme Corp")
    r = Client().get("/organizations/acme/avatar")
    assert r["Content-Type"] == "image/svg+xml"
    assert b">AC<" in r.content
    from django.core.files.uploadedfile import SimpleUploadedFile

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    b = _browser(boss)
    b.post(
        "/organizations/acme/settings",
        {"form": "general", "fullname": "Acme Corp", "avatar": SimpleUploadedFile("a.png", png)},
    )
    r = Client().get("/organizations/acme/avatar")
    assert r["Content-Type"] == "image/png"
    svg = SimpleUploadedFile("a.svg", b"<svg onload=alert(1)>")
    r = b.post(
        "/organizations/acme/settings", {"form": "general", "fullname": "Acme Corp", "avatar": svg}
    )
    assert b"PNG, JPEG or GIF" in r.content


def test_new_repo_form_offers_writable_namespaces(boss: User) -> None:
    org = org_create(actor=boss, name="acme", default_private=True)
    org_create(actor=boss, name="other")
    reader = user_create(username="reader", password=None)
    member_add(actor=boss, org=org, user=reader, role="read")
    page = _browser(boss).get("/new").content.decode()
    assert 'value="acme"' in page
    assert 'value="other"' in page
    assert 'value="acme"' not in _browser(reader).get("/new").content.decode()
    r = _browser(boss).post(
        "/new", {"owner": "acme", "name": "m", "kind": "model", "visibility": "default"}
    )
    assert r.status_code == 302
    assert Repo.objects.get(name="m").private  # the org's default
    r = _browser(reader).post(
        "/new", {"owner": "acme", "name": "x", "kind": "model", "visibility": "public"}
    )
    assert r.status_code == 200  # not a choice for a read member
    assert not Repo.objects.filter(name="x").exists()


def test_access_request_review_page(boss: User) -> None:
    repo = repo_create(actor=boss, namespace=None, name="g")
    repo_update_settings(actor=boss, repo=repo, gated="manual")
    asker = user_create(username="asker", password=None, email="a@example.com")
    b = _browser(boss)
    b.post("/boss/g/settings", {"form": "questions", "questions": "Company\nUse"})
    a = _browser(asker)
    a.post("/boss/g/ask-access", {"field_0": "ACME", "field_1": "research"})
    request = AccessRequest.objects.get(user=asker)
    assert request.fields == {"Company": "ACME", "Use": "research"}
    page = b.get("/boss/g/access-requests").content.decode()
    assert 'data-user="asker"' in page
    assert "research" in page
    assert a.get("/boss/g/access-requests").status_code == 404  # not a maintainer
    assert a.get("/boss/g/resolve/main/.gitattributes").status_code == 403
    b.post("/boss/g/access-requests?status=pending", {"id": request.pk, "status": "accepted"})
    assert AccessRequest.objects.get(pk=request.pk).status == "accepted"
    assert a.get("/boss/g/resolve/main/.gitattributes").status_code == 200
    assert "Access granted" in a.get("/boss/g").content.decode()


def test_org_profile_query_count(boss: User, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    org = org_create(actor=boss, name="acme")
    for i in range(5):
        member_add(
            actor=boss, org=org, user=user_create(username=f"u{i}", password=None), role="read"
        )
        repo_create(actor=boss, namespace="acme", name=f"r{i}")
    client = _browser(boss)
    client.get("/acme")
    with django_assert_max_num_queries(16):
        assert client.get("/acme").status_code == 200
