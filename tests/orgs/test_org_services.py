"""Organizations: creation, roles, invitations, the last admin, teams, transfers, the API."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from common.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from orgs.models import Invitation, Membership, OrgRole, TeamMember, User
from orgs.org_selectors import namespaces_for_create
from orgs.org_services import (
    invitation_accept,
    invitation_create,
    invitation_decline,
    member_add,
    member_leave,
    member_remove,
    member_set_role,
    org_create,
    org_get,
    org_update,
    team_create,
    team_member_set,
)
from orgs.permissions import Action, can, can_write_namespace
from orgs.services import token_create, user_create
from repos.models import Repo
from repos.services import repo_create, repo_move
from repos.teams import team_repo_add

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]


def _user(name: str, **kw) -> User:  # type: ignore[no-untyped-def]
    return user_create(username=name, password=None, **kw)


def _fresh(user: User) -> User:
    """A new instance, as a new request would load it (grants are cached per instance)."""
    return User.objects.get(pk=user.pk)


@pytest.fixture
def admin() -> User:
    return _user("boss")


@pytest.fixture
def org(admin: User):  # type: ignore[no-untyped-def]
    return org_create(actor=admin, name="acme", fullname="Acme Corp")


def test_creator_is_admin_and_names_are_shared_with_users(admin: User, org) -> None:  # type: ignore[no-untyped-def]
    assert Membership.objects.get(org=org, user=admin).role == OrgRole.ADMIN
    assert org.namespace.kind == "org"
    with pytest.raises(ConflictError):
        org_create(actor=admin, name="BOSS")  # a user's name, in another case
    with pytest.raises(ConflictError):
        org_create(actor=admin, name="ACME")
    with pytest.raises(BadRequestError):
        org_create(actor=admin, name="settings")  # reserved


def test_a_read_token_cannot_create_an_org(admin: User) -> None:
    admin.access_token = token_create(user=admin, name="r", role="read")[0]  # type: ignore[attr-defined]
    with pytest.raises(PermissionDeniedError):
        org_create(actor=admin, name="nope")


def test_the_last_admin_cannot_leave_be_demoted_or_removed(admin: User, org) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadRequestError, match="last admin"):
        member_leave(actor=admin, org=org)
    with pytest.raises(BadRequestError, match="last admin"):
        member_set_role(actor=admin, org=org, username="boss", role="write")
    with pytest.raises(BadRequestError, match="last admin"):
        member_remove(actor=admin, org=org, username="boss")
    other = _user("second")
    member_add(actor=admin, org=org, user=other, role="admin")
    member_leave(actor=admin, org=org)  # now someone else administers the org
    assert not Membership.objects.filter(org=org, user=admin).exists()
    with pytest.raises(PermissionDeniedError):
        member_add(actor=_fresh(admin), org=org, user=_user("x"), role="read")


def test_only_admins_manage_members(admin: User, org) -> None:  # type: ignore[no-untyped-def]
    writer = _user("writer")
    member_add(actor=admin, org=org, user=writer, role="write")
    for call in (
        lambda: member_add(actor=_fresh(writer), org=org, user=_user("y"), role="read"),
        lambda: member_set_role(actor=_fresh(writer), org=org, username="boss", role="read"),
        lambda: invitation_create(actor=_fresh(writer), org=org, role="read", username="y"),
        lambda: team_create(actor=_fresh(writer), org=org, name="t"),
        lambda: org_update(actor=_fresh(writer), org=org, default_private=True),
    ):
        with pytest.raises(PermissionDeniedError):
            call()


def test_invitation_by_name_accept_and_decline(admin: User, org) -> None:  # type: ignore[no-untyped-def]
    alice, bob, eve = _user("alice"), _user("bob"), _user("eve")
    inv = invitation_create(actor=admin, org=org, role="write", username="ALICE")
    assert inv.invitee == alice
    assert inv.status == Invitation.Status.PENDING
    with pytest.raises(NotFoundError):  # someone else cannot use the link
        invitation_accept(actor=eve, token=inv.token)
    membership = invitation_accept(actor=alice, token=inv.token)
    assert membership.role == "write"
    assert can_write_namespace(_fresh(alice), org.namespace)
    with pytest.raises(ConflictError):  # answered already
        invitation_decline(actor=alice, token=inv.token)
    with pytest.raises(ConflictError):  # already a member
        invitation_create(actor=admin, org=org, role="read", username="alice")
    inv2 = invitation_create(actor=admin, org=org, role="read", username="bob")
    invitation_decline(actor=bob, token=inv2.token)
    assert not Membership.objects.filter(org=org, user=bob).exists()


def test_invitation_by_email_needs_that_email(admin: User, org) -> None:  # type: ignore[no-untyped-def]
    carol = _user("carol", email="carol@example.com")
    mallory = _user("mallory", email="mallory@example.com")
    inv = invitation_create(actor=admin, org=org, role="read", email="nobody@example.com")
    assert inv.invitee is None
    with pytest.raises(PermissionDeniedError):
        invitation_accept(actor=mallory, token=inv.token)
    inv = invitation_create(actor=admin, org=org, role="read", email="Carol@Example.com")
    assert inv.invitee == carol  # an account with that email exists
    invitation_accept(actor=carol, token=inv.token)
    with pytest.raises(BadRequestError):
        invitation_create(actor=admin, org=org, role="read", username="x", email="x@y.z")


def test_roles_on_org_repos(admin: User, org) -> None:  # type: ignore[no-untyped-def]
    reader, contrib, writer = _user("reader"), _user("contrib"), _user("writer")
    member_add(actor=admin, org=org, user=reader, role="read")
    member_add(actor=admin, org=org, user=contrib, role="contributor")
    member_add(actor=admin, org=org, user=writer, role="write")
    theirs = repo_create(actor=admin, namespace="acme", name="theirs", private=True)
    with pytest.raises(PermissionDeniedError):
        repo_create(actor=_fresh(reader), namespace="acme", name="nope")
    mine = repo_create(actor=_fresh(contrib), namespace="acme", name="mine", private=True)
    c = _fresh(contrib)
    assert can(c, Action.WRITE, mine)
    assert not can(c, Action.ADMIN, mine)
    assert can(c, Action.READ, theirs)
    assert not can(c, Action.WRITE, theirs)
    assert can(_fresh(writer), Action.WRITE, theirs)
    assert not can(_fresh(writer), Action.ADMIN, theirs)
    assert can(_fresh(reader), Action.READ, mine)
    assert not can(_fresh(reader), Action.WRITE, mine)
    assert namespaces_for_create(user=_fresh(contrib)) == ["contrib", "acme"]
    assert namespaces_for_create(user=_fresh(reader)) == ["reader"]
    visible = set(Repo.objects.visible_to(_fresh(reader)).values_list("name", flat=True))
    assert visible == {"theirs", "mine"}
    assert not Repo.objects.visible_to(_user("stranger")).exists()


def test_team_scopes_a_contractor_to_the_team_repos(admin: User, org) -> None:  # type: ignore[no-untyped-def]
    repos = [
        repo_create(actor=admin, namespace="acme", name=f"r{i}", private=True) for i in range(5)
    ]
    contractor = _user("contractor")
    team = team_create(actor=admin, org=org, name="Vendors")
    team_member_set(actor=admin, team=team, username="contractor", role="write")
    for repo in repos[:3]:
        team_repo_add(actor=admin, team=team, repo=repo)
    c = _fresh(contractor)
    assert [can(c, Action.WRITE, r) for r in repos] == [True, True, True, False, False]
    assert [can(c, Action.READ, r) for r in repos] == [True, True, True, False, False]
    assert not can_write_namespace(c, org.namespace)  # cannot create repos in the org
    names = set(Repo.objects.visible_to(c).values_list("name", flat=True))
    assert names == {"r0", "r1", "r2"}
    with pytest.raises(ConflictError):
        team_create(actor=admin, org=org, name="vendors")
    # Leaving the org (as a team-only member) drops the team role too.
    member_leave(actor=_fresh(contractor), org=org)
    assert not TeamMember.objects.filter(user=contractor).exists()
    assert not Repo.objects.visible_to(_fresh(contractor)).exists()


def test_team_repos_must_belong_to_the_org(admin: User, org) -> None:  # type: ignore[no-untyped-def]
    outside = repo_create(actor=admin, namespace=None, name="personal")
    team = team_create(actor=admin, org=org, name="t")
    with pytest.raises(BadRequestError):
        team_repo_add(actor=admin, team=team, repo=outside)


def test_removed_member_loses_everything(admin: User, org) -> None:  # type: ignore[no-untyped-def]
    member = _user("member")
    member_add(actor=admin, org=org, user=member, role="write")
    repo = repo_create(actor=admin, namespace="acme", name="secret", private=True)
    assert can(_fresh(member), Action.WRITE, repo)
    member_remove(actor=admin, org=org, username="member")
    assert not can(_fresh(member), Action.READ, repo)
    with pytest.raises(NotFoundError):
        member_remove(actor=admin, org=org, username="member")


def test_default_private_and_transfer_between_user_and_org(admin: User, org) -> None:  # type: ignore[no-untyped-def]
    org_update(actor=admin, org=org, default_private=True)
    assert repo_create(actor=admin, namespace="acme", name="hidden").private
    assert not repo_create(actor=admin, namespace="acme", name="shown", private=False).private
    assert not repo_create(actor=admin, namespace=None, name="mine").private  # users: public
    writer = _user("writer")
    member_add(actor=admin, org=org, user=writer, role="write")
    personal = repo_create(actor=_fresh(writer), namespace=None, name="model")
    moved = repo_move(actor=_fresh(writer), repo=personal, to_namespace="acme", to_name="model")
    assert moved.full_name == "acme/model"
    reader = _user("reader")
    member_add(actor=admin, org=org, user=reader, role="read")
    mine = repo_create(actor=_fresh(reader), namespace=None, name="x")
    with pytest.raises(PermissionDeniedError):  # the target namespace must be writable
        repo_move(actor=_fresh(reader), repo=mine, to_namespace="acme", to_name="x")
    # ... and back: the writer is no admin of acme/model (write role), so it cannot move it.
    with pytest.raises(PermissionDeniedError):
        repo_move(actor=_fresh(writer), repo=moved, to_namespace="writer", to_name="model")
    back = repo_move(actor=admin, repo=moved, to_namespace="boss", to_name="model")
    assert back.full_name == "boss/model"


def test_cli_creates_an_org_with_members(admin: User) -> None:
    _user("ann")
    _user("ben")
    call_command(
        "org",
        "create",
        "cliorg",
        "--admin",
        "boss",
        "--fullname",
        "CLI Org",
        "--member",
        "ann:write",
        "--member",
        "ben:contributor",
        "--default-private",
    )
    org = org_get(name="cliorg")
    assert org.fullname == "CLI Org"
    assert org.default_private
    roles = dict(Membership.objects.filter(org=org).values_list("user__username", "role"))
    assert roles == {"boss": "admin", "ann": "write", "ben": "contributor"}
    call_command("org", "add-member", "cliorg", "ben", "--role", "admin")
    assert Membership.objects.get(org=org, user__username="ben").role == "admin"
    with pytest.raises(CommandError):
        call_command("org", "create", "bad", "--admin", "boss", "--member", "ann:owner")
    with pytest.raises(CommandError):
        call_command("org", "add-member", "nosuchorg", "ann", "--role", "read")


def _api(user: User, role: str = "write") -> Client:
    secret = token_create(user=user, name="t", role=role)[1]
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_api_members_overview_whoami_and_roles(admin: User, org) -> None:  # type: ignore[no-untyped-def]
    alice = _user("alice", fullname="Alice A")
    boss = _api(admin)
    r = boss.post(
        "/api/organizations/acme/invitations",
        {"user": "alice", "role": "write"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    token = r.json()["token"]
    a = _api(alice)
    assert a.post(f"/api/invitations/{token}/accept").json()["roleInOrg"] == "write"
    members = Client().get("/api/organizations/acme/members").json()
    assert {m["user"] for m in members} == {"boss", "alice"}
    assert {"user", "fullname", "avatarUrl", "type"} <= set(members[0])
    assert "role" not in members[0]  # roles are for admins
    assert {m["role"] for m in boss.get("/api/organizations/acme/members").json()} == {
        "admin",
        "write",
    }
    overview = Client().get("/api/organizations/acme/overview").json()
    assert overview["name"] == "acme"
    assert overview["fullname"] == "Acme Corp"
    assert overview["numUsers"] == 2
    orgs = a.get("/api/whoami-v2").json()["orgs"]
    assert orgs == [
        {
            "type": "org",
            "name": "acme",
            "fullname": "Acme Corp",
            "avatarUrl": "/organizations/acme/avatar",
            "isEnterprise": False,
            "roleInOrg": "write",
        }
    ]
    # A read token of an admin cannot manage members.
    r = _api(admin, "read").put(
        "/api/organizations/acme/members/alice", {"role": "read"}, content_type="application/json"
    )
    assert r.status_code == 403
    r = boss.put(
        "/api/organizations/acme/members/alice", {"role": "read"}, content_type="application/json"
    )
    assert r.json()["role"] == "read"
    assert boss.post("/api/organizations/acme/leave").status_code == 400  # last admin
    assert boss.delete("/api/organizations/acme/members/alice").status_code == 200
    assert a.get("/api/whoami-v2").json()["orgs"] == []
    assert Client().get("/api/organizations/nope/members").status_code == 404


def test_api_teams(admin: User, org) -> None:  # type: ignore[no-untyped-def]
    _user("dev")
    repo_create(actor=admin, namespace="acme", name="m", private=True)
    boss = _api(admin)
    assert (
        boss.post(
            "/api/organizations/acme/teams", {"name": "core"}, content_type="application/json"
        ).status_code
        == 200
    )
    r = boss.put(
        "/api/organizations/acme/teams/core/members/dev",
        {"role": "write"},
        content_type="application/json",
    )
    assert r.status_code == 200
    assert boss.put("/api/organizations/acme/teams/core/repos/models/m").status_code == 200
    teams = boss.get("/api/organizations/acme/teams").json()
    assert teams[0]["name"] == "core"
    assert teams[0]["members"][0]["role"] == "write"
    dev = _api(User.objects.get(username="dev"))
    assert dev.get("/api/models/acme/m").status_code == 200
    # Not an admin: team management is refused before any repo lookup.
    assert dev.put("/api/organizations/acme/teams/core/repos/models/m").status_code == 403
    assert dev.get("/api/organizations/acme/teams").status_code == 403
    assert boss.delete("/api/organizations/acme/teams/core/repos/models/m").status_code == 200
    assert dev.get("/api/models/acme/m").status_code == 404
    assert boss.delete("/api/organizations/acme/teams/core").status_code == 200


def test_api_create_org_and_repo_in_it(admin: User) -> None:
    boss = _api(admin)
    r = boss.post(
        "/api/organizations/new",
        {"name": "neworg", "fullname": "New", "defaultPrivate": True},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    r = boss.post(
        "/api/repos/create",
        {"name": "m", "organization": "neworg"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    assert Repo.objects.get(name="m").private  # the org's default
    r = boss.post(
        "/api/repos/create",
        {"name": "p", "organization": "neworg", "private": False},
        content_type="application/json",
    )
    assert not Repo.objects.get(name="p").private
    outsider = _api(_user("outsider"))
    r = outsider.post(
        "/api/repos/create",
        {"name": "x", "organization": "neworg"},
        content_type="application/json",
    )
    assert r.status_code == 403
