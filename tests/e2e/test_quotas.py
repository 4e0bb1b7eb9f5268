"""Storage quotas with the real clients against a live hub: git-lfs, git and huggingface_hub are
refused with a readable message before any byte is stored; usage counts LFS objects once per
namespace and goes down when a repo is deleted; a site admin's change is audited."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import requests
from huggingface_hub.errors import HfHubHTTPError

from tests.conftest import require_tool
from tests.e2e.conftest import HubServer
from tests.e2e.helpers import (
    clone,
    commit_file,
    db_query,
    git,
    head,
    lfs_files,
    poll,
    random_bytes,
    remote_refs,
)

pytestmark = [pytest.mark.e2e]
MIB = 1024 * 1024


@pytest.fixture
def lfs_env(git_env: dict[str, str]) -> dict[str, str]:
    require_tool("git-lfs")
    git("lfs", "install", "--skip-repo", env=git_env)
    return git_env


def _usage(server: HubServer, token: str, name: str) -> dict:
    r = requests.get(
        f"{server.url}/api/users/{name}/usage",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return r.json()


def _room(server: HubServer, token: str, name: str, room: int) -> None:
    """Set `name`'s quota to its current usage plus `room` bytes (the CLI, as an operator)."""
    used = _usage(server, token, name)["usedBytes"]
    server.cli("quota", "set", name, str(used + room))


def _clone_with_room(
    server: HubServer, env: dict[str, str], work: Path, room: int
) -> tuple[str, str, str, str]:
    """A new user's repo cloned to `work`, the user's quota `room` bytes above its usage;
    returns (user, token, repo, head)."""
    user, token = server.create_user()
    repo = server.create_repo(token)
    clone(server, repo, work, env, token)
    _room(server, token, user, room)
    return user, token, repo, head(work, env)


def _stored(server: HubServer, data: bytes) -> bool:
    oid = hashlib.sha256(data).hexdigest()
    return any(p.name == oid for p in lfs_files(server))


def test_git_lfs_push_over_quota_is_refused_before_upload(
    hub_server: HubServer, lfs_env: dict[str, str], tmp_path: Path
) -> None:
    work = tmp_path / "w"
    user, token, repo, before = _clone_with_room(hub_server, lfs_env, work, MIB)
    data = random_bytes(3 * MIB)
    commit_file(work, lfs_env, "model.bin", data)  # *.bin goes to LFS (.gitattributes)
    push = git("push", "origin", "main", cwd=work, env=lfs_env, check=False)
    assert push.returncode != 0
    # git-lfs prints the batch's per-object error message.
    assert f"Storage quota exceeded for {user}" in push.stderr, push.stderr
    assert "this upload of 1 LFS file needs 3.0 MiB more" in push.stderr
    assert not _stored(hub_server, data)
    assert remote_refs(hub_server, repo, lfs_env, token)["refs/heads/main"] == before
    # With room, the same push goes through.
    hub_server.cli("quota", "set", user, "default")
    git("push", "origin", "main", cwd=work, env=lfs_env)
    assert _stored(hub_server, data)


def test_git_push_over_quota_is_refused_in_pre_receive(
    hub_server: HubServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    work = tmp_path / "w"
    user, token, repo, before = _clone_with_room(hub_server, git_env, work, 100_000)
    commit_file(work, git_env, "data.txt", random_bytes(400_000).hex())  # not LFS, barely packs
    push = git("push", "origin", "main", cwd=work, env=git_env, check=False)
    assert push.returncode != 0
    assert "remote: hubforge: push rejected" in push.stderr, push.stderr
    assert f"remote:   - Storage quota exceeded for {user}" in push.stderr
    assert "this push needs" in push.stderr
    assert remote_refs(hub_server, repo, git_env, token)["refs/heads/main"] == before
    # A push that fits is accepted, and its size shows in the usage once measured.
    hub_server.cli("quota", "set", user, "unlimited")
    used = _usage(hub_server, token, user)["gitBytes"]
    git("push", "origin", "main", cwd=work, env=git_env)
    poll(
        lambda: _usage(hub_server, token, user)["gitBytes"] > used + 400_000,
        what="the push measured",
    )


def test_huggingface_hub_upload_over_quota_raises_http_error(
    hub_server: HubServer, tmp_path: Path
) -> None:
    user, token = hub_server.create_user()
    repo = hub_server.create_repo(token)
    api = hub_server.api(token)
    _room(hub_server, token, user, 1 * MIB)
    data = random_bytes(2 * MIB)
    # preupload declares the size: refused there with 507, before any byte is sent.
    with pytest.raises(HfHubHTTPError) as refused:
        api.upload_file(path_or_fileobj=data, path_in_repo="model.safetensors", repo_id=repo)
    assert refused.value.response.status_code == 507
    assert f"Storage quota exceeded for {user}" in str(refused.value)
    assert "this upload needs 2.0 MiB more" in str(refused.value)
    assert not _stored(hub_server, data)
    # A small file still fits, through the same calls.
    api.upload_file(path_or_fileobj=b"small" * 100, path_in_repo="notes.txt", repo_id=repo)
    assert "notes.txt" in api.list_repo_files(repo)


def test_huggingface_hub_lfs_batch_refusal_is_readable(hub_server: HubServer) -> None:
    """Same path and size as a stored file (preupload assumes it is unchanged), other bytes:
    the LFS batch refuses it per object, and the client shows the message."""
    user, token = hub_server.create_user()
    repo = hub_server.create_repo(token)
    api = hub_server.api(token)
    api.upload_file(path_or_fileobj=random_bytes(MIB), path_in_repo="w.bin", repo_id=repo)
    _room(hub_server, token, user, 10_000)
    other = random_bytes(MIB)
    with pytest.raises(ValueError, match=f"Storage quota exceeded for {user}"):
        api.upload_file(path_or_fileobj=other, path_in_repo="w.bin", repo_id=repo)
    assert not _stored(hub_server, other)


def test_commit_api_over_quota_answers_507(hub_server: HubServer) -> None:
    user, token = hub_server.create_user()
    repo = hub_server.create_repo(token)
    _room(hub_server, token, user, 1000)
    body = "\n".join(
        json.dumps(line)
        for line in (
            {"key": "header", "value": {"summary": "too much"}},
            {"key": "file", "value": {"path": "a.txt", "content": "x" * 50_000}},
        )
    )
    r = requests.post(
        f"{hub_server.url}/api/models/{repo}/commit/main",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"},
        timeout=30,
    )
    assert r.status_code == 507
    assert r.headers["X-Error-Code"] == "StorageQuotaExceeded"
    assert f"Storage quota exceeded for {user}" in r.json()["error"]


def test_usage_dedups_lfs_per_namespace_and_drops_after_delete(hub_server: HubServer) -> None:
    alice, alice_token = hub_server.create_user()
    bob, bob_token = hub_server.create_user()
    data = random_bytes(MIB)
    one, two = hub_server.create_repo(alice_token), hub_server.create_repo(alice_token)
    copy = hub_server.create_repo(bob_token)
    for repo, token in ((one, alice_token), (two, alice_token), (copy, bob_token)):
        hub_server.api(token).upload_file(
            path_or_fileobj=data, path_in_repo="model.safetensors", repo_id=repo
        )
    usage = _usage(hub_server, alice_token, alice)
    assert usage["lfsBytes"] == MIB  # two repos, one object
    assert {r["id"]: r["lfsBytes"] for r in usage["repos"]} == {one: MIB, two: MIB}
    assert _usage(hub_server, bob_token, bob)["lfsBytes"] == MIB  # counted for bob as well
    # HfApi.list_user_repos reads the same figures.
    listed = {r.id: r for r in hub_server.api(alice_token).list_user_repos()}
    assert set(listed) == {one, two}
    assert listed[one].storage >= MIB
    hub_server.api(alice_token).delete_repo(one)
    hub_server.api(alice_token).delete_repo(two)
    after = _usage(hub_server, alice_token, alice)
    assert after["lfsBytes"] == 0
    assert after["gitBytes"] < usage["gitBytes"]
    assert after["repos"] == []


def test_site_admin_sets_a_quota_through_the_api_and_it_is_audited(
    hub_server: HubServer,
) -> None:
    user, token = hub_server.create_user()
    admin = hub_server.unique("root")
    out = hub_server.cli(
        "adduser", admin, "--password", "correct-horse-1", "--admin", "--token", "write"
    )
    admin_token = out.stdout.strip().splitlines()[-1]
    url = f"{hub_server.url}/api/admin/quotas/{user}"
    r = requests.put(
        url, json={"quota": "5GiB"}, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert r.status_code == 403  # not a site admin
    r = requests.put(
        url,
        json={"quota": "5GiB"},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.json()["quotaBytes"] == 5 * 1024**3
    assert _usage(hub_server, token, user)["quotaSource"] == "override"
    rows = db_query(
        hub_server,
        "SELECT actor_name, namespace_name, details FROM orgs_auditevent WHERE verb = %s "
        "AND namespace_name = %s",
        ("quota.set", user),
    )
    assert len(rows) == 1
    actor, namespace, details = rows[0]
    assert (actor, namespace) == (admin, user)
    details = json.loads(details) if isinstance(details, str) else details
    assert details["new"] == 5 * 1024**3
