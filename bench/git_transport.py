"""Git smart HTTP: the hub against C git's `git http-backend` behind nginx + fcgiwrap.

One run, round-robin: every round runs each operation once against each server (the order of
the servers alternates between rounds), so slow drifts of this noisy machine hit both alike.
Operations: first push of the whole history into a fresh repo, `git clone --bare`, full
`git clone`, push of 200 new commits (server repo reset to the template before each push).
Prints medians, min-max and the paired ratio hub / C git (median over rounds of the per-round
ratio). The push of 200 commits runs --push-reps times per round and server (median).
Target: hub within 1.3x of C git. `--baseline DIR` also serves DIR (another checkout, e.g.
`git archive <commit> | tar -x -C DIR`) on --hub-port + 1 in the same rounds, and prints
the paired ratio hub / baseline, for a before/after comparison of a change.

    .venv/bin/python bench/git_transport.py [--rounds 7] [--scratch /tmp/hubforge-bench-git]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from _common import (
    HOST,
    MB,
    Hub,
    Nginx,
    Procs,
    ensure_nginx,
    log,
    machine_notes,
    med,
    paired,
    print_probe,
    span,
    stop_tree,
    wait_http,
    wait_quiet,
)

GEN_VERSION = "v1"
N_COMMITS = 2000
N_FILES = 5000
N_NOTES = 200  # small files, rewritten one per commit (history without big blobs)
PUSH_COMMITS = 200
TARGET = 1.3
BACKEND = "/usr/lib/git-core/git-http-backend"


# --- the generated repository (cached) ------------------------------------------------------


def _path(k: int) -> str:
    ext = "dat" if k % 3 == 2 else "txt"
    return f"d{k % 50:02d}/s{(k // 50) % 10}/f{k:04d}.{ext}"


def _content(rng: random.Random, k: int, size: int) -> bytes:
    if k % 3 == 2:
        return rng.randbytes(size)  # binary, incompressible
    raw = rng.randbytes(size // 2).hex().encode()  # text, compresses to ~55 %
    return b"\n".join(raw[i : i + 79] for i in range(0, len(raw), 79)) + b"\n"


def _blob(out: list[bytes], path: str, data: bytes) -> None:
    out.append(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data))


def _commit(out: list[bytes], ref: str, i: int, msg: str, parent: str | None) -> None:
    stamp = 1_700_000_000 + i * 97
    who = b"Bench <bench@example.invalid> %d +0000\n" % stamp
    m = msg.encode()
    out.append(
        b"commit %s\nauthor %scommitter %sdata %d\n%s\n" % (ref.encode(), who, who, len(m), m)
    )
    if parent:
        out.append(b"from %s\n" % parent.encode())


def _fast_import(git_dir: Path, chunks: Iterable[bytes], env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        ["git", "--git-dir", str(git_dir), "fast-import", "--quiet"], stdin=subprocess.PIPE, env=env
    )
    assert proc.stdin is not None
    for c in chunks:
        proc.stdin.write(c)
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")


def generate(gen: Path, env: dict[str, str]) -> tuple[Path, Path, str]:
    """template.git (the history) and pushsrc.git (template + 200 commits); cached in `gen`."""
    template, pushsrc, done = gen / "template.git", gen / "pushsrc.git", gen / "done"
    if done.exists():
        return template, pushsrc, done.read_text()
    if gen.exists():
        shutil.rmtree(gen)
    gen.mkdir(parents=True)
    t0 = time.perf_counter()
    rng = random.Random(20261125)
    subprocess.run(
        ["git", "init", "-q", "--bare", "-b", "main", str(template)], check=True, env=env
    )

    def history() -> Iterator[bytes]:
        added = 0
        for i in range(N_COMMITS):
            out: list[bytes] = []
            _commit(out, "refs/heads/main", i, f"commit {i}\n", None)
            upto = (i + 1) * N_FILES // N_COMMITS
            while added < upto:
                k = added
                size = rng.randint(600, 1400) if k < N_NOTES else rng.randint(4_000, 38_000)
                _blob(out, _path(k), _content(rng, k if k >= N_NOTES else 0, size))
                added += 1
            if i > 0:
                k = rng.randrange(min(added, N_NOTES))
                _blob(out, _path(k), _content(rng, 0, rng.randint(600, 1400)))
            yield b"".join(out)

    _fast_import(template, history(), env)
    subprocess.run(
        ["git", "--git-dir", str(template), "repack", "-a", "-d", "-q", "--write-bitmap-index"],
        check=True,
        env=env,
    )
    tip = _rev(template, "main", env)

    subprocess.run(
        ["git", "clone", "-q", "--bare", str(template), str(pushsrc)], check=True, env=env
    )
    out = []
    for j in range(PUSH_COMMITS):
        _commit(out, "refs/heads/main", N_COMMITS + j, f"new commit {j}\n", tip if j == 0 else None)
        for k in rng.sample(range(N_NOTES, N_FILES), 2):
            _blob(out, _path(k), _content(rng, 0, rng.randint(2_000, 8_000)))
    _fast_import(pushsrc, [b"".join(out)], env)

    size = sum(
        int(line.split()[3])
        for line in subprocess.run(
            ["git", "--git-dir", str(template), "ls-tree", "-r", "-l", "main"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout.splitlines()
    )
    files = int(
        subprocess.run(
            f"git --git-dir {template} ls-tree -r main | wc -l",
            shell=True,
            capture_output=True,
            text=True,
            env=env,
        ).stdout
    )
    commits = int(_git_out(template, ["rev-list", "--count", "main"], env))
    objects = _git_out(template, ["count-objects", "-v"], env).split("\n")
    pack_kib = next(int(x.split()[1]) for x in objects if x.startswith("size-pack"))
    n_obj = next(int(x.split()[1]) for x in objects if x.startswith("in-pack"))
    new_objs = int(
        subprocess.run(
            f"git --git-dir {pushsrc} rev-list --objects {tip}..main | wc -l",
            shell=True,
            capture_output=True,
            text=True,
            env=env,
        ).stdout
    )
    desc = (
        f"{commits} commits, {files} files, checkout {size / MB:.1f} MB, {n_obj} objects, "
        f"pack {pack_kib * 1024 / MB:.1f} MB with bitmap; push set: {PUSH_COMMITS} commits, "
        f"{new_objs} objects (generated in {time.perf_counter() - t0:.0f} s)"
    )
    done.write_text(desc)
    return template, pushsrc, desc


def _git_out(git_dir: Path, args: list[str], env: dict[str, str]) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.strip()


def _rev(git_dir: Path, rev: str, env: dict[str, str]) -> str:
    return _git_out(git_dir, ["rev-parse", rev], env)


# --- servers ---------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    url: str  # clone/push URL
    repo: Path  # the bare repo on disk
    cpu: object = None  # callable -> server CPU seconds, or None
    snaps: dict[str, Path] = field(default_factory=dict)
    results: dict[str, list[float]] = field(default_factory=dict)
    cpu_results: dict[str, list[float]] = field(default_factory=dict)

    def snapshot(self, label: str, scratch: Path) -> None:
        dest = scratch / f"snap-{self.name}-{label}"
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir()
        for part in ("objects", "refs", "packed-refs"):
            src = self.repo / part
            if src.is_dir():
                shutil.copytree(src, dest / part, symlinks=True)
            elif src.exists():
                shutil.copy2(src, dest / part)
        self.snaps[label] = dest

    def reset(self, label: str) -> None:
        snap = self.snaps[label]
        for part in ("objects", "refs", "packed-refs"):
            target = self.repo / part
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            src = snap / part
            if part == "objects" and src.exists():
                # hard links: git never rewrites an object or pack file in place
                subprocess.run(["cp", "-al", str(src), str(target)], check=True)
            elif src.is_dir():
                shutil.copytree(src, target, symlinks=True)
            elif src.exists():
                shutil.copy2(src, target)


def start_cgit(procs: Procs, scratch: Path, port: int) -> tuple[Server, str]:
    root = scratch / "cgit-root"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    repo = root / "bench-git.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(repo)], check=True)
    for k, v in (
        ("http.receivepack", "true"),
        ("gc.auto", "0"),
        ("core.logAllRefUpdates", "false"),
    ):
        subprocess.run(["git", "--git-dir", str(repo), "config", k, v], check=True)
    why = ensure_nginx(with_fcgiwrap=True)
    if not why:
        sock = scratch / "fcgiwrap.sock"
        sock.unlink(missing_ok=True)
        fcgi = subprocess.Popen(
            ["fcgiwrap", "-c", "4", "-s", f"unix:{sock}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        kids: set[int] = set()

        def stop_fcgi() -> None:
            with contextlib.suppress(psutil.NoSuchProcess):
                kids.update(c.pid for c in psutil.Process(fcgi.pid).children(recursive=True))
            stop_tree(fcgi, sorted(kids))  # pre-forked children outlive their parent

        procs.add(stop_fcgi)
        deadline = time.monotonic() + 10
        while not sock.exists():
            if time.monotonic() > deadline or fcgi.poll() is not None:
                raise RuntimeError("fcgiwrap did not start")
            time.sleep(0.05)
        time.sleep(0.2)
        kids.update(c.pid for c in psutil.Process(fcgi.pid).children(recursive=True))
        block = f"""
        location ~ ^/git(/.*)$ {{
            fastcgi_param QUERY_STRING $query_string;
            fastcgi_param REQUEST_METHOD $request_method;
            fastcgi_param CONTENT_TYPE $content_type;
            fastcgi_param CONTENT_LENGTH $content_length;
            fastcgi_param REMOTE_ADDR $remote_addr;
            fastcgi_param SERVER_PROTOCOL $server_protocol;
            fastcgi_param GATEWAY_INTERFACE CGI/1.1;
            fastcgi_param SCRIPT_FILENAME {BACKEND};
            fastcgi_param GIT_PROJECT_ROOT {root};
            fastcgi_param GIT_HTTP_EXPORT_ALL 1;
            fastcgi_param PATH_INFO $1;
            fastcgi_param REMOTE_USER bench;
            fastcgi_param GIT_PROTOCOL $http_git_protocol;
            fastcgi_buffering off;
            fastcgi_read_timeout 600s;
            fastcgi_pass unix:{sock};
        }}"""
        nginx = Nginx(procs, scratch / "nginx-git", port, block)

        def cpu() -> float:
            total = 0.0
            for p in [*nginx.processes(), fcgi_proc, *fcgi_proc.children()]:
                try:
                    t = p.cpu_times()
                    total += t.user + t.system + t.children_user + t.children_system
                except psutil.NoSuchProcess:
                    pass
            return total

        fcgi_proc = psutil.Process(fcgi.pid)
        how = "nginx-light + fcgiwrap (-c 4) + git http-backend (fastcgi_buffering off)"
        return Server("cgit", f"{nginx.url}/git/bench-git.git", repo, cpu), how
    # Fallback: a minimal Python CGI bridge.
    bridge = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "_cgi_bridge.py"), str(port), str(root)]
    )
    procs.add(lambda: stop_tree(bridge))
    wait_http(f"http://{HOST}:{port}/git/")
    how = f"Python CGI bridge (bench/_cgi_bridge.py) + git http-backend; nginx not used: {why}"
    return Server("cgit", f"http://{HOST}:{port}/git/bench-git.git", repo), how


# --- measuring -------------------------------------------------------------------------------


def timed(cmd: list[str], env: dict[str, str], server: Server) -> tuple[float, float]:
    """(wall seconds, server CPU seconds or nan)."""
    cpu0 = server.cpu() if server.cpu else float("nan")  # type: ignore[operator]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed against {server.name}: {r.stderr[-2000:]}")
    time.sleep(0.05)  # let the server reap its git child before reading its CPU
    cpu1 = server.cpu() if server.cpu else float("nan")  # type: ignore[operator]
    return wall, cpu1 - cpu0


def client_rusage() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_round(
    servers: list[Server],
    pushsrc: Path,
    work: Path,
    env: dict[str, str],
    record: bool,
    push_reps: int = 1,
) -> None:
    for s in servers:
        ops = []
        s.reset("empty")
        ops.append(
            (
                "first push (whole history)",
                [
                    "git",
                    "--git-dir",
                    str(pushsrc),
                    "push",
                    "-q",
                    "--force",
                    s.url,
                    "template:refs/heads/main",
                ],
            )
        )
        ops.append(
            (
                "clone --bare",
                ["git", "clone", "-q", "--bare", s.url, str(work / f"{s.name}-bare.git")],
            )
        )
        ops.append(("full clone", ["git", "clone", "-q", s.url, str(work / f"{s.name}-full")]))
        ops.append(
            (
                "push 200 commits",
                ["git", "--git-dir", str(pushsrc), "push", "-q", s.url, "main:refs/heads/main"],
            )
        )
        for label, cmd in ops:
            walls, cpus = [], []
            # A push takes ~0.1 s, so one sample is at the mercy of noise: take the median of a few.
            for _ in range(push_reps if label == "push 200 commits" else 1):
                if label == "push 200 commits":
                    s.reset("template")
                subprocess.run(["sync"], check=False)
                wall, cpu = timed(cmd, env, s)
                walls.append(wall)
                cpus.append(cpu)
            if record:
                s.results.setdefault(label, []).append(med(walls))
                s.cpu_results.setdefault(label, []).append(med(cpus))
            for leftover in work.iterdir():
                shutil.rmtree(leftover)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--scratch", type=Path, default=Path("/tmp/hubforge-bench-git"))
    ap.add_argument("--hub-port", type=int, default=8111)
    ap.add_argument("--cgit-port", type=int, default=8121)
    ap.add_argument("--push-reps", type=int, default=3, help="pushes per round and server (median)")
    ap.add_argument("--baseline", type=Path, help="another checkout to serve on --hub-port + 1")
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
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    log(f"git_transport.py  {started}\nmachine: {machine_notes()}")
    if args.wait_quiet:
        wait_quiet(args.wait_quiet)
    probe_start = print_probe("start")

    home = scratch / "home"
    home.mkdir(exist_ok=True)
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Bench\n\temail = bench@example.invalid\n"
        "[protocol]\n\tversion = 2\n[advice]\n\tdetachedHead = false\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0", LC_ALL="C")

    template, pushsrc, desc = generate(scratch / f"gen-{GEN_VERSION}", env)
    log(f"repo: {desc}")
    tip = _rev(template, "main", env)
    subprocess.run(
        ["git", "--git-dir", str(pushsrc), "update-ref", "refs/heads/template", tip],
        check=True,
        env=env,
    )

    procs = Procs()
    hub = Hub(procs, scratch, args.hub_port)
    hub.create_repo("bench-git")
    hub_server = Server(
        "hub",
        f"http://x:{hub.token}@{HOST}:{args.hub_port}/{hub.user}/bench-git",
        hub.repo_dir(),
        hub.server_cpu,
    )
    cgit, how = start_cgit(procs, scratch, args.cgit_port)
    log(
        f"hub: hubforge serve --workers 2 (gunicorn gthread, 8 threads) on port {args.hub_port}"
        f", embedded profile with its worker\nC git: {how} on port {args.cgit_port}"
    )
    servers = [hub_server, cgit]
    base_server = None
    if args.baseline:
        (scratch / "baseline").mkdir(exist_ok=True)
        base = Hub(procs, scratch / "baseline", args.hub_port + 1, code=args.baseline)
        base.create_repo("bench-git")
        base_server = Server(
            "baseline",
            f"http://x:{base.token}@{HOST}:{args.hub_port + 1}/{base.user}/bench-git",
            base.repo_dir(),
            base.server_cpu,
        )
        servers.insert(1, base_server)
        log(f"baseline: {args.baseline} served the same way on port {args.hub_port + 1}")
    for s in servers:
        s.snapshot("empty", scratch)
    work = scratch / "work"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()

    # Warm-up (not recorded): pushes the history in, so the template snapshot can be taken.
    for s in servers:
        s.reset("empty")
        timed(
            [
                "git",
                "--git-dir",
                str(pushsrc),
                "push",
                "-q",
                "--force",
                s.url,
                "template:refs/heads/main",
            ],
            env,
            s,
        )
        s.snapshot("template", scratch)
    run_round(servers, pushsrc, work, env, record=False)
    log(f"warm-up done; {args.rounds} rounds")
    c0 = client_rusage()
    for r in range(args.rounds):
        order = servers if r % 2 == 0 else servers[::-1]
        run_round(order, pushsrc, work, env, record=True, push_reps=args.push_reps)
        log(
            f"  round {r + 1}: "
            + "; ".join(
                f"{lab} hub {hub_server.results[lab][-1]:.2f}s / C git {cgit.results[lab][-1]:.2f}s"
                for lab in hub_server.results
            )
        )
    client_cpu = client_rusage() - c0
    probe_end = print_probe("end")

    log("")
    header = (
        f"{'operation':28} {'hub median (min-max) s':>24} {'C git median (min-max) s':>26}"
        f" {'paired hub/C git':>17}  target <= {TARGET}x"
    )
    log(header)
    log("-" * len(header))
    verdicts = []
    for lab in hub_server.results:
        h, c = hub_server.results[lab], cgit.results[lab]
        ratio = paired(h, c)
        rmin = min(a / b for a, b in zip(h, c, strict=True))
        rmax = max(a / b for a, b in zip(h, c, strict=True))
        ok = "met" if ratio <= TARGET else "NOT MET"
        targeted = lab != "first push (whole history)"
        verdicts.append((lab, ratio, ok if targeted else "(no target)"))
        log(
            f"{lab:28} {med(h):8.2f} ({span(h)}) {med(c):10.2f} ({span(c)})"
            f" {ratio:10.2f}x ({rmin:.2f}-{rmax:.2f})  {ok if targeted else '-'}"
        )
    log("")
    for lab in hub_server.cpu_results:
        hc = hub_server.cpu_results[lab]
        cc = cgit.cpu_results.get(lab, [float("nan")])
        log(
            f"server CPU s, {lab:28}: hub {med(hc):.2f}  C git {med(cc):.2f}"
            " (C git: nginx + fcgiwrap only; its CGI children are not visible)"
        )
    log(f"client CPU over all recorded rounds: {client_cpu:.1f} s")
    log(
        f"probe start {probe_start:.2f}x, end {probe_end:.2f}x; "
        + (
            "both >= 1.8: trustworthy"
            if min(probe_start, probe_end) >= 1.8
            else "a probe < 1.8: the second core was starved at times, distrust"
        )
    )
    log("targets: " + "; ".join(f"{lab} {ratio:.2f}x {ok}" for lab, ratio, ok in verdicts))
    if base_server is not None:
        log("\nhub / baseline, paired (median of per-round ratios of wall seconds; < 1 = faster):")
        for lab in hub_server.results:
            h, b = hub_server.results[lab], base_server.results[lab]
            log(
                f"  {lab:28} hub {med(h):.3f} s  baseline {med(b):.3f} s  "
                f"paired {paired(h, b):.3f}x ({span([x / y for x, y in zip(h, b, strict=True)])})"
                f"  baseline / C git {paired(b, cgit.results[lab]):.2f}x"
            )
    procs.stop_all()


if __name__ == "__main__":
    main()
