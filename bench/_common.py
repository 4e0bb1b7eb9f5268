"""Shared pieces of the benchmarks: CPU probe, hub and nginx servers on loopback, statistics.

Everything binds 127.0.0.1 only. Every server is started by the benchmark, remembered by PID
(with its children) and stopped by PID when the benchmark ends, also on errors and Ctrl-C.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
MB = 1_000_000
MiB = 1024 * 1024


def log(msg: str) -> None:
    print(msg, flush=True)


# --- CPU scaling probe (PERF-BASELINES: distrust a run where it reads below ~1.8) ----------


def _hash_for(seconds: float, buf: bytes, out: list[int], start: threading.Event) -> None:
    start.wait()
    h = hashlib.sha256()
    n = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        h.update(buf)
        n += len(buf)
    out.append(n)


def _hash_rate(threads: int, seconds: float, buf: bytes) -> float:
    out: list[int] = []
    start = threading.Event()
    workers = [
        threading.Thread(target=_hash_for, args=(seconds, buf, out, start)) for _ in range(threads)
    ]
    for w in workers:
        w.start()
    t0 = time.perf_counter()
    start.set()
    for w in workers:
        w.join()
    return sum(out) / (time.perf_counter() - t0)


def cpu_probe(repeats: int = 3, seconds: float = 0.5) -> tuple[float, float]:
    """(median of 2-thread/1-thread sha256 throughput, 1-thread MB/s); ~2.0 = both cores."""
    buf = os.urandom(MiB)
    ratios, singles = [], []
    for _ in range(repeats):
        one = _hash_rate(1, seconds, buf)
        two = _hash_rate(2, seconds, buf)
        ratios.append(two / one)
        singles.append(one / MB)
    return statistics.median(ratios), statistics.median(singles)


def print_probe(label: str) -> float:
    ratio, single = cpu_probe()
    verdict = "ok" if ratio >= 1.8 else "SECOND CORE STARVED: distrust this run"
    log(
        f"cpu scaling probe ({label}): 2 threads / 1 thread = {ratio:.2f}x "
        f"(1 thread {single:.0f} MB/s) [{verdict}]"
    )
    return ratio


def wait_quiet(max_seconds: float) -> None:
    """Re-probe every 10 s until both cores are there (probe >= 1.8) or time runs out."""
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        ratio, _ = cpu_probe()
        if ratio >= 1.8:
            return
        log(f"waiting for a quiet machine: probe {ratio:.2f}x")
        time.sleep(10)


def sha256_speed(total: int = 512 * MiB, chunk: int = MiB) -> float:
    """hashlib sha256 MB/s over `total` bytes already in memory, 1 MiB updates."""
    buf = os.urandom(chunk)
    h = hashlib.sha256()
    t0 = time.perf_counter()
    for _ in range(total // chunk):
        h.update(buf)
    return total / (time.perf_counter() - t0) / MB


def machine_notes() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = psutil.virtual_memory().total / 2**30
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    return (
        f"{os.cpu_count()} vCPU {cpu}, {mem:.0f} GiB RAM, {platform.platform()}, "
        f"Python {platform.python_version()}, {git}"
    )


# --- statistics ------------------------------------------------------------------------------


def med(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def paired(candidate: Sequence[float], reference: Sequence[float]) -> float:
    """Median over rounds of candidate/reference measured in the same round."""
    return statistics.median(c / r for c, r in zip(candidate, reference, strict=True))


def span(xs: Sequence[float], fmt: str = "{:.2f}") -> str:
    return f"{fmt.format(min(xs))}-{fmt.format(max(xs))}"


# --- process bookkeeping -------------------------------------------------------------------


class Procs:
    """Servers this benchmark started; stopped by PID (children first) at exit."""

    def __init__(self) -> None:
        self.stoppers: list[Callable[[], None]] = []
        atexit.register(self.stop_all)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    def add(self, stop: Callable[[], None]) -> None:
        self.stoppers.append(stop)

    def stop_all(self) -> None:
        while self.stoppers:
            stop = self.stoppers.pop()
            try:
                stop()
            except Exception as exc:
                log(f"warning: stopping a server failed: {exc!r}")


def stop_tree(
    proc: subprocess.Popen[bytes],
    known: Sequence[int] = (),
    sig: int = signal.SIGTERM,
    timeout: float = 20,
) -> None:
    """Signal the process, wait, then kill it and every descendant (seen now or before) by PID."""
    pids: set[int] = set(known)
    with contextlib.suppress(psutil.NoSuchProcess):
        pids.update(c.pid for c in psutil.Process(proc.pid).children(recursive=True))
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for pid in pids:
        try:
            p = psutil.Process(pid)
            p.kill()
            p.wait(5)
        except (psutil.NoSuchProcess, psutil.TimeoutExpired):
            pass


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                r.read()
                return
        except urllib.error.HTTPError:
            return  # it answers
        except (OSError, urllib.error.URLError) as exc:
            last = exc
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up: {last!r}")


def port_free(port: int) -> bool:
    return not any(
        c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN
        for c in psutil.net_connections("tcp")
    )


# --- the hub ---------------------------------------------------------------------------------


_ACCESS_LINE = re.compile(r'^\S+ "([A-Z]+) (.+) HTTP/[\d.]+" (\d{3}) \S+ (\d+)ms$', re.MULTILINE)


class Hub:
    """`hubforge serve` on its own data folder; a user with a write token."""

    def __init__(
        self, procs: Procs, scratch: Path, port: int, workers: int = 2, code: Path | None = None
    ) -> None:
        """`code`: serve another checkout of the project (e.g. a `git worktree` of an older
        commit, for a before/after comparison in the same rounds) with this venv."""
        if not port_free(port):
            raise SystemExit(f"port {port} is taken; pick another with --hub-port")
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.data = scratch / "hubdata"
        if self.data.exists():
            shutil.rmtree(self.data)
        self.data.mkdir(parents=True)
        self.env = dict(os.environ)
        self.env.update(
            HUB_DATA_DIR=str(self.data), HUB_PUBLIC_URL=self.url, HUB_LOG_LEVEL="WARNING"
        )
        for key in ("HUB_DATABASE_URL", "HUB_REDIS_URL", "HUB_ELASTICSEARCH_URL", "HUB_S3_BUCKET"):
            self.env.pop(key, None)  # the embedded profile
        cwd = ROOT
        command = [str(VENV_BIN / "hubforge")]
        if code is not None:
            cwd = code.resolve()
            self.env["PYTHONPATH"] = str(cwd)  # ahead of the editable install's path
            command = [str(VENV_BIN / "python"), "-m", "hub.cli"]
        self.log_path = scratch / "hub.log"
        self.log_file = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                *command,
                "serve",
                "--host",
                HOST,
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=self.env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            cwd=cwd,
        )
        self._seen: set[int] = set()
        procs.add(self.stop)
        wait_http(f"{self.url}/api/health", timeout=120)
        self._seen.update(p.pid for p in psutil.Process(self.proc.pid).children(recursive=True))
        self.user = "bench"
        out = subprocess.run(
            [
                *command,
                "adduser",
                self.user,
                "--password",
                "bench-pass-1234",
                "--token",
                "write",
            ],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
            cwd=cwd,
        )
        self.token = out.stdout.strip().splitlines()[-1].strip()

    def stop(self) -> None:
        with contextlib.suppress(psutil.NoSuchProcess):
            self._seen.update(p.pid for p in psutil.Process(self.proc.pid).children(recursive=True))
        stop_tree(self.proc, sorted(self._seen), timeout=40)
        self.log_file.close()

    def log_mark(self) -> int:
        """Where the server's log ends now (see `requests_since`)."""
        self.log_file.flush()
        return self.log_path.stat().st_size

    def requests_since(self, mark: int) -> list[tuple[str, str, int, int]]:
        """(method, path, status, ms) of each request in gunicorn's access log after `mark`.

        `hubforge serve` logs `%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms` (no query
        strings); each line is flushed when the response is done.
        """
        with self.log_path.open("rb") as f:
            f.seek(mark)
            raw = f.read().decode("utf-8", "replace")
        return [
            (m.group(1), m.group(2), int(m.group(3)), int(m.group(4)))
            for m in _ACCESS_LINE.finditer(raw)
        ]

    def gunicorn_master(self) -> psutil.Process:
        for p in psutil.Process(self.proc.pid).children():
            if "gunicorn" in " ".join(p.cmdline()):
                return p
        raise RuntimeError("no gunicorn master under hubforge serve")

    def workers(self) -> list[psutil.Process]:
        return self.gunicorn_master().children()

    def server_cpu(self) -> float:
        """user+sys CPU seconds of gunicorn (master, workers, and their reaped children)."""
        total = 0.0
        master = self.gunicorn_master()
        for p in [master, *master.children()]:
            try:
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
            except psutil.NoSuchProcess:
                pass
        return total

    def api(
        self,
        method: str,
        path: str,
        body: object | None = None,
        headers: dict[str, str] | None = None,
    ) -> object:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def create_repo(self, name: str) -> None:
        self.api("POST", "/api/repos/create", {"name": name, "type": "model"})

    def repo_dir(self) -> Path:
        """The bare repo on disk (each benchmark creates one repo per data folder)."""
        dirs = sorted((self.data / "git").glob("??/*.git"))
        if len(dirs) != 1:
            raise RuntimeError(f"expected one repo under {self.data / 'git'}, found {dirs}")
        return dirs[0]


# --- nginx -----------------------------------------------------------------------------------


class Nginx:
    """nginx in the foreground (daemon off) with a generated config, 2 workers, as root."""

    def __init__(self, procs: Procs, prefix: Path, port: int, server_block: str) -> None:
        if shutil.which("nginx") is None:
            raise FileNotFoundError("nginx")
        if not port_free(port):
            raise SystemExit(f"port {port} is taken")
        prefix.mkdir(parents=True, exist_ok=True)
        (prefix / "logs").mkdir(exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(f"""
user root root;
worker_processes 2;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 30;
    client_max_body_size 0;
    client_body_temp_path {prefix}/body;
    fastcgi_temp_path {prefix}/fastcgi;
    proxy_temp_path {prefix}/proxy;
    scgi_temp_path {prefix}/scgi;
    uwsgi_temp_path {prefix}/uwsgi;
    types {{ application/octet-stream bin; }}
    default_type application/octet-stream;
    server {{
        listen {HOST}:{port};
{server_block}
    }}
}}
""")
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.proc = subprocess.Popen(
            ["nginx", "-p", str(prefix), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=(prefix / "logs" / "stderr.log").open("wb"),
        )
        procs.add(lambda: stop_tree(self.proc, sig=signal.SIGQUIT))
        deadline = time.monotonic() + 20
        while port_free(port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    "nginx did not start: " + (prefix / "logs" / "stderr.log").read_text()
                )
            time.sleep(0.1)

    def processes(self) -> list[psutil.Process]:
        p = psutil.Process(self.proc.pid)
        return [p, *p.children(recursive=True)]


def ensure_nginx(with_fcgiwrap: bool) -> str:
    """Install nginx-light (and fcgiwrap) from Debian if missing; '' on success, else why not."""
    need = [] if shutil.which("nginx") else ["nginx-light"]
    if with_fcgiwrap and not shutil.which("fcgiwrap") and not Path("/usr/sbin/fcgiwrap").exists():
        need.append("fcgiwrap")
    if not need:
        return ""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", RUNLEVEL="1")
    r = subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", *need],
        env=env,
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        return f"apt-get install {' '.join(need)} failed: {r.stderr.strip()[-300:]}"
    return ""
