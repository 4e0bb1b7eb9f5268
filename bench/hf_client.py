"""huggingface_hub against a live hub: upload_folder and snapshot_download of 1,000 small files.

Each round, on a fresh repo: `HfApi.upload_folder` of the folder, then `snapshot_download` of
the repo into a fresh cache dir (the real client, each call in a fresh interpreter through
`_hf_runner.py`, HF_HUB_DISABLE_XET=1, telemetry and progress bars off). Measured per call:
wall seconds of the call, client CPU, hub CPU (gunicorn and children), and the HTTP requests
made, counted twice: client-side by an httpx2 event hook on the client's session, server-side
from gunicorn's access log. The two counts must agree.

Target (issue 3): requests per file = the client's minimum, worked out from huggingface_hub's
source (2.4.0; see bench/README.md):
  upload_folder     validate-yaml twice if README.md is added (the folder walk and
                    create_commit each check it), preupload per 256 files
                    (_commit_api.UPLOAD_BATCH_MAX_NUM_FILES), one commit (no LFS files here);
  snapshot_download repo info at the revision (for the sha), the recursive tree listing (the
                    public Hub pages it at 1,000 entries), then per file one HEAD and one GET
                    on /resolve/<sha>/<path> (no redirect for a file served directly).
`--xet-pipeline` adds upload_folder with hf_xet enabled (huggingface_hub >= 1.20 then commits
in batches of its own choosing); its minimum is the client's batching, shown as observed.

`--baseline DIR` also serves DIR (e.g. `git worktree add /tmp/base <commit>`) on the next
port and runs the same calls against it in the same rounds (order alternating): a
before/after comparison that the machine's load hits alike.

    .venv/bin/python bench/hf_client.py [--rounds 5] [--files 1000] [--wait-quiet 300]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from _common import ROOT, Hub, Procs, log, machine_notes, med, paired, print_probe, span
from _common import wait_quiet as wait_for_quiet
from _hf_runner import kind_of

RUNNER = Path(__file__).resolve().parent / "_hf_runner.py"
PY = str(ROOT / ".venv" / "bin" / "python")
PREUPLOAD_BATCH = 256  # huggingface_hub _commit_api.UPLOAD_BATCH_MAX_NUM_FILES
HUB_TREE_PAGE = 1000  # entries per page of the public Hub's recursive tree listing
REDIRECTS = (" 301", " 302", " 303", " 307", " 308")


def make_folder(root: Path, files: int) -> Path:
    """A model-like folder: README.md with a card, config.json, and small text/json/python
    files spread over nested folders (100 B - 8 KiB, none matching an LFS pattern)."""
    folder = root / f"folder-{files}"
    done = root / f"folder-{files}.complete"
    if done.exists():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    rnd = random.Random(files)
    (folder).mkdir(parents=True)
    (folder / "README.md").write_text(
        "---\nlicense: mit\nlibrary_name: transformers\ntags:\n- bench\n---\n# Bench model\n"
    )
    (folder / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 64}))
    suffixes = (".txt", ".json", ".py", ".md", ".yaml")
    for i in range(files - 2):
        sub = folder / f"part{i % 12:02d}" / f"group{i % 5}"
        if i % 3 == 0:
            sub = sub / "deep"
        sub.mkdir(parents=True, exist_ok=True)
        size = rnd.randint(100, 8192)
        text = rnd.randbytes(size // 2 + 1).hex()[:size]
        (sub / f"file{i:04d}{suffixes[i % len(suffixes)]}").write_text(text)
    done.touch()
    return folder


def folder_files(folder: Path) -> dict[str, str]:
    """path in repo -> sha256 of the content, for every file the client would upload."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            out[p.relative_to(folder).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def minimum_requests(op: str, files: dict[str, str]) -> Counter[str]:
    """The requests huggingface_hub 2.4.0 cannot do without, for this folder (module doc)."""
    n = len(files)
    if op == "upload_folder":
        need = Counter({"POST preupload": math.ceil(n / PREUPLOAD_BATCH), "POST commit": 1})
        if "README.md" in files:
            # Checked twice: HfApi._prepare_upload_folder_additions, then create_commit.
            need["POST validate-yaml"] = 2
        return need
    # snapshot_download: every file of the repo, plus the hub's own .gitattributes
    dirs = {p.rsplit("/", 1)[0] for p in files if "/" in p}
    parents = set()
    for d in dirs:
        parts = d.split("/")
        parents.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    entries = n + 1 + len(parents)
    return Counter(
        {
            "GET repo-info": 1,
            "GET tree": math.ceil(entries / HUB_TREE_PAGE),
            "HEAD resolve": n + 1,
            "GET resolve": n + 1,
        }
    )


def without_status(counts: dict[str, int]) -> Counter[str]:
    out: Counter[str] = Counter()
    for key, value in counts.items():
        method, kind, _status = key.rsplit(" ", 2)
        out[f"{method} {kind}"] += value
    return out


class Target:
    """One hub under test and its per-operation records."""

    def __init__(self, name: str, hub: Hub) -> None:
        self.name = name
        self.hub = hub
        self.rec: dict[str, list[dict]] = {}

    def run(self, op: str, env_extra: dict[str, str], **args: object) -> dict:
        env = dict(os.environ)
        for key in list(env):
            if key.startswith(("HF_", "HUGGINGFACE_")):
                env.pop(key)
        env.update(
            HF_ENDPOINT=self.hub.url,
            HF_TOKEN=self.hub.token,
            HF_HUB_DISABLE_XET="1",
            HF_HUB_DISABLE_TELEMETRY="1",
            HF_HUB_DISABLE_PROGRESS_BARS="1",
            HF_HUB_DISABLE_IMPLICIT_TOKEN="0",
            HF_HOME=str(args.pop("hf_home")),
        )
        env.update(env_extra)
        label = str(args.pop("label", op))
        time.sleep(0.3)  # gunicorn logs a request after its response: let earlier ones land
        mark = self.hub.log_mark()
        cpu0 = self.hub.server_cpu()
        proc = subprocess.run(
            [PY, str(RUNNER), json.dumps({"op": op, **args})],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        server_cpu = self.hub.server_cpu() - cpu0
        if proc.returncode != 0:
            raise RuntimeError(f"{label} against {self.name} failed:\n{proc.stderr[-3000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        time.sleep(0.3)  # the last access-log lines
        served = self.hub.requests_since(mark)
        server_counts: Counter[str] = Counter()
        ms: dict[str, list[int]] = {}
        for method, path, status, millis in served:
            key = f"{method} {kind_of(path)}"
            server_counts[f"{key} {status}"] += 1
            ms.setdefault(key, []).append(millis)
        result.update(server_cpu=server_cpu, server_requests=dict(server_counts), server_ms=ms)
        self.rec.setdefault(label, []).append(result)
        return result


def check_snapshot(path: str, files: dict[str, str]) -> None:
    got = folder_files(Path(path))
    got.pop(".gitattributes", None)
    if got != files:
        missing = sorted(set(files) - set(got))[:5]
        wrong = sorted(k for k in files if k in got and got[k] != files[k])[:5]
        raise RuntimeError(f"snapshot differs: missing {missing}, wrong content {wrong}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--scratch", type=Path, default=Path("/tmp/hubforge-bench-hf"))
    ap.add_argument("--hub-port", type=int, default=8113)
    ap.add_argument("--baseline", type=Path, help="another checkout to serve on --hub-port + 1")
    ap.add_argument("--xet-pipeline", action="store_true", help="also upload with hf_xet enabled")
    ap.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS")
    args = ap.parse_args()
    scratch: Path = args.scratch
    scratch.mkdir(parents=True, exist_ok=True)
    log(f"hf_client.py  {time.strftime('%Y-%m-%d %H:%M:%S %Z')}\nmachine: {machine_notes()}")
    import huggingface_hub

    log(f"huggingface_hub {huggingface_hub.__version__}; load average {os.getloadavg()}")
    if args.wait_quiet:
        wait_for_quiet(args.wait_quiet)
    probe_start = print_probe("start")
    load_start = os.getloadavg()

    folder = make_folder(scratch, args.files)
    files = folder_files(folder)
    log(f"folder: {len(files)} files, {sum(p.stat().st_size for p in folder.rglob('*'))} bytes")

    procs = Procs()
    targets = [Target("hub", Hub(procs, scratch / "hub", args.hub_port))]
    if args.baseline:
        hub = Hub(procs, scratch / "baseline", args.hub_port + 1, code=args.baseline)
        targets.append(Target("baseline", hub))
    for t in targets:
        (scratch / t.name).mkdir(exist_ok=True)
    log("hubs: " + ", ".join(f"{t.name} {t.hub.url}" for t in targets))

    def one_round(t: Target, r: int) -> str:
        repo = f"files-r{r}"
        t.hub.create_repo(repo)
        home = scratch / t.name / "hf-home"
        up = t.run(
            "upload_folder", {}, folder=str(folder), repo=f"{t.hub.user}/{repo}", hf_home=home
        )
        cache = scratch / t.name / f"cache-r{r}"
        shutil.rmtree(cache, ignore_errors=True)
        down = t.run(
            "snapshot_download",
            {},
            repo=f"{t.hub.user}/{repo}",
            cache_dir=str(cache),
            hf_home=home,
        )
        check_snapshot(down["path"], files)
        shutil.rmtree(cache, ignore_errors=True)
        line = (
            f"{t.name}: upload_folder {up['seconds']:.2f} s, snapshot_download "
            f"{down['seconds']:.2f} s"
        )
        if args.xet_pipeline:
            t.hub.create_repo(repo + "-xet")
            xet = t.run(
                "upload_folder",
                {"HF_HUB_DISABLE_XET": "0"},
                label="upload_folder (hf_xet pipeline)",
                folder=str(folder),
                repo=f"{t.hub.user}/{repo}-xet",
                hf_home=home,
            )
            line += f", upload_folder with hf_xet {xet['seconds']:.2f} s"
        return line

    # Warm-up round (imports, page cache, first queries), not recorded.
    for t in targets:
        one_round(t, 0)
        t.rec.clear()
    for r in range(1, args.rounds + 1):
        order = targets if r % 2 else list(reversed(targets))
        lines = [one_round(t, r) for t in order]
        log(f"  round {r}: " + "; ".join(lines) + f"; load {os.getloadavg()[0]:.1f}")
    probe_end = print_probe("end")
    load_end = os.getloadavg()

    n = len(files)
    verdicts = []
    for t in targets:
        log(f"\n{t.name} ({t.hub.url}), {n} files, medians over {args.rounds} rounds:")
        for label, recs in t.rec.items():
            op = label.split(" ")[0]
            client = without_status(recs[-1]["requests"])
            server = without_status(recs[-1]["server_requests"])
            agree = all(
                without_status(x["requests"]) == without_status(x["server_requests"]) for x in recs
            )
            total = sum(server.values())
            redirects = sum(
                v for k, v in recs[-1]["server_requests"].items() if k.endswith(REDIRECTS)
            )
            secs = [x["seconds"] for x in recs]
            log(
                f"  {label}: {med(secs):.2f} s ({span(secs)}), {med(secs) / n * 1000:.2f} ms/file;"
                f" client CPU {med([x['cpu'] for x in recs]):.2f} s, hub CPU "
                f"{med([x['server_cpu'] for x in recs]):.2f} s"
            )
            log(
                f"    requests {total} = {total / n:.3f} per file; redirects {redirects}; "
                f"client and server counts agree: {agree}"
            )
            for key in sorted(server):
                times = [m for x in recs for m in x["server_ms"].get(key, [])]
                log(f"      {key:24} {server[key]:5}   server p50 {med(times):.0f} ms")
            if "xet" in label:
                continue  # the client's own batching: no fixed minimum to compare
            need = minimum_requests(op, files)
            extra = {k: server[k] - need.get(k, 0) for k in server if server[k] != need.get(k, 0)}
            missing = {k: v for k, v in need.items() if k not in server}
            ok = not extra and not missing and not redirects and client == server
            minimum = sum(need.values())
            log(
                f"    client's minimum {minimum} = {minimum / n:.3f} per file "
                f"({', '.join(f'{k} {v}' for k, v in sorted(need.items()))}): "
                + ("met" if ok else f"NOT MET, extra {extra} missing {missing}")
            )
            if t.name == "hub":
                verdicts.append((label, ok))
    if len(targets) == 2:
        log("\nhub / baseline, paired (median of per-round ratios of wall seconds; < 1 = faster):")
        for label in targets[0].rec:
            a = [x["seconds"] for x in targets[0].rec[label]]
            b = [x["seconds"] for x in targets[1].rec[label]]
            ca = [x["server_cpu"] for x in targets[0].rec[label]]
            cb = [x["server_cpu"] for x in targets[1].rec[label]]
            log(
                f"  {label}: wall {paired(a, b):.2f}x ({med(a):.2f} s vs {med(b):.2f} s), "
                f"hub CPU {paired(ca, cb):.2f}x ({med(ca):.2f} s vs {med(cb):.2f} s)"
            )
    log(
        f"\nprobe start {probe_start:.2f}x, end {probe_end:.2f}x; load average start "
        f"{load_start[0]:.1f}/{load_start[1]:.1f}/{load_start[2]:.1f}, end "
        f"{load_end[0]:.1f}/{load_end[1]:.1f}/{load_end[2]:.1f}"
    )
    for label, ok in verdicts:
        log(f"requests per file at the client's minimum, {label}: {'met' if ok else 'NOT MET'}")
    procs.stop_all()
    sys.exit(0 if all(ok for _, ok in verdicts) else 1)


if __name__ == "__main__":
    main()
