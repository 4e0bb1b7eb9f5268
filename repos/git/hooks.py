"""Server-side push policy for C git's receive-pack, decided inside the hub process.

receive-pack runs our pre-receive and post-receive hooks. Each hook is a tiny stdlib
script that forwards its stdin and the quarantine environment over a Unix socket to a
thread of the request that spawned receive-pack, and prints the verdict. The checks thus
run with the hub's database and settings, without starting Django per push.

C git already gives us what dulwich's handler lacks (SECURITY.md 1): an atomic compare-and-
swap under a ref lock, a connectivity check, fsck of received objects
(`receive.fsckObjects`), a quarantine directory that is dropped when a hook declines,
and per-ref `ng` lines in the report.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import close_old_connections, connection

HOOK_SCRIPT = """#!{python}
# Written by Hubforge: forwards this hook to the hub process that started receive-pack.
import json, os, socket, sys
data = sys.stdin.buffer.read().decode("utf-8", "replace")
env = {{k: v for k, v in os.environ.items() if k.startswith("GIT_")}}
try:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(os.environ["HUB_HOOK_SOCKET"])
    s.sendall(json.dumps({{"hook": "{name}", "stdin": data, "env": env}}).encode() + b"\\n")
    s.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        reply += chunk
    verdict = json.loads(reply.decode())
except Exception as exc:  # the hub is gone: refuse rather than accept unchecked
    sys.stderr.write("hubforge: push check unavailable (%s)\\n" % exc)
    sys.exit(1)
if verdict.get("message"):
    sys.stderr.write(verdict["message"].rstrip("\\n") + "\\n")
sys.exit(0 if verdict.get("ok") else 1)
"""


def hooks_dir(data_dir: Path) -> Path:
    """Write (once per interpreter path) the hook scripts; returns their folder."""
    folder = data_dir / "hooks"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("pre-receive", "post-receive"):
        path = folder / name
        content = HOOK_SCRIPT.format(python=sys.executable, name=name)
        if not path.exists() or path.read_text() != content:
            tmp = folder / f".{name}.{os.getpid()}.tmp"
            tmp.write_text(content)
            tmp.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
            os.replace(tmp, path)
    return folder


@dataclass(frozen=True)
class HookCall:
    hook: str  # "pre-receive" or "post-receive"
    updates: list[tuple[str, str, str]]  # (old, new, ref)
    env: dict[str, str]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str = ""


def parse_updates(stdin: str) -> list[tuple[str, str, str]]:
    out = []
    for line in stdin.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3:
            out.append((parts[0], parts[1], parts[2]))
    return out


@contextlib.contextmanager
def hook_server(handler: Callable[[HookCall], Verdict]) -> Iterator[str]:
    """Serve hook calls on a fresh Unix socket while the block runs; yields its path."""
    folder = tempfile.mkdtemp(prefix="hubhook-")
    path = os.path.join(folder, "s")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    stop = threading.Event()

    def serve() -> None:
        close_old_connections()
        try:
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                with conn:
                    _answer(conn, handler)
        finally:
            connection.close()

    thread = threading.Thread(target=serve, name="hub-hooks", daemon=True)
    thread.start()
    try:
        yield path
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_RDWR)
        server.close()
        thread.join(timeout=30)
        with contextlib.suppress(OSError):
            os.unlink(path)
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def _answer(conn: socket.socket, handler: Callable[[HookCall], Verdict]) -> None:
    raw = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        raw += chunk
        if len(raw) > 64 * 1024 * 1024:
            break
    try:
        msg: dict[str, Any] = json.loads(raw.decode())
        call = HookCall(
            hook=str(msg["hook"]), updates=parse_updates(str(msg["stdin"])), env=dict(msg["env"])
        )
        verdict = handler(call)
    except Exception as exc:  # never accept a push we could not check
        import logging

        logging.getLogger(__name__).exception("push hook failed")
        verdict = Verdict(
            ok=False,
            message=f"hubforge: internal error while checking push ({exc.__class__.__name__})",
        )
    conn.sendall(json.dumps({"ok": verdict.ok, "message": verdict.message}).encode())


def git_env(call: HookCall, git_dir: Path) -> dict[str, str]:
    """Environment to read the pushed (still quarantined) objects with git."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    for key in ("GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH"):
        if key in call.env:
            env[key] = call.env[key]
    env["GIT_DIR"] = str(git_dir)
    return env


def new_objects(call: HookCall, git_dir: Path) -> Iterator[tuple[str, str, int, str]]:
    """(type, sha, size, path) of every object the push adds, not reachable from existing refs."""
    tips = [new for _old, new, _ref in call.updates if new.strip("0")]
    if not tips:
        return
    env = git_env(call, git_dir)
    rev_list = subprocess.Popen(
        ["git", "rev-list", "--objects", "--stdin", "--not", "--all"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
    )
    assert rev_list.stdin is not None
    rev_list.stdin.write(("\n".join(tips) + "\n").encode())
    rev_list.stdin.close()
    check = subprocess.Popen(
        ["git", "cat-file", "--batch-check=%(objecttype) %(objectname) %(objectsize) %(rest)"],
        stdin=rev_list.stdout, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
    )
    assert check.stdout is not None
    try:
        for line in check.stdout:
            parts = line.decode("utf-8", "replace").rstrip("\n").split(" ", 3)
            if len(parts) < 3 or parts[1] == "missing":
                continue
            yield parts[0], parts[1], int(parts[2]), parts[3] if len(parts) > 3 else ""
    finally:
        check.stdout.close()
        check.wait()
        rev_list.wait()


def read_blobs(call: HookCall, git_dir: Path, shas: list[str]) -> Iterator[tuple[str, bytes]]:
    """Contents of (small) blobs from the quarantined push."""
    if not shas:
        return
    env = git_env(call, git_dir)
    proc = subprocess.run(
        ["git", "cat-file", "--batch"],
        input=("\n".join(shas) + "\n").encode(),
        capture_output=True, env=env, check=False,
    )
    data = proc.stdout
    pos = 0
    while pos < len(data):
        nl = data.index(b"\n", pos)
        header = data[pos:nl].decode().split(" ")
        pos = nl + 1
        if len(header) < 3:
            continue
        size = int(header[2])
        yield header[0], data[pos : pos + size]
        pos += size + 1
