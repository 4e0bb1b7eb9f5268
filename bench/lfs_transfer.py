"""Git LFS transfer of a 1 GiB random object through the hub, against the machine's limits.

One run, round-robin. Each round:
  - upload through the hub: batch API (upload), PUT the object to the signed href with curl,
    verify; the stored object is deleted (untimed) before each upload so every round writes;
  - in-process hashlib sha256 speed over 512 MiB in memory (the upload's reference);
  - download through the hub (batch API, then GET the href with curl) and the same file
    (a hard link to the stored object) from nginx with sendfile; the order alternates;
  - `hf_hub_download` of the same object committed as `model.safetensors` (the real
    huggingface_hub client in a fresh interpreter, HF_ENDPOINT at the hub, HF_HUB_DISABLE_XET=1,
    a fresh cache dir each round: HEAD on /resolve, then GET, written into the cache), against
    `curl` of the file from nginx to /dev/null (the issue's reference) and to a file beside the
    cache (the same disk write), and the same client against nginx serving the file at the
    same /resolve path (a control: what the client reaches against nginx).
MB/s = 10^6 bytes/s. Peak RSS growth of the gunicorn worker processes is sampled with psutil
every 50 ms during each transfer (growth over the RSS each worker had just before it).
Targets: download >= 70% of nginx, upload >= 70% of sha256 speed, memory growth < 64 MiB,
hf_hub_download >= 70% of curl from nginx.

    .venv/bin/python bench/lfs_transfer.py [--rounds 5] [--scratch /tmp/hubforge-bench-lfs]
        [--no-hf]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import resource
import shutil
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import psutil
from _common import (
    MB,
    ROOT,
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
TARGET_HF = 0.70
HF_FILE = "model.safetensors"
RUNNER = Path(__file__).resolve().parent / "_hf_runner.py"
NGINX_COMMIT = "c0ffee" + "0" * 34  # nginx's stand-in commit for the control


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


def commit_lfs_file(hub: Hub, repo: str, oid: str) -> str:
    """Commit the uploaded object as HF_FILE through the commit API; returns the commit."""
    lines = [
        {"key": "header", "value": {"summary": "weights"}},
        {"key": "lfsFile", "value": {"path": HF_FILE, "algo": "sha256", "oid": oid, "size": SIZE}},
    ]
    req = urllib.request.Request(
        f"{hub.url}/api/models/{hub.user}/{repo}/commit/main",
        data="\n".join(json.dumps(x) for x in lines).encode(),
        method="POST",
    )
    req.add_header("Authorization", f"Bearer {hub.token}")
    req.add_header("Content-Type", "application/x-ndjson")
    with urllib.request.urlopen(req, timeout=60) as r:
        return str(json.loads(r.read())["commitOid"])


def hf_hub_download(endpoint: str, token: str, repo_id: str, cache: Path) -> dict:
    """The real client in a fresh interpreter (_hf_runner.py): wall seconds of the call."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_"))}
    env.update(
        HF_ENDPOINT=endpoint,
        HF_TOKEN=token,
        HF_HUB_DISABLE_XET="1",
        HF_HUB_ENABLE_HF_TRANSFER="0",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HOME=str(cache.parent / "hf-home"),
    )
    shutil.rmtree(cache, ignore_errors=True)
    args = {"op": "hf_hub_download", "repo": repo_id, "filename": HF_FILE, "cache_dir": str(cache)}
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), str(RUNNER), json.dumps(args)],
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"hf_hub_download from {endpoint}: {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if out["size"] != SIZE:
        raise RuntimeError(f"hf_hub_download wrote {out['size']} bytes")
    shutil.rmtree(cache, ignore_errors=True)
    return out


def children_cpu() -> float:
    """user+sys CPU seconds of this process's waited-for children (curl) so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


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
    ap.add_argument("--no-hf", action="store_true", help="leave out the hf_hub_download rows")
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
        f"""        location /files/ {{ alias {www}/; }}
        # The control for hf_hub_download: the same file at the hub's /resolve path, with
        # the metadata headers huggingface_hub needs (X-Repo-Commit; sha256 as the etag).
        location = /bench/bench-lfs/resolve/main/{HF_FILE} {{
            alias {www}/1g.bin;
            add_header X-Repo-Commit {NGINX_COMMIT};
            add_header X-Linked-Etag "{oid}";
            add_header X-Linked-Size {SIZE};
        }}""",
    )
    log(
        f"hub: hubforge serve --workers 2 (gunicorn gthread, 8 threads) on port {args.hub_port}"
        f"; nginx-light (sendfile on, 2 workers) on port {args.nginx_port}; client: curl"
    )
    client = LfsClient(hub, "bench-lfs")
    stored = hub.data / "lfs" / oid[:2] / oid[2:4] / oid
    served = www / "1g.bin"

    keys = ("up", "sha", "down", "nginx", "hf", "hf_nginx", "curl_disk")
    res: dict[str, list[float]] = {k: [] for k in keys}
    mem: dict[str, list[int]] = {"up": [], "down": []}
    mem_abs: dict[str, list[int]] = {"up": [], "down": []}
    cpu: dict[str, list[float]] = {"up": [], "down": [], "hf": []}

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

    def hf_download(endpoint: str, key: str) -> None:
        with RssSampler(hub.workers()) as s:
            c0 = hub.server_cpu()
            out = hf_hub_download(
                endpoint, hub.token, f"{hub.user}/bench-lfs", scratch / "hf-cache"
            )
            if key == "hf":
                cpu["hf"].append(hub.server_cpu() - c0)
        res[key].append(SIZE / out["seconds"] / MB)
        client_cpu[key].append(out["cpu"])
        if key == "hf":
            mem["down"].append(s.peak_total)
            mem_abs["down"].append(s.peak_abs)
            requests.append(out["requests"])

    def curl_to_disk() -> None:
        target = scratch / "curl-out.bin"  # beside hf_hub_download's cache, same filesystem
        c0 = children_cpu()
        t = time.perf_counter()
        curl(["-o", str(target), f"{nginx.url}/files/1g.bin"])
        res["curl_disk"].append(SIZE / (time.perf_counter() - t) / MB)
        client_cpu["curl_disk"].append(children_cpu() - c0)
        target.unlink()

    requests: list[dict[str, int]] = []
    client_cpu: dict[str, list[float]] = {"hf": [], "hf_nginx": [], "curl_disk": []}
    hf_steps = [] if args.no_hf else [
        lambda: hf_download(hub.url, "hf"),
        lambda: hf_download(nginx.url, "hf_nginx"),
        curl_to_disk,
    ]  # fmt: skip

    # Warm-up: one upload, one download each, not recorded.
    upload()
    if not args.no_hf:
        commit = commit_lfs_file(hub, "bench-lfs", oid)
        log(f"{HF_FILE} committed as {commit[:12]}; hf_hub_download through _hf_runner.py")
    hub_download()
    nginx_download()
    for step in hf_steps:
        step()
    requests.clear()
    for v in client_cpu.values():
        v.clear()
    for v in (*res.values(), *mem.values(), *mem_abs.values(), *cpu.values()):
        v.clear()
    for r in range(args.rounds):
        upload()
        res["sha"].append(sha256_speed())
        steps = [hub_download, nginx_download, *hf_steps]
        for step in steps if r % 2 == 0 else reversed(steps):
            step()
        log(
            f"  round {r + 1}: upload {res['up'][-1]:.0f} MB/s (sha256 {res['sha'][-1]:.0f}), "
            f"download hub {res['down'][-1]:.0f} / nginx {res['nginx'][-1]:.0f} MB/s; "
            f"RSS growth up {mem['up'][-1] / MiB:.1f} MiB, down {mem['down'][-1] / MiB:.1f} MiB;"
            f" server CPU up {cpu['up'][-1]:.2f} s, down {cpu['down'][-1]:.2f} s"
            + (
                ""
                if args.no_hf
                else f"; hf_hub_download hub {res['hf'][-1]:.0f} / nginx "
                f"{res['hf_nginx'][-1]:.0f} MB/s, curl to disk {res['curl_disk'][-1]:.0f} MB/s"
            )
            + f"; load {os.getloadavg()[0]:.1f}"
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
        ("hf", "hf_hub_download from the hub"),
        ("hf_nginx", "hf_hub_download from nginx"),
        ("curl_disk", "curl from nginx to a file"),
    ):
        if res[key]:
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
    if not args.no_hf:
        hf_ratio = paired(res["hf"], res["nginx"])
        log(
            f"hf_hub_download / curl from nginx  paired {hf_ratio:.2f}x (target >= "
            f"{TARGET_HF:.2f}): {ok[hf_ratio >= TARGET_HF]}"
        )
        log(
            f"hf_hub_download / curl from nginx to a file  paired "
            f"{paired(res['hf'], res['curl_disk']):.2f}x; hf_hub_download hub / nginx (same "
            f"client) paired {paired(res['hf'], res['hf_nginx']):.2f}x; hub CPU per "
            f"hf_hub_download {med(cpu['hf']):.2f} s"
        )
        log(
            f"client CPU per GiB: hf_hub_download from the hub {med(client_cpu['hf']):.2f} s, "
            f"from nginx {med(client_cpu['hf_nginx']):.2f} s; curl to a file "
            f"{med(client_cpu['curl_disk']):.2f} s"
        )
        log(f"hf_hub_download requests (client-side, last round): {requests[-1]}")
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
    log(f"load average at the end {os.getloadavg()}")
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
