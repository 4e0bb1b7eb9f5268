"""The `hubforge` console script: adduser, token create and migrate, beside a running server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import ROOT, HubServer

pytestmark = pytest.mark.e2e

TOKEN_LINE = re.compile(r"^hf_[A-Za-z0-9]{20,}$")


def _whoami(server: HubServer, token: str) -> requests.Response:
    return requests.get(
        f"{server.url}/api/whoami-v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _last_line(out: str) -> str:
    return out.rstrip("\n").splitlines()[-1]


def test_adduser_prints_a_working_write_token_on_the_last_line(hub_server: HubServer) -> None:
    name = f"DVUser_{uuid.uuid4().hex[:6]}-cli"
    assert hub_server.process is not None
    assert hub_server.process.poll() is None  # the server runs while the CLI writes

    out = hub_server.cli("adduser", name, "--password", "pw-for-cli-1", "--token", "write")

    token = _last_line(out.stdout)
    assert TOKEN_LINE.match(token), out.stdout
    whoami = _whoami(hub_server, token)
    assert whoami.status_code == 200, whoami.text
    assert whoami.json()["name"] == name  # case, `_` and `-` kept
    assert whoami.json()["auth"]["accessToken"]["role"] == "write"


def test_token_create_prints_a_working_read_token(hub_server: HubServer) -> None:
    name = f"Reader-{uuid.uuid4().hex[:6]}"
    hub_server.cli("adduser", name, "--password", "pw-for-cli-2")

    out = hub_server.cli("token", "create", name, "--role", "read", "--name", "ci")

    token = _last_line(out.stdout)
    assert TOKEN_LINE.match(token), out.stdout
    body = _whoami(hub_server, token).json()
    assert body["name"] == name
    assert body["auth"]["accessToken"]["role"] == "read"
    assert body["auth"]["accessToken"]["displayName"] == "ci"


def test_a_read_token_cannot_create_a_repo(hub_server: HubServer) -> None:
    name = f"ro_{uuid.uuid4().hex[:6]}"
    out = hub_server.cli("adduser", name, "--password", "pw-for-cli-3", "--token", "read")
    token = _last_line(out.stdout)

    r = requests.post(
        f"{hub_server.url}/api/repos/create",
        json={"name": "nope", "type": "model"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )

    assert r.status_code in (401, 403), r.text


def test_token_create_for_a_user_matches_any_case(hub_server: HubServer) -> None:
    name = f"MixedCase{uuid.uuid4().hex[:6]}"
    hub_server.cli("adduser", name, "--password", "pw-for-cli-4")

    out = hub_server.cli("token", "create", name.lower(), "--role", "write")

    assert _whoami(hub_server, _last_line(out.stdout)).json()["name"] == name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["adduser", "bad name", "--password", "pw-for-cli-5"], "Invalid name"),
        (["adduser", "trailing-", "--password", "pw-for-cli-5"], "Invalid name"),
        (["adduser", "two--dashes", "--password", "pw-for-cli-5"], "Invalid name"),
        (["adduser", "api", "--password", "pw-for-cli-5"], "reserved"),
        (["token", "create", "nobody-by-this-name"], "not found"),
        (["token", "create", "admin", "--role", "admin"], "invalid choice"),
    ],
)
def test_cli_refuses_bad_input_with_a_message(
    hub_server: HubServer, args: list[str], message: str
) -> None:
    out = hub_server.cli(*args, check=False)

    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    assert message in out.stderr


def test_adduser_refuses_a_name_taken_in_another_case(hub_server: HubServer) -> None:
    name = f"Taken{uuid.uuid4().hex[:6]}"
    hub_server.cli("adduser", name, "--password", "pw-for-cli-6")

    out = hub_server.cli("adduser", name.upper(), "--password", "pw-for-cli-6", check=False)

    assert out.returncode != 0
    assert "already taken" in out.stderr


def _console_script() -> str:
    script = Path(sys.executable).with_name("hubforge")
    found = str(script) if script.exists() else shutil.which("hubforge")
    assert found, "the hubforge console script is not installed (pip install -e .)"
    return found


def test_migrate_creates_a_fresh_data_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "DJANGO_"))}
    env.update(HUB_DATA_DIR=str(tmp_path / "data"), HUB_SECRET_KEY="cli-test-" + "x" * 50)
    hubforge = _console_script()

    migrate = subprocess.run(
        [hubforge, "migrate"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert migrate.returncode == 0, migrate.stderr
    check = subprocess.run(
        [hubforge, "migrate", "--check"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert check.returncode == 0, check.stdout + check.stderr  # nothing left unapplied
    assert (tmp_path / "data" / "hub.sqlite3").exists()
