"""Webhook delivery: throughput of one worker process, and push-to-delivery latency.

- Throughput: N deliveries stored and queued at once, as fan-out does (one drain task per
  100 deliveries), drained by one Celery worker process (`hubforge worker --concurrency 1`)
  into a fast receiver on 127.0.0.1 that answers 200 at once. deliveries/s = N / (last
  receipt - first enqueue). Each delivery is the full path: claim UPDATE with lease, sign,
  resolve + SSRF check, new TCP connection, POST, record the attempt and the outcome.
- Latency: `git push` of one commit to a repo watched by a webhook; the time from starting
  the push to the signed request arriving (event outbox -> dispatch task -> fan-out task ->
  drain task), p50/p99 over K pushes. The hub runs `hubforge serve --no-worker` plus the
  same single worker process (with beat).

Embedded profile by default (SQLite + the persisted SQLite broker). Production profile:
`--database-url postgres://... --redis-url redis://...` (a fresh database is created).
Targets (issue 6): p50 < 1 s in both profiles; >= 200 deliveries/s per worker in production.

    .venv/bin/python bench/webhooks_delivery.py [--deliveries 2000] [--pushes 40]
        [--database-url ... --redis-url ...] [--scratch /tmp/hubforge-bench-webhooks]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _common import ROOT, Procs, log, print_probe, stop_tree, wait_http

PY = str(ROOT / ".venv" / "bin" / "python")


class FastReceiver:
    """Answers 200 at once; records when each webhook-id first arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.perf_counter()
                with receiver.lock:
                    receiver.arrivals.setdefault(self.headers["webhook-id"], now)
                    receiver.last_body = body
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 1024
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


def _env(args: argparse.Namespace, data: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "DJANGO_"))}
    env.update(
        HUB_DATA_DIR=str(data),
        HUB_PUBLIC_URL=f"http://127.0.0.1:{port}",
        HUB_SECRET_KEY="bench-" + uuid.uuid4().hex,
        HUB_LOG_LEVEL="WARNING",
        HUB_WEBHOOK_ALLOW_LOCAL="true",
        PYTHONPATH=str(ROOT),
    )
    if args.database_url:
        import psycopg

        name = f"hubforge_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(
            args.database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        env["HUB_DATABASE_URL"] = args.database_url.rsplit("/", 1)[0] + "/" + name
        args.created_db = name
    if args.redis_url:
        env["HUB_REDIS_URL"] = args.redis_url
    return env


def _cli(env: dict[str, str], *argv: str) -> str:
    return subprocess.run(
        [PY, "-m", "hub.cli", *argv], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def _api(url: str, token: str, body: dict) -> dict:  # type: ignore[type-arg]
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def _git(*argv: str, cwd: Path, env: dict[str, str]) -> None:
    subprocess.run(["git", *argv], cwd=cwd, env=env, check=True, capture_output=True)


def throughput(env: dict[str, str], receiver: FastReceiver, user: str, n: int) -> float:
    """Store and queue n deliveries from this process; one worker drains them."""
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "hub.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.utils import timezone

    from orgs.models import User
    from webhooks.dispatch import enqueue_after_commit
    from webhooks.models import Delivery, WatchedItem, Webhook

    owner = User.objects.get(username=user)
    webhook = Webhook.objects.create(
        owner=owner,
        url=receiver.url,
        domains=["repo"],
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    )
    WatchedItem.objects.create(webhook=webhook, type="user", name="nobody", name_lower="nobody")
    body = json.dumps(
        {
            "event": {"action": "update", "scope": "repo.content"},
            "repo": {"name": f"{user}/bench"},
            "webhook": {"id": webhook.public_id, "version": 3},
        }
    )
    now = timezone.now()
    rows = Delivery.objects.bulk_create(
        Delivery(
            webhook=webhook,
            event_key=f"bench:{i}",
            action="update",
            scope="repo.content",
            repo_name=f"{user}/bench",
            body=body,
            next_attempt_at=now,
            enqueued_at=now,
        )
        for i in range(n)
    )
    ids = (
        [r.pk for r in rows]
        if rows[0].pk
        else list(Delivery.objects.filter(webhook=webhook).values_list("pk", flat=True))
    )
    before = receiver.count()
    t0 = time.perf_counter()
    enqueue_after_commit(ids)  # autocommit here: the drain tasks are queued at once
    enqueue_s = time.perf_counter() - t0
    deadline = time.monotonic() + max(120, n / 5)
    while receiver.count() < before + n and time.monotonic() < deadline:
        time.sleep(0.05)
    got = receiver.count() - before
    with receiver.lock:
        last = max(receiver.arrivals.values())
    elapsed = last - t0
    log(f"  {got}/{n} delivered in {elapsed:.2f} s (enqueueing took {enqueue_s:.2f} s)")
    if got < n:
        raise SystemExit("not every delivery arrived in time")
    return n / elapsed


def latency(
    env: dict[str, str],
    url: str,
    token: str,
    user: str,
    receiver: FastReceiver,
    pushes: int,
    scratch: Path,
) -> list[float]:
    repo = _api(f"{url}/api/repos/create", token, {"name": "latency", "type": "model"})["name"]
    _api(
        f"{url}/api/settings/webhooks",
        token,
        {
            "url": receiver.url,
            "watched": [{"type": "model", "name": repo}],
            "domains": ["repo"],
            "secret": "bench-secret",
        },
    )
    genv = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    home = scratch / "home"
    home.mkdir(exist_ok=True)
    genv.update(
        HOME=str(home),
        GIT_TERMINAL_PROMPT="0",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME="b",
        GIT_AUTHOR_EMAIL="b@x",
        GIT_COMMITTER_NAME="b",
        GIT_COMMITTER_EMAIL="b@x",
    )
    work = scratch / "work"
    remote = url.replace("http://", f"http://x:{token}@") + f"/{repo}"
    _git("clone", "-q", remote, str(work), cwd=scratch, env=genv)
    samples: list[float] = []
    for i in range(pushes):
        (work / "n.txt").write_text(f"{i}\n")
        _git("add", "n.txt", cwd=work, env=genv)
        _git("commit", "-qm", f"c{i}", cwd=work, env=genv)
        before = receiver.count()
        pushed = time.perf_counter()  # from the start of `git push`: the event may arrive
        _git("push", "-q", "origin", "main", cwd=work, env=genv)  # before the client returns
        deadline = time.monotonic() + 60
        while receiver.count() <= before and time.monotonic() < deadline:
            time.sleep(0.002)
        if receiver.count() <= before:
            raise SystemExit(f"push {i} was not delivered within 60 s")
        with receiver.lock:
            arrived = max(receiver.arrivals.values())
        samples.append(arrived - pushed)
    return samples


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--deliveries", type=int, default=2000)
    ap.add_argument("--pushes", type=int, default=40)
    ap.add_argument("--port", type=int, default=8131)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--redis-url", default="")
    ap.add_argument("--scratch", default="/tmp/hubforge-bench-webhooks")
    args = ap.parse_args()
    args.created_db = None
    profile = "production (PostgreSQL + Redis)" if args.redis_url else "embedded (SQLite)"
    scratch = Path(args.scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "data").mkdir(parents=True)
    procs = Procs()
    print_probe("start")
    env = _env(args, scratch / "data", args.port)
    _cli(env, "migrate", "-v", "0")
    user = "bench"
    token = (
        _cli(env, "adduser", user, "--password", "correct-horse-1", "--token", "write")
        .strip()
        .splitlines()[-1]
    )
    logf = (scratch / "server.log").open("wb")
    server = subprocess.Popen(
        [PY, "-m", "hub.cli", "serve", "--port", str(args.port), "--workers", "2", "--no-worker"],
        env=env,
        cwd=ROOT,
        stdout=logf,
        stderr=subprocess.STDOUT,
    )
    procs.add(lambda: stop_tree(server))
    worker = subprocess.Popen(
        [PY, "-m", "hub.cli", "worker", "--concurrency", "1", "--beat", "--loglevel", "WARNING"],
        env=env,
        cwd=ROOT,
        stdout=logf,
        stderr=subprocess.STDOUT,
    )
    procs.add(lambda: stop_tree(worker))
    url = f"http://127.0.0.1:{args.port}"
    wait_http(f"{url}/api/health")
    receiver = FastReceiver()
    log(f"profile: {profile}; one worker process (--concurrency 1)")
    samples = latency(env, url, token, user, receiver, args.pushes, scratch)
    p50, p99 = pct(samples, 50) * 1000, pct(samples, 99) * 1000
    log(f"push -> delivery latency over {len(samples)} pushes: p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    rate = throughput(env, receiver, user, args.deliveries)
    log(f"throughput: {rate:.0f} deliveries/s (one worker process)")
    print_probe("end")
    procs.stop_all()
    if args.created_db:
        import psycopg

        with psycopg.connect(
            args.database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True
        ) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.created_db}" WITH (FORCE)')
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
