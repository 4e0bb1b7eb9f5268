"""Branches, tags and super-squash with the real huggingface_hub client (hf-api-contract.md 1.5)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from huggingface_hub import CommitOperationAdd
from huggingface_hub.errors import BadRequestError, HfHubHTTPError, RevisionNotFoundError

from tests.e2e.conftest import HubServer
from tests.e2e.helpers import clone, git, query_events

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def owner(hub_server: HubServer) -> tuple[str, str]:
    return hub_server.create_user()


@pytest.fixture
def repo(hub_server: HubServer, owner: tuple[str, str]) -> str:
    return hub_server.create_repo(owner[1])


def _refs(api, repo: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    refs = api.list_repo_refs(repo)
    return {r.ref: r.target_commit for r in [*refs.branches, *refs.tags]}


def test_create_and_delete_branch(hub_server: HubServer, owner: tuple[str, str], repo: str) -> None:
    api = hub_server.api(owner[1])
    first = api.repo_info(repo).sha
    api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo)
    api.create_branch(repo, branch="feature/x")  # %2F in the path
    api.create_branch(repo, branch="old", revision=first)
    refs = _refs(api, repo)
    assert refs["refs/heads/feature/x"] == api.repo_info(repo).sha
    assert refs["refs/heads/old"] == first
    api.upload_file(path_or_fileobj=b"y", path_in_repo="y.txt", repo_id=repo, revision="feature/x")
    assert "y.txt" in api.list_repo_files(repo, revision="feature/x")
    assert "y.txt" not in api.list_repo_files(repo)

    with pytest.raises(HfHubHTTPError) as exc:
        api.create_branch(repo, branch="old")
    assert exc.value.response.status_code == 409
    assert "Reference refs/heads/old already exists" in str(exc.value)
    api.create_branch(repo, branch="old", exist_ok=True)
    with pytest.raises(BadRequestError, match="Invalid reference for a branch"):
        api.create_branch(repo, branch="refs/pr/5")

    api.delete_branch(repo, branch="feature/x")
    assert "refs/heads/feature/x" not in _refs(api, repo)
    with pytest.raises(HfHubHTTPError, match="Cannot delete refs/heads/main"):
        api.delete_branch(repo, branch="main")
    with pytest.raises(HfHubHTTPError, match="Invalid rev id"):
        api.delete_branch(repo, branch="nope")
    ref_events = [
        e["payload"]["updates"][0]["ref"]
        for e in query_events(hub_server, "repo.updated")
        if e["payload"]["full_name"] == repo
    ]
    assert ref_events.count("refs/heads/feature/x") == 3  # created, committed to, deleted


def test_create_and_delete_tags(hub_server: HubServer, owner: tuple[str, str], repo: str) -> None:
    api = hub_server.api(owner[1])
    head = api.repo_info(repo).sha
    api.create_tag(repo, tag="v1")
    api.create_tag(repo, tag="v1.1", tag_message="annotated release", revision=head[:7])
    made = requests.post(
        f"{hub_server.url}/api/models/{repo}/tag/main",
        json={"tag": "v1.2", "message": "annotated"},
        headers={"Authorization": f"Bearer {owner[1]}"},
        timeout=10,
    )
    assert made.json()["targetCommit"] == head  # the commit, not the tag object
    api.delete_tag(repo, tag="v1.2")
    refs = api.list_repo_refs(repo)
    assert {t.name for t in refs.tags} == {"v1", "v1.1"}
    assert api.model_info(repo, revision="v1.1").sha == head
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_tag(repo, tag="v1")
    assert exc.value.response.status_code == 409
    api.create_tag(repo, tag="v1", exist_ok=True)
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_tag(repo, tag="invalid tag")
    assert exc.value.response.status_code == 400
    with pytest.raises(RevisionNotFoundError):
        api.create_tag(repo, tag="v2", revision="no-such-branch")
    api.delete_tag(repo, tag="v1.1")
    with pytest.raises(RevisionNotFoundError):
        api.model_info(repo, revision="v1.1")
    with pytest.raises(RevisionNotFoundError):
        api.delete_tag(repo, tag="v1.1")


@pytest.mark.git
def test_super_squash_history(
    hub_server: HubServer,
    owner: tuple[str, str],
    repo: str,
    git_env: dict[str, str],
    tmp_path: Path,
) -> None:
    api = hub_server.api(owner[1])
    for n in range(3):
        api.create_commit(
            repo,
            commit_message=f"c{n}",
            operations=[
                CommitOperationAdd("file.txt", f"v{n}".encode()),
                CommitOperationAdd(f"f{n}", b"n"),
            ],
        )
    api.create_branch(repo, branch="history")
    files = sorted(api.list_repo_files(repo))
    api.super_squash_history(repo, commit_message="squashed")
    commits = api.list_repo_commits(repo)
    assert [c.title for c in commits] == ["squashed"]
    assert sorted(api.list_repo_files(repo)) == files
    assert len(api.list_repo_commits(repo, revision="history")) == 4
    clone(hub_server, repo, tmp_path / "c", git_env, owner[1])
    log = git("log", "--format=%s", cwd=tmp_path / "c", env=git_env).stdout.split()
    assert log == ["squashed"]
    assert (tmp_path / "c" / "file.txt").read_bytes() == b"v2"
