"""The access matrix (SECURITY.md 25-26): every actor x every door x {public, private, gated}.

One table, one world, real views through Django's test client. The org `acme` owns, for
each visibility V, `acme/V` (created by its admin, in team `contractors`) and `acme/V-c`
(created by a contributor, in no team). Each row names an actor and which of the two
repos it is tested on, and gives the expected answer of every door for each visibility.

Doors, in column order:
  page     GET /acme/R                                  (the repo's web page)
  info     GET /api/models/acme/R                       (HfApi.model_info)
  pull     GET /acme/R.git/info/refs?service=git-upload-pack
  push     GET /acme/R.git/info/refs?service=git-receive-pack
  lfs-up   POST /acme/R.git/info/lfs/objects/batch      (operation upload)
  lfs-dl   POST the same                                (operation download)
  resolve  GET /acme/R/resolve/main/.gitattributes      (hf_hub_download)
  listed   GET /api/models?author=acme shows the repo   (Y/N: listing and search)
  watch    POST /api/settings/webhooks watching the repo
  tree     GET /api/models/acme/R/tree/main             (HfApi.list_repo_tree)
  branch   POST /api/models/acme/R/branch/<actor>       (HfApi.create_branch: the API's writes)
  suggest  GET /api/quicksearch?q=R shows the repo      (Y/N: the header's suggestions)

Former members are rows of their own: removed by an admin (a writer and an admin), left on
their own, dropped from the team, and a removed member's fine-grained token scoped to the
org. Each loses every door at once, as if it had never been a member (an outsider).
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from orgs.models import OrgRole, User
from orgs.org_services import (
    member_add,
    member_leave,
    member_remove,
    org_create,
    team_create,
    team_member_remove,
    team_member_set,
)
from orgs.services import token_create, user_create
from orgs.tokens import ScopeSpec
from repos.access_requests import access_request_create, access_request_handle
from repos.models import Repo
from repos.services import repo_create, repo_update_settings
from repos.teams import team_repo_add
from search.indexer import repo_index

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]

DOORS = (
    "page",
    "info",
    "pull",
    "push",
    "lfs-up",
    "lfs-dl",
    "resolve",
    "listed",
    "watch",
    "tree",
    "branch",
    "suggest",
)

# Shorthands for whole rows.
NONE_PUBLIC = "200 200 200 403 403 200 200 Y 200 200 403 Y"
NONE_PRIVATE = "404 404 404 404 404 404 404 N 404 404 404 N"
NONE_GATED = "200 200 403 403 403 403 403 Y 200 200 403 Y"
READER = "200 200 200 403 403 200 200 Y 200 200 403 Y"
WRITER = "200 200 200 200 200 200 200 Y 200 200 200 Y"
READ_TOKEN = "200 200 200 403 403 200 200 Y 403 200 403 Y"
# A fine-grained token (repo.write on the org) of someone with no role left: public reads
# only; it may not manage webhooks either (no webhooks.manage scope).
FORMER_FG_PUBLIC = "200 200 200 403 403 200 200 Y 403 200 403 Y"
FORMER_FG_GATED = "200 200 403 403 403 403 403 Y 403 200 403 Y"
FORMER = {"public": NONE_PUBLIC, "private": NONE_PRIVATE, "gated": NONE_GATED}

# (actor, repo: "main" = acme/V, "contrib" = acme/V-c) -> {visibility: expected row}
MATRIX: dict[tuple[str, str], dict[str, str]] = {
    ("anonymous", "main"): {
        "public": "200 200 200 401 401 200 200 Y 401 200 401 Y",
        "private": "404 401 401 401 401 401 401 N 401 401 401 N",
        "gated": "200 200 401 401 401 401 401 Y 401 200 401 Y",
    },
    ("outsider", "main"): {"public": NONE_PUBLIC, "private": NONE_PRIVATE, "gated": NONE_GATED},
    ("org-read", "main"): {"public": READER, "private": READER, "gated": READER},
    ("org-contributor", "contrib"): {"public": WRITER, "private": WRITER, "gated": WRITER},
    ("org-contributor", "main"): {"public": READER, "private": READER, "gated": READER},
    ("org-write", "main"): {"public": WRITER, "private": WRITER, "gated": WRITER},
    ("org-admin", "main"): {"public": WRITER, "private": WRITER, "gated": WRITER},
    ("team-writer", "main"): {"public": WRITER, "private": WRITER, "gated": WRITER},
    ("team-writer", "contrib"): {
        "public": NONE_PUBLIC,
        "private": NONE_PRIVATE,
        "gated": NONE_GATED,
    },
    ("removed-member", "main"): FORMER,
    ("removed-member", "contrib"): FORMER,
    ("removed-admin", "main"): FORMER,
    ("left-member", "main"): FORMER,
    ("team-dropped", "main"): FORMER,
    ("removed-member-org-token", "main"): {
        "public": FORMER_FG_PUBLIC,
        # The token check (no webhooks.manage) answers before the repo is looked up.
        "private": "404 404 404 404 404 404 404 N 403 404 404 N",
        "gated": FORMER_FG_GATED,
    },
    ("admin-read-token", "main"): {
        "public": READ_TOKEN,
        "private": READ_TOKEN,
        "gated": READ_TOKEN,
    },
    # An outsider whose access request to the gated repos was accepted.
    ("accepted-requester", "main"): {
        "public": NONE_PUBLIC,
        "private": NONE_PRIVATE,
        "gated": "200 200 200 403 403 200 200 Y 200 200 403 Y",
    },
}

LFS = "application/vnd.git-lfs+json"
OID = "a" * 64


def _world(settings) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    """Build the org, its repos and the actors; returns actor -> token (None: anonymous)."""
    settings.WEBHOOK_ALLOW_LOCAL = True
    users = {
        name: user_create(username=name.replace("-", "_"), password=None)
        for name in (
            "org-admin",
            "org-read",
            "org-contributor",
            "org-write",
            "team-writer",
            "removed-member",
            "removed-admin",
            "left-member",
            "team-dropped",
            "outsider",
            "accepted-requester",
        )
    }
    admin = users["org-admin"]
    org = org_create(actor=admin, name="acme")
    for name, role in (
        ("org-read", OrgRole.READ),
        ("org-contributor", OrgRole.CONTRIBUTOR),
        ("org-write", OrgRole.WRITE),
        ("removed-member", OrgRole.WRITE),
        ("removed-admin", OrgRole.ADMIN),
        ("left-member", OrgRole.WRITE),
    ):
        member_add(actor=admin, org=org, user=users[name], role=role)
    team = team_create(actor=admin, org=org, name="contractors")
    for name in ("team-writer", "removed-member", "left-member", "team-dropped"):
        team_member_set(actor=admin, team=team, username=name.replace("-", "_"), role="write")
    for visibility in ("public", "private", "gated"):
        for repo_name, creator in (
            (visibility, admin),
            (f"{visibility}-c", users["org-contributor"]),
        ):
            repo = repo_create(
                actor=creator, namespace="acme", name=repo_name, private=visibility == "private"
            )
            if visibility == "gated":
                repo_update_settings(actor=admin, repo=repo, gated="manual")
            if creator is admin:
                team_repo_add(actor=admin, team=team, repo=repo)
            repo_index(repo_id=repo.pk)
    for repo in Repo.objects.filter(gated="manual"):
        requester = User.objects.get(pk=users["accepted-requester"].pk)
        access_request_create(actor=requester, repo=repo)
        access_request_handle(
            actor=admin, repo=repo, status="accepted", username="accepted_requester"
        )
    tokens: dict[str, str | None] = {"anonymous": None}
    for name, user in users.items():
        tokens[name] = token_create(user=user, name="t", role="write")[1]
    tokens["admin-read-token"] = token_create(user=admin, name="r", role="read")[1]
    # Made while a member: scoped to the whole org, with write.
    tokens["removed-member-org-token"] = token_create(
        user=users["removed-member"],
        name="org",
        role="fineGrained",
        scopes=[ScopeSpec(type="org", name="acme", permissions=("repo.write", "repos.create"))],
    )[1]
    # Everything a member can touch was reachable before: now take the roles away.
    member_remove(actor=admin, org=org, username="removed_member")
    member_remove(actor=admin, org=org, username="removed_admin")
    member_leave(actor=User.objects.get(pk=users["left-member"].pk), org=org)
    team_member_remove(actor=admin, team=team, username="team_dropped")
    return tokens


def _door(client: Client, door: str, repo: str, headers: dict[str, str], actor: str) -> str:
    if door == "page":
        return str(client.get(f"/acme/{repo}", headers=headers).status_code)
    if door == "info":
        return str(client.get(f"/api/models/acme/{repo}", headers=headers).status_code)
    if door in ("pull", "push"):
        service = "git-upload-pack" if door == "pull" else "git-receive-pack"
        r = client.get(f"/acme/{repo}.git/info/refs", {"service": service}, headers=headers)
        return str(r.status_code)
    if door in ("lfs-up", "lfs-dl"):
        body = {
            "operation": "upload" if door == "lfs-up" else "download",
            "transfers": ["basic"],
            "objects": [{"oid": OID, "size": 3}],
        }
        if door == "lfs-up":
            # git-lfs names the branch it pushes to; an upload without a ref is
            # huggingface_hub's create_pr, open to readers (tests/e2e/test_hf_discussions.py)
            body["ref"] = {"name": "refs/heads/main"}
        r = client.post(
            f"/acme/{repo}.git/info/lfs/objects/batch",
            json.dumps(body),
            content_type=LFS,
            headers={**headers, "Accept": LFS},
        )
        return str(r.status_code)
    if door == "resolve":
        r = client.get(f"/acme/{repo}/resolve/main/.gitattributes", headers=headers)
        return str(r.status_code)
    if door == "listed":
        r = client.get("/api/models", {"author": "acme", "limit": 100}, headers=headers)
        assert r.status_code == 200, r.content
        return "Y" if f"acme/{repo}" in {m["id"] for m in r.json()} else "N"
    if door == "watch":
        body = {
            "url": "http://127.0.0.1:9/hook",
            "domains": ["repo"],
            "watched": [{"type": "model", "name": f"acme/{repo}"}],
        }
        r = client.post(
            "/api/settings/webhooks",
            json.dumps(body),
            content_type="application/json",
            headers=headers,
        )
        return str(r.status_code)
    if door == "tree":
        return str(client.get(f"/api/models/acme/{repo}/tree/main", headers=headers).status_code)
    if door == "branch":
        r = client.post(
            f"/api/models/acme/{repo}/branch/by-{actor}",
            "{}",
            content_type="application/json",
            headers=headers,
        )
        return str(r.status_code)
    if door == "suggest":
        r = client.get("/api/quicksearch", {"q": repo}, headers=headers)
        assert r.status_code == 200, r.content
        return "Y" if f"acme/{repo}" in {m["id"] for m in r.json()["models"]} else "N"
    raise AssertionError(door)


def test_access_matrix(settings) -> None:  # type: ignore[no-untyped-def]
    tokens = _world(settings)
    client = Client()
    mismatches = []
    for (actor, target), rows in MATRIX.items():
        token = tokens[actor]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for visibility, row in rows.items():
            repo = visibility if target == "main" else f"{visibility}-c"
            expected = row.split()
            assert len(expected) == len(DOORS)
            got = [_door(client, door, repo, headers, actor) for door in DOORS]
            for door, want, have in zip(DOORS, expected, got, strict=True):
                if want != have:
                    mismatches.append(
                        f"{actor:>18} on acme/{repo:<10} {door:>8}: expected {want}, got {have}"
                    )
    assert not mismatches, "\n" + "\n".join(mismatches)
