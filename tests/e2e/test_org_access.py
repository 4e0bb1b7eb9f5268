"""Org access with the real clients against a live server: an admin cuts a member's token off
the org (git and huggingface_hub refused at once, restored later), and a removed member's
git push, clone and downloads fail while its own repos still work."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import RepositoryNotFoundError

from tests.e2e.conftest import HubServer
from tests.e2e.helpers import clone, commit_file, git

pytestmark = [pytest.mark.e2e, pytest.mark.git]


def _org_with_member(server: HubServer, role: str = "write") -> tuple[str, str, str, str]:
    """(org, admin token, member name, member token) with a private repo `{org}/model`."""
    boss, boss_token = server.create_user()
    member, member_token = server.create_user()
    org = server.unique("accessorg")
    server.cli("org", "create", org, "--admin", boss, "--member", f"{member}:{role}")
    api = server.api(boss_token)
    api.create_repo(f"{org}/model", private=True)
    api.upload_file(path_or_fileobj=b"weights", path_in_repo="w.bin", repo_id=f"{org}/model")
    return org, boss_token, member, member_token


def test_admin_cuts_a_token_off_the_org_and_restores_it(
    hub_server: HubServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    org, boss_token, member, member_token = _org_with_member(hub_server)
    repo = f"{org}/model"
    clone(hub_server, repo, tmp_path / "before", git_env, member_token)
    admin = {"Authorization": f"Bearer {boss_token}"}
    rows = requests.get(
        f"{hub_server.url}/api/organizations/{org}/tokens", headers=admin, timeout=30
    ).json()
    [row] = [r for r in rows if r["owner"]["user"] == member]
    assert row["lastUsedAt"] is not None  # the clone above used it
    r = requests.delete(
        f"{hub_server.url}/api/organizations/{org}/tokens/{row['id']}", headers=admin, timeout=30
    )
    assert r.json()["revokedForOrg"] is True

    refused = clone(hub_server, repo, tmp_path / "after", git_env, member_token, check=False)
    assert refused.returncode != 0
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(
            repo, "w.bin", endpoint=hub_server.url, token=member_token, cache_dir=tmp_path / "c"
        )
    # The member's own namespace is untouched.
    own = hub_server.api(member_token).create_repo(f"{member}/own").repo_id
    assert hub_server.api(member_token).model_info(own).id == own

    requests.post(
        f"{hub_server.url}/api/organizations/{org}/tokens/{row['id']}/restore",
        headers=admin,
        timeout=30,
    ).raise_for_status()
    clone(hub_server, repo, tmp_path / "restored", git_env, member_token)


def test_removed_member_loses_git_and_downloads_at_once(
    hub_server: HubServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    org, boss_token, member, member_token = _org_with_member(hub_server)
    repo = f"{org}/model"
    work = tmp_path / "work"
    clone(hub_server, repo, work, git_env, member_token)
    commit_file(work, git_env, "notes.md", "first\n")
    git("push", "-q", "origin", "HEAD:main", cwd=work, env=git_env)

    r = requests.delete(
        f"{hub_server.url}/api/organizations/{org}/members/{member}",
        headers={"Authorization": f"Bearer {boss_token}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text

    commit_file(work, git_env, "notes.md", "second\n")
    push = git("push", "-q", "origin", "HEAD:main", cwd=work, env=git_env, check=False)
    assert push.returncode != 0
    fetch = git("fetch", "-q", "origin", cwd=work, env=git_env, check=False)
    assert fetch.returncode != 0
    with pytest.raises(RepositoryNotFoundError):
        hub_server.api(member_token).model_info(repo)
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download(
            repo, "w.bin", endpoint=hub_server.url, token=member_token, cache_dir=tmp_path / "c"
        )
    whoami = hub_server.api(member_token).whoami()
    assert org not in {o["name"] for o in whoami["orgs"]}
    names = {m.id for m in hub_server.api(member_token).list_models(author=org)}
    assert repo not in names
