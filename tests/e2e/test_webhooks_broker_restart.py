"""A broker restart does not lose queued webhook deliveries (issue 6, SECURITY.md 35).

A live hub on its own redis-server, started without any persistence (no RDB, no AOF), so a
restart empties every queue: the worst case a deployment can have. Deliveries are rows
before they are tasks, and the worker's periodic sweep queues again whatever is due and was
queued longer than a lease ago, so after the restart every delivery still arrives.

1. A real worker fans 10 repo creations out to 100 webhooks (1,000 deliveries); the receiver
   answers 503 with Retry-After, so each one waits for a retry (a countdown task).
2. The worker is killed, and 100 test events are queued with no worker running (drain tasks
   waiting in the queue). Redis now holds tasks for all 1,100 deliveries.
3. Redis is restarted: every queued task is gone. The receiver starts answering 200.
4. A new worker starts. Every one of the 1,100 deliveries reaches the receiver and succeeds.

Runs in both profiles (the database is the profile's; the broker is always this private
Redis, which `redis-server` from Debian's package provides).
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import require_tool
from tests.e2e.conftest import ROOT, HubServer, free_port, start_server, stop_server
from tests.e2e.helpers import poll
from tests.webhooks.receiver import Answer, Receiver, running

pytestmark = pytest.mark.e2e

WEBHOOKS = 100  # the most one user may have
REPOS = 10  # events, each fanned out to every webhook
TESTS = 100  # test events queued while no worker runs


class PrivateRedis:
    """A redis-server on a free loopback port, without persistence, that can be restarted."""

    def __init__(self, directory: Path) -> None:
        self.binary = require_tool("redis-server")
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):  # type: ignore[no-untyped-def]
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=10)

    def start(self) -> None:
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        poll(lambda: self._answers() or None, timeout=30, what="redis-server answering")

    def _answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except Exception:  # not up yet
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def restart(self) -> None:
        """SHUTDOWN NOSAVE, as a crash or a restart without persistence: queues are lost."""
        import redis

        # The server closes the connection as it goes.
        with contextlib.suppress(redis.exceptions.ConnectionError):
            self.client().shutdown(nosave=True)
        assert self.process is not None
        self.process.wait(timeout=30)
        self.start()

    def queued(self) -> int:
        """Messages Celery's Redis transport holds: waiting, and delivered but unacked."""
        client = self.client()
        return int(client.llen("celery")) + int(client.hlen("unacked"))


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hub(redis_server: PrivateRedis) -> Iterator[HubServer]:
    server, db_name = start_server(
        extra_env={
            "HUB_REDIS_URL": redis_server.url,
            "HUB_WEBHOOK_RETRY_BASE_SECONDS": "1",
            "HUB_WEBHOOK_MAX_ATTEMPTS": "50",
            "HUB_WEBHOOK_DISABLE_AFTER_FAILED_EVENTS": "0",
            "HUB_WEBHOOK_SWEEP_SECONDS": "1",
            "HUB_WEBHOOK_LEASE_SECONDS": "5",
        },
        worker=False,
    )
    try:
        yield server
    finally:
        stop_server(server, db_name)


class Worker:
    """`hubforge worker --beat` against the hub's database and broker, killable."""

    def __init__(self, hub: HubServer, name: str) -> None:
        self.log = hub.data_dir / f"{name}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "worker", "--beat", "--concurrency", "2"],
            env=hub.env,
            cwd=ROOT,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def _ids(requests_: list) -> set[str]:  # type: ignore[type-arg]
    return {r.headers["webhook-id"] for r in requests_}


def _seen(receiver: Receiver, since: int = 0) -> set[str]:
    with receiver._lock:
        return _ids(receiver.requests[since:])


def test_queued_deliveries_survive_a_broker_restart(
    hub: HubServer, redis_server: PrivateRedis
) -> None:
    user, token = hub.create_user()
    auth = {"Authorization": f"Bearer {token}"}
    # Retry-After keeps every retry about 30 s out (one or two attempts each before the
    # restart, so later backoffs stay short), and inside the countdown limit: queued tasks.
    unavailable = Answer(503, headers={"Retry-After": "30"}, body=b"maintenance")
    workers: list[Worker] = []
    with running() as receiver:
        receiver.default = unavailable
        webhook_ids = []
        for n in range(WEBHOOKS):
            created = hub.api(token).create_webhook(
                url=f"{receiver.url}/{n}", watched=[{"type": "user", "name": user}]
            )
            webhook_ids.append(created.id)
        try:
            # 1. Fan-out and first attempts by a real worker; every answer is "try later".
            workers.append(Worker(hub, "worker-1"))
            for _ in range(REPOS):
                hub.create_repo(token)
            expected = WEBHOOKS * REPOS
            poll(
                lambda: len(_seen(receiver)) >= expected or None,
                timeout=180,
                what=f"{expected} first attempts",
            )
            event_ids = _seen(receiver)
            assert len(event_ids) == expected

            # 2. No worker: retries wait in the broker, test events are queued behind them.
            workers[0].kill()
            test_ids = set()
            for webhook_id in webhook_ids[:TESTS]:
                r = requests.post(
                    f"{hub.url}/api/settings/webhooks/{webhook_id}/test", headers=auth, timeout=30
                )
                assert r.status_code == 200, r.text
                test_ids.add(r.json()["id"])
            assert redis_server.queued() >= TESTS

            # 3. The broker restarts empty; the receiver is back.
            redis_server.restart()
            assert redis_server.client().dbsize() == 0
            with receiver._lock:
                receiver.default = Answer(200)
                back_from = len(receiver.requests)

            # 4. A new worker: the sweep finds every due delivery in the database.
            workers.append(Worker(hub, "worker-2"))
            everything = event_ids | test_ids
            assert len(everything) == expected + TESTS
            try:
                poll(
                    lambda: everything <= _seen(receiver, back_from) or None,
                    timeout=240,
                    what="every delivery after the restart",
                )
            except AssertionError:
                missing = len(everything - _seen(receiver, back_from))
                raise AssertionError(
                    f"{missing} deliveries never arrived after the restart\n{workers[-1].tail()}"
                ) from None

            # The log agrees: each delivery ended in success (a sample of webhooks, all their
            # rows), read while the worker runs: the receiver may see a request a moment
            # before its worker records the answer.
            def settled_log(webhook_id: str) -> list | None:  # type: ignore[type-arg]
                log = requests.get(
                    f"{hub.url}/api/settings/webhooks/{webhook_id}/deliveries",
                    headers=auth,
                    timeout=30,
                ).json()
                settled = all(d["state"] not in ("pending", "sending") for d in log)
                return log if settled else None

            for webhook_id in webhook_ids[:: WEBHOOKS // 10]:
                log = poll(
                    functools.partial(settled_log, webhook_id), timeout=60, what="the delivery log"
                )
                assert len(log) == REPOS + 1
                assert {d["state"] for d in log} == {"succeeded"}
                assert all(d["attemptLog"][0]["responseStatus"] == 200 for d in log)
        finally:
            for worker in workers:
                worker.kill()
