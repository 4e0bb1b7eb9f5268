"""GET /api/health names the state of the database, the broker, search and storage."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

BACKENDS = ("database", "broker", "search", "storage")


def test_health_reports_every_backend_ok(client, data_dir) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/health")

    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok", body
    for name in BACKENDS:
        assert body[name]["status"] == "ok", (name, body[name])
        assert isinstance(body[name]["ms"], float)
    assert body["database"]["backend"] == connection.vendor
    assert body["search"]["backend"] == "database"
    assert body["storage"]["lfs"] == str(data_dir / "lfs")


def test_health_names_the_failing_backend_and_still_answers(  # type: ignore[no-untyped-def]
    client, settings, tmp_path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the git root should be")
    settings.GIT_ROOT = blocker / "git"

    r = client.get("/api/health")

    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "degraded"
    assert body["storage"]["status"] == "error"
    assert "error" in body["storage"]
    assert body["database"]["status"] == "ok"


def test_health_reports_an_unreachable_search_backend(  # type: ignore[no-untyped-def]
    client, settings, data_dir
) -> None:
    import socket

    with socket.socket() as s:  # a loopback port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.ELASTICSEARCH_URL = f"http://127.0.0.1:{port}"

    body = client.get("/api/health").json()

    assert body["search"]["status"] == "error"
    assert body["status"] == "degraded"
