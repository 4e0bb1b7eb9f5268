"""Git LFS against a live hub: git-lfs push/pull, the batch API, transfers, verify, locks."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from pathlib import Path
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.conftest import require_tool
from tests.e2e.conftest import HubServer
from tests.e2e.helpers import (
    LFS_JSON,
    clone,
    commit_file,
    git,
    head,
    lfs_batch,
    lfs_files,
    poll,
    random_bytes,
    remote_refs,
)

pytestmark = [pytest.mark.git, pytest.mark.lfs, pytest.mark.e2e]


@pytest.fixture
def lfs_env(git_env: dict[str, str]) -> dict[str, str]:
    """git_env with git-lfs's filters and hooks installed in the isolated HOME."""
    require_tool("git-lfs")
    git("lfs", "install", "--skip-repo", env=git_env)
    return git_env


@pytest.fixture(scope="module")
def owner(hub_server: HubServer) -> tuple[str, str]:
    return hub_server.create_user()


@pytest.fixture(scope="module")
def scratch_repo(hub_server: HubServer, owner: tuple[str, str]) -> str:
    """A public repo for requests that must not change anything."""
    return hub_server.create_repo(owner[1])


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pointer(oid: str, size: int) -> str:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize {size}\n"


def _objects(r: requests.Response) -> list[dict]:
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()["objects"]


def _upload(server: HubServer, repo: str, token: str, data: bytes, *, auth: str = "bearer") -> str:
    """Upload `data` through batch + signed PUT + verify, as a client would; returns its oid."""
    oid = _sha256(data)
    (obj,) = _objects(
        lfs_batch(
            server,
            repo,
            {"operation": "upload", "objects": [{"oid": oid, "size": len(data)}]},
            token=token,
            auth=auth,
        )
    )
    actions = obj["actions"]
    put = requests.put(
        actions["upload"]["href"],
        data=data,
        timeout=60,
        headers=actions["upload"].get("header", {}),
    )
    assert put.status_code == 200, put.text
    verify = requests.post(
        actions["verify"]["href"],
        json={"oid": oid, "size": len(data)},
        headers={"Accept": "application/vnd.git-lfs+json"},
        timeout=60,
    )
    assert verify.status_code == 200, verify.text
    return oid


def _download(
    server: HubServer, repo: str, token: str | None, oid: str, size: int, *, auth: str = "bearer"
) -> dict:
    (obj,) = _objects(
        lfs_batch(
            server,
            repo,
            {"operation": "download", "objects": [{"oid": oid, "size": size}]},
            token=token,
            auth=auth,
        )
    )
    return obj


# --- git lfs, end to end ----------------------------------------------------------------------


def test_lfs_push_pull_30mb_and_locks_quietly(hub_server, owner, lfs_env, tmp_path):
    repo = hub_server.create_repo(owner[1])
    work, fresh = tmp_path / "w", tmp_path / "fresh"
    clone(hub_server, repo, work, lfs_env, owner[1])
    data = random_bytes(30 * 1024 * 1024)
    commit_file(work, lfs_env, "model.bin", data)
    blob = git("cat-file", "-p", "HEAD:model.bin", cwd=work, env=lfs_env).stdout
    assert blob == _pointer(_sha256(data), len(data))
    push = git("push", "origin", "main", cwd=work, env=lfs_env)
    assert "lock" not in push.stderr.lower(), push.stderr
    assert "warning" not in push.stderr.lower(), push.stderr

    clone(hub_server, repo, fresh, lfs_env, owner[1])
    assert _sha256((fresh / "model.bin").read_bytes()) == _sha256(data)
    # An explicit `git lfs push --all` finds everything there already, still without warnings.
    again = git("lfs", "push", "--all", "origin", cwd=work, env=lfs_env)
    assert "lock" not in (again.stdout + again.stderr).lower()


def test_git_lfs_locks(hub_server, owner, lfs_env, tmp_path):
    repo = hub_server.create_repo(owner[1])
    work = tmp_path / "w"
    clone(hub_server, repo, work, lfs_env, owner[1])
    commit_file(work, lfs_env, "weights.bin", b"small weights\n")
    git("push", "origin", "main", cwd=work, env=lfs_env)
    git("lfs", "lock", "weights.bin", cwd=work, env=lfs_env)
    listed = git("lfs", "locks", "--json", cwd=work, env=lfs_env).stdout
    assert [lk["path"] for lk in json.loads(listed)] == ["weights.bin"]
    # A second lock on the same path is refused; another user cannot unlock it.
    assert git("lfs", "lock", "weights.bin", cwd=work, env=lfs_env, check=False).returncode != 0
    commit_file(work, lfs_env, "weights.bin", b"new weights\n")
    push = git("push", "origin", "main", cwd=work, env=lfs_env)
    assert "warning" not in push.stderr.lower(), push.stderr
    git("lfs", "unlock", "weights.bin", cwd=work, env=lfs_env)
    assert json.loads(git("lfs", "locks", "--json", cwd=work, env=lfs_env).stdout) == []


def test_pointer_to_an_object_never_uploaded_is_refused(hub_server, owner, lfs_env, tmp_path):
    repo = hub_server.create_repo(owner[1])
    elsewhere = hub_server.create_repo(owner[1], private=True)
    work = tmp_path / "w"
    clone(hub_server, repo, work, lfs_env, owner[1])
    before = head(work, lfs_env)
    # An object only another repo holds counts as missing here too.
    known = random_bytes(1000)
    known_oid = _upload(hub_server, elsewhere, owner[1], known)
    for name, oid, size in (
        ("ghost.bin", _sha256(b"never uploaded"), 14),
        ("borrowed.bin", known_oid, len(known)),
    ):
        (work / name).write_text(_pointer(oid, size))
    git("add", "ghost.bin", "borrowed.bin", cwd=work, env=lfs_env)
    git("commit", "-qm", "pointers only", cwd=work, env=lfs_env)
    # --no-verify skips git-lfs's pre-push upload, as a client without git-lfs would.
    push = git("push", "--no-verify", "origin", "main", cwd=work, env=lfs_env, check=False)
    assert push.returncode != 0
    assert "ghost.bin" in push.stderr
    assert "borrowed.bin" in push.stderr
    assert remote_refs(hub_server, repo, lfs_env, owner[1])["refs/heads/main"] == before


# --- batch API over HTTP ----------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["bearer", "basic"])
def test_batch_upload_and_download_over_http(hub_server, owner, auth):
    repo = hub_server.create_repo(owner[1], private=True)
    data = random_bytes(4096)
    oid = _upload(hub_server, repo, owner[1], data, auth=auth)
    obj = _download(hub_server, repo, owner[1], oid, len(data), auth=auth)
    got = requests.get(obj["actions"]["download"]["href"], timeout=60)
    assert got.status_code == 200
    assert got.content == data
    # Uploading again: already there, so no actions (git-lfs skips it).
    (again,) = _objects(
        lfs_batch(
            hub_server,
            repo,
            {"operation": "upload", "objects": [{"oid": oid, "size": len(data)}]},
            token=owner[1],
            auth=auth,
        )
    )
    assert "actions" not in again
    assert "error" not in again
    # Anonymous: 401 asking for credentials, for download and upload alike.
    for op in ("download", "upload"):
        r = lfs_batch(hub_server, repo, {"operation": op, "objects": [{"oid": oid, "size": 1}]})
        assert r.status_code == 401
        assert "Basic" in r.headers["LFS-Authenticate"]


def test_batch_upload_needs_write_access(hub_server, owner):
    repo = hub_server.create_repo(owner[1])
    read_token = hub_server.token(owner[0], "read")
    _other, other_token = hub_server.create_user()
    objects = [{"oid": "a" * 64, "size": 1}]
    to_main = {"operation": "upload", "ref": {"name": "refs/heads/main"}, "objects": objects}
    for token in (read_token, other_token):
        assert lfs_batch(hub_server, repo, to_main, token=token).status_code == 403
    # Without a ref (huggingface_hub's create_pr) a signed-in reader with a write token may
    # upload for a pull request, as on the public hub; a read token may not.
    for_pr = {"operation": "upload", "objects": objects}
    assert lfs_batch(hub_server, repo, for_pr, token=read_token).status_code == 403
    answer = lfs_batch(hub_server, repo, for_pr, token=other_token)
    assert answer.status_code == 200
    assert "upload" in _objects(answer)[0]["actions"]


BAD_OIDS = ["../../etc/passwd", "a" * 63, "a" * 65, "A" * 64, "sha256:" + "a" * 64, "", None, 7]


def test_batch_hostile_objects_get_per_object_422(hub_server, owner):
    repo = hub_server.create_repo(owner[1])
    good = "b" * 64
    objects = [{"oid": oid, "size": 1} for oid in BAD_OIDS]
    objects += [{"oid": good, "size": size} for size in (-1, 2**63, "1", None, True)]
    objects.append("not an object")
    for op in ("upload", "download"):
        out = _objects(
            lfs_batch(hub_server, repo, {"operation": op, "objects": objects}, token=owner[1])
        )
        assert len(out) == len(objects)
        assert [o["error"]["code"] for o in out] == [422] * len(objects), out
        assert not any("actions" in o for o in out)
    assert not any("passwd" in str(p) for p in lfs_files(hub_server))


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        ({"operation": "delete", "objects": []}, {}, 422),
        ({"operation": "upload", "objects": "x"}, {}, 422),
        ({"operation": "upload", "objects": [], "hash_algo": "md5"}, {}, 422),
        ([1, 2], {}, 422),
        (b"{not json", {}, 400),
        (b"{" + b" " * (10 * 1024 * 1024) + b"}", {}, 413),
        ({"operation": "upload", "objects": []}, {"Accept": "text/html"}, 406),
        ({"operation": "upload", "objects": []}, {"Content-Type": "text/plain"}, 415),
        (
            {"operation": "upload", "objects": []},
            {"Content-Type": "application/x-www-form-urlencoded"},
            415,
        ),
    ],
)
def test_batch_hostile_requests(hub_server, owner, scratch_repo, body, headers, status):
    r = lfs_batch(hub_server, scratch_repo, body, token=owner[1], headers=headers)
    assert r.status_code == status, r.text
    assert r.json()["message"]


def test_batch_body_without_length_is_read_only_up_to_the_limit(hub_server, owner, scratch_repo):
    """A chunked body (no Content-Length) bigger than 10 MB is cut off, not buffered whole."""
    sent = 0

    def body():  # type: ignore[no-untyped-def]
        nonlocal sent
        yield b'{"operation": "upload", "objects": ['
        for _ in range(40):  # 40 MiB if the server read it all
            sent += 1
            yield b" " * (1024 * 1024)
        yield b"]}"

    r = requests.post(
        f"{hub_server.url}/{scratch_repo}.git/info/lfs/objects/batch",
        data=body(),
        timeout=60,
        headers={"Authorization": f"Bearer {owner[1]}", "Content-Type": LFS_JSON},
    )
    assert r.status_code == 413
    assert sent < 40  # the server answered before the client had sent it all


def test_batch_with_too_many_objects_is_refused(hub_server, owner):
    repo = hub_server.create_repo(owner[1])
    objects = [{"oid": f"{i:064x}", "size": 1} for i in range(100_000)]
    r = lfs_batch(hub_server, repo, {"operation": "download", "objects": objects}, token=owner[1])
    assert r.status_code == 413


# --- scoping and proof of possession (SECURITY 6, hostile inputs 17-18) ------------------------


def _stranger_with_repo(server: HubServer) -> tuple[str, str]:
    """Another user's write token and a public repo of theirs."""
    _name, token = server.create_user()
    return token, server.create_repo(token)


def test_objects_are_scoped_to_their_repo(hub_server, owner):
    secret_repo = hub_server.create_repo(owner[1], private=True)
    data = random_bytes(2048)
    oid = _upload(hub_server, secret_repo, owner[1], data)

    other_token, theirs = _stranger_with_repo(hub_server)
    obj = _download(hub_server, theirs, other_token, oid, len(data))
    assert obj["error"]["code"] == 404
    assert "actions" not in obj
    # Not even the owner's other repos serve it.
    own_public = hub_server.create_repo(owner[1])
    assert _download(hub_server, own_public, owner[1], oid, len(data))["error"]["code"] == 404
    # The private repo itself is invisible to the other user.
    r = lfs_batch(
        hub_server,
        secret_repo,
        {"operation": "download", "objects": [{"oid": oid, "size": len(data)}]},
        token=other_token,
    )
    assert r.status_code == 404


def test_reupload_is_the_proof_of_possession(hub_server, owner):
    first = hub_server.create_repo(owner[1], private=True)
    data = random_bytes(3000)
    oid = _upload(hub_server, first, owner[1], data)

    other_token, theirs = _stranger_with_repo(hub_server)
    (obj,) = _objects(
        lfs_batch(
            hub_server,
            theirs,
            {"operation": "upload", "objects": [{"oid": oid, "size": len(data)}]},
            token=other_token,
        )
    )
    assert "upload" in obj["actions"], obj  # the bytes exist, but must be sent again
    href = obj["actions"]["upload"]["href"]
    wrong = bytearray(data)
    wrong[0] ^= 1
    assert 400 <= requests.put(href, data=bytes(wrong), timeout=60).status_code < 500
    verify = requests.post(
        obj["actions"]["verify"]["href"], json={"oid": oid, "size": len(data)}, timeout=60
    )
    assert verify.status_code == 404
    assert _download(hub_server, theirs, other_token, oid, len(data))["error"]["code"] == 404
    # The first repo's copy is untouched.
    got = requests.get(
        _download(hub_server, first, owner[1], oid, len(data))["actions"]["download"]["href"],
        timeout=60,
    )
    assert got.content == data

    assert requests.put(href, data=data, timeout=60).status_code == 200
    assert "actions" in _download(hub_server, theirs, other_token, oid, len(data))


# --- transfers and verify (hostile inputs 19-20) ----------------------------------------------


def _upload_action(server: HubServer, repo: str, token: str, oid: str, size: int) -> dict:
    (obj,) = _objects(
        lfs_batch(
            server,
            repo,
            {"operation": "upload", "objects": [{"oid": oid, "size": size}]},
            token=token,
        )
    )
    return obj["actions"]


def _stored(server: HubServer, oid: str) -> list[Path]:
    return [p for p in lfs_files(server) if oid in p.name or p.parent.name == "tmp"]


def test_put_with_wrong_bytes_or_length_stores_nothing(hub_server, owner):
    repo = hub_server.create_repo(owner[1])
    data = random_bytes(5000)
    oid = _sha256(data)
    actions = _upload_action(hub_server, repo, owner[1], oid, len(data))
    href = actions["upload"]["href"]
    wrong = bytes(len(data))
    attempts = [
        requests.put(href, data=wrong, timeout=60),  # right length, wrong bytes
        requests.put(href, data=data + b"x", timeout=60),  # too long
        requests.put(href, data=data[:-1], timeout=60),  # too short
        requests.put(href, data=iter([data[:100], data[100:-1]]), timeout=60),  # chunked, short
        requests.put(href, data=iter([data, b"xx"]), timeout=60),  # chunked, long
    ]
    assert [400 <= r.status_code < 500 for r in attempts] == [True] * len(attempts), [
        (r.status_code, r.text) for r in attempts
    ]
    assert _stored(hub_server, oid) == []
    r = requests.post(actions["verify"]["href"], json={"oid": oid, "size": len(data)}, timeout=60)
    assert r.status_code == 404


def test_put_cut_off_midway_leaves_no_file(hub_server, owner):
    repo = hub_server.create_repo(owner[1])
    size = 4 * 1024 * 1024
    data = random_bytes(size)
    oid = _sha256(data)
    href = _upload_action(hub_server, repo, owner[1], oid, size)["upload"]["href"]
    url = urlsplit(href)
    with socket.create_connection((url.hostname, url.port), timeout=30) as s:
        s.sendall(
            f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Content-Length: {size}\r\nContent-Type: application/octet-stream\r\n\r\n".encode()
        )
        s.sendall(data[: size // 2])
        # The server is streaming into a temporary file; now the client goes away.
        poll(lambda: _stored(hub_server, oid), timeout=30, what="the upload's temp file")
    poll(lambda: _stored(hub_server, oid) == [], timeout=30, what="the temp file to go away")
    obj = _download(hub_server, repo, owner[1], oid, size)
    assert obj["error"]["code"] == 404


def test_verify_unknown_oid_wrong_size_and_bad_signatures(hub_server, owner):
    repo = hub_server.create_repo(owner[1])
    data = random_bytes(1234)
    oid = _upload(hub_server, repo, owner[1], data)
    missing = _sha256(b"not uploaded")
    verify_href = _upload_action(hub_server, repo, owner[1], missing, 12)["verify"]["href"]
    assert (
        requests.post(verify_href, json={"oid": missing, "size": 12}, timeout=60).status_code == 404
    )

    actions = _upload_action(hub_server, repo, owner[1], oid, len(data) + 1)
    r = requests.post(
        actions["verify"]["href"], json={"oid": oid, "size": len(data) + 1}, timeout=60
    )
    assert r.status_code == 422

    # A tampered signature, and one that expired (signed an hour and more ago, same key).
    href = actions["upload"]["href"]
    tampered = href[:-3] + ("AAA" if not href.endswith("AAA") else "BBB")
    assert requests.put(tampered, data=data, timeout=60).status_code == 401
    token = parse_qs(urlsplit(href).query)["t"][0]
    from django.core import signing

    payload = signing.loads(token, key=hub_server.env["HUB_SECRET_KEY"], salt="hubforge.lfs")
    with mock.patch("time.time", return_value=time.time() - 7 * 24 * 3600):
        old = signing.dumps(
            payload, key=hub_server.env["HUB_SECRET_KEY"], salt="hubforge.lfs", compress=True
        )
    expired = href.split("?")[0] + "?t=" + old
    r = requests.put(expired, data=data, timeout=60)
    assert r.status_code == 401
    assert "expired" in r.json()["message"]
    # A valid link cannot be used for another object or another operation.
    other = href.replace(f"/objects/{oid}?", f"/objects/{missing}?")
    assert requests.put(other, data=data, timeout=60).status_code == 401
    assert requests.get(href, timeout=60).status_code == 401
