"""The commit service, preupload and ref services, in process against a real bare repo."""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest
from django.http import HttpResponse
from django.test import Client

from common.errors import (
    BadRequestError,
    ConflictError,
    EntryNotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PreconditionFailedError,
    RevisionNotFoundError,
    ValidationError,
)
from orgs.services import user_create
from repos.commits import (
    STALE_PARENT,
    AddFile,
    AddLfsFile,
    DeleteFile,
    DeleteFolder,
    PreuploadFile,
    branch_create,
    branch_delete,
    branch_squash,
    commit_create,
    preupload_plan,
    tag_create,
    tag_delete,
    valid_ref_name,
)
from repos.git.store import GitStore, git_store
from repos.lfs.pointer import Pointer, parse_pointer
from repos.lfs.store import Oid, object_store
from repos.models import Discussion, EventRecord, Repo, RepoKind
from repos.services import lfs_link, repo_create
from tests.conftest import require_tool


@pytest.fixture
def owner(db, data_dir):  # type: ignore[no-untyped-def]
    return user_create(username="alice", password=None)


@pytest.fixture
def repo(owner) -> Repo:  # type: ignore[no-untyped-def]
    return repo_create(actor=owner, namespace=None, name="m", kind=RepoKind.MODEL)


def _head(repo: Repo, branch: str = "main") -> str:
    return git_store().resolve(repo.storage_key, branch)


def _files(repo: Repo, rev: str = "main") -> dict[str, bytes]:
    store = git_store()
    commit = store.commit(repo.storage_key, store.resolve(repo.storage_key, rev))
    return {
        e.path: store.read_blob(repo.storage_key, e.sha)
        for e in store.walk_tree(repo.storage_key, commit.tree)
        if not e.is_dir
    }


def _commit(owner, repo: Repo, *ops, **kwargs):  # type: ignore[no-untyped-def]
    kwargs.setdefault("summary", "test commit")
    return commit_create(actor=owner, repo=repo, revision="main", operations=list(ops), **kwargs)


def _lfs_object(repo: Repo, data: bytes) -> str:
    oid = hashlib.sha256(data).hexdigest()
    object_store().put(Oid(oid), len(data), iter([data]))
    lfs_link(repo=repo, oid=oid, size=len(data))
    return oid


# --- commits ----------------------------------------------------------------------------------


def test_commit_adds_regular_and_lfs_files_on_top_of_head(owner, repo: Repo) -> None:
    before = _head(repo)
    oid = _lfs_object(repo, b"weights" * 100)
    result = _commit(
        owner,
        repo,
        AddFile("a/b/c.txt", b"hello"),
        AddLfsFile("w.bin", oid, 700),
        summary="Upload",
        description="two files",
    )
    store = git_store()
    info = store.commit(repo.storage_key, result.oid)
    assert info.parents == (before,)
    assert info.message == "Upload\n\ntwo files"
    assert info.author.startswith("alice <")
    assert result.url == f"http://testserver/{repo.full_name}/commit/{result.oid}"
    files = _files(repo)
    assert files["a/b/c.txt"] == b"hello"
    assert parse_pointer(files["w.bin"]) == Pointer(oid, 700)
    assert ".gitattributes" in files  # untouched files stay


def test_commit_publishes_repo_updated_from_the_api(owner, repo: Repo) -> None:
    before = _head(repo)
    result = _commit(owner, repo, AddFile("x.txt", b"x"))
    event = EventRecord.objects.filter(kind="repo.updated").last()
    assert event is not None
    assert event.payload["source"] == "api"
    assert event.payload["updates"] == [
        {"ref": "refs/heads/main", "old": before, "new": result.oid}
    ]


def test_empty_commit_is_allowed(owner, repo: Repo) -> None:
    before = _head(repo)
    result = _commit(owner, repo)
    assert git_store().commit(repo.storage_key, result.oid).parents == (before,)
    assert _files(repo) == _files(repo, before)


def test_delete_file_and_folder_with_trailing_slash(owner, repo: Repo) -> None:
    _commit(owner, repo, AddFile("d/1.txt", b"1"), AddFile("d/e/2.txt", b"2"), AddFile("k", b"k"))
    _commit(owner, repo, DeleteFile("k"), DeleteFolder("d/"))
    assert set(_files(repo)) == {".gitattributes"}


def test_delete_missing_file_is_entry_not_found_and_changes_nothing(owner, repo: Repo) -> None:
    _commit(owner, repo, AddFile("folder/a.txt", b"a"))
    before = _head(repo)
    with pytest.raises(EntryNotFoundError, match="A file with this name doesn't exist"):
        _commit(owner, repo, AddFile("new.txt", b"n"), DeleteFile("missing.txt"))
    with pytest.raises(EntryNotFoundError, match="A file with this name doesn't exist"):
        _commit(owner, repo, DeleteFile("folder"))  # a folder needs DeleteFolder
    with pytest.raises(EntryNotFoundError):
        _commit(owner, repo, DeleteFolder("nope/"))
    assert _head(repo) == before


def test_same_repo_lfs_copy_without_size(owner, repo: Repo) -> None:
    oid = _lfs_object(repo, b"abc" * 50)
    _commit(owner, repo, AddLfsFile("copy/of.bin", oid))
    assert parse_pointer(_files(repo)["copy/of.bin"]) == Pointer(oid, 150)


def test_lfs_object_of_another_repo_is_refused(owner, repo: Repo) -> None:
    other = repo_create(actor=owner, namespace=None, name="other")
    oid = _lfs_object(other, b"secret bytes")
    before = _head(repo)
    with pytest.raises(ValidationError, match="was not uploaded to this repository"):
        _commit(owner, repo, AddLfsFile("w.bin", oid, 12))
    with pytest.raises(ValidationError, match="was not uploaded to this repository"):
        _commit(owner, repo, AddLfsFile("w.bin", oid))  # a "copy" cannot borrow it either
    # A regular file that *is* a pointer obeys the same rule as a git push.
    with pytest.raises(ValidationError, match="was not uploaded"):
        _commit(owner, repo, AddFile("p.bin", Pointer(oid, 12).encode()))
    assert _head(repo) == before


def test_lfs_size_must_match_the_stored_object(owner, repo: Repo) -> None:
    oid = _lfs_object(repo, b"12345")
    with pytest.raises(ValidationError, match="differs"):
        _commit(owner, repo, AddLfsFile("w.bin", oid, 6))


@pytest.mark.parametrize(
    "path",
    [
        "../x",
        "/etc/x",
        "a/../../b",
        ".git/config",
        "a/.GIT/x",
        "a\x00b",
        "..\\ddd",
        "a//b",
        "./a",
        "a/",
        "",
        "x" * 10_000,
        "line\nbreak",
    ],
)
def test_bad_paths_are_refused_before_anything_is_written(owner, repo: Repo, path: str) -> None:
    before = _head(repo)
    with pytest.raises(ValidationError, match="path"):
        _commit(owner, repo, AddFile("fine.txt", b"ok"), AddFile(path, b"x"))
    assert _head(repo) == before


def test_path_through_an_existing_file_is_refused(owner, repo: Repo) -> None:
    _commit(owner, repo, AddFile("a", b"file"))
    with pytest.raises(ValidationError, match="not a folder"):
        _commit(owner, repo, AddFile("a/b.txt", b"x"))
    with pytest.raises(ValidationError, match="folder with this name"):
        _commit(owner, repo, AddFile("d/x", b"x"), AddFile("d", b"x"))


def test_path_through_a_symlink_is_refused(owner, repo: Repo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    git = require_tool("git")
    work = tmp_path / "work"
    env = {
        "HOME": str(tmp_path),
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": "/usr/bin:/bin",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@x",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@x",
    }
    bare = str(git_store().path(repo.storage_key))
    subprocess.run([git, "clone", "-q", bare, str(work)], check=True, env=env)
    (work / "link").symlink_to("/etc")
    subprocess.run([git, "add", "link"], cwd=work, check=True, env=env)
    subprocess.run([git, "commit", "-qm", "link"], cwd=work, check=True, env=env)
    subprocess.run([git, "push", "-q", "origin", "main"], cwd=work, check=True, env=env)
    with pytest.raises(ValidationError, match="symlink"):
        _commit(owner, repo, AddFile("link/passwd", b"x"))


def test_regular_blob_over_the_git_limit_is_refused(owner, repo: Repo, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MAX_GIT_BLOB_BYTES = 1000
    with pytest.raises(PayloadTooLargeError, match="LFS"):
        _commit(owner, repo, AddFile("big.txt", b"x" * 1001))
    _commit(owner, repo, AddFile("ok.txt", b"x" * 1000))


def test_too_many_files_in_one_folder(owner, repo: Repo, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MAX_TREE_ENTRIES = 3
    _commit(owner, repo, AddFile("d/1", b"1"), AddFile("d/2", b"2"), AddFile("d/3", b"3"))
    with pytest.raises(ValidationError, match="Too many entries"):
        _commit(owner, repo, AddFile("d/4", b"4"))


def test_stale_parent_commit_is_412_and_nothing_is_lost(owner, repo: Repo) -> None:
    parent = _head(repo)
    first = _commit(owner, repo, AddFile("a.txt", b"first"), parent_commit=parent)
    with pytest.raises(PreconditionFailedError, match=STALE_PARENT):
        _commit(owner, repo, AddFile("a.txt", b"second"), parent_commit=parent)
    assert _head(repo) == first.oid
    assert _files(repo)["a.txt"] == b"first"


def test_lost_race_rebuilds_on_the_new_head(owner, repo: Repo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Another writer lands between building the commit and the swap: without a parent the
    commit is rebuilt on top of it; with a parent it is a 412."""
    store = git_store()
    real_update = GitStore.update_ref
    raced = []

    def update_after_a_concurrent_push(self, key, ref, old, new):  # type: ignore[no-untyped-def]
        if not raced:
            raced.append(True)
            _commit(owner, repo, AddFile("other.txt", b"theirs"))
        return real_update(self, key, ref, old, new)

    monkeypatch.setattr(GitStore, "update_ref", update_after_a_concurrent_push)
    result = _commit(owner, repo, AddFile("mine.txt", b"mine"))
    files = _files(repo)
    assert (files["mine.txt"], files["other.txt"]) == (b"mine", b"theirs")
    theirs = store.commit(repo.storage_key, result.oid).parents[0]
    assert store.commit(repo.storage_key, theirs).message == "test commit"

    raced.clear()
    with pytest.raises(PreconditionFailedError):
        _commit(owner, repo, AddFile("mine.txt", b"v2"), parent_commit=_head(repo))
    assert _files(repo)["mine.txt"] == b"mine"


def test_commit_to_missing_branch_or_tag_is_revision_not_found(owner, repo: Repo) -> None:
    with pytest.raises(RevisionNotFoundError):
        commit_create(actor=owner, repo=repo, revision="nope", operations=[], summary="s")
    tag_create(actor=owner, repo=repo, tag="v1")
    with pytest.raises(RevisionNotFoundError):
        commit_create(actor=owner, repo=repo, revision="refs/tags/v1", operations=[], summary="s")


def test_create_pr_by_a_reader_opens_pr_n_and_leaves_main_alone(owner, repo: Repo) -> None:
    reader = user_create(username="bob", password=None)
    main = git_store().resolve(repo.storage_key, "main")
    result = _commit(reader, repo, AddFile("pr.txt", b"from a PR"), create_pr=True)
    assert result.pr_num == 1
    assert result.pr_url is not None
    assert result.pr_url.endswith(f"/{repo.full_name}/discussions/1")
    assert git_store().resolve(repo.storage_key, "refs/pr/1") == result.oid
    assert git_store().resolve(repo.storage_key, "main") == main
    with pytest.raises(RevisionNotFoundError):  # a PR needs a base branch, not a sha
        commit_create(
            actor=reader, repo=repo, revision=main, operations=[], summary="s", create_pr=True
        )


def test_create_pr_starts_from_parent_commit_in_the_branch_history(owner, repo: Repo) -> None:
    """huggingface_hub create_commit(create_pr=True, parent_commit=X): "the pull request will
    be created from parent_commit", full or abbreviated; main is left alone."""
    reader = user_create(username="bob", password=None)
    old = _commit(owner, repo, AddFile("a.txt", b"v1")).oid
    _commit(owner, repo, AddFile("a.txt", b"v2"), AddFile("later.txt", b"x"))
    main = _head(repo)
    store = git_store()
    for n, parent in enumerate((old, old[:7].upper(), old[:5]), start=1):
        result = _commit(reader, repo, AddFile("pr.txt", b"pr"), create_pr=True,
                         parent_commit=parent)  # fmt: skip
        assert result.pr_num == n
        assert store.resolve(repo.storage_key, f"refs/pr/{n}") == result.oid
        assert store.commit(repo.storage_key, result.oid).parents == (old,)
        files = _files(repo, f"refs/pr/{n}")
        assert (files["a.txt"], files["pr.txt"]) == (b"v1", b"pr")
        assert "later.txt" not in files
    assert _head(repo) == main
    at_head = _commit(reader, repo, AddFile("pr.txt", b"pr"), create_pr=True, parent_commit=main)
    assert store.commit(repo.storage_key, at_head.oid).parents == (main,)


def test_create_pr_parent_commit_outside_the_branch_history_is_refused(owner, repo: Repo) -> None:
    branch_create(actor=owner, repo=repo, branch="side")
    side = commit_create(actor=owner, repo=repo, revision="side", operations=[
        AddFile("side.txt", b"s")], summary="side").oid  # fmt: skip
    tree = git_store().commit(repo.storage_key, side).tree
    for parent in (side, "f" * 40, "deadbeef", tree):  # another branch, missing, a tree
        with pytest.raises(RevisionNotFoundError, match="parentCommit must be a commit in the"):
            _commit(owner, repo, AddFile("pr.txt", b"pr"), create_pr=True, parent_commit=parent)
    with pytest.raises(BadRequestError, match="parentCommit must be a commit id"):
        _commit(owner, repo, AddFile("pr.txt", b"pr"), create_pr=True, parent_commit="abcd")
    assert not Discussion.objects.filter(repo=repo).exists()  # no PR, no refs/pr/N
    assert not [r for r in git_store().refs(repo.storage_key) if r.startswith("refs/pr/")]


def test_parent_commit_without_create_pr_must_be_the_head_full_or_abbreviated(
    owner, repo: Repo
) -> None:
    parent = _head(repo)
    first = _commit(owner, repo, AddFile("a.txt", b"1"), parent_commit=parent[:7]).oid
    for stale in (parent, parent[:7], parent[:5]):  # an ancestor of main: still a 412
        with pytest.raises(PreconditionFailedError, match=STALE_PARENT):
            _commit(owner, repo, AddFile("a.txt", b"2"), parent_commit=stale)
    assert _head(repo) == first
    _commit(owner, repo, AddFile("a.txt", b"2"), parent_commit=first[:5].upper())
    assert _files(repo)["a.txt"] == b"2"


def test_commit_api_create_pr_from_parent_commit(owner, repo: Repo) -> None:
    """The NDJSON door: header.parentCommit with ?create_pr=1 opens the PR from there; an
    unknown parent is a 404 RevisionNotFound, a stale one without create_pr stays a 412."""
    old = _commit(owner, repo, AddFile("a.txt", b"v1")).oid
    _commit(owner, repo, AddFile("a.txt", b"v2"))
    client = Client()
    client.force_login(owner)
    url = f"/api/models/{repo.full_name}/commit/main"

    def post(parent: str, query: str = "?create_pr=1") -> HttpResponse:
        lines = [
            {"key": "header", "value": {"summary": "from v1", "parentCommit": parent}},
            {"key": "file", "value": {"path": "b.txt", "content": "Yg==", "encoding": "base64"}},
        ]
        body = "\n".join(json.dumps(line) for line in lines)
        return client.post(url + query, body, content_type="application/x-ndjson")

    r = post(old)
    assert r.status_code == 200, r.content
    assert r.json()["pullRequestUrl"].endswith(f"/{repo.full_name}/discussions/1")
    pr_head = r.json()["commitOid"]
    assert git_store().commit(repo.storage_key, pr_head).parents == (old,)
    assert _files(repo, "refs/pr/1")["a.txt"] == b"v1"
    r = post("0" * 40)
    assert r.status_code == 404
    assert r["X-Error-Code"] == "RevisionNotFound"
    assert "parentCommit must be a commit in the history" in r.json()["error"]
    r = post(old, query="")
    assert r.status_code == 412
    assert r.json()["error"] == STALE_PARENT
    assert post("xyz").status_code == 400


def test_reader_cannot_commit(owner, repo: Repo) -> None:
    reader = user_create(username="bob", password=None)
    with pytest.raises(PermissionDeniedError):
        _commit(reader, repo, AddFile("x", b"x"))


# --- preupload --------------------------------------------------------------------------------


def test_preupload_modes_oids_and_ignore(owner, repo: Repo, settings) -> None:  # type: ignore[no-untyped-def]
    settings.MAX_GIT_BLOB_BYTES = 1000
    oid = _lfs_object(repo, b"model")
    _commit(
        owner,
        repo,
        AddFile("cfg.json", b"{}"),
        AddLfsFile("w.bin", oid, 5),
        AddFile(".gitignore", b"nested/*\n"),
    )
    files = [
        PreuploadFile("w.bin", 5),
        PreuploadFile("new.bin", 7),
        PreuploadFile("empty.bin", 0),
        PreuploadFile("cfg.json", 2),
        PreuploadFile("big.txt", 1001),
        PreuploadFile("blob.dat", 10, sample=b"ab\x00cd"),
        PreuploadFile("nested/file.bin", 3),
    ]
    plan = preupload_plan(actor=owner, repo=repo, revision="main", files=files)
    answers = {a.path: a for a in plan}
    assert {p: a.upload_mode for p, a in answers.items()} == {
        "w.bin": "lfs",
        "new.bin": "lfs",
        "empty.bin": "regular",
        "cfg.json": "regular",
        "big.txt": "lfs",
        "blob.dat": "lfs",
        "nested/file.bin": "lfs",
    }
    assert answers["w.bin"].oid == oid  # sha256 for LFS files
    git_sha1 = hashlib.sha1(b"blob 2\x00{}", usedforsecurity=False).hexdigest()
    assert answers["cfg.json"].oid == git_sha1  # the git blob id for regular files
    assert answers["new.bin"].oid is None
    assert [p for p, a in answers.items() if a.should_ignore] == ["nested/file.bin"]
    with_request_rules = preupload_plan(
        actor=owner, repo=repo, revision="main", files=files, git_ignore="*.json\n"
    )
    assert [a.path for a in with_request_rules if a.should_ignore] == ["cfg.json"]


def test_preupload_refuses_bad_paths_and_missing_branches(owner, repo: Repo) -> None:
    with pytest.raises(ValidationError):
        preupload_plan(actor=owner, repo=repo, revision="main", files=[PreuploadFile("../x", 1)])
    with pytest.raises(RevisionNotFoundError):
        preupload_plan(actor=owner, repo=repo, revision="nope", files=[])


# --- branches, tags, squash -------------------------------------------------------------------


def test_branch_create_from_starting_points_and_conflict(owner, repo: Repo) -> None:
    first = _head(repo)
    _commit(owner, repo, AddFile("a", b"a"))
    assert branch_create(actor=owner, repo=repo, branch="feature/x") == _head(repo)
    assert branch_create(actor=owner, repo=repo, branch="old", starting_point=first[:8]) == first
    tag_create(actor=owner, repo=repo, tag="v1", revision=first)
    assert branch_create(actor=owner, repo=repo, branch="from-tag", starting_point="v1") == first
    assert branch_create(actor=owner, repo=repo, branch="v1") == _head(repo)  # a tag's name
    with pytest.raises(ConflictError, match="Reference refs/heads/old already exists"):
        branch_create(actor=owner, repo=repo, branch="old")
    with pytest.raises(BadRequestError, match="Invalid reference for a branch"):
        branch_create(actor=owner, repo=repo, branch="refs/pr/5")
    with pytest.raises(RevisionNotFoundError):
        branch_create(actor=owner, repo=repo, branch="b2", starting_point="nope")


def test_branch_delete_rules(owner, repo: Repo) -> None:
    branch_create(actor=owner, repo=repo, branch="tmp")
    branch_delete(actor=owner, repo=repo, branch="tmp")
    assert "refs/heads/tmp" not in git_store().refs(repo.storage_key)
    with pytest.raises(BadRequestError, match="Cannot delete refs/heads/main"):
        branch_delete(actor=owner, repo=repo, branch="main")
    with pytest.raises(RevisionNotFoundError, match="Invalid rev id"):
        branch_delete(actor=owner, repo=repo, branch="tmp")


def test_tags_lightweight_annotated_and_errors(owner, repo: Repo) -> None:
    head = _head(repo)
    assert tag_create(actor=owner, repo=repo, tag="light", revision=head[:7]) == head
    annotated = tag_create(actor=owner, repo=repo, tag="v1.0", message="release")
    assert annotated != head
    assert git_store().resolve(repo.storage_key, "v1.0") == head  # peeled to the commit
    with pytest.raises(ConflictError):
        tag_create(actor=owner, repo=repo, tag="light")
    with pytest.raises(BadRequestError):
        tag_create(actor=owner, repo=repo, tag="invalid tag")
    with pytest.raises(RevisionNotFoundError):
        tag_create(actor=owner, repo=repo, tag="t2", revision="nope")
    tag_delete(actor=owner, repo=repo, tag="v1.0")
    with pytest.raises(RevisionNotFoundError):
        git_store().resolve(repo.storage_key, "v1.0")
    with pytest.raises(RevisionNotFoundError):
        tag_delete(actor=owner, repo=repo, tag="v1.0")


def test_super_squash_keeps_the_tree_and_other_branches(owner, repo: Repo) -> None:
    _commit(owner, repo, AddFile("a", b"1"))
    _commit(owner, repo, AddFile("a", b"2"), AddFile("b", b"b"))
    branch_create(actor=owner, repo=repo, branch="keep")
    files = _files(repo)
    result = branch_squash(actor=owner, repo=repo, branch="main", message="squashed")
    info = git_store().commit(repo.storage_key, result.oid)
    assert (info.parents, info.message) == ((), "squashed")
    assert _files(repo) == files
    log, _ = git_store().log(repo.storage_key, _head(repo, "keep"))
    assert len(log) == 3


NAMES = [
    "main",
    "feature/x",
    "a..b",
    "a.lock",
    "-x",
    "x/",
    "/x",
    "a//b",
    "invalid tag",
    "a~1",
    "a^",
    "a:b",
    "a?",
    "a*",
    "a[b",
    "a\\b",
    "a@{1}",
    ".hidden",
    "x/.y",
    "ok-1.2_3",
    "é",
    "HEAD",
    "a.",
    "refs/pr/5",
]


@pytest.mark.git
@pytest.mark.parametrize("name", NAMES)
def test_ref_names_follow_git_check_ref_format(name: str) -> None:
    git = require_tool("git")
    proc = subprocess.run([git, "check-ref-format", "--branch", name], capture_output=True)
    expected = proc.returncode == 0 and not name.startswith("refs/")
    assert (valid_ref_name(f"refs/heads/{name}") and not name.startswith("refs/")) == expected


def test_at_sign_alone_is_not_a_branch_name() -> None:
    # `git check-ref-format --branch @` expands @ to HEAD; `git branch @` refuses the name.
    assert not valid_ref_name("refs/heads/@")
