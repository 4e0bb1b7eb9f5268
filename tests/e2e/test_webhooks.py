"""Webhooks against a live hub: huggingface_hub manages them, a real worker delivers them to
receivers on 127.0.0.1, signed; retries, a killed worker and the delivery log.

The e2e server env sets HUB_WEBHOOK_ALLOW_LOCAL=true, so loopback receivers are allowed.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import requests
from huggingface_hub.utils import HfHubHTTPError
from standardwebhooks.webhooks import Webhook as StandardWebhook

from tests.e2e.conftest import HubServer, private_redis_env, start_server, stop_server
from tests.e2e.helpers import clone, commit_file, git, poll
from tests.webhooks.receiver import HANG, Answer, Receiver, running
from tests.webhooks.verify import verify

pytestmark = pytest.mark.e2e

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running() as r:
        yield r


@pytest.fixture(scope="module")
def fast_retry_server() -> Iterator[HubServer]:
    """A hub whose retries and sweeps run in well under a second, with a short lease."""
    server, db_name = start_server(
        extra_env={
            # Its own Redis database: the session's shared server must not take its tasks.
            **private_redis_env(9),
            "HUB_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
            "HUB_WEBHOOK_SWEEP_SECONDS": "1",
            "HUB_WEBHOOK_LEASE_SECONDS": "5",
        }
    )
    try:
        yield server
    finally:
        stop_server(server, db_name)


def _deliveries(server: HubServer, token: str, webhook_id: str) -> list[dict]:  # type: ignore[type-arg]
    r = requests.get(
        f"{server.url}/api/settings/webhooks/{webhook_id}/deliveries",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]


def _verified(request_body: bytes, headers: dict[str, str]) -> dict:  # type: ignore[type-arg]
    assert verify(secret=SECRET, headers=headers, body=request_body)
    return StandardWebhook(SECRET).verify(request_body, headers)  # type: ignore[no-any-return]


def test_huggingface_hub_manages_webhooks(hub_server: HubServer, receiver: Receiver) -> None:
    user, token = hub_server.create_user()
    api = hub_server.api(token)
    created = api.create_webhook(
        url=receiver.url,
        watched=[{"type": "user", "name": user}],
        domains=["repo"],
        secret="my-secret",
    )
    assert (created.url, created.secret, created.disabled) == (receiver.url, "my-secret", False)
    assert [(w.type, w.name) for w in created.watched] == [("user", user)]
    assert [w.id for w in api.list_webhooks()] == [created.id]
    assert api.get_webhook(created.id) == created
    updated = api.update_webhook(created.id, url=receiver.url + "2", domains=["repo", "discussion"])
    assert updated.url == receiver.url + "2"
    assert [(w.type, w.name) for w in updated.watched] == [("user", user)]
    assert api.disable_webhook(created.id).disabled is True
    assert api.enable_webhook(created.id).disabled is False
    api.delete_webhook(created.id)
    assert api.list_webhooks() == []
    with pytest.raises(HfHubHTTPError) as refused:
        api.create_webhook(
            url="http://169.254.169.254/latest/meta-data/", watched=[{"type": "user", "name": user}]
        )
    assert refused.value.response.status_code == 422
    _, other_token = hub_server.create_user()
    with pytest.raises(HfHubHTTPError):
        hub_server.api(other_token).get_webhook(created.id)


def test_repo_creation_and_git_push_are_delivered_signed(
    hub_server: HubServer, receiver: Receiver, git_env: dict[str, str], tmp_path: Path
) -> None:
    user, token = hub_server.create_user()
    webhook = hub_server.api(token).create_webhook(
        url=receiver.url, watched=[{"type": "user", "name": user}], secret=SECRET
    )
    repo = hub_server.create_repo(token)
    [created] = receiver.wait_for(1)
    payload = _verified(created.body, created.headers)
    assert payload["event"] == {"action": "create", "scope": "repo"}
    assert payload["repo"]["name"] == repo
    assert payload["webhook"] == {"id": webhook.id, "version": 3}

    work = tmp_path / "work"
    clone(hub_server, repo, work, git_env, token)
    sha = commit_file(work, git_env, "README.md", "# hello\n")
    git("push", "origin", "main", cwd=work, env=git_env)
    pushed = receiver.wait_for(2)[1]
    payload = _verified(pushed.body, pushed.headers)
    assert payload["event"] == {"action": "update", "scope": "repo.content"}
    assert payload["repo"]["headSha"] == sha
    [ref] = payload["updatedRefs"]
    assert (ref["ref"], ref["newSha"]) == ("refs/heads/main", sha)
    assert pushed.headers["webhook-id"] != created.headers["webhook-id"]

    log = poll(
        lambda: (
            [d for d in _deliveries(hub_server, token, webhook.id) if d["state"] == "succeeded"]
            or None
        ),
        what="delivery log",
    )
    assert {d["id"] for d in log} >= {pushed.headers["webhook-id"]}


def test_500_then_200_is_retried_with_the_same_id_and_a_fresh_signature(
    fast_retry_server: HubServer,
) -> None:
    server = fast_retry_server
    user, token = server.create_user()
    with running([Answer(500, body=b"try later")]) as receiver:
        webhook = server.api(token).create_webhook(
            url=receiver.url, watched=[{"type": "user", "name": user}], secret=SECRET
        )
        server.create_repo(token)
        first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    for request in (first, second):
        _verified(request.body, request.headers)

    def settled() -> dict | None:  # type: ignore[type-arg]
        [delivery] = _deliveries(server, token, webhook.id)
        return delivery if delivery["state"] == "succeeded" else None

    delivery = poll(settled, what="delivery marked succeeded")
    attempts = sorted((a["number"], a["responseStatus"]) for a in delivery["attemptLog"])
    assert attempts == [(1, 500), (2, 200)]
    first_attempt = min(delivery["attemptLog"], key=lambda a: a["number"])
    assert first_attempt["responseBody"] == "try later"


def _process_talking_to(server: HubServer, port: int) -> psutil.Process:
    """The worker process with an open connection to `port` (a Celery pool child)."""
    assert server.process is not None
    for proc in psutil.Process(server.process.pid).children(recursive=True):
        try:
            if any(c.raddr and c.raddr.port == port for c in proc.net_connections(kind="tcp")):
                return proc
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    raise AssertionError("no worker process is connected to the receiver")


def test_a_worker_killed_mid_delivery_does_not_lose_it(fast_retry_server: HubServer) -> None:
    server = fast_retry_server
    user, token = server.create_user()
    with running([HANG]) as receiver:
        webhook = server.api(token).create_webhook(
            url=receiver.url, watched=[{"type": "user", "name": user}], secret=SECRET
        )
        server.create_repo(token)
        [first] = receiver.wait_for(1)
        victim = poll(lambda: _process_talking_to(server, receiver.port), what="sender process")
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(timeout=30)
        # The pool replaces its child; the lease runs out and the sweep sends the same message.
        second = receiver.wait_for(2, timeout=90)[1]
        receiver.release()
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    _verified(second.body, second.headers)

    def settled() -> dict | None:  # type: ignore[type-arg]
        [delivery] = _deliveries(server, token, webhook.id)
        return delivery if delivery["state"] == "succeeded" else None

    delivery = poll(settled, timeout=60, what="redelivery recorded")
    outcomes = sorted((a["number"], a["outcome"]) for a in delivery["attemptLog"])
    assert outcomes[0] == (1, "lost")
    assert outcomes[-1] == (2, "succeeded")


def test_a_test_event_from_the_api_is_delivered(hub_server: HubServer, receiver: Receiver) -> None:
    user, token = hub_server.create_user()
    webhook = hub_server.api(token).create_webhook(
        url=receiver.url, watched=[{"type": "user", "name": user}], secret=SECRET
    )
    r = requests.post(
        f"{hub_server.url}/api/settings/webhooks/{webhook.id}/test",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert r.status_code == 200
    [request] = receiver.wait_for(1)
    payload = json.loads(request.body)
    assert payload["repo"]["name"] == f"{user}/webhook-test"
    assert request.headers["webhook-id"] == r.json()["id"]
