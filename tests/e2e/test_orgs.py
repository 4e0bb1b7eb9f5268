"""Organizations and gated repos with the real clients: huggingface_hub and git."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError

from tests.e2e.conftest import HubServer
from tests.e2e.helpers import clone, commit_file, git

pytestmark = [pytest.mark.e2e]


def test_org_members_create_push_and_whoami(
    hub_server: HubServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    boss, boss_token = hub_server.create_user()
    writer, writer_token = hub_server.create_user()
    reader, reader_token = hub_server.create_user()
    contractor, contractor_token = hub_server.create_user()
    org = hub_server.unique("org")
    hub_server.cli(
        "org",
        "create",
        org,
        "--admin",
        boss,
        "--fullname",
        "Dummy Hub Org",
        "--member",
        f"{writer}:write",
        "--member",
        f"{reader}:read",
        "--default-private",
    )
    me = hub_server.api(writer_token).whoami()
    assert [(o["name"], o["fullname"], o["roleInOrg"]) for o in me["orgs"]] == [
        (org, "Dummy Hub Org", "write")
    ]
    url = hub_server.api(writer_token).create_repo(f"{org}/model")
    assert url.repo_id == f"{org}/model"
    info = hub_server.api(reader_token).model_info(f"{org}/model")
    assert info.private  # the org's default
    with pytest.raises(HfHubHTTPError):
        hub_server.api(reader_token).create_repo(f"{org}/nope")
    with pytest.raises(RepositoryNotFoundError):
        hub_server.api(contractor_token).model_info(f"{org}/model")
    members = list(hub_server.api(None).list_organization_members(org))
    assert {m.username for m in members} == {boss, writer, reader}
    # A team-only member pushes to the team's repo with git.
    api = hub_server.api(boss_token)
    api.create_repo(f"{org}/other")
    for method, path, body in (
        ("post", f"/api/organizations/{org}/teams", {"name": "vendors"}),
        ("put", f"/api/organizations/{org}/teams/vendors/members/{contractor}", {"role": "write"}),
        ("put", f"/api/organizations/{org}/teams/vendors/repos/models/model", None),
    ):
        r = requests.request(
            method,
            hub_server.url + path,
            json=body,
            timeout=30,
            headers={"Authorization": f"Bearer {boss_token}"},
        )
        assert r.status_code == 200, r.text
    work = tmp_path / "w"
    clone(hub_server, f"{org}/model", work, git_env, contractor_token)
    sha = commit_file(work, git_env, "README.md", "# from the contractor\n")
    git("push", "-q", "origin", "HEAD:main", cwd=work, env=git_env)
    assert hub_server.api(boss_token).model_info(f"{org}/model").sha == sha
    denied = clone(
        hub_server, f"{org}/other", tmp_path / "o", git_env, contractor_token, check=False
    )
    assert denied.returncode != 0  # the org's other repos stay invisible


def test_access_request_flow(hub_server: HubServer, tmp_path: Path) -> None:
    _owner, owner_token = hub_server.create_user()
    asker, asker_token = hub_server.create_user()
    friend, _ = hub_server.create_user()
    api = hub_server.api(owner_token)
    repo = api.create_repo(hub_server.unique("gated")).repo_id
    api.upload_file(path_or_fileobj=b"weights", path_in_repo="w.bin", repo_id=repo)
    api.update_repo_settings(repo, gated="manual")
    kwargs = {
        "repo_id": repo,
        "filename": "w.bin",
        "endpoint": hub_server.url,
        "cache_dir": tmp_path / "cache",
    }
    with pytest.raises(GatedRepoError):
        hf_hub_download(token=asker_token, **kwargs)

    r = requests.post(
        f"{hub_server.url}/api/models/{repo}/ask-access",
        json={},
        headers={"Authorization": f"Bearer {asker_token}"},
        timeout=30,
    )
    assert r.json()["status"] == "pending"
    pending = api.list_pending_access_requests(repo)
    assert [p.username for p in pending] == [asker]
    api.accept_access_request(repo, asker)
    with pytest.raises(HfHubHTTPError):
        api.accept_access_request(repo, asker)  # already accepted
    path = hf_hub_download(token=asker_token, **kwargs)
    assert Path(path).read_bytes() == b"weights"
    api.reject_access_request(repo, asker, rejection_reason="no")
    assert [r.username for r in api.list_rejected_access_requests(repo)] == [asker]
    api.cancel_access_request(repo, asker)
    with pytest.raises(HfHubHTTPError):
        api.cancel_access_request(repo, asker)  # already pending
    api.grant_access(repo, friend)
    with pytest.raises(HfHubHTTPError):
        api.grant_access(repo, friend)
    accepted = api.list_accepted_access_requests(repo)
    assert [(a.username, a.email) for a in accepted] == [(friend, None)]
