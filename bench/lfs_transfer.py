"""Git LFS transfer of a 1 GiB random object through the hub, against the machine's limits.

One run, round-robin. Each round:
  - upload through the hub: batch API (upload), PUT the object to the signed href with curl,
    verify; the stored object is deleted (untimed) before each upload so every round writes;
  - in-process hashlib sha256 speed over 512 MiB in memory (the upload's reference);
  - download through the hub (batch API, then GET the href with curl) and the same file
    (a hard link to the stored object) from nginx with sendfile; the order alternates.
MB/s = 10^6 bytes/s. Peak RSS growth of the gunicorn worker processes is sampled with psutil
every 50 ms during each transfer (growth over the RSS each worker had just before it).
Targets: download >= 70% of nginx, upload >= 70% of sha256 speed, memory growth < 64 MiB.

    .venv/bin/python bench/lfs_transfer.py [--rounds 5] [--scratch /tmp/hubforge-bench-lfs]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import psutil
from _common import (
    MB,
    Hub,
    MiB,
    Nginx,
    Procs,
    ensure_nginx,
    log,
    machine_notes,
    med,
    paired,
    print_probe,
    sha256_speed,
    span,
    wait_quiet,
)

SIZE = 2**30
LFS_JSON = "application/vnd.git-lfs+json"
TARGET_DOWN = 0.70
TARGET_UP = 0.70
TARGET_MEM = 64 * MiB


class RssSampler:
    """Peak RSS growth of a set of processes, sampled every 50 ms in a thread."""

    def __init__(self, procs: list[psutil.Process]) -> None:
        self.procs = procs
        self.base = {p.pid: self._rss(p) for p in procs}
        self.peak_total = 0
        self.peak_one = 0
        self.peak_abs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss(p: psutil.Process) -> int:
        try:
            return int(p.memory_info().rss)
        except psutil.NoSuchProcess:
            return 0

    def _sample(self) -> None:
        growth = []
        for p in self.procs:
            rss = self._rss(p)
            self.peak_abs = max(self.peak_abs, rss)
            growth.append(rss - self.base[p.pid])
        self.peak_total = max(self.peak_total, sum(g for g in growth if g > 0))
        self.peak_one = max(self.peak_one, *growth)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self._sample()

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def make_object(path: Path) -> str:
    """1 GiB of random bytes in tmpfs (cached while its size is right); returns its sha256."""
    digest = hashlib.sha256()
    if path.exists() and path.stat().st_size == SIZE:
        with path.open("rb") as f:
            while chunk := f.read(8 * MiB):
                digest.update(chunk)
        return digest.hexdigest()
    with path.open("wb") as f:
        for _ in range(SIZE // (64 * MiB)):
            chunk = os.urandom(64 * MiB)
            digest.update(chunk)
            f.write(chunk)
    return digest.hexdigest()


class LfsClient:
    def __init__(self, hub: Hub, repo: str) -> None:
        self.hub = hub
        self.base = f"{hub.url}/{hub.user}/{repo}.git/info/lfs"
        self.auth = "Basic " + base64.b64encode(f"x:{hub.token}".encode()).decode()

    def batch(self, operation: str, oid: str) -> dict:
        body = {
            "operation": operation,
            "transfers": ["basic"],
            "hash_algo": "sha256",
            "objects": [{"oid": oid, "size": SIZE}],
        }
        req = urllib.request.Request(
            f"{self.base}/objects/batch", data=json.dumps(body).encode(), method="POST"
        )
        req.add_header("Authorization", self.auth)
        req.add_header("Accept", LFS_JSON)
        req.add_header("Content-Type", LFS_JSON)
        with urllib.request.urlopen(req, timeout=60) as r:
            obj = json.loads(r.read())["objects"][0]
        if "error" in obj:
            raise RuntimeError(f"batch {operation}: {obj['error']}")
        return obj

    def verify(self, action: dict, oid: str) -> None:
        req = urllib.request.Request(
            action["href"], method="POST", data=json.dumps({"oid": oid, "size": SIZE}).encode()
        )
        req.add_header("Content-Type", LFS_JSON)
        req.add_header("Accept", LFS_JSON)
        with urllib.request.urlopen(req, timeout=60) as r:
            r.read()


def curl(args: list[str]) -> None:
    r = subprocess.run(
        ["curl", "-s", "-S", "-f", "--noproxy", "*", *args], capture_output=True, text=True
    )
    if r.returncode != 0:
        raise RuntimeError(f"curl {' '.join(a for a in args if '?t=' not in a)}: {r.stderr}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--scratch", type=Path, default=Path("/tmp/hubforge-bench-lfs"))
    ap.add_argument(
        "--source",
        type=Path,
        default=Path("/dev/shm/hubforge-bench-lfs-1g.bin"),
        help="where the 1 GiB upload source lives (tmpfs, as in PERF-BASELINES)",
    )
    ap.add_argument("--hub-port", type=int, default=8112)
    ap.add_argument("--nginx-port", type=int, default=8122)
    ap.add_argument("--keep-source", action="store_true")
    ap.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="first wait up to this long for the CPU probe to read >= 1.8",
    )
    args = ap.parse_args()
    scratch: Path = args.scratch
    scratch.mkdir(parents=True, exist_ok=True)
    log(f"lfs_transfer.py  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\nmachine: {machine_notes()}")
    if args.wait_quiet:
        wait_quiet(args.wait_quiet)
    probe_start = print_probe("start")

    why = ensure_nginx(with_fcgiwrap=False)
    if why:
        raise SystemExit(f"nginx is needed for the download reference: {why}")
    t0 = time.perf_counter()
    oid = make_object(args.source)
    log(
        f"object: 1 GiB random, oid {oid[:12]}..., source {args.source} "
        f"({time.perf_counter() - t0:.1f} s to prepare)"
    )

    procs = Procs()
    if not args.keep_source:
        procs.add(lambda: args.source.unlink(missing_ok=True))
    hub = Hub(procs, scratch, args.hub_port)
    hub.create_repo("bench-lfs")
    www = scratch / "www"
    www.mkdir(exist_ok=True)
    nginx = Nginx(
        procs,
        scratch / "nginx-lfs",
        args.nginx_port,
        f"        location /files/ {{ alias {www}/; }}",
    )
    log(
        f"hub: hubforge serve --workers 2 (gunicorn gthread, 8 threads) on port {args.hub_port}"
        f"; nginx-light (sendfile on, 2 workers) on port {args.nginx_port}; client: curl"
    )
    client = LfsClient(hub, "bench-lfs")
    stored = hub.data / "lfs" / oid[:2] / oid[2:4] / oid
    served = www / "1g.bin"

    res: dict[str, list[float]] = {k: [] for k in ("up", "sha", "down", "nginx")}
    mem: dict[str, list[int]] = {"up": [], "down": []}
    mem_abs: dict[str, list[int]] = {"up": [], "down": []}
    cpu: dict[str, list[float]] = {"up": [], "down": []}

    def upload() -> None:
        stored.unlink(missing_ok=True)
        subprocess.run(["sync"], check=False)
        with RssSampler(hub.workers()) as s:
            c0 = hub.server_cpu()
            t = time.perf_counter()
            obj = client.batch("upload", oid)
            curl(
                [
                    "-T",
                    str(args.source),
                    "-H",
                    "Expect:",
                    "-H",
                    "Content-Type: application/octet-stream",
                    "-o",
                    os.devnull,
                    obj["actions"]["upload"]["href"],
                ]
            )
            client.verify(obj["actions"]["verify"], oid)
            res["up"].append(SIZE / (time.perf_counter() - t) / MB)
            cpu["up"].append(hub.server_cpu() - c0)
        mem["up"].append(s.peak_total)
        mem_abs["up"].append(s.peak_abs)
        assert stored.stat().st_size == SIZE
        served.unlink(missing_ok=True)
        os.link(stored, served)  # nginx serves the very same inode

    def hub_download() -> None:
        with RssSampler(hub.workers()) as s:
            c0 = hub.server_cpu()
            t = time.perf_counter()
            obj = client.batch("download", oid)
            curl(["-o", os.devnull, obj["actions"]["download"]["href"]])
            res["down"].append(SIZE / (time.perf_counter() - t) / MB)
            cpu["down"].append(hub.server_cpu() - c0)
        mem["down"].append(s.peak_total)
        mem_abs["down"].append(s.peak_abs)

    def nginx_download() -> None:
        t = time.perf_counter()
        curl(["-o", os.devnull, f"{nginx.url}/files/1g.bin"])
        res["nginx"].append(SIZE / (time.perf_counter() - t) / MB)

    # Warm-up: one upload, one download each, not recorded.
    upload()
    hub_download()
    nginx_download()
    for v in (*res.values(), *mem.values(), *mem_abs.values(), *cpu.values()):
        v.clear()
    for r in range(args.rounds):
        upload()
        res["sha"].append(sha256_speed())
        if r % 2 == 0:
            hub_download()
            nginx_download()
        else:
            nginx_download()
            hub_download()
        log(
            f"  round {r + 1}: upload {res['up'][-1]:.0f} MB/s (sha256 {res['sha'][-1]:.0f}), "
            f"download hub {res['down'][-1]:.0f} / nginx {res['nginx'][-1]:.0f} MB/s; "
            f"RSS growth up {mem['up'][-1] / MiB:.1f} MiB, down {mem['down'][-1] / MiB:.1f} MiB;"
            f" server CPU up {cpu['up'][-1]:.2f} s, down {cpu['down'][-1]:.2f} s"
        )
    probe_end = print_probe("end")

    up_ratio = paired(res["up"], res["sha"])
    down_ratio = paired(res["down"], res["nginx"])
    mem_peak = max(max(mem["up"]), max(mem["down"]))
    log("")
    log(f"{'':34} {'median MB/s':>12} {'min-max':>12}")
    for key, label in (
        ("up", "hub LFS upload (batch+PUT+verify)"),
        ("sha", "hashlib sha256, in memory"),
        ("down", "hub LFS download (batch+GET)"),
        ("nginx", "nginx sendfile GET"),
    ):
        log(f"{label:34} {med(res[key]):12.0f} {span(res[key], '{:.0f}'):>12}")
    log("")
    ok = {True: "met", False: "NOT MET"}
    log(
        f"upload / sha256   paired {up_ratio:.2f}x (target >= {TARGET_UP:.2f}): "
        f"{ok[up_ratio >= TARGET_UP]}"
    )
    log(
        f"download / nginx  paired {down_ratio:.2f}x (target >= {TARGET_DOWN:.2f}): "
        f"{ok[down_ratio >= TARGET_DOWN]}"
    )
    log(
        f"gunicorn workers' RSS growth, peak over rounds: upload {max(mem['up']) / MiB:.1f} MiB,"
        f" download {max(mem['down']) / MiB:.1f} MiB (target < 64 MiB): "
        f"{ok[mem_peak < TARGET_MEM]}; largest worker RSS seen "
        f"{max(max(mem_abs['up']), max(mem_abs['down'])) / MiB:.0f} MiB"
    )
    log(
        f"hub server CPU per GiB (gunicorn incl. children): upload {med(cpu['up']):.2f} s, "
        f"download {med(cpu['down']):.2f} s"
    )
    log(
        f"probe start {probe_start:.2f}x, end {probe_end:.2f}x; "
        + (
            "both >= 1.8: trustworthy"
            if min(probe_start, probe_end) >= 1.8
            else "a probe < 1.8: the second core was starved at times, distrust"
        )
    )
    procs.stop_all()


if __name__ == "__main__":
    main()
