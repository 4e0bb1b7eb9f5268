"""list_models(search=..., filter=...) through the real huggingface_hub client against a live hub
with 100,000 repos: p50 and p99 per call (issue 3's listing benchmark).

The repos come from bench/search_bench.py's generator (same data, same --data-dir / --reuse
/ --database-url options), then `hubforge serve` (gunicorn, no worker) runs on that data
and the client calls it over loopback, anonymously. Each round makes every call once, so
the load of a shared machine weighs on all alike; the load average is printed.

    .venv/bin/python bench/hf_listing_bench.py --data-dir /tmp/search-bench/sqlite --reuse
    .venv/bin/python bench/hf_listing_bench.py --reuse \\
        --database-url postgres://postgres@127.0.0.1:5432/hubforge_search_bench
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import search_bench

ROOT = search_bench.ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_hub(workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """`hubforge serve` on the data search_bench set up (its environment); returns (proc, url)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(HUB_PUBLIC_URL=url, HUB_LOG_LEVEL="WARNING", HUB_TASKS_EAGER="false")
    log = Path(os.environ["HUB_DATA_DIR"]) / "bench-serve.log"
    command = [sys.executable, "-m", "hub.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--no-worker"]
    proc = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"hubforge serve exited; see {log}")
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    stop_hub(proc)
    raise SystemExit(f"hubforge serve did not answer; see {log}")


def stop_hub(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--database-url", default=os.environ.get("HUB_BENCH_DATABASE_URL"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", help="keep the data folder (SQLite database) here")
    parser.add_argument("--reuse", action="store_true", help="skip generation when populated")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="hubforge-hf-listing-bench-")
    search_bench.setup_django(args.database_url, data_dir=data_dir, reuse=args.reuse)
    if not (args.reuse and search_bench.populated(args.repos) is not None):
        search_bench.generate(args.repos, args.seed)
    from django.db import connection

    vendor = connection.vendor
    connection.close()

    os.environ.update(HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_IMPLICIT_TOKEN="1")
    os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="hubforge-hf-home-")
    from huggingface_hub import HfApi

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise

    proc, url = start_hub(args.workers)
    try:
        api = HfApi(endpoint=url, token=False)
        rng = random.Random(args.seed + 2)
        words = [w for w in search_bench.WORDS if len(w) > 3]
        licenses = [f"license:{x}" for x in search_bench.LICENSES]

        def listing(**fixed: object) -> Callable[[], int]:
            def run() -> int:
                kw = {"search": rng.choice(words), "filter": rng.choice(licenses), **fixed}
                return len(list(api.list_models(limit=30, **kw)))  # type: ignore[arg-type]

            return run

        def two_tags() -> int:
            tags = [rng.choice(licenses), rng.choice(search_bench.LANGUAGES)]
            return len(list(api.list_models(search=rng.choice(words), filter=tags, limit=30)))

        cases = [
            ("search=word, filter=license (default sort)", listing()),
            ("search=word, filter=license, sort=trending", listing(sort="trending_score")),
            ("search=word, filter=license, sort=downloads", listing(sort="downloads")),
            ("search=word, filter=[license, language]", two_tags),
            ("filter=license only", lambda: len(list(api.list_models(
                filter=rng.choice(licenses), limit=30)))),
            ("search=word only", lambda: len(list(api.list_models(
                search=rng.choice(words), limit=30)))),
        ]  # fmt: skip
        found = {label: fn() for label, fn in cases}  # warm, and check they answer
        before = search_bench.load_average()
        times = search_bench.measure(cases, args.runs)
        print(f"\nhuggingface_hub list_models over HTTP, {vendor}, {args.repos} repos, ")
        print(f"{args.runs} rounds, gunicorn {args.workers} workers (ms per call)")
        print(f"load average before: {before}; after: {search_bench.load_average()}")
        print(f"{'call':50} {'items':>5} {'p50':>8} {'p99':>8}")
        for label, _ in cases:
            p50, p99 = search_bench.percentiles(times[label])
            print(f"{label:50} {found[label]:5d} {p50:8.1f} {p99:8.1f}")
    finally:
        stop_hub(proc)


if __name__ == "__main__":
    main()
