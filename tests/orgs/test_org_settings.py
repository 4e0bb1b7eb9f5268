"""The org setting that makes new repos private by default, through its three doors (the
settings page, PUT /api/organizations/{name}/settings, `hubforge org set`), and the
operator's member commands."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orgs.models import AuditEvent, Membership, Organization, User
from orgs.org_services import member_add, org_get
from repos.services import repo_create
from tests.orgs.helpers import api_client, browser, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]


def _default_private(org: Organization) -> bool:
    return org_get(name=org.name).default_private


def test_settings_page_sets_default_private_and_new_repos_follow(
    boss: User, org: Organization
) -> None:
    page = browser(boss)
    r = page.post(
        "/organizations/acme/settings",
        {"form": "general", "fullname": "Acme Corp", "default_private": "on"},
    )
    assert r.status_code == 302
    assert _default_private(org)
    assert repo_create(actor=boss, namespace="acme", name="a").private
    # The new-repo form's "owner's default" follows it too.
    r = page.post(
        "/new", {"owner": "acme", "name": "from-page", "kind": "model", "visibility": "default"}
    )
    assert r.status_code == 302
    assert org.namespace.repos.get(name="from-page").private
    r = page.post("/organizations/acme/settings", {"form": "general", "fullname": "Acme Corp"})
    assert not _default_private(org)
    assert not repo_create(actor=boss, namespace="acme", name="b").private
    assert AuditEvent.objects.filter(verb="org.update", namespace_id=org.namespace_id).count() == 2


def test_api_sets_default_private_for_admins_only(boss: User, org: Organization) -> None:
    def put(client, body):  # type: ignore[no-untyped-def]
        return client.put(
            "/api/organizations/acme/settings", json.dumps(body), content_type="application/json"
        )

    admin = api_client(boss)
    r = put(admin, {"defaultPrivate": True})
    assert r.status_code == 200
    assert r.json()["defaultPrivate"] is True
    assert admin.get("/api/organizations/acme/overview").json()["defaultPrivate"] is True
    created = admin.post(
        "/api/repos/create",
        json.dumps({"name": "via-api", "organization": "acme"}),
        content_type="application/json",
    )
    assert created.status_code == 200
    assert org.namespace.repos.get(name="via-api").private
    explicit = admin.post(
        "/api/repos/create",
        json.dumps({"name": "shown", "organization": "acme", "private": False}),
        content_type="application/json",
    )
    assert explicit.status_code == 200
    assert not org.namespace.repos.get(name="shown").private

    bad = put(admin, {"defaultPrivate": "maybe"})
    assert bad.status_code == 400
    writer = make_user("writer")
    member_add(actor=boss, org=org, user=writer, role="write")
    assert put(api_client(writer), {"defaultPrivate": False}).status_code == 403
    assert put(api_client(boss, role="read"), {"defaultPrivate": False}).status_code == 403
    assert put(api_client(boss), {"defaultPrivate": False}).status_code == 200
    assert not _default_private(org)
    assert put(admin, {"defaultPrivate": False}).status_code == 200  # no change, no error
    nosuch = admin.put("/api/organizations/nosuch/settings", "{}", content_type="application/json")
    assert nosuch.status_code == 404


def test_cli_set_and_remove_member(boss: User, org: Organization, capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("org", "set", "acme", "--default-private", "--fullname", "Acme Corp")
    org = org_get(name="acme")
    assert (org.default_private, org.fullname) == (True, "Acme Corp")
    assert "new repos private" in capsys.readouterr().out
    call_command("org", "set", "ACME", "--no-default-private")
    assert not _default_private(org)
    with pytest.raises(CommandError, match="Nothing to change"):
        call_command("org", "set", "acme")
    with pytest.raises(CommandError, match="not found"):
        call_command("org", "set", "nosuch", "--default-private")
    event = AuditEvent.objects.filter(verb="org.update").latest("id")
    assert event.actor_name == ""  # the command line acts as the operator

    make_user("ann")
    call_command("org", "add-member", "acme", "ann", "--role", "write")
    call_command("org", "remove-member", "acme", "ann")
    assert not Membership.objects.filter(org=org, user__username="ann").exists()
    with pytest.raises(CommandError, match="not a member"):
        call_command("org", "remove-member", "acme", "ann")
    with pytest.raises(CommandError, match="last admin"):
        call_command("org", "remove-member", "acme", "boss")
