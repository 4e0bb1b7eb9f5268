"""Discussions and pull requests with the real huggingface_hub client against a live server
(hf-api-contract.md 1.8 and create_commit(create_pr=True) in 1.6)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import requests
from huggingface_hub import CommitOperationAdd
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

from tests.e2e.conftest import HubServer
from tests.e2e.helpers import clone, commit_file, git, poll, random_bytes, remote_refs

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def owner(hub_server: HubServer) -> tuple[str, str]:
    return hub_server.create_user()


@pytest.fixture(scope="module")
def outsider(hub_server: HubServer) -> tuple[str, str]:
    return hub_server.create_user()


@pytest.fixture
def repo(hub_server: HubServer, owner: tuple[str, str]) -> str:
    name = hub_server.create_repo(owner[1])
    hub_server.api(owner[1]).upload_file(
        path_or_fileobj=b"hello\n", path_in_repo="README.md", repo_id=name
    )
    return name


def test_a_non_writer_opens_a_pr_with_an_lfs_file_and_the_owner_merges_it(
    hub_server: HubServer,
    owner: tuple[str, str],
    outsider: tuple[str, str],
    repo: str,
    tmp_path: Path,
) -> None:
    contributor = hub_server.api(outsider[1])
    weights = random_bytes(2048)
    with pytest.raises(HfHubHTTPError) as denied:  # a plain commit still needs write access
        contributor.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo)
    assert denied.value.response.status_code == 403

    info = contributor.create_commit(
        repo,
        operations=[
            CommitOperationAdd(path_in_repo="model.bin", path_or_fileobj=weights),
            CommitOperationAdd(path_in_repo="notes.txt", path_or_fileobj=b"line one\n"),
        ],
        commit_message="Add weights",
        commit_description="Trained for a while.",
        create_pr=True,
    )
    assert info.pr_url == f"{hub_server.url}/{repo}/discussions/1"
    assert info.pr_num == 1
    assert info.pr_revision == "refs/pr/1"

    # the PR's ref holds the files; main does not
    pr_info = contributor.repo_info(repo, revision="refs/pr/1", files_metadata=True)
    assert pr_info.sha == info.oid
    files = {s.rfilename: s for s in pr_info.siblings}
    assert files["model.bin"].lfs is not None
    assert files["model.bin"].lfs.sha256 == hashlib.sha256(weights).hexdigest()
    assert "model.bin" not in {s.rfilename for s in contributor.repo_info(repo).siblings}

    # the author adds a commit with revision="refs/pr/1"
    contributor.upload_file(
        path_or_fileobj=b"line one\nline two\n",
        path_in_repo="notes.txt",
        repo_id=repo,
        revision="refs/pr/1",
    )
    details = contributor.get_discussion_details(repo, 1)
    assert details.is_pull_request
    assert details.status == "draft"
    assert details.title == "Add weights"
    assert details.author == outsider[0]
    assert details.target_branch == "refs/heads/main"
    assert details.conflicting_files == []
    assert details.events[0].type == "comment"
    assert details.events[0].content == "Trained for a while."
    assert [e.type for e in details.events[1:]] == ["commit", "commit"]
    assert "+line two" in (details.diff or "")
    assert "model.bin" in (details.diff or "")

    # the owner comments and merges; the file is on main afterwards
    api = hub_server.api(owner[1])
    comment = api.comment_discussion(repo, 1, "Looks good")
    assert comment.content == "Looks good"
    with pytest.raises(HfHubHTTPError) as forbidden:
        contributor.merge_pull_request(repo, 1)
    assert forbidden.value.response.status_code == 403
    api.merge_pull_request(repo, 1, comment="Thanks!")
    merged = api.get_discussion_details(repo, 1)
    assert merged.status == "merged"
    assert merged.merge_commit_oid == api.repo_info(repo).sha
    assert {"model.bin", "notes.txt"} <= set(api.list_repo_files(repo))
    assert Path(api.hf_hub_download(repo, "notes.txt", cache_dir=tmp_path)).read_bytes() == (
        b"line one\nline two\n"
    )
    with pytest.raises(HfHubHTTPError) as again:
        api.merge_pull_request(repo, 1)
    assert again.value.response.status_code == 400


def test_discussions_list_filters_rename_status_and_comments(
    hub_server: HubServer, owner: tuple[str, str], outsider: tuple[str, str], repo: str
) -> None:
    api = hub_server.api(owner[1])
    other = hub_server.api(outsider[1])
    first = other.create_discussion(repo, "A question", description="How was it trained?")
    pr = api.create_pull_request(repo, "Draft change")
    assert (first.num, pr.num) == (1, 2)  # one sequence for both
    assert pr.status == "draft"
    refs = api.list_repo_refs(repo, include_pull_requests=True)
    assert [r.ref for r in refs.pull_requests] == ["refs/pr/2"]

    listed = list(api.get_repo_discussions(repo))
    assert [d.num for d in listed] == [2, 1]  # newest first
    assert [d.num for d in api.get_repo_discussions(repo, discussion_type="pull_request")] == [2]
    assert [d.num for d in api.get_repo_discussions(repo, discussion_status="open")] == [2, 1]
    assert [d.num for d in api.get_repo_discussions(repo, author=outsider[0])] == [1]

    renamed = other.rename_discussion(repo, 1, "A better question")
    assert (renamed.old_title, renamed.new_title) == ("A question", "A better question")
    reply = api.comment_discussion(repo, 1, "Read the card")
    edited = api.edit_discussion_comment(repo, 1, reply.id, "Read the model card")
    assert edited.edited
    assert edited.content == "Read the model card"
    with pytest.raises(HfHubHTTPError) as not_yours:
        other.edit_discussion_comment(repo, 1, reply.id, "mine now")
    assert not_yours.value.response.status_code == 403
    hidden = api.hide_discussion_comment(repo, 1, reply.id)
    assert hidden.hidden

    closed = other.change_discussion_status(repo, 1, "closed", comment="Answered")
    assert closed.new_status == "closed"
    assert [d.num for d in api.get_repo_discussions(repo, discussion_status="closed")] == [1]
    details = api.get_discussion_details(repo, 1)
    assert details.title == "A better question"
    assert [e.type for e in details.events] == [
        "comment",
        "title-change",
        "comment",
        "comment",
        "status-change",
    ]
    assert details.events[2].hidden
    assert details.events[2].content == ""

    bad = requests.post(
        f"{hub_server.url}/api/models/{repo}/discussions",
        json={"title": "x"},
        headers={"Authorization": f"Bearer {owner[1]}"},
        timeout=30,
    )
    assert bad.status_code == 400
    assert "title" in bad.json()["error"]
    missing = requests.get(f"{hub_server.url}/api/models/{repo}/discussions/99", timeout=30)
    assert missing.status_code == 404


def test_private_repo_discussions_are_not_found_for_outsiders(
    hub_server: HubServer, owner: tuple[str, str], outsider: tuple[str, str]
) -> None:
    repo = hub_server.create_repo(owner[1], private=True)
    api = hub_server.api(owner[1])
    api.create_discussion(repo, "Internal notes")
    with pytest.raises(RepositoryNotFoundError):
        list(hub_server.api(outsider[1]).get_repo_discussions(repo))
    with pytest.raises(RepositoryNotFoundError):
        hub_server.api(outsider[1]).create_discussion(repo, "Let me in")
    anonymous = requests.get(f"{hub_server.url}/api/models/{repo}/discussions/1", timeout=30)
    assert anonymous.status_code == 401


def test_a_read_token_may_not_open_discussions(
    hub_server: HubServer, owner: tuple[str, str], repo: str
) -> None:
    reader, _token = hub_server.create_user(role="read")
    read_token = hub_server.token(reader, role="read")
    with pytest.raises(HfHubHTTPError) as denied:
        hub_server.api(read_token).create_discussion(repo, "Hello there")
    assert denied.value.response.status_code == 403
    # nor upload LFS objects for a pull request (create_pr sends no `ref`)
    batch = requests.post(
        f"{hub_server.url}/{repo}.git/info/lfs/objects/batch",
        json={"operation": "upload", "objects": [{"oid": "a" * 64, "size": 3}]},
        headers={
            "Authorization": f"Bearer {read_token}",
            "Accept": "application/vnd.git-lfs+json",
            "Content-Type": "application/vnd.git-lfs+json",
        },
        timeout=30,
    )
    assert batch.status_code == 403


def test_create_pr_from_parent_commit_starts_the_pr_there(
    hub_server: HubServer, owner: tuple[str, str], outsider: tuple[str, str], repo: str
) -> None:
    """create_commit(create_pr=True, parent_commit=X): "the pull request will be created from
    parent_commit" (hf_api.py); X full or abbreviated, and only from the branch's history."""
    api = hub_server.api(owner[1])
    contributor = hub_server.api(outsider[1])
    seen = contributor.repo_info(repo).sha
    assert seen is not None
    api.upload_file(path_or_fileobj=b"moved on\n", path_in_repo="README.md", repo_id=repo)
    api.upload_file(path_or_fileobj=b"later\n", path_in_repo="later.txt", repo_id=repo)
    head = api.repo_info(repo).sha

    info = contributor.create_commit(
        repo,
        operations=[CommitOperationAdd(path_in_repo="fix.txt", path_or_fileobj=b"fix\n")],
        commit_message="Fix from what I read",
        create_pr=True,
        parent_commit=seen[:7],
    )
    [pr_commit, start, *_] = contributor.list_repo_commits(repo, revision=info.pr_revision)
    assert (pr_commit.commit_id, start.commit_id) == (info.oid, seen)
    assert set(contributor.list_repo_files(repo, revision=info.pr_revision)) == {
        ".gitattributes", "README.md", "fix.txt"}  # fmt: skip
    details = contributor.get_discussion_details(repo, info.pr_num)
    assert details.conflicting_files == []
    assert "fix.txt" in (details.diff or "")
    assert "later.txt" not in (details.diff or "")  # the diff is from where the PR starts
    assert api.repo_info(repo).sha == head

    api.merge_pull_request(repo, info.pr_num)  # main moved since: a merge commit
    assert {"fix.txt", "later.txt"} <= set(api.list_repo_files(repo))
    assert api.list_repo_commits(repo)[0].title.startswith("Merge refs/pr/")

    api.create_branch(repo, branch="side")
    branch_only = api.upload_file(
        path_or_fileobj=b"side\n", path_in_repo="side.txt", repo_id=repo, revision="side"
    )
    for parent in ("0" * 40, branch_only.oid):  # missing; on another branch only
        with pytest.raises(RevisionNotFoundError, match="parentCommit must be a commit in"):
            contributor.create_commit(
                repo,
                operations=[CommitOperationAdd(path_in_repo="x.txt", path_or_fileobj=b"x\n")],
                commit_message="From nowhere",
                create_pr=True,
                parent_commit=parent,
            )
    assert [d.num for d in contributor.get_repo_discussions(repo)] == [info.pr_num]  # no new PR


def test_merge_with_a_moved_base_makes_a_merge_commit_or_reports_conflicts(
    hub_server: HubServer, owner: tuple[str, str], repo: str, tmp_path: Path
) -> None:
    api = hub_server.api(owner[1])
    clean = api.upload_file(
        path_or_fileobj=b"new file\n", path_in_repo="b.txt", repo_id=repo, create_pr=True
    )
    clash = api.upload_file(
        path_or_fileobj=b"theirs\n", path_in_repo="README.md", repo_id=repo, create_pr=True
    )
    api.upload_file(path_or_fileobj=b"ours\n", path_in_repo="README.md", repo_id=repo)
    assert api.get_discussion_details(repo, clash.pr_num).conflicting_files == ["README.md"]
    with pytest.raises(HfHubHTTPError) as conflict:
        api.merge_pull_request(repo, clash.pr_num)
    assert conflict.value.response.status_code == 409
    assert "README.md" in str(conflict.value)

    api.merge_pull_request(repo, clean.pr_num)
    head = api.list_repo_commits(repo)[0]
    assert head.title.startswith("Merge refs/pr/")
    assert set(api.list_repo_files(repo)) >= {"README.md", "b.txt"}
    readme = api.hf_hub_download(repo, "README.md", cache_dir=tmp_path)
    assert Path(readme).read_bytes() == b"ours\n"


def test_the_pr_author_pushes_to_refs_pr_n_with_git(
    hub_server: HubServer,
    owner: tuple[str, str],
    outsider: tuple[str, str],
    repo: str,
    git_env: dict[str, str],
    tmp_path: Path,
) -> None:
    contributor = hub_server.api(outsider[1])
    pr = contributor.create_pull_request(repo, "Via git")
    someone_else = hub_server.api(owner[1]).create_pull_request(repo, "The owner's own PR")
    work = tmp_path / "work"
    clone(hub_server, repo, work, git_env, outsider[1])
    git("fetch", "origin", f"refs/pr/{pr.num}", cwd=work, env=git_env)
    sha = commit_file(work, git_env, "fix.txt", "fixed\n", message="Fix it")
    git("push", "origin", f"HEAD:refs/pr/{pr.num}", cwd=work, env=git_env)
    refs = remote_refs(hub_server, repo, git_env, outsider[1])
    assert refs[f"refs/pr/{pr.num}"] == sha
    # the push is recorded once git has its answer (repos/git/http.py _AfterResponse)
    details = poll(
        lambda: next(
            (
                d
                for d in [contributor.get_discussion_details(repo, pr.num)]
                if d.events[-1].type == "commit"
            ),
            None,
        ),
        what="the pushed commit in the PR's timeline",
    )
    assert details.events[-1].summary == "Fix it"
    assert "+fixed" in (details.diff or "")

    for target, reason in [
        ("refs/heads/main", "your pull requests"),
        (f"refs/pr/{someone_else.num}", "only its author"),
        ("refs/pr/99", "open a pull request first"),
    ]:
        push = git("push", "origin", f"HEAD:{target}", cwd=work, env=git_env, check=False)
        assert push.returncode != 0, target
        assert reason in push.stderr, push.stderr
    contributor.change_discussion_status(repo, pr.num, "closed")
    commit_file(work, git_env, "late.txt", "late\n")
    closed = git("push", "origin", f"HEAD:refs/pr/{pr.num}", cwd=work, env=git_env, check=False)
    assert closed.returncode != 0  # no open PR of theirs left: no push rights at all
    assert remote_refs(hub_server, repo, git_env, owner[1])[f"refs/pr/{pr.num}"] == sha
