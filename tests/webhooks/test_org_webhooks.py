"""Organization webhooks: owned by the org, managed by whoever is its admin, told only what
the org itself may read; the API under /api/organizations/{org}/settings/webhooks and the
settings pages under /organizations/{org}/settings/webhooks."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from orgs.models import AuditEvent, Organization, User
from orgs.org_services import member_add, member_remove, org_create
from orgs.services import token_create
from orgs.tokens import ScopeSpec
from repos import events
from repos.services import repo_create
from tests.orgs.helpers import api_client, browser, fresh, make_user
from tests.webhooks.helpers import push_event
from webhooks.dispatch import deliveries_create_for_event
from webhooks.models import Delivery, Webhook
from webhooks.services import webhook_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir", "local_targets")]

API = "/api/organizations/acme/settings/webhooks"
PAGES = "/organizations/acme/settings/webhooks"
URL = "http://127.0.0.1:9/hook"


@pytest.fixture
def boss() -> User:
    return make_user("boss")


@pytest.fixture
def org(boss: User) -> Organization:
    return org_create(actor=boss, name="acme")


@pytest.fixture
def second_admin(org: Organization, boss: User) -> User:
    user = make_user("deputy")
    member_add(actor=boss, org=org, user=user, role="admin")
    return user


@pytest.fixture
def writer(org: Organization, boss: User) -> User:
    user = make_user("wendy")
    member_add(actor=boss, org=org, user=user, role="write")
    return user


def _create(client: Client, **extra) -> dict:  # type: ignore[no-untyped-def,type-arg]
    body = {"url": URL, "watched": [{"type": "org", "name": "acme"}], **extra}
    r = client.post(API, body, content_type="application/json")
    assert r.status_code == 200, r.content
    return r.json()["webhook"]  # type: ignore[no-any-return]


def _org_webhook(boss: User, org: Organization, **kw) -> Webhook:  # type: ignore[no-untyped-def]
    return webhook_create(
        actor=boss,
        url=kw.pop("url", URL),
        watched=kw.pop("watched", [{"type": "org", "name": "acme"}]),
        org=org,
        **kw,
    )


# --- API --------------------------------------------------------------------------------------


def test_an_admin_manages_the_orgs_webhooks_through_the_api(boss, org) -> None:  # type: ignore[no-untyped-def]
    client = api_client(boss)
    w = _create(client, secret="s3cret", domains=["repo"])
    assert w["owner"] == {"type": "org", "name": "acme"}
    assert (w["url"], w["secret"], w["domains"]) == (URL, "s3cret", ["repo"])
    assert w["watched"] == [{"type": "org", "name": "acme"}]
    assert [x["id"] for x in client.get(API).json()] == [w["id"]]  # a bare array, as for users
    assert client.get(f"{API}/{w['id']}").json()["webhook"] == w
    r = client.post(
        f"{API}/{w['id']}", {"watched": [], "url": URL + "2"}, content_type="application/json"
    )
    assert r.json()["webhook"]["url"] == URL + "2"
    assert r.json()["webhook"]["watched"] == w["watched"]
    disabled = client.post(f"{API}/{w['id']}/disable").json()["webhook"]
    assert (disabled["disabled"], disabled["disabledReason"]) == (True, "Disabled by boss.")
    assert client.post(f"{API}/{w['id']}/enable").json()["webhook"]["disabled"] is False
    assert client.get(f"{API}/{w['id']}/deliveries").json() == []
    assert client.delete(f"{API}/{w['id']}").status_code == 204
    assert client.get(f"{API}/{w['id']}").status_code == 404
    verbs = set(
        AuditEvent.objects.filter(
            namespace_id=org.namespace_id, verb__startswith="webhook."
        ).values_list("verb", flat=True)
    )
    assert verbs == {
        "webhook.create",
        "webhook.update",
        "webhook.disable",
        "webhook.enable",
        "webhook.delete",
    }


def test_the_org_webhook_belongs_to_the_org_not_to_the_admin_who_made_it(
    boss, org, second_admin
) -> None:  # type: ignore[no-untyped-def]
    w = _create(api_client(boss))
    other = api_client(second_admin)
    assert [x["id"] for x in other.get(API).json()] == [w["id"]]
    assert other.post(f"{API}/{w['id']}/disable").status_code == 200
    # Never among the admins' own webhooks, nor reachable through the user-level paths.
    assert api_client(boss).get("/api/settings/webhooks").json() == []
    assert api_client(boss).get(f"/api/settings/webhooks/{w['id']}").status_code == 404
    assert api_client(boss).get(f"{API}/{w['id']}/deliveries").status_code == 200
    # The creator leaves the org: the webhook stays, and so does the other admin's access.
    member_remove(actor=second_admin, org=org, username="boss")
    webhook = Webhook.objects.get()
    assert (webhook.org_id, webhook.owner_id) == (org.pk, None)
    assert other.get(f"{API}/{w['id']}").status_code == 200


def test_a_removed_admin_loses_access(boss, org, second_admin) -> None:  # type: ignore[no-untyped-def]
    w = _create(api_client(boss))
    client = api_client(second_admin)
    assert client.get(API).status_code == 200
    member_remove(actor=boss, org=org, username="deputy")
    assert client.get(API).status_code == 403
    for method, path in [("get", ""), ("post", "/disable"), ("delete", ""), ("post", "/test")]:
        r = getattr(client, method)(f"{API}/{w['id']}{path}")
        assert r.status_code == 403, (method, path)
    assert browser(second_admin).get(PAGES).status_code == 404
    assert Webhook.objects.get().disabled is False


def test_who_may_not_manage_the_orgs_webhooks(boss, org, writer) -> None:  # type: ignore[no-untyped-def]
    w = _create(api_client(boss))
    assert Client().get(API).status_code == 401
    member = api_client(writer)
    outsider = api_client(make_user("olga"))
    for client in (member, outsider):
        assert client.get(API).status_code == 403
        assert client.get(f"{API}/{w['id']}").status_code == 403
        r = client.post(API, {"url": URL, "watched": []}, content_type="application/json")
        assert r.status_code == 403
    assert api_client(boss).get("/api/organizations/nope/settings/webhooks").status_code == 404
    reader_token = api_client(boss, role="read")
    assert reader_token.get(API).status_code == 200  # a read token lists
    r = reader_token.post(
        API,
        {"url": URL, "watched": [{"type": "org", "name": "acme"}]},
        content_type="application/json",
    )
    assert r.status_code == 403  # but does not change
    assert Webhook.objects.count() == 1


def test_fine_grained_tokens_need_webhooks_manage_on_the_org(boss, org) -> None:  # type: ignore[no-untyped-def]
    def client(*scopes: ScopeSpec) -> Client:
        _, secret = token_create(user=boss, name="fg", role="fineGrained", scopes=scopes)
        return Client(headers={"Authorization": f"Bearer {secret}"})

    on_org = client(ScopeSpec(type="org", name="acme", permissions=("webhooks.manage",)))
    on_user = client(ScopeSpec(type="user", name="boss", permissions=("webhooks.manage",)))
    assert on_org.get(API).status_code == 200
    _create(on_org)
    assert on_user.get(API).status_code == 403
    assert on_org.get("/api/settings/webhooks").status_code == 403  # and the reverse


def test_an_org_webhook_watches_public_repos_and_the_orgs_own(boss, org) -> None:  # type: ignore[no-untyped-def]
    repo_create(actor=boss, namespace="acme", name="secret-model", kind="model", private=True)
    repo_create(actor=boss, namespace="boss", name="mine", kind="model", private=True)
    repo_create(actor=boss, namespace="boss", name="open", kind="model")
    client = api_client(boss)
    _create(client, watched=[{"type": "model", "name": "acme/secret-model"}])
    _create(client, watched=[{"type": "model", "name": "boss/open"}])
    r = client.post(
        API,
        {"url": URL, "watched": [{"type": "model", "name": "boss/mine"}]},
        content_type="application/json",
    )
    # boss may read it, but the org may not: its webhook would never hear of it.
    assert r.status_code == 400
    assert "private to another owner" in r.json()["error"]


def test_fan_out_tells_an_org_webhook_what_the_org_may_read(boss, org, writer) -> None:  # type: ignore[no-untyped-def]
    own = repo_create(actor=boss, namespace="acme", name="in-house", kind="model", private=True)
    public = repo_create(actor=writer, namespace="wendy", name="public", kind="model")
    private = repo_create(
        actor=writer, namespace="wendy", name="hidden", kind="model", private=True
    )
    member_add(actor=boss, org=org, user=writer, role="admin")
    # Created by an admin who can read wendy's private repo; that right is wendy's, not acme's.
    webhook = _org_webhook(
        fresh(writer),
        org,
        watched=[{"type": "org", "name": "acme"}, {"type": "user", "name": "wendy"}],
    )
    assert deliveries_create_for_event(event=push_event(own), key="evt:1")
    assert deliveries_create_for_event(event=push_event(public), key="evt:2")
    assert deliveries_create_for_event(event=push_event(private), key="evt:3") == []
    deleted = events.RepoDeleted(
        repo_id=own.pk, full_name=own.full_name, repo_kind="model", private=True
    )
    assert deliveries_create_for_event(event=deleted, key="evt:4")
    gone_elsewhere = events.RepoDeleted(
        repo_id=private.pk, full_name=private.full_name, repo_kind="model", private=True
    )
    assert deliveries_create_for_event(event=gone_elsewhere, key="evt:5") == []
    names = sorted(Delivery.objects.filter(webhook=webhook).values_list("repo_name", flat=True))
    assert names == ["acme/in-house", "acme/in-house", "wendy/public"]


def test_an_org_webhook_outlives_its_creator_and_still_delivers(
    boss, org, second_admin, receiver
) -> None:  # type: ignore[no-untyped-def]
    webhook = _org_webhook(boss, org, url=receiver.url)
    repo = repo_create(actor=second_admin, namespace="acme", name="m", kind="model", private=True)
    boss.delete()
    webhook.refresh_from_db()
    [delivery_id] = deliveries_create_for_event(event=push_event(repo), key="evt:7")
    from webhooks.dispatch import delivery_attempt

    assert delivery_attempt(delivery_id=delivery_id) == "succeeded"
    payload = json.loads(receiver.wait_for(1)[0].body)
    assert payload["repo"]["name"] == "acme/m"
    assert payload["webhook"]["id"] == webhook.public_id


def test_test_event_and_redeliver_through_the_org_api(
    boss,
    org,
    receiver,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    client = api_client(boss)
    w = _create(client, url=receiver.url, secret="whsec_c2VjcmV0")
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"{API}/{w['id']}/test").json()
    first = receiver.wait_for(1)[0]
    assert json.loads(first.body)["repo"]["name"] == "acme/webhook-test"
    [entry] = client.get(f"{API}/{w['id']}/deliveries").json()
    assert entry["id"] == sent["id"] == first.headers["webhook-id"]
    assert client.get(f"{API}/{w['id']}/deliveries/{entry['id']}").json()["state"] == "succeeded"
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"{API}/{w['id']}/deliveries/{entry['id']}/redeliver")
    assert r.status_code == 200
    assert receiver.wait_for(2)[1].headers["webhook-id"] == entry["id"]


# --- pages ------------------------------------------------------------------------------------


def test_the_org_settings_show_a_webhooks_tab_to_admins(boss, org) -> None:  # type: ignore[no-untyped-def]
    page = browser(boss).get("/organizations/acme/settings").content.decode()
    assert 'data-tab="webhooks"' in page
    assert f'href="{PAGES}"' in page


def test_an_admin_creates_edits_disables_and_deletes_in_the_browser(
    boss, org, second_admin
) -> None:  # type: ignore[no-untyped-def]
    client = browser(boss)
    new = client.get(f"{PAGES}/new").content.decode()
    assert "org:acme" in new  # the org is watched unless the admin changes it
    r = client.post(
        f"{PAGES}/new",
        {"url": URL, "watched": "org:acme\n", "domains": ["repo"], "secret": "abc"},
    )
    webhook = Webhook.objects.get()
    assert r["Location"] == f"{PAGES}/{webhook.public_id}"
    assert (webhook.org_id, webhook.owner_id) == (org.pk, None)
    # The other admin sees it, edits and disables it.
    other = browser(second_admin)
    listing = other.get(PAGES).content.decode()
    assert URL in listing
    assert "org: acme" in listing
    assert 'data-tab="webhooks"' in listing
    r = other.post(
        f"{PAGES}/{webhook.public_id}",
        {"url": URL + "x", "watched": "org:acme", "domains": ["repo", "discussion"]},
    )
    assert r["Location"] == f"{PAGES}/{webhook.public_id}"
    other.post(f"{PAGES}/{webhook.public_id}/disable")
    page = client.get(f"{PAGES}/{webhook.public_id}").content.decode()
    assert "Disabled by deputy." in page
    client.post(f"{PAGES}/{webhook.public_id}/enable")
    webhook.refresh_from_db()
    assert (webhook.url, webhook.disabled) == (URL + "x", False)
    r = client.post(f"{PAGES}/{webhook.public_id}/delete")
    assert r["Location"] == PAGES
    assert not Webhook.objects.exists()


def test_test_event_log_and_redeliver_buttons_on_org_pages(
    boss,
    org,
    receiver,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    webhook = _org_webhook(boss, org, url=receiver.url, secret="s")
    client = browser(boss)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"{PAGES}/{webhook.public_id}/test")
    delivery = Delivery.objects.get()
    assert r["Location"] == f"{PAGES}/{webhook.public_id}/deliveries/{delivery.message_id}"
    receiver.wait_for(1)
    page = client.get(r["Location"]).content.decode()
    assert "HTTP 200" in page
    assert "webhook-signature" in page
    assert (
        f'action="{PAGES}/{webhook.public_id}/deliveries/{delivery.message_id}/redeliver"' in page
    )
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"{PAGES}/{webhook.public_id}/deliveries/{delivery.message_id}/redeliver")
    assert r["Location"].endswith(f"/deliveries/{delivery.message_id}")
    assert receiver.wait_for(2)[1].headers["webhook-id"] == delivery.message_id


def test_org_webhook_pages_are_404_to_everyone_but_admins(boss, org, writer) -> None:  # type: ignore[no-untyped-def]
    webhook = _org_webhook(boss, org)
    for user in (writer, make_user("olga")):
        client = browser(user)
        assert client.get(PAGES).status_code == 404
        assert client.get(f"{PAGES}/{webhook.public_id}").status_code == 404
        assert client.post(f"{PAGES}/{webhook.public_id}/delete").status_code == 404
    assert browser(boss).get("/organizations/nope/settings/webhooks").status_code == 404
    # An org's webhook is not among the user pages either.
    assert browser(boss).get(f"/settings/webhooks/{webhook.public_id}").status_code == 404
    assert Webhook.objects.exists()


def test_the_org_list_page_query_count_does_not_grow_with_webhooks(
    boss,
    org,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    for n in range(5):
        _org_webhook(boss, org, url=f"{URL}/{n}")
    client = browser(boss)
    with django_assert_max_num_queries(10):
        assert client.get(PAGES).status_code == 200
