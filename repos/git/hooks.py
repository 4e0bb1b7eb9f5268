"""Server-side push policy for C git's receive-pack, decided inside the hub process.

receive-pack runs our pre-receive hook: a tiny /bin/sh script that forwards its stdin and
the quarantine environment through a named pipe to a thread of the request that spawned
receive-pack, and prints the verdict. The checks thus run with the hub's database and
settings, without starting an interpreter per push. What moved is then read from
receive-pack's own report (`ok <ref>` lines), with no post-receive hook.

C git already gives us what dulwich's handler lacks (SECURITY.md 1): an atomic compare-and-
swap under a ref lock, a connectivity check, fsck of received objects
(`receive.fsckObjects`), a quarantine directory that is dropped when a hook declines,
and per-ref `ng` lines in the report.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.db import close_old_connections, connection

from repos.git.store import parse_cat_file_batch

# A /bin/sh hook costs a few milliseconds where a Python one cost ~25 ms of interpreter
# start-up per hook (bench/RESULTS.md, push of 200 commits). It hands its input to the hub
# through a named pipe and waits for the verdict on a second one.
HOOK_SCRIPT = """#!/bin/sh
# Written by Hubforge: hands this hook to the hub process that started receive-pack.
dir="$HUB_HOOK_DIR"
if [ -z "$dir" ] || [ ! -p "$dir/request" ] || [ ! -p "$dir/verdict" ]; then
  echo "hubforge: push check unavailable" >&2
  exit 1
fi
{{
  printf '%s\\0' "{name}" \\
    "GIT_OBJECT_DIRECTORY=$GIT_OBJECT_DIRECTORY" \\
    "GIT_ALTERNATE_OBJECT_DIRECTORIES=$GIT_ALTERNATE_OBJECT_DIRECTORIES" \\
    "GIT_QUARANTINE_PATH=$GIT_QUARANTINE_PATH"
  printf '\\0'
  cat
}} > "$dir/request" || exit 1
{{ IFS= read -r status; cat >&2; }} < "$dir/verdict"
[ "$status" = "ok" ]
"""
_MAX_REQUEST = 64 * 1024 * 1024
_VERDICT_OPEN_SECONDS = 60.0


def hooks_dir(data_dir: Path) -> Path:
    """Write (once) the hook scripts; returns their folder."""
    folder = data_dir / "hooks"
    folder.mkdir(parents=True, exist_ok=True)
    stale = folder / "post-receive"  # pushes are now recorded from receive-pack's report
    if stale.exists():
        stale.unlink()
    for name in ("pre-receive",):
        path = folder / name
        content = HOOK_SCRIPT.format(name=name)
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


def parse_request(raw: bytes) -> HookCall:
    """`name\\0KEY=value\\0...\\0\\0` followed by the hook's stdin."""
    head, sep, stdin = raw.partition(b"\0\0")
    if not sep:
        raise ValueError("malformed hook request")
    fields = head.decode("utf-8", "replace").split("\0")
    env = {}
    for item in fields[1:]:
        key, _, value = item.partition("=")
        if value:
            env[key] = value
    return HookCall(
        hook=fields[0], updates=parse_updates(stdin.decode("utf-8", "replace")), env=env
    )


@contextlib.contextmanager
def hook_server(handler: Callable[[HookCall], Verdict]) -> Iterator[str]:
    """Answer hook calls through two named pipes while the block runs; yields their folder."""
    folder = tempfile.mkdtemp(prefix="hubhook-")
    request_path = os.path.join(folder, "request")
    verdict_path = os.path.join(folder, "verdict")
    os.mkfifo(request_path, 0o600)
    os.mkfifo(verdict_path, 0o600)
    stop = threading.Event()

    def serve() -> None:
        close_old_connections()
        try:
            while True:
                with open(request_path, "rb") as f:  # blocks until a hook (or stop) opens it
                    raw = f.read(_MAX_REQUEST)
                if stop.is_set() and not raw:
                    return
                _answer(raw, verdict_path, handler)
        finally:
            connection.close()

    thread = threading.Thread(target=serve, name="hub-hooks", daemon=True)
    thread.start()
    try:
        yield folder
    finally:
        stop.set()
        # Wake the thread from its blocking open: a writer that opens and closes at once.
        while thread.is_alive():
            try:
                fd = os.open(request_path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader right now; the thread is between calls
                thread.join(timeout=0.005)
                continue
            os.close(fd)
            thread.join(timeout=1)
        for path in (request_path, verdict_path):
            with contextlib.suppress(OSError):
                os.unlink(path)
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def _answer(raw: bytes, verdict_path: str, handler: Callable[[HookCall], Verdict]) -> None:
    try:
        verdict = handler(parse_request(raw))
    except Exception as exc:  # never accept a push we could not check
        logging.getLogger(__name__).exception("push hook failed")
        verdict = Verdict(
            ok=False,
            message=f"hubforge: internal error while checking push ({exc.__class__.__name__})",
        )
    # The hook opens the verdict pipe right after writing its request; wait for it, but
    # never forever (a killed hook must not hang the request).
    deadline = time.monotonic() + _VERDICT_OPEN_SECONDS
    while True:
        try:
            fd = os.open(verdict_path, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.001)
    os.set_blocking(fd, True)
    with os.fdopen(fd, "wb") as f:
        f.write(b"ok\n" if verdict.ok else b"no\n")
        if verdict.message:
            f.write(verdict.message.encode("utf-8", "replace"))
            f.write(b"\n")


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
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert rev_list.stdin is not None
    rev_list.stdin.write(("\n".join(tips) + "\n").encode())
    rev_list.stdin.close()
    check = subprocess.Popen(
        ["git", "cat-file", "--batch-check=%(objecttype) %(objectname) %(objectsize) %(rest)"],
        stdin=rev_list.stdout,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
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
        capture_output=True,
        env=env,
        check=False,
    )
    yield from parse_cat_file_batch(proc.stdout)


def _pack_index_shas(idx: Path) -> list[str]:
    """Object ids listed in a pack index (version 2: magic, version, fan-out, sorted ids)."""
    with idx.open("rb") as f:
        header = f.read(8)
        if header[:4] != b"\xfftOc" or int.from_bytes(header[4:8], "big") != 2:
            raise ValueError(f"unsupported pack index {idx.name}")
        fanout = f.read(256 * 4)
        count = int.from_bytes(fanout[-4:], "big")
        raw = f.read(20 * count)
    return [raw[i : i + 20].hex() for i in range(0, len(raw), 20)]


def quarantined_ids(call: HookCall) -> list[str] | None:
    """Ids of every object this push brought, read off its quarantine directory.

    Much cheaper than walking the pushed history with `rev-list --objects` (which is kept
    for the slow path, naming the paths of refused files). None when git gave no quarantine.
    """
    root = call.env.get("GIT_QUARANTINE_PATH")
    if not root or not os.path.isdir(root):
        return None
    ids: list[str] = []
    for entry in os.scandir(root):
        if entry.is_dir() and len(entry.name) == 2:
            ids.extend(entry.name + name for name in os.listdir(entry.path) if len(name) == 38)
    pack_dir = Path(root) / "pack"
    if pack_dir.is_dir():
        for idx in pack_dir.glob("*.idx"):
            ids.extend(_pack_index_shas(idx))
    return ids


def object_sizes(call: HookCall, git_dir: Path, ids: list[str]) -> Iterator[tuple[str, str, int]]:
    """(type, id, size) of objects, via `git cat-file --batch-check`."""
    if not ids:
        return
    proc = subprocess.run(
        ["git", "cat-file", "--batch-check=%(objecttype) %(objectname) %(objectsize)"],
        input=("\n".join(ids) + "\n").encode(),
        capture_output=True,
        env=git_env(call, git_dir),
        check=False,
    )
    for line in proc.stdout.decode().splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[1] != "missing":
            yield parts[0], parts[1], int(parts[2])


def tip_tree_depth(call: HookCall, git_dir: Path) -> int:
    """Deepest directory nesting in the trees of the pushed tips (`git ls-tree -r -t`)."""
    env = git_env(call, git_dir)
    deepest = 0
    for _old, new, _ref in call.updates:
        if not new.strip("0"):
            continue
        proc = subprocess.run(
            ["git", "ls-tree", "-r", "-t", "-z", "--name-only", "--end-of-options", new],
            capture_output=True,
            env=env,
            check=False,
        )
        for path in proc.stdout.split(b"\0"):
            deepest = max(deepest, path.count(b"/") + 1 if path else 0)
    return deepest


def _pkt_lines(data: bytes) -> Iterator[bytes]:
    pos = 0
    while pos + 4 <= len(data):
        try:
            length = int(data[pos : pos + 4], 16)
        except ValueError:
            return
        if length < 4:  # flush (0000) or delimiter packets
            pos += 4
            continue
        yield data[pos + 4 : pos + length]
        pos += length


def reported_ok_refs(report: bytes) -> set[str]:
    """Refs receive-pack reports as updated (`ok <ref>`), side-band framed or not."""
    payloads = list(_pkt_lines(report))
    if payloads and payloads[0][:1] in (b"\x01", b"\x02", b"\x03"):
        inner = b"".join(p[1:] for p in payloads if p[:1] == b"\x01")
        payloads = list(_pkt_lines(inner))
    refs = set()
    for line in payloads:
        text = line.decode("utf-8", "replace").rstrip("\n")
        if text.startswith("ok "):
            refs.add(text[3:])
    return refs
