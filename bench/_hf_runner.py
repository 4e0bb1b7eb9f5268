"""One huggingface_hub call in a fresh interpreter, for bench/hf_client.py and lfs_transfer.py.

    python bench/_hf_runner.py '<json>'

The JSON names the operation and its arguments; the environment (HF_ENDPOINT, HF_TOKEN,
HF_HUB_DISABLE_XET, ...) is set by the caller before this process imports the client, as
huggingface_hub reads it at import time. Prints one JSON line: wall seconds of the call alone
(imports excluded), this process's CPU seconds over the call, and every HTTP request the
client sent, counted through an httpx2 event hook on the client's own session (so redirects
followed inside the client count too): {"METHOD kind status": n}.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

KINDS = (
    ("/preupload/", "preupload"),
    ("/commit/", "commit"),
    ("/revision/", "repo-info"),
    ("/tree/", "tree"),
    ("/paths-info/", "paths-info"),
    ("/resolve/", "resolve"),
    ("/info/lfs/objects/batch", "lfs-batch"),
    ("/info/lfs/", "lfs-transfer"),
    ("/api/validate-yaml", "validate-yaml"),
    ("/api/repos/create", "create-repo"),
    ("/xet-", "xet-token"),
)


def kind_of(path: str) -> str:
    """The endpoint a request path belongs to (shared with the server-side log count)."""
    for marker, kind in KINDS:
        if marker in path:
            return kind
    if path.startswith("/api/models/") or path.startswith("/api/datasets/"):
        return "repo-info"
    return "other:" + path[:40]


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    args = json.loads(sys.argv[1])
    import httpx2
    from huggingface_hub.utils import _http

    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def on_response(response: httpx2.Response) -> None:
        key = f"{response.request.method} {kind_of(urlsplit(str(response.request.url)).path)}"
        with lock:
            counts[f"{key} {response.status_code}"] += 1

    def factory() -> httpx2.Client:
        return httpx2.Client(
            event_hooks={"request": [_http.hf_request_event_hook], "response": [on_response]},
            follow_redirects=True,
            timeout=None,
        )

    _http.set_client_factory(factory)
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download

    op = args["op"]
    out: dict[str, object] = {}
    c0, t0 = cpu_seconds(), time.perf_counter()
    if op == "upload_folder":
        HfApi().upload_folder(
            folder_path=args["folder"], repo_id=args["repo"], commit_message="bench upload"
        )
    elif op == "snapshot_download":
        out["path"] = snapshot_download(args["repo"], cache_dir=args["cache_dir"])
    elif op == "hf_hub_download":
        path = hf_hub_download(args["repo"], args["filename"], cache_dir=args["cache_dir"])
        out["path"] = path
        out["size"] = os.path.getsize(path)
    else:
        raise SystemExit(f"unknown op {op!r}")
    out["seconds"] = time.perf_counter() - t0
    out["cpu"] = cpu_seconds() - c0
    out["requests"] = dict(counts)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
