"""The webhook API as huggingface_hub calls it (contract 1.10), and who may do what."""

from __future__ import annotations

import pytest
from django.test import Client

from orgs.models import User
from orgs.services import token_create
from webhooks.models import Delivery, Webhook

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]


def _client(user: User, role: str = "write") -> Client:
    _, secret = token_create(user=user, name="t", role=role)
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _create(client: Client, url: str, **extra) -> dict:  # type: ignore[no-untyped-def,type-arg]
    body = {"watched": [{"type": "user", "name": "alice"}], "url": url, **extra}
    return client.post("/api/settings/webhooks", body, content_type="application/json")  # type: ignore[return-value]


def test_create_get_list_update_enable_disable_delete(alice, repo, local_targets) -> None:  # type: ignore[no-untyped-def]
    client = _client(alice)
    r = _create(
        client,
        "http://127.0.0.1:9/hook",
        secret="s3cret",
        watched=[{"type": "user", "name": "ALICE"}, {"type": "model", "name": "alice/bert"}],
    )
    assert r.status_code == 200, r.content
    w = r.json()["webhook"]
    assert len(w["id"]) == 24
    assert w["watched"] == [
        {"type": "user", "name": "alice"},
        {"type": "model", "name": "alice/bert"},
    ]
    assert w["domains"] == ["repo", "discussion"]  # both, when none are given
    assert (w["secret"], w["disabled"], w["url"]) == ("s3cret", False, "http://127.0.0.1:9/hook")
    listed = client.get("/api/settings/webhooks").json()
    assert [x["id"] for x in listed] == [w["id"]]  # a bare array
    assert client.get(f"/api/settings/webhooks/{w['id']}").json()["webhook"] == w
    # update_webhook sends watched=[] when not given: the watched items are kept.
    r = client.post(
        f"/api/settings/webhooks/{w['id']}",
        {"watched": [], "url": "http://127.0.0.1:10/x", "domains": ["repo"]},
        content_type="application/json",
    )
    updated = r.json()["webhook"]
    assert (updated["url"], updated["domains"]) == ("http://127.0.0.1:10/x", ["repo"])
    assert updated["watched"] == w["watched"]
    assert client.post(f"/api/settings/webhooks/{w['id']}/disable").json()["webhook"]["disabled"]
    assert not client.post(f"/api/settings/webhooks/{w['id']}/enable").json()["webhook"]["disabled"]
    assert client.delete(f"/api/settings/webhooks/{w['id']}").status_code == 204
    assert client.get(f"/api/settings/webhooks/{w['id']}").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379",
        "http://localhost",
        "http://[::1]",
        "http://[::ffff:127.0.0.1]",
        "http://169.254.169.254/latest/meta-data/",
        "http://[64:ff9b::a9fe:a9fe]",
        "http://100.64.0.1",
        "http://0.0.0.0",
        "http://2130706433",
        "http://0x7f.1",
        "http://168.63.129.16",
        "http://[fc00::1]",
        "file:///etc/passwd",
        "gopher://x:70/",
        "ftp://example.com/",
    ],
)
def test_unsafe_targets_are_refused_at_creation_with_422(alice, url: str) -> None:  # type: ignore[no-untyped-def]
    r = _create(_client(alice), url)
    assert r.status_code == 422
    assert r.headers["X-Error-Message"]
    assert not Webhook.objects.exists()


def test_an_update_to_an_unsafe_target_is_refused(alice, local_targets) -> None:  # type: ignore[no-untyped-def]
    client = _client(alice)
    w = _create(client, "http://127.0.0.1:9/").json()["webhook"]
    r = client.post(
        f"/api/settings/webhooks/{w['id']}",
        {"url": "http://169.254.169.254/"},
        content_type="application/json",
    )
    assert r.status_code == 422
    assert Webhook.objects.get().url == "http://127.0.0.1:9/"


@pytest.mark.parametrize(
    ("watched", "status"),
    [
        ([{"type": "user", "name": "nobody"}], 404),
        ([{"type": "model", "name": "bob/none"}], 404),
        ([{"type": "space", "name": "alice/x"}], 400),
        ([{"type": "nope", "name": "x"}], 400),
        ([], 400),
    ],
)
def test_bad_watched_items(alice, local_targets, watched, status: int) -> None:  # type: ignore[no-untyped-def]
    assert _create(_client(alice), "http://127.0.0.1:9/", watched=watched).status_code == status


def test_jobs_and_bad_secrets_are_refused(alice, local_targets) -> None:  # type: ignore[no-untyped-def]
    client = _client(alice)
    assert _create(client, "http://127.0.0.1:9/", jobSourceId="abc").status_code == 400
    assert _create(client, "http://127.0.0.1:9/", secret="whsec_%%%").status_code == 422


def test_a_private_repo_of_someone_else_cannot_be_watched(alice, bob, repo, local_targets) -> None:  # type: ignore[no-untyped-def]
    from repos.services import repo_update_settings

    repo_update_settings(actor=alice, repo=repo, private=True)
    r = _create(
        _client(bob), "http://127.0.0.1:9/", watched=[{"type": "model", "name": "alice/bert"}]
    )
    assert r.status_code == 404


def test_anonymous_read_token_and_other_users(alice, bob, local_targets) -> None:  # type: ignore[no-untyped-def]
    w = _create(_client(alice), "http://127.0.0.1:9/").json()["webhook"]
    assert Client().get("/api/settings/webhooks").status_code == 401
    reader = _client(alice, role="read")
    assert reader.get("/api/settings/webhooks").status_code == 200
    assert _create(reader, "http://127.0.0.1:9/").status_code == 403
    assert reader.delete(f"/api/settings/webhooks/{w['id']}").status_code == 403
    other = _client(bob)
    assert other.get("/api/settings/webhooks").json() == []
    for method, path in [
        ("get", ""),
        ("post", "/disable"),
        ("delete", ""),
        ("get", "/deliveries"),
        ("post", "/test"),
    ]:
        r = getattr(other, method)(f"/api/settings/webhooks/{w['id']}{path}")
        assert r.status_code == 404, (method, path)
    assert Webhook.objects.get().disabled is False


def test_delivery_log_test_event_and_redeliver(
    alice,
    receiver,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    client = _client(alice)
    w = _create(client, receiver.url, secret="whsec_c2VjcmV0").json()["webhook"]
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"/api/settings/webhooks/{w['id']}/test").json()
    assert sent["test"] is True
    receiver.wait_for(1)
    log = client.get(f"/api/settings/webhooks/{w['id']}/deliveries").json()
    [entry] = log
    assert entry["state"] == "succeeded"
    assert entry["requestBody"]
    [attempt] = entry["attemptLog"]
    assert attempt["number"] == 1
    assert attempt["responseStatus"] == 200
    assert attempt["responseBody"] == "ok"
    assert attempt["requestHeaders"]["webhook-id"] == entry["id"]
    assert attempt["durationMs"] >= 0
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/api/settings/webhooks/{w['id']}/deliveries/{entry['id']}/redeliver")
    assert r.status_code == 200
    second = receiver.wait_for(2)[1]
    assert second.headers["webhook-id"] == entry["id"]
    assert Delivery.objects.get().attempts == 2


def test_an_event_published_by_a_repo_service_reaches_the_receiver(
    alice,
    receiver,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    """The whole in-process chain: repo_create -> outbox -> handler -> fan-out -> delivery."""
    from repos.services import repo_create

    _create(_client(alice), receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        repo_create(actor=alice, namespace="alice", name="fresh", kind="dataset")
    import json

    payload = json.loads(receiver.wait_for(1)[0].body)
    assert payload["event"] == {"action": "create", "scope": "repo"}
    assert payload["repo"]["type"] == "dataset"
    assert payload["repo"]["url"]["web"].endswith("/datasets/alice/fresh")
    assert Delivery.objects.get().event_key.startswith("evt:")


def test_the_secret_header_is_an_opt_in_of_the_api(
    alice,
    receiver,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    """sendSecretHeader (this hub's field; huggingface_hub never sends it, so it stays off)."""
    client = _client(alice)
    w = _create(client, receiver.url, secret="hub-secret-1234").json()["webhook"]
    assert w["sendSecretHeader"] is False
    r = client.post(
        f"/api/settings/webhooks/{w['id']}",
        {"sendSecretHeader": True},
        content_type="application/json",
    )
    assert r.json()["webhook"]["sendSecretHeader"] is True
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/settings/webhooks/{w['id']}/test")
    assert receiver.wait_for(1)[0].headers["x-webhook-secret"] == "hub-secret-1234"
    [entry] = client.get(f"/api/settings/webhooks/{w['id']}/deliveries").json()
    assert entry["attemptLog"][0]["requestHeaders"]["X-Webhook-Secret"] == "…1234"
    client.post(
        f"/api/settings/webhooks/{w['id']}",
        {"sendSecretHeader": False},
        content_type="application/json",
    )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/api/settings/webhooks/{w['id']}/test")
    assert "x-webhook-secret" not in receiver.wait_for(2)[1].headers
