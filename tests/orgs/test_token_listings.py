"""Listings under every kind of credential: a token never lists more than it may read.

One table of credentials (session, classic tokens, fine-grained tokens with repo, user and
org scopes, tokens an org cut off) against every listing door (the list API, facet counts,
header suggestions, likes, `Repo.objects.visible_to`, the Elasticsearch filter). Each door
must show exactly the public repos plus the private ones `can(user, READ, repo)` allows,
which orgs/permissions.py `readable_scope` turns into one SQL condition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from orgs.models import AccessToken, Organization, OrgTokenBlock, User
from orgs.org_services import member_add, org_create, team_create, team_member_set
from orgs.permissions import Action, can
from orgs.services import token_create
from orgs.tokens import parse_scope
from repos.models import Like, Repo, RepoKind
from repos.teams import team_repo_add
from search.backends.base import SearchQuery
from search.backends.es import build_search
from search.cards import extract_metadata
from search.indexer import metadata_save
from tests.orgs.helpers import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]

# full name -> (kind, private). Every name starts with "kite-" so one suggestion query finds
# them all; alice reads at most five models, the suggestion box's size.
REPOS: dict[str, tuple[str, bool]] = {
    "alice/kite-pub": (RepoKind.MODEL, False),
    "alice/kite-p": (RepoKind.MODEL, True),
    "acme/kite-x": (RepoKind.MODEL, True),
    "acme/kite-y": (RepoKind.MODEL, True),
    "labs/kite-t": (RepoKind.MODEL, True),  # alice is in a labs team holding it, not in labs
    "labs/kite-u": (RepoKind.MODEL, True),
    "bob/kite-s": (RepoKind.MODEL, True),
    "alice/kite-dpub": (RepoKind.DATASET, False),
    "alice/kite-dp": (RepoKind.DATASET, True),
    "acme/kite-dx": (RepoKind.DATASET, True),
}
PUBLIC = {name for name, (_, private) in REPOS.items() if not private}
ALICE_READS = {"alice/kite-p", "alice/kite-dp", "acme/kite-x", "acme/kite-y", "acme/kite-dx",
               "labs/kite-t"}  # fmt: skip


@dataclass(frozen=True)
class Credential:
    """How alice signs in: a session (role None, no scopes), a classic token, or a
    fine-grained one; `cut_off_by` lists orgs whose admins revoked the token in the org."""

    role: str | None
    scopes: tuple[str, ...] = ()
    cut_off_by: tuple[str, ...] = ()
    anonymous: bool = False


CREDENTIALS: dict[str, tuple[Credential, set[str]]] = {  # -> private repos listed
    "anonymous": (Credential(None, anonymous=True), set()),
    "session": (Credential(None), ALICE_READS),
    "classic read": (Credential("read"), ALICE_READS),
    "classic write": (Credential("write"), ALICE_READS),
    "classic read cut off by acme": (
        Credential("read", cut_off_by=("acme",)),
        ALICE_READS - {"acme/kite-x", "acme/kite-y", "acme/kite-dx"},
    ),
    "fine: repo read": (
        Credential("fineGrained", ("model:acme/kite-x:repo.content.read",)),
        {"acme/kite-x"},
    ),
    "fine: repo write": (
        Credential("fineGrained", ("model:acme/kite-x:repo.write",)),
        {"acme/kite-x"},
    ),
    "fine: repo discussions only": (
        Credential("fineGrained", ("model:acme/kite-x:discussion.write",)),
        set(),
    ),
    "fine: user namespace read": (
        Credential("fineGrained", ("user:alice:repo.content.read",)),
        {"alice/kite-p", "alice/kite-dp"},
    ),
    "fine: org read": (
        Credential("fineGrained", ("org:acme:repo.content.read",)),
        {"acme/kite-x", "acme/kite-y", "acme/kite-dx"},
    ),
    "fine: org without read": (
        Credential("fineGrained", ("org:acme:repos.create,webhooks.manage",)),
        set(),
    ),
    "fine: team repo": (
        Credential("fineGrained", ("model:labs/kite-t:repo.content.read",)),
        {"labs/kite-t"},
    ),
    "fine: org of a team-only member": (
        Credential("fineGrained", ("org:labs:repo.content.read",)),
        {"labs/kite-t"},  # the team's repo, never the org's others
    ),
    "fine: another user's namespace": (
        Credential("fineGrained", ("user:bob:repo.content.read",)),
        set(),  # never more than its owner has
    ),
    "fine: repo and namespace": (
        Credential("fineGrained", ("model:acme/kite-x:repo.content.read", "user:alice:repo.write")),
        {"acme/kite-x", "alice/kite-p", "alice/kite-dp"},
    ),
    "fine: org read, cut off by acme": (
        Credential(
            "fineGrained",
            ("org:acme:repo.content.read", "user:alice:repo.content.read"),
            cut_off_by=("acme",),
        ),
        {"alice/kite-p", "alice/kite-dp"},
    ),
}


@dataclass
class Viewer:
    user: User | AnonymousUser  # as the middleware hands it to views
    client: Client


@pytest.fixture
def alice() -> User:
    alice = make_user("alice")
    bob = make_user("bob")
    boss = make_user("boss")
    acme = org_create(actor=boss, name="acme")
    labs = org_create(actor=boss, name="labs")
    member_add(actor=boss, org=acme, user=alice, role="read")
    namespaces = {"alice": alice.namespace, "bob": bob.namespace,
                  "acme": acme.namespace, "labs": labs.namespace}  # fmt: skip
    for full_name, (kind, private) in REPOS.items():
        owner, name = full_name.split("/")
        repo = Repo.objects.create(owner=namespaces[owner], name=name, kind=kind, private=private)
        license_ = full_name.replace("/", "--")  # one facet value per repo
        meta = extract_metadata(kind=kind, readme=f"---\nlicense: {license_}\n---\n", files=[])
        metadata_save(repo=repo, sha="0" * 40, meta=meta)
        Like.objects.create(user=alice, repo=repo)
    team = team_create(actor=boss, org=labs, name="kites")
    team_member_set(actor=boss, team=team, username="alice", role="read")
    team_repo_add(actor=boss, team=team, repo=_repo("labs/kite-t"))
    return alice


def _repo(full_name: str) -> Repo:
    owner, name = full_name.split("/")
    return Repo.objects.get(owner__name=owner, name=name)


def _viewer(alice: User, credential: Credential) -> Viewer:
    if credential.anonymous:
        return Viewer(AnonymousUser(), Client())
    user = User.objects.get(pk=alice.pk)
    if credential.role is None:
        client = Client()
        client.force_login(alice)
        return Viewer(user, client)
    token, secret = token_create(
        user=alice,
        name="t",
        role=credential.role,
        scopes=[parse_scope(s) for s in credential.scopes],
    )
    for org in credential.cut_off_by:
        OrgTokenBlock.objects.create(org=Organization.objects.get(namespace__name=org), token=token)
    user.access_token = AccessToken.objects.get(pk=token.pk)
    return Viewer(user, Client(headers={"Authorization": f"Bearer {secret}"}))


def _json(client: Client, url: str, **params: Any) -> Any:
    r = client.get(url, params)
    assert r.status_code == 200, r.content
    return r.json()


# --- the doors: each answers with the full names it shows --------------------------------------


def _api_list(v: Viewer) -> set[str]:
    return {
        item["id"]
        for plural in ("models", "datasets")
        for item in _json(v.client, f"/api/{plural}", limit=100)
    }


def _facet_counts(v: Viewer) -> set[str]:
    names: set[str] = set()
    for plural in ("models", "datasets"):
        found = _json(v.client, f"/api/{plural}/facets", per_facet=100)
        licenses = {c["value"]: c["count"] for c in found["facets"]["license"]}
        assert set(licenses.values()) <= {1}
        assert found["total"] == len(licenses)  # the total counts the same repos
        names |= {value.replace("--", "/") for value in licenses}
    return names


def _suggestions(v: Viewer) -> set[str]:
    found = _json(v.client, "/api/quicksearch", q="kite")
    return {item["id"] for key in ("models", "datasets") for item in found[key]}


def _likes(v: Viewer) -> set[str]:
    return {like["repo"]["name"] for like in _json(v.client, "/api/users/alice/likes")}


def _visible_to(v: Viewer) -> set[str]:
    return {r.full_name for r in Repo.objects.visible_to(v.user).select_related("owner")}


def _matches(clause: dict[str, Any], doc: dict[str, Any]) -> bool:
    """Evaluate the term / terms / bool-should clauses the visibility filter is made of."""
    (op, body), = clause.items()  # fmt: skip
    if op == "term":
        (field, value), = body.items()  # fmt: skip
        return bool(doc[field] == value)
    if op == "terms":
        (field, values), = body.items()  # fmt: skip
        return doc[field] in values
    assert op == "bool", clause
    assert set(body) == {"should", "minimum_should_match"}, clause
    return sum(_matches(c, doc) for c in body["should"]) >= body["minimum_should_match"]


def _es_filter(v: Viewer) -> set[str]:
    names = set()
    for kind in (RepoKind.MODEL, RepoKind.DATASET):
        dsl = build_search(v.user, SearchQuery(kind=kind), size=50).to_dict()
        filters = dsl["query"]["bool"]["filter"]
        assert filters[0] == {"term": {"kind": kind}}
        assert len(filters) == 2  # kind, then visibility (nobody here is a site admin)
        for repo in Repo.objects.filter(kind=kind).select_related("owner"):
            doc = {"private": repo.private, "owner_id": repo.owner_id, "repo_id": repo.pk}
            if _matches(filters[1], doc):
                names.add(repo.full_name)
    return names


DOORS: dict[str, Callable[[Viewer], set[str]]] = {
    "api list": _api_list,
    "facet counts": _facet_counts,
    "suggestions": _suggestions,
    "likes": _likes,
    "visible_to": _visible_to,
    "es filter": _es_filter,
}


@pytest.mark.parametrize("door", list(DOORS))
@pytest.mark.parametrize("credential", list(CREDENTIALS))
def test_listing_shows_public_repos_and_the_private_ones_the_credential_reads(
    alice: User, credential: str, door: str
) -> None:
    how, private = CREDENTIALS[credential]
    viewer = _viewer(alice, how)
    assert DOORS[door](viewer) == PUBLIC | private


@pytest.mark.parametrize("credential", list(CREDENTIALS))
def test_listings_agree_with_can_read(alice: User, credential: str) -> None:
    """The table above is what the per-repo doors decide: the one rule, two shapes."""
    how, private = CREDENTIALS[credential]
    viewer = _viewer(alice, how)
    readable = {
        r.full_name
        for r in Repo.objects.select_related("owner")
        if can(viewer.user, Action.READ, r)
    }
    assert readable == PUBLIC | private


def test_a_site_admins_fine_grained_token_lists_only_its_scopes(alice: User) -> None:
    root = make_user("root")
    root.is_superuser = True
    root.save()
    session = Viewer(User.objects.get(pk=root.pk), Client())
    assert _visible_to(session) == set(REPOS)  # a session reads every repo
    token, _ = token_create(
        user=root,
        name="t",
        role="fineGrained",
        scopes=[
            parse_scope("org:acme:repo.content.read"),
            parse_scope("model:labs/kite-u:repo.content.read"),
        ],
    )
    user = User.objects.get(pk=root.pk)
    user.access_token = token
    viewer = Viewer(user, Client())
    expected = PUBLIC | {"acme/kite-x", "acme/kite-y", "acme/kite-dx", "labs/kite-u"}
    assert _visible_to(viewer) == expected
    assert _es_filter(viewer) == expected
