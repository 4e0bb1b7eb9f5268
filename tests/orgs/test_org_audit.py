"""The organization's audit log: every org and gating action leaves a record in the org's
namespace, and org admins (only) browse, filter and export it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from orgs.audit import VERBS, audit_log
from orgs.models import AuditEvent, Organization, User
from orgs.org_services import (
    invitation_accept,
    invitation_cancel,
    invitation_create,
    invitation_decline,
    member_add,
    member_leave,
    member_remove,
    member_set_role,
    org_avatar_set,
    org_create,
    org_update,
    team_create,
    team_delete,
    team_member_remove,
    team_member_set,
    team_update,
)
from orgs.services import token_create, user_create
from repos.access_requests import (
    access_request_create,
    access_request_grant,
    access_request_handle,
    gate_questions_set,
)
from repos.services import repo_create, repo_delete, repo_move, repo_update_settings
from repos.teams import team_repo_add, team_repo_remove
from tests.orgs.helpers import browser, fresh, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def _verbs(org: Organization) -> list[str]:
    return list(
        AuditEvent.objects.filter(namespace_id=org.namespace_id)
        .order_by("id")
        .values_list("verb", flat=True)
    )


def test_every_org_and_gating_action_is_recorded_in_the_org_log(
    boss: User, org: Organization
) -> None:
    ann, ben, cat, asker = (make_user(n) for n in ("ann", "ben", "cat", "asker"))
    org_update(actor=boss, org=org, fullname="Acme Corp", default_private=True)
    org_avatar_set(actor=boss, org=org, data=PNG)
    invite = invitation_create(actor=boss, org=org, role="write", username="ann")
    invitation_accept(actor=ann, token=invite.token)
    declined = invitation_create(actor=boss, org=org, role="read", username="ben")
    invitation_decline(actor=ben, token=declined.token)
    cancelled = invitation_create(actor=boss, org=org, role="read", email="x@example.com")
    invitation_cancel(actor=boss, org=org, invitation_id=cancelled.pk)
    member_add(actor=boss, org=org, user=cat, role="read")
    member_set_role(actor=boss, org=org, username="cat", role="write")
    member_leave(actor=fresh(cat), org=org)
    member_add(actor=boss, org=org, user=ben, role="read")
    member_remove(actor=boss, org=org, username="ben")
    team = team_create(actor=boss, org=org, name="vendors")
    team_update(actor=boss, team=team, name="suppliers", description="outside help")
    team_member_set(actor=boss, team=team, username="ben", role="write")
    team_member_remove(actor=boss, team=team, username="ben")
    repo = repo_create(actor=boss, namespace="acme", name="model")
    team_repo_add(actor=boss, team=team, repo=repo)
    team_repo_remove(actor=boss, team=team, repo=repo)
    team_delete(actor=boss, team=team)
    repo_update_settings(actor=boss, repo=repo, private=False, gated="manual")
    gate_questions_set(actor=boss, repo=repo, questions=["Company"])
    access_request_create(actor=asker, repo=repo, fields={"Company": "Initech"})
    access_request_handle(actor=boss, repo=repo, status="rejected", username="asker")
    access_request_grant(actor=boss, repo=repo, username="cat")
    moved = repo_move(actor=boss, repo=repo, to_namespace="acme", to_name="renamed")
    mine = repo_create(actor=boss, namespace=None, name="personal")
    repo_move(actor=boss, repo=mine, to_namespace="acme", to_name="personal")
    repo_delete(actor=boss, repo=moved)

    recorded = _verbs(org)
    expected = [
        "org.create",
        "org.update",
        "org.avatar",
        "org.invite",
        "org.member.add",
        "org.invite",
        "org.invite.decline",
        "org.invite",
        "org.invite.cancel",
        "org.member.add",
        "org.member.role",
        "org.member.leave",
        "org.member.add",
        "org.member.remove",
        "org.team.create",
        "org.team.update",
        "org.team.member",
        "org.team.member.remove",
        "repo.create",
        "org.team.repo.add",
        "org.team.repo.remove",
        "org.team.delete",
        "repo.visibility",
        "repo.gating",
        "repo.gating",
        "repo.access.request",
        "repo.access.handle",
        "repo.access.grant",
        "repo.rename",
        "repo.transfer",
        "repo.delete",
    ]
    assert recorded == expected
    # Every org and access verb a service records is offered by the filter.
    assert {v for v in recorded if v.startswith(("org.", "repo."))} <= set(VERBS)
    # Who and what: the decision names the requester; the settings change what moved.
    handle = AuditEvent.objects.get(verb="repo.access.handle")
    assert (handle.actor_name, handle.target_name) == ("boss", "acme/model")
    assert handle.details == {"user": "asker", "old": "pending", "new": "rejected"}
    update = AuditEvent.objects.get(verb="org.update")
    assert update.details == {"fullname": "Acme Corp", "default_private": True}
    renamed = AuditEvent.objects.get(verb="org.team.update")
    assert renamed.details["name"] == {"old": "vendors", "new": "suppliers"}
    # A transfer is written to both namespaces' logs.
    transfers = AuditEvent.objects.filter(verb="repo.transfer")
    assert {t.namespace_name for t in transfers} == {"boss", "acme"}


def test_org_admins_browse_and_filter_the_org_log(boss: User, org: Organization) -> None:
    reader = make_user("reader")
    member_add(actor=boss, org=org, user=reader, role="write")
    other = org_create(actor=boss, name="elsewhere")
    member_add(actor=boss, org=other, user=make_user("stranger"), role="read")
    with time_machine.travel(timezone.now() - timedelta(days=10)):
        repo_create(actor=boss, namespace="acme", name="old-model")
    repo_create(actor=fresh(reader), namespace="acme", name="new-model")

    page = browser(boss).get("/organizations/acme/settings/audit")
    assert page.status_code == 200
    html = page.content.decode()
    assert "acme/old-model" in html
    assert "acme/new-model" in html
    assert "stranger" not in html  # another org's events stay there
    assert 'data-tab="audit" class="active"' in html

    by_actor = browser(boss).get("/organizations/acme/settings/audit", {"actor": "reader"})
    assert "acme/new-model" in by_actor.content.decode()
    assert "acme/old-model" not in by_actor.content.decode()
    by_verb = browser(boss).get("/organizations/acme/settings/audit", {"verb": "org."})
    assert "acme/new-model" not in by_verb.content.decode()
    assert "org.member.add" in by_verb.content.decode()
    since = (timezone.now() - timedelta(days=2)).date().isoformat()
    recent = browser(boss).get(
        "/organizations/acme/settings/audit", {"since": since, "verb": "repo.create"}
    )
    assert "acme/new-model" in recent.content.decode()
    assert "acme/old-model" not in recent.content.decode()

    # Members who are not admins, outsiders and anonymous visitors never see it.
    assert browser(reader).get("/organizations/acme/settings/audit").status_code == 404
    assert browser(reader).get("/organizations/acme/settings/audit/export").status_code == 404
    outsider = browser(make_user("outsider"))
    assert outsider.get("/organizations/acme/settings/audit").status_code == 404
    assert Client().get("/organizations/acme/settings/audit").status_code == 302  # sign in
    assert browser(boss).get("/organizations/nosuch/settings/audit").status_code == 404
    # Site admins see every org's log.
    root = user_create(username="root", password=None, is_admin=True)
    assert browser(root).get("/organizations/acme/settings/audit").status_code == 200


def test_org_log_export_is_json_lines_of_the_org_only(boss: User, org: Organization) -> None:
    repo_create(actor=boss, namespace="acme", name="one")
    repo_create(actor=boss, namespace=None, name="mine")  # the admin's own namespace
    audit_log(verb="repo.create", actor=boss, target_type="repo", target_name="x/y")
    r = browser(boss).get("/organizations/acme/settings/audit/export", {"verb": "repo."})
    assert r.status_code == 200
    assert r["Content-Type"] == "application/x-ndjson"
    assert r.streaming
    rows = [json.loads(line) for line in b"".join(r.streaming_content).decode().splitlines()]
    assert [(row["verb"], row["target"]["name"]) for row in rows] == [("repo.create", "acme/one")]
    assert rows[0]["namespace"]["name"] == "acme"
    assert rows[0]["actor"]["name"] == "boss"
    # Scripts export with a token: a write token of an admin works, a read token does not.
    write = token_create(user=boss, name="w", role="write")[1]
    read = token_create(user=boss, name="r", role="read")[1]
    path = "/organizations/acme/settings/audit/export"
    assert Client(headers={"Authorization": f"Bearer {write}"}).get(path).status_code == 200
    assert Client(headers={"Authorization": f"Bearer {read}"}).get(path).status_code == 404


def test_org_audit_page_queries_are_bounded(
    boss: User, org: Organization, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for i in range(30):
        audit_log(
            verb="repo.create",
            actor=boss,
            target_type="repo",
            target_name=f"acme/r{i}",
            namespace=org.namespace_id,
        )
    client = browser(boss)
    with django_assert_max_num_queries(8):
        assert client.get("/organizations/acme/settings/audit").status_code == 200
