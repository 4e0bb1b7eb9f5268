"""Small helpers shared by the git and LFS end-to-end tests."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import struct
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests

from tests.e2e.conftest import HubServer

T = TypeVar("T")
LFS_JSON = "application/vnd.git-lfs+json"


def git(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str],
    check: bool = True,
    input: bytes | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run git; on failure with check=True, the assertion message carries its stderr."""
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=300,
        input=input.decode() if input is not None else None,
        text=True,
    )
    if check:
        assert proc.returncode == 0, f"git {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def repo_path(repo: str, kind: str = "model") -> str:
    return f"/datasets/{repo}" if kind == "dataset" else f"/{repo}"


def repo_url(
    server: HubServer,
    repo: str,
    token: str | None = None,
    *,
    kind: str = "model",
    dot_git: bool = False,
) -> str:
    """The clone URL, with `token` as the Basic password (any user name) when given."""
    base = server.url if token is None else server.url.replace("http://", f"http://x:{token}@")
    return base + repo_path(repo, kind) + (".git" if dot_git else "")


def clone(
    server: HubServer,
    repo: str,
    dest: Path,
    env: dict[str, str],
    token: str | None = None,
    *,
    kind: str = "model",
    dot_git: bool = False,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    return git(
        "clone",
        repo_url(server, repo, token, kind=kind, dot_git=dot_git),
        str(dest),
        env=env,
        check=check,
    )


def commit_file(
    work: Path, env: dict[str, str], name: str, content: bytes | str, message: str | None = None
) -> str:
    """Write, add and commit one file; returns the new commit sha."""
    path = work / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    git("add", name, cwd=work, env=env)
    git("commit", "-qm", message or f"update {name}", cwd=work, env=env)
    return head(work, env)


def head(work: Path, env: dict[str, str], rev: str = "HEAD") -> str:
    return git("rev-parse", rev, cwd=work, env=env).stdout.strip()


def remote_refs(
    server: HubServer,
    repo: str,
    env: dict[str, str],
    token: str | None = None,
    *,
    kind: str = "model",
) -> dict[str, str]:
    """Every ref the server advertises (git ls-remote), name -> sha."""
    out = git("ls-remote", repo_url(server, repo, token, kind=kind), env=env).stdout
    refs = {}
    for line in out.splitlines():
        sha, _, name = line.partition("\t")
        refs[name] = sha
    return refs


def poll(
    fetch: Callable[[], T | None],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """Call `fetch` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def db_query(server: HubServer, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows from the live server's own database (`%s` placeholders, SQLite or PostgreSQL)."""
    url = server.env.get("HUB_DATABASE_URL")
    if url:
        import psycopg

        with psycopg.connect(url) as pg:
            return list(pg.execute(sql, params).fetchall())  # type: ignore[arg-type]
    conn = sqlite3.connect(server.data_dir / "hub.sqlite3", timeout=30)
    try:
        return conn.execute(sql.replace("%s", "?"), params).fetchall()
    finally:
        conn.close()


def query_events(server: HubServer, kind: str) -> list[dict[str, Any]]:
    """Outbox rows of the live server: [{id, payload, dispatched}], oldest first."""
    rows = db_query(
        server,
        "SELECT id, payload, dispatched_at FROM repos_eventrecord WHERE kind = %s ORDER BY id",
        (kind,),
    )
    out = []
    for row_id, payload, dispatched_at in rows:
        data = json.loads(payload) if isinstance(payload, str | bytes) else payload
        out.append({"id": row_id, "payload": data, "dispatched": dispatched_at is not None})
    return out


def server_repo_dir(server: HubServer, full_name: str, kind: str = "model") -> Path:
    """The bare repository on the live server's disk (named by its storage key)."""
    namespace, name = full_name.split("/")
    rows = db_query(
        server,
        "SELECT r.storage_key FROM repos_repo r JOIN orgs_namespace n ON n.id = r.owner_id "
        "WHERE n.name = %s AND r.name = %s AND r.kind = %s",
        (namespace, name, kind),
    )
    assert len(rows) == 1, rows
    key = rows[0][0]
    return server.data_dir / "git" / key[:2] / f"{key}.git"


def server_has_object(server: HubServer, sha: str) -> bool:
    """Does any bare repo on the live server hold object `sha` (loose or packed)?"""
    for repo in (server.data_dir / "git").glob("*/*.git"):
        proc = subprocess.run(
            ["git", "--git-dir", str(repo), "cat-file", "-e", sha], capture_output=True, check=False
        )
        if proc.returncode == 0:
            return True
    return False


def lfs_batch(
    server: HubServer,
    repo: str,
    body: Any,
    *,
    token: str | None = None,
    auth: str = "bearer",
    kind: str = "model",
    headers: dict[str, str] | None = None,
) -> requests.Response:
    """POST the LFS batch endpoint, authenticated by Bearer header or Basic password."""
    hdrs = {"Accept": LFS_JSON, "Content-Type": LFS_JSON}
    basic = None
    if token is not None and auth == "bearer":
        hdrs["Authorization"] = f"Bearer {token}"
    elif token is not None:
        basic = ("any-user", token)
    hdrs.update(headers or {})
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(
        f"{server.url}{repo_path(repo, kind)}.git/info/lfs/objects/batch",
        data=data,
        headers=hdrs,
        auth=basic,
        timeout=60,
    )


def lfs_files(server: HubServer) -> list[Path]:
    """Every file under the live server's LFS store, the upload temp folder included."""
    root = server.data_dir / "lfs"
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file())


def random_bytes(n: int) -> bytes:
    return os.urandom(n)


def pkt_line(data: bytes | None) -> bytes:
    return b"0000" if data is None else f"{len(data) + 4:04x}".encode() + data


def _empty_pack() -> bytes:
    header = b"PACK" + struct.pack(">II", 2, 0)
    return header + hashlib.sha1(header, usedforsecurity=False).digest()


EMPTY_PACK = _empty_pack()


def raw_receive_pack(
    server: HubServer,
    repo: str,
    token: str,
    commands: list[tuple[str, str, str]],
    pack: bytes = EMPTY_PACK,
) -> tuple[requests.Response, list[str]]:
    """Speak receive-pack directly (commands git itself would refuse to send).

    Returns the response and its report-status lines (`unpack ok`, `ok <ref>`, `ng <ref> why`).
    """
    body = b""
    for i, (old, new, ref) in enumerate(commands):
        caps = b"\0report-status" if i == 0 else b""
        body += pkt_line(f"{old} {new} {ref}".encode() + caps + b"\n")
    body += pkt_line(None) + pack
    r = requests.post(
        f"{server.url}/{repo}.git/git-receive-pack",
        data=body,
        auth=("x", token),
        timeout=60,
        headers={"Content-Type": "application/x-git-receive-pack-request"},
    )
    lines = []
    data = r.content
    pos = 0
    while pos + 4 <= len(data):
        size = int(data[pos : pos + 4], 16)
        if size == 0:
            pos += 4
            continue
        lines.append(data[pos + 4 : pos + size].decode("utf-8", "replace").rstrip("\n"))
        pos += size
    return r, lines


def sign_in(page, server: HubServer, username: str, password: str = "correct-horse-1") -> None:  # type: ignore[no-untyped-def]
    """Sign `username` in through the /login form in a Playwright page."""
    page.goto(f"{server.url}/login")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(f"{server.url}/")
