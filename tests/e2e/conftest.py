"""A real Hubforge server in a subprocess (`hubforge serve`), shared by a test session.

Embedded profile by default: SQLite and the persisted local broker under a temporary data
folder. With HUB_TEST_DATABASE_URL and HUB_TEST_REDIS_URL set (CI does), the server runs on
a fresh PostgreSQL database and Redis with a real Celery worker.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]

# huggingface_hub reads these at import time: classic LFS uploads (no Xet, contract 4),
# a private cache, and never the public hub or a developer's own token.
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="hubforge-hfhome-")
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_IMPLICIT_TOKEN"] = "1"
for _name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HUGGINGFACE_CO_STAGING", "HF_ENDPOINT"):
    os.environ.pop(_name, None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _xdist_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


@dataclass
class HubServer:
    url: str
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    _counter: int = field(default=0)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `hubforge ARGS` against this server's data folder and database."""
        proc = subprocess.run(
            [sys.executable, "-m", "hub.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
            timeout=180,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"hubforge {' '.join(args[:2])} exited {proc.returncode}:\n"
                f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
            )
        return proc

    def unique(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}x{uuid.uuid4().hex[:6]}"

    def create_user(
        self, name: str | None = None, *, role: str = "write", password: str = "correct-horse-1"
    ) -> tuple[str, str]:
        """A new user with a token of `role`; returns (username, token)."""
        name = name or self.unique("user")
        out = self.cli("adduser", name, "--password", password, "--token", role)
        return name, out.stdout.strip().splitlines()[-1]

    def token(self, user: str, role: str = "write") -> str:
        return self.cli("token", "create", user, "--role", role).stdout.strip().splitlines()[-1]

    def create_repo(
        self, token: str, name: str | None = None, *, kind: str = "model", private: bool = False
    ) -> str:
        """Create a repo through the API; returns its `ns/name`."""
        name = name or self.unique("repo")
        r = requests.post(
            f"{self.url}/api/repos/create",
            json={"name": name, "type": kind, "private": private},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        r.raise_for_status()
        return str(r.json()["name"])

    def api(self, token: str | None):  # type: ignore[no-untyped-def]
        """A huggingface_hub HfApi pointed at this server."""
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.url, token=token or False)

    def log_tail(self, n: int = 4000) -> str:
        if self.log_path and self.log_path.exists():
            return self.log_path.read_text(errors="replace")[-n:]
        return ""


def _server_env(data_dir: Path, port: int) -> tuple[dict[str, str], str | None]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "DJANGO_"))}
    env.update(
        HUB_DATA_DIR=str(data_dir),
        HUB_PUBLIC_URL=f"http://127.0.0.1:{port}",
        HUB_SECRET_KEY="e2e-secret-" + uuid.uuid4().hex,
        PYTHONPATH=str(ROOT),
        HUB_WEBHOOK_ALLOW_LOCAL="true",
    )
    for key in ("HUB_MAX_GIT_BLOB_BYTES", "HUB_WEBHOOK_RETRY_BASE_SECONDS"):
        if os.environ.get(f"HUB_TEST_{key[4:]}"):
            env[key] = os.environ[f"HUB_TEST_{key[4:]}"]
    db_name = None
    base = os.environ.get("HUB_TEST_DATABASE_URL")
    if base:
        import psycopg

        db_name = f"hubforge_e2e_{uuid.uuid4().hex[:10]}"
        admin_url = base.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db_name}"')
        env["HUB_DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + db_name
    # One Redis database per xdist worker, so servers never take each other's tasks.
    env.update(private_redis_env(1))
    return env, db_name


def private_redis_env(first_db: int) -> dict[str, str]:
    """HUB_REDIS_URL on database `first_db` + the xdist worker's index when the suite runs on
    Redis (empty otherwise): a server of its own whose tasks no other server takes."""
    redis = os.environ.get("HUB_TEST_REDIS_URL")
    if not redis:
        return {}
    base = redis.rstrip("/")
    base = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
    return {"HUB_REDIS_URL": f"{base}/{first_db + _xdist_index()}"}


def start_server(
    extra_env: dict[str, str] | None = None, *, worker: bool = True
) -> tuple[HubServer, str | None]:
    """A live hub; `worker=False` leaves the Celery worker out (the test runs its own)."""
    data_dir = Path(tempfile.mkdtemp(prefix="hubforge-e2e-"))
    port = free_port()
    env, db_name = _server_env(data_dir, port)
    env.update(extra_env or {})
    log_path = data_dir / "server.log"
    log = log_path.open("wb")
    args = [sys.executable, "-m", "hub.cli", "serve", "--port", str(port), "--workers", "2"]
    if not worker:
        args.append("--no-worker")
    elif env.get("HUB_REDIS_URL"):
        args.append("--with-worker")
    proc = subprocess.Popen(
        args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
    )
    server = HubServer(
        url=f"http://127.0.0.1:{port}", data_dir=data_dir, env=env, process=proc, log_path=log_path
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"hubforge serve exited early:\n{server.log_tail()}")
        try:
            if requests.get(f"{server.url}/api/health", timeout=2).status_code == 200:
                return server, db_name
        except requests.RequestException:
            pass
        time.sleep(0.2)
    stop_server(server, db_name)
    raise RuntimeError(f"hubforge serve did not answer in time:\n{server.log_tail()}")


def stop_server(server: HubServer, db_name: str | None) -> None:
    import shutil
    import signal

    if server.process and server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()
    if db_name:
        import psycopg

        base = os.environ["HUB_TEST_DATABASE_URL"]
        with psycopg.connect(base.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    shutil.rmtree(server.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def hub_server() -> Iterator[HubServer]:
    """One live hub for the whole session (per xdist worker)."""
    server, db_name = start_server()
    try:
        yield server
    finally:
        stop_server(server, db_name)


def git_environment(
    home: Path, *, name: str = "Test User", email: str = "test@example.com"
) -> dict[str, str]:
    """Environment for the git/git-lfs binaries: HOME at `home`, no prompts, no system config."""
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        HOME=str(home),
        GIT_TERMINAL_PROMPT="0",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME=name,
        GIT_AUTHOR_EMAIL=email,
        GIT_COMMITTER_NAME=name,
        GIT_COMMITTER_EMAIL=email,
    )
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[credential]\n\thelper =\n")
    return env


@pytest.fixture
def git_env(tmp_path: Path) -> dict[str, str]:
    """An isolated git environment per test."""
    from tests.conftest import require_tool

    require_tool("git")
    return git_environment(tmp_path / "home")


# --- headless Chromium (Debian's chromium driven by Playwright) ------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser() -> Iterator:  # type: ignore[type-arg]
    """A headless Chromium; `browser.new_context()` gives a separate cookie jar per person."""
    from tests.conftest import require_tool

    executable = require_tool(CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def browser_page(browser):  # type: ignore[no-untyped-def]
    """A page in a fresh context (its own cookies), with the suite's viewport and timeout."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    return context.new_page()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    return browser_page(browser)
