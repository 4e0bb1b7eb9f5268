"""The hub adds no HTTP requests to what huggingface_hub itself needs (issue 3, benchmarks).

The client's minimum, from its source (2.4.0; bench/README.md, "HF client"):
- `upload_folder` of regular files without hf_xet: `validate-yaml` twice when README.md is
  added (the folder walk and `create_commit` each check it), one `preupload` per 256 files,
  one commit;
- `snapshot_download`: the repo info at the revision, the recursive tree (one page up to
  1,000 entries, as the public Hub pages it), then one HEAD and one GET per file.
Counted on both ends: an httpx2 event hook on the client's session, and the server's access
log. No redirect, no retry, nothing else.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from huggingface_hub import snapshot_download
from huggingface_hub.utils import _http

from tests.e2e.conftest import HubServer

pytestmark = pytest.mark.e2e

FILES = 300  # two preupload batches
ACCESS = re.compile(r'^\S+ "([A-Z]+) (.+) HTTP/[\d.]+" (\d{3}) ', re.MULTILINE)


def _kind(path: str) -> str:
    for marker, kind in (
        ("/preupload/", "preupload"),
        ("/commit/", "commit"),
        ("/revision/", "repo-info"),
        ("/tree/", "tree"),
        ("/resolve/", "resolve"),
        ("/api/validate-yaml", "validate-yaml"),
    ):
        if marker in path:
            return kind
    return path


class Counted:
    """Requests huggingface_hub sends, by (method kind status), while the block runs."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _on_response(self, response: httpx2.Response) -> None:
        request = response.request
        with self._lock:
            self.counts[f"{request.method} {_kind(request.url.path)} {response.status_code}"] += 1

    def factory(self) -> httpx2.Client:
        return httpx2.Client(
            event_hooks={"request": [_http.hf_request_event_hook], "response": [self._on_response]},
            follow_redirects=True,
            timeout=None,
        )


@pytest.fixture
def counted() -> Iterator[Counted]:
    c = Counted()
    _http.set_client_factory(c.factory)
    try:
        yield c
    finally:
        _http.set_client_factory(_http.default_client_factory)


def _served(server: HubServer, start: int, repo: str) -> Counter[str]:
    assert server.log_path is not None
    text = server.log_path.read_bytes()[start:].decode("utf-8", "replace")
    mine = (m for m in ACCESS.finditer(text) if repo in m[2] or "yaml" in m[2])
    return Counter(f"{m[1]} {_kind(m[2])} {m[3]}" for m in mine)


def _log_size(server: HubServer) -> int:
    assert server.log_path is not None
    return server.log_path.stat().st_size


def _wait_for(server: HubServer, start: int, repo: str, total: int) -> Counter[str]:
    deadline = time.monotonic() + 10  # gunicorn logs a request after its response
    while True:
        served = _served(server, start, repo)
        if sum(served.values()) >= total or time.monotonic() > deadline:
            return served
        time.sleep(0.1)


def test_upload_folder_and_snapshot_download_make_the_clients_minimum(
    hub_server: HubServer, counted: Counted, tmp_path: Path
) -> None:
    _user, token = hub_server.create_user()
    repo = hub_server.create_repo(token)
    folder = tmp_path / "folder"
    (folder / "a" / "b").mkdir(parents=True)
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# counted\n")
    for i in range(FILES - 1):
        sub = folder / ("a/b" if i % 2 else "a")
        (sub / f"f{i:03d}.txt").write_text(f"file {i}\n" * (i % 7 + 1))
    api = hub_server.api(token)

    start = _log_size(hub_server)
    api.upload_folder(folder_path=folder, repo_id=repo)
    want = Counter({"POST validate-yaml 200": 2, "POST preupload 200": 2, "POST commit 200": 1})
    assert counted.counts == want
    assert _wait_for(hub_server, start, repo, sum(want.values())) == want

    counted.counts.clear()
    start = _log_size(hub_server)
    path = Path(
        snapshot_download(repo, endpoint=hub_server.url, token=token, cache_dir=tmp_path / "c")
    )
    files = FILES + 1  # and the hub's .gitattributes
    want = Counter(
        {
            "GET repo-info 200": 1,
            "GET tree 200": 1,
            "HEAD resolve 200": files,
            "GET resolve 200": files,
        }
    )
    assert counted.counts == want
    assert _wait_for(hub_server, start, repo, sum(want.values())) == want
    assert (path / "a" / "b" / "f001.txt").read_text() == "file 1\n" * 2
    assert len([p for p in path.rglob("*") if p.is_file()]) == files
