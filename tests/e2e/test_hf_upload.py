"""Uploads with the real huggingface_hub client against a live server: preupload, LFS batch
(basic and multipart), the NDJSON commit endpoint; then `git clone` sees the same files."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from huggingface_hub import CommitOperationAdd, CommitOperationCopy, CommitOperationDelete
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError
from huggingface_hub.hf_api import RepoFile

from tests.conftest import require_tool
from tests.e2e.conftest import HubServer, start_server, stop_server
from tests.e2e.helpers import clone, git, lfs_batch, query_events, random_bytes

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def owner(hub_server: HubServer) -> tuple[str, str]:
    return hub_server.create_user()


@pytest.fixture
def repo(hub_server: HubServer, owner: tuple[str, str]) -> str:
    return hub_server.create_repo(owner[1])


@pytest.fixture
def lfs_env(git_env: dict[str, str]) -> dict[str, str]:
    require_tool("git-lfs")
    git("lfs", "install", "--skip-repo", env=git_env)
    return git_env


def _info(api, repo: str, paths: list[str]) -> dict[str, RepoFile]:  # type: ignore[no-untyped-def]
    return {f.path: f for f in api.get_paths_info(repo, paths) if isinstance(f, RepoFile)}


def _clone_files(
    server: HubServer, repo: str, dest: Path, env: dict[str, str], token: str
) -> dict[str, bytes]:
    clone(server, repo, dest, env, token)
    return {
        str(p.relative_to(dest)): p.read_bytes()
        for p in dest.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(dest).parts
    }


# --- upload_file, upload_folder ---------------------------------------------------------------


def test_upload_file_regular_and_lfs(
    hub_server: HubServer, owner: tuple[str, str], repo: str
) -> None:
    api = hub_server.api(owner[1])
    weights = random_bytes(3000)
    info = api.upload_file(path_or_fileobj=b'{"a": 1}', path_in_repo="config.json", repo_id=repo)
    assert info.commit_url == f"{hub_server.url}/{repo}/commit/{info.oid}"
    api.upload_file(path_or_fileobj=weights, path_in_repo="sub/w.bin", repo_id=repo)
    files = _info(api, repo, ["config.json", "sub/w.bin"])
    assert files["config.json"].lfs is None
    assert files["config.json"].size == 8
    lfs = files["sub/w.bin"].lfs
    assert lfs is not None
    assert (lfs.sha256, lfs.size) == (hashlib.sha256(weights).hexdigest(), 3000)
    assert api.repo_info(repo).sha == api.list_repo_commits(repo)[0].commit_id


def test_commit_publishes_repo_updated(
    hub_server: HubServer, owner: tuple[str, str], repo: str
) -> None:
    info = hub_server.api(owner[1]).upload_file(
        path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo
    )
    events = [
        e["payload"]
        for e in query_events(hub_server, "repo.updated")
        if e["payload"]["full_name"] == repo
    ]
    assert events[-1]["source"] == "api"
    assert events[-1]["updates"][0]["new"] == info.oid


def test_zero_byte_file_matching_lfs_pattern_stays_regular(
    hub_server: HubServer, owner: tuple[str, str], repo: str
) -> None:
    api = hub_server.api(owner[1])
    api.upload_file(path_or_fileobj=b"", path_in_repo="empty.bin", repo_id=repo)
    assert api.model_info(repo, files_metadata=True).siblings is not None
    sibling = {s.rfilename: s for s in api.model_info(repo, files_metadata=True).siblings}
    assert sibling["empty.bin"].lfs is None
    assert sibling["empty.bin"].size == 0


def test_upload_folder_nested_allow_and_delete_patterns(
    hub_server: HubServer, owner: tuple[str, str], repo: str, tmp_path: Path
) -> None:
    api = hub_server.api(owner[1])
    src = tmp_path / "src"
    for rel, data in {
        "a.txt": b"a",
        "nested/b.txt": b"b",
        "nested/deeper/c.bin": b"c" * 100,
        "skip.log": b"log",
    }.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(data)
    api.upload_folder(folder_path=src, repo_id=repo, allow_patterns=["*.txt", "*.bin"])
    assert set(api.list_repo_files(repo)) == {
        ".gitattributes",
        "a.txt",
        "nested/b.txt",
        "nested/deeper/c.bin",
    }
    newer = tmp_path / "newer"
    newer.mkdir()
    (newer / "d.txt").write_bytes(b"d")
    api.upload_folder(
        folder_path=newer, repo_id=repo, path_in_repo="nested", delete_patterns=["*.bin"]
    )
    assert set(api.list_repo_files(repo)) == {
        ".gitattributes",
        "a.txt",
        "nested/b.txt",
        "nested/d.txt",
    }


def test_unchanged_files_are_skipped_using_preupload_oids(
    hub_server: HubServer, owner: tuple[str, str], repo: str
) -> None:
    api = hub_server.api(owner[1])
    first = api.create_commit(
        repo,
        commit_message="both",
        operations=[CommitOperationAdd("t.txt", b"text"), CommitOperationAdd("w.bin", b"weights")],
    )
    again = api.create_commit(
        repo,
        commit_message="same again",
        operations=[CommitOperationAdd("t.txt", b"text"), CommitOperationAdd("w.bin", b"weights")],
    )
    assert again.oid == first.oid  # preupload's oids matched: the client made no commit


# --- create_commit --------------------------------------------------------------------------


def test_create_commit_add_delete_copy(
    hub_server: HubServer, owner: tuple[str, str], repo: str
) -> None:
    api = hub_server.api(owner[1])
    big = random_bytes(2048)
    api.create_commit(
        repo,
        commit_message="seed",
        operations=[
            CommitOperationAdd("keep.txt", b"keep"),
            CommitOperationAdd("temp/gone.md", b"bye"),
            CommitOperationAdd("model.bin", big),
        ],
    )
    info = api.create_commit(
        repo,
        commit_message="reshuffle",
        commit_description="add, delete and copy in one commit",
        operations=[
            CommitOperationAdd("new.txt", b"new"),
            CommitOperationDelete("temp/gone.md"),
            CommitOperationCopy("model.bin", "copies/model.bin"),
            CommitOperationCopy("keep.txt", "copies/keep.txt"),
        ],
    )
    assert set(api.list_repo_files(repo)) == {
        ".gitattributes",
        "keep.txt",
        "model.bin",
        "new.txt",
        "copies/model.bin",
        "copies/keep.txt",
    }
    files = _info(api, repo, ["copies/model.bin", "copies/keep.txt"])
    assert files["copies/model.bin"].lfs is not None
    assert files["copies/model.bin"].lfs.sha256 == hashlib.sha256(big).hexdigest()
    assert files["copies/keep.txt"].lfs is None
    commit = api.list_repo_commits(repo)[0]
    assert (commit.commit_id, commit.title) == (info.oid, "reshuffle")
    assert commit.message == "add, delete and copy in one commit"


def test_stale_parent_commit_is_412_and_nothing_is_lost(
    hub_server: HubServer, owner: tuple[str, str], repo: str
) -> None:
    api = hub_server.api(owner[1])
    parent = api.repo_info(repo).sha
    api.upload_file(
        path_or_fileobj=b"first", path_in_repo="a.txt", repo_id=repo, parent_commit=parent
    )
    with pytest.raises(HfHubHTTPError) as exc:
        api.upload_file(
            path_or_fileobj=b"second", path_in_repo="a.txt", repo_id=repo, parent_commit=parent
        )
    assert exc.value.response.status_code == 412
    assert "The branch was updated since you opened this page" in str(exc.value)
    assert _info(api, repo, ["a.txt"])["a.txt"].size == len(b"first")


def test_delete_file_and_folder(hub_server: HubServer, owner: tuple[str, str], repo: str) -> None:
    api = hub_server.api(owner[1])
    api.create_commit(
        repo,
        commit_message="seed",
        operations=[
            CommitOperationAdd("1/a.txt", b"a"),
            CommitOperationAdd("1/2/b.txt", b"b"),
            CommitOperationAdd("f.txt", b"f"),
        ],
    )
    api.delete_file("f.txt", repo)
    api.delete_folder("1", repo)
    assert api.list_repo_files(repo) == [".gitattributes"]
    with pytest.raises(EntryNotFoundError, match="A file with this name doesn't exist"):
        api.delete_file("missing.txt", repo)


def test_backslash_traversal_path_is_422(
    hub_server: HubServer, owner: tuple[str, str], repo: str
) -> None:
    api = hub_server.api(owner[1])
    before = api.repo_info(repo).sha
    with pytest.raises(HfHubHTTPError) as exc:
        api.upload_file(path_or_fileobj=b"x", path_in_repo="..\\ddd", repo_id=repo)
    assert exc.value.response.status_code == 422
    assert "backslash" in exc.value.response.headers["X-Error-Message"]
    assert api.repo_info(repo).sha == before


def _ndjson(lines: list[dict[str, object]]) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


@pytest.mark.parametrize(
    "path", ["../x", "/etc/x", "a/../../b", ".git/config", "a\x00b", "x" * 10_000]
)
def test_hostile_paths_on_the_raw_commit_endpoint(
    hub_server: HubServer, owner: tuple[str, str], repo: str, path: str
) -> None:
    body = _ndjson(
        [
            {"key": "header", "value": {"summary": "evil", "description": ""}},
            {"key": "file", "value": {"path": path, "content": "eA==", "encoding": "base64"}},
        ]
    )
    r = requests.post(
        f"{hub_server.url}/api/models/{repo}/commit/main",
        data=body,
        timeout=30,
        headers={"Authorization": f"Bearer {owner[1]}", "Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 422
    assert r.headers["X-Error-Message"]


def test_commit_body_over_the_limit_is_413(
    hub_server: HubServer, owner: tuple[str, str], repo: str
) -> None:
    r = requests.post(
        f"{hub_server.url}/api/models/{repo}/commit/main",
        headers={
            "Authorization": f"Bearer {owner[1]}",
            "Content-Type": "application/x-ndjson",
            "Content-Length": str(2 * 1024**3),
        },
        data=b"",
        timeout=30,
    )
    assert r.status_code == 413


def test_write_needs_write_access(hub_server: HubServer, owner: tuple[str, str], repo: str) -> None:
    _reader, token = hub_server.create_user(role="read")
    with pytest.raises(HfHubHTTPError) as exc:
        hub_server.api(token).upload_file(path_or_fileobj=b"x", path_in_repo="x", repo_id=repo)
    assert exc.value.response.status_code in (401, 403, 404)
    assert hub_server.api(None).repo_info(repo).sha == hub_server.api(owner[1]).repo_info(repo).sha


# --- one storage, two doors -------------------------------------------------------------------


@pytest.mark.git
@pytest.mark.lfs
def test_git_clone_sees_the_api_commits_and_lfs_files(
    hub_server: HubServer,
    owner: tuple[str, str],
    repo: str,
    lfs_env: dict[str, str],
    tmp_path: Path,
) -> None:
    api = hub_server.api(owner[1])
    weights = random_bytes(50_000)
    api.create_commit(
        repo,
        commit_message="add weights",
        operations=[
            CommitOperationAdd("w.bin", weights),
            CommitOperationAdd("docs/readme.txt", b"hi"),
        ],
    )
    api.create_commit(
        repo,
        commit_message="more",
        operations=[
            CommitOperationAdd("docs/more.txt", b"more"),
            CommitOperationDelete("docs/readme.txt"),
        ],
    )
    files = _clone_files(hub_server, repo, tmp_path / "clone", lfs_env, owner[1])
    assert set(files) == {".gitattributes", "w.bin", "docs/more.txt"}
    assert hashlib.sha256(files["w.bin"]).hexdigest() == hashlib.sha256(weights).hexdigest()
    log = git("log", "--format=%H %s", cwd=tmp_path / "clone", env=lfs_env).stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in log] == ["more", "add weights", "initial commit"]
    assert log[0].split()[0] == api.repo_info(repo).sha
    fsck = git("fsck", "--strict", cwd=tmp_path / "clone", env=lfs_env)
    assert fsck.returncode == 0


# --- LFS multipart ----------------------------------------------------------------------------

THRESHOLD = 1024 * 1024
CHUNK = 256 * 1024


@pytest.fixture(scope="module")
def multipart_server() -> Iterator[HubServer]:
    server, db_name = start_server(
        extra_env={
            "HUB_LFS_MULTIPART_THRESHOLD": str(THRESHOLD),
            "HUB_LFS_MULTIPART_CHUNK_SIZE": str(CHUNK),
        }
    )
    try:
        yield server
    finally:
        stop_server(server, db_name)


def _multipart_sessions(server: HubServer) -> list[Path]:
    root = server.data_dir / "tmp" / "lfs-multipart"
    return list(root.iterdir()) if root.exists() else []


def _upload_action(
    server: HubServer, repo: str, token: str, oid: str, size: int, transfers: list[str]
) -> dict[str, Any]:
    body = {"operation": "upload", "transfers": transfers, "objects": [{"oid": oid, "size": size}]}
    r = lfs_batch(server, repo, body, token=token)
    assert r.status_code == 200, r.text
    return dict(r.json()["objects"][0]["actions"]["upload"])


@pytest.mark.git
@pytest.mark.lfs
def test_big_lfs_upload_goes_through_multipart(
    multipart_server: HubServer, lfs_env: dict[str, str], tmp_path: Path
) -> None:
    _user, token = multipart_server.create_user()
    repo = multipart_server.create_repo(token)
    data = random_bytes(THRESHOLD + 3 * CHUNK + 123)  # 8 parts, the last one short
    oid = hashlib.sha256(data).hexdigest()
    # What the client will be told: multipart actions, since it offers that transfer ...
    header = _upload_action(multipart_server, repo, token, oid, len(data), ["basic", "multipart"])[
        "header"
    ]
    assert header["chunk_size"] == str(CHUNK)
    assert sorted(int(k) for k in header if k.isdigit()) == list(range(1, 9))
    # ... while git-lfs, which asks for basic only, keeps the basic transfer.
    basic = _upload_action(multipart_server, repo, token, oid, len(data), ["basic"])
    assert "chunk_size" not in basic.get("header", {})

    api = multipart_server.api(token)
    api.upload_file(path_or_fileobj=data, path_in_repo="big.bin", repo_id=repo)
    lfs = _info(api, repo, ["big.bin"])["big.bin"].lfs
    assert lfs is not None
    assert (lfs.sha256, lfs.size) == (oid, len(data))
    assert _multipart_sessions(multipart_server) == []
    files = _clone_files(multipart_server, repo, tmp_path / "clone", lfs_env, token)
    assert hashlib.sha256(files["big.bin"]).hexdigest() == oid


def test_multipart_bad_etag_or_missing_part_stores_nothing(multipart_server: HubServer) -> None:
    _user, token = multipart_server.create_user()
    repo = multipart_server.create_repo(token)
    data = random_bytes(THRESHOLD + CHUNK)
    oid = hashlib.sha256(data).hexdigest()

    def start() -> tuple[str, list[str]]:
        upload = _upload_action(multipart_server, repo, token, oid, len(data), ["multipart"])
        parts = [upload["header"][str(n)] for n in range(1, len(upload["header"]))]
        return upload["href"], parts

    def put_parts(parts: list[str], upto: int) -> list[str]:
        etags = []
        for n, url in enumerate(parts[:upto]):
            r = requests.put(url, data=data[n * CHUNK : (n + 1) * CHUNK], timeout=30)
            assert r.status_code == 200, r.text
            etags.append(r.headers["etag"])
        return etags

    done, parts = start()
    etags = put_parts(parts, len(parts))
    bad = [{"partNumber": n + 1, "etag": e} for n, e in enumerate(etags)]
    bad[1]["etag"] = '"0000"'
    r = requests.post(done, json={"oid": oid, "parts": bad}, timeout=30)
    assert r.status_code == 400
    assert _multipart_sessions(multipart_server) == []

    done, parts = start()
    etags = put_parts(parts, len(parts) - 1)
    r = requests.post(
        done,
        json={"oid": oid, "parts": [{"partNumber": n + 1, "etag": e} for n, e in enumerate(etags)]},
        timeout=30,
    )
    assert r.status_code == 400
    assert _multipart_sessions(multipart_server) == []
    r = lfs_batch(
        multipart_server,
        repo,
        {"operation": "download", "objects": [{"oid": oid, "size": len(data)}]},
        token=token,
    )
    assert r.json()["objects"][0]["error"]["code"] == 404  # nothing was stored or linked
