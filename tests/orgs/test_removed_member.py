"""A former member loses the side channels too, at once: the browser session it is signed in
with, search pages and suggestions, its likes, the webhooks it made while a member, its
tokens scoped to the org. The doors themselves are rows of tests/orgs/test_access_matrix.py.

Webhooks a member made are its own (as on the public hub), so removal keeps them; fan-out
checks at every event that the owner may still read the repo, so they stop hearing about
the org's private repos at once and keep hearing about public ones, which anyone may watch.
"""

from __future__ import annotations

import pytest

from orgs.models import Organization, User
from orgs.org_services import member_add, member_leave, member_remove
from orgs.services import token_create
from orgs.tokens import ScopeSpec
from repos import events
from repos.models import Repo
from repos.services import like_add, repo_create
from search.indexer import repo_index
from tests.orgs.helpers import browser, fresh, make_user
from webhooks.dispatch import deliveries_create_for_event
from webhooks.models import Delivery
from webhooks.services import webhook_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]


@pytest.fixture
def repos(boss: User, org: Organization) -> dict[str, Repo]:
    made = {
        name: repo_create(actor=boss, namespace="acme", name=name, private=name == "secret")
        for name in ("secret", "open")
    }
    for repo in made.values():
        repo_index(repo_id=repo.pk)
    return made


def _push(repo: Repo) -> events.RepoUpdated:
    return events.RepoUpdated(
        repo_id=repo.pk,
        full_name=repo.full_name,
        repo_kind=repo.kind,
        updates=[{"ref": "refs/heads/main", "old": "a" * 40, "new": "b" * 40}],
    )


@pytest.mark.parametrize("how", ["removed", "left"])
def test_a_signed_in_session_loses_the_org_at_once(
    boss: User, org: Organization, repos: dict[str, Repo], how: str
) -> None:
    member = make_user("member")
    member_add(actor=boss, org=org, user=member, role="admin")
    session = browser(member)  # signed in before the removal, and stays signed in
    for path in ("/acme/secret", "/organizations/acme/settings", "/acme/secret/settings"):
        assert session.get(path).status_code == 200, path
    assert "acme/secret" in session.get("/acme").content.decode()
    if how == "removed":
        member_remove(actor=boss, org=org, username="member")
    else:
        member_leave(actor=fresh(member), org=org)
    for path in (
        "/acme/secret",
        "/organizations/acme/settings",
        "/organizations/acme/settings/audit",
        "/acme/secret/settings",
        "/acme/secret/resolve/main/.gitattributes",
    ):
        assert session.get(path).status_code == 404, path
    assert "acme/secret" not in session.get("/acme").content.decode()
    assert session.get("/acme/open").status_code == 200  # public stays public


def test_search_pages_suggestions_and_likes_forget_private_repos(
    boss: User, org: Organization, repos: dict[str, Repo]
) -> None:
    member = make_user("member")
    member_add(actor=boss, org=org, user=member, role="read")
    like_add(actor=fresh(member), repo=repos["secret"])
    like_add(actor=fresh(member), repo=repos["open"])
    session = browser(member)

    def seen() -> dict[str, bool]:
        likes = session.get("/api/users/member/likes").json()
        suggest = session.get("/api/quicksearch", {"q": "secret"}).json()
        return {
            "page": "acme/secret" in session.get("/models", {"search": "secret"}).content.decode(),
            "api": any(m["id"] == "acme/secret" for m in session.get("/api/models").json()),
            "suggest": any(m["id"] == "acme/secret" for m in suggest["models"]),
            "likes": any(like["repo"]["name"] == "acme/secret" for like in likes),
            "open-liked": any(like["repo"]["name"] == "acme/open" for like in likes),
        }

    assert seen() == dict.fromkeys(("page", "api", "suggest", "likes", "open-liked"), True)
    member_remove(actor=boss, org=org, username="member")
    assert seen() == {
        "page": False,
        "api": False,
        "suggest": False,
        "likes": False,
        "open-liked": True,
    }


def test_webhooks_made_while_a_member_stop_hearing_of_private_repos(
    boss: User, org: Organization, repos: dict[str, Repo], settings
) -> None:  # type: ignore[no-untyped-def]
    settings.WEBHOOK_ALLOW_LOCAL = True
    member = make_user("member")
    member_add(actor=boss, org=org, user=member, role="write")
    hook = webhook_create(
        actor=fresh(member),
        url="http://127.0.0.1:9/hook",
        watched=[{"type": "org", "name": "acme"}, {"type": "model", "name": "acme/secret"}],
    )
    assert len(deliveries_create_for_event(event=_push(repos["secret"]), key="before")) == 1
    member_remove(actor=boss, org=org, username="member")
    assert deliveries_create_for_event(event=_push(repos["secret"]), key="after") == []
    assert len(deliveries_create_for_event(event=_push(repos["open"]), key="open")) == 1
    assert set(Delivery.objects.values_list("event_key", flat=True)) == {"before", "open"}
    hook.refresh_from_db()
    assert not hook.disabled  # kept: it is the user's, and public events still reach it


def test_tokens_scoped_to_the_org_lose_what_the_member_lost(
    boss: User, org: Organization, repos: dict[str, Repo]
) -> None:
    member = make_user("member")
    member_add(actor=boss, org=org, user=member, role="write")
    secrets = {
        "write": token_create(user=member, name="w", role="write")[1],
        "org": token_create(
            user=member,
            name="org",
            role="fineGrained",
            scopes=[ScopeSpec(type="org", name="acme", permissions=("repo.write",))],
        )[1],
        "repo": token_create(
            user=member,
            name="repo",
            role="fineGrained",
            scopes=[ScopeSpec(type="model", name="acme/secret", permissions=("repo.write",))],
        )[1],
    }
    from django.test import Client

    def status(secret: str) -> tuple[int, int]:
        client = Client(headers={"Authorization": f"Bearer {secret}"})
        info = client.get("/api/models/acme/secret").status_code
        push = client.get("/acme/secret.git/info/refs", {"service": "git-receive-pack"}).status_code
        return info, push

    assert {name: status(s) for name, s in secrets.items()} == dict.fromkeys(secrets, (200, 200))
    member_remove(actor=boss, org=org, username="member")
    assert {name: status(s) for name, s in secrets.items()} == dict.fromkeys(secrets, (404, 404))
    # Back in the org, the same tokens work again: they were never changed, only the role.
    member_add(actor=boss, org=org, user=member, role="read")
    assert {name: status(s) for name, s in secrets.items()} == dict.fromkeys(secrets, (200, 403))
