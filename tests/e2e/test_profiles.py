"""Both profiles are the ones asked for, and background work really runs on a worker.

Embedded (no HUB_TEST_* variables): SQLite and the persisted local broker. Production
(HUB_TEST_DATABASE_URL, HUB_TEST_REDIS_URL, as CI sets them): PostgreSQL and Redis with a
separate Celery worker. In CI a missing service is a failure, not a skip.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.db import connection

from tests.conftest import require_service
from tests.e2e.conftest import ROOT, HubServer
from tests.e2e.helpers import poll, query_events

TEST_DATABASE_URL = os.environ.get("HUB_TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("HUB_TEST_REDIS_URL", "")
PRODUCTION = bool(TEST_DATABASE_URL)


def _answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or default_port)
    try:
        with socket.create_connection(address, timeout=3):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module", autouse=True)
def _services() -> None:
    if TEST_DATABASE_URL:
        require_service("PostgreSQL at HUB_TEST_DATABASE_URL", _answers(TEST_DATABASE_URL, 5432))
    if TEST_REDIS_URL:
        require_service("Redis at HUB_TEST_REDIS_URL", _answers(TEST_REDIS_URL, 6379))


@pytest.mark.django_db
def test_in_process_tests_use_the_profile_database() -> None:
    with connection.cursor() as cursor:
        if PRODUCTION:
            cursor.execute("SELECT version()")
            assert cursor.fetchone()[0].startswith("PostgreSQL")
        else:
            cursor.execute("SELECT sqlite_version()")
            assert cursor.fetchone()[0]
    assert connection.vendor == ("postgresql" if PRODUCTION else "sqlite")


@pytest.mark.e2e
def test_live_server_health_names_the_profile_backends(hub_server: HubServer) -> None:
    body = requests.get(f"{hub_server.url}/api/health", timeout=30).json()

    assert body["status"] == "ok", body
    assert body["database"]["backend"] == ("postgresql" if PRODUCTION else "sqlite")
    if TEST_REDIS_URL:
        assert "redis" in body["broker"]["transport"].lower(), body["broker"]
    else:
        assert body["broker"]["transport"] == "hubsqla", body["broker"]  # hub/broker.py
    if PRODUCTION:
        assert hub_server.env["HUB_DATABASE_URL"].startswith("postgres")


@pytest.mark.e2e
def test_a_repo_created_through_the_api_is_dispatched_by_the_worker(
    hub_server: HubServer,
) -> None:
    _user, token = hub_server.create_user()
    full_name = hub_server.create_repo(token)

    def dispatched() -> bool:
        events = [
            e
            for e in query_events(hub_server, "repo.created")
            if e["payload"].get("full_name") == full_name
        ]
        assert len(events) <= 1, events
        return bool(events) and events[0]["dispatched"]

    # The web process only enqueues; the outbox row is marked by the worker's task.
    poll(dispatched, timeout=60, what=f"the worker to dispatch repo.created of {full_name}")


def test_check_deploy_passes_with_production_settings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "DJANGO_"))}
    env.update(
        HUB_DATA_DIR=str(tmp_path),
        HUB_SECRET_KEY=secrets.token_urlsafe(64),
        HUB_PUBLIC_URL="https://hub.example.com",
        HUB_ALLOWED_HOSTS="hub.example.com",
    )
    if TEST_DATABASE_URL:
        env["HUB_DATABASE_URL"] = TEST_DATABASE_URL
    if TEST_REDIS_URL:
        env["HUB_REDIS_URL"] = TEST_REDIS_URL

    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    report = out.stdout + out.stderr
    assert out.returncode == 0, report
    security = [line for line in report.splitlines() if "(security." in line]
    assert security == [], "\n".join(security)
