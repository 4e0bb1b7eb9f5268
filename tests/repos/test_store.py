"""GitStore: the bare repos on disk, their refs (compare-and-swap) and lock housekeeping."""

from __future__ import annotations

import os
import time
import uuid

import pytest
from dulwich.objects import Commit, Tag

from common.errors import BadRequestError, ConflictError, RevisionNotFoundError
from repos.git.store import ZERO_SHA, GitStore, git_store, signature

AUTHOR = signature("Test", "test@example.com")


@pytest.fixture
def store(data_dir) -> GitStore:  # type: ignore[no-untyped-def]
    return git_store()


@pytest.fixture
def key(store: GitStore) -> str:
    storage_key = uuid.uuid4().hex
    store.init(storage_key, files={"README.md": b"# hi\n"}, message="initial", author=AUTHOR)
    return storage_key


def _commit(store: GitStore, key: str, parent: str, message: str) -> str:
    """A new commit object (same tree as `parent`), not on any ref."""
    repo = store.open(key)
    try:
        base = repo[parent.encode()]
        commit = Commit()
        commit.tree = base.tree
        commit.parents = [parent.encode()]
        commit.author = commit.committer = AUTHOR
        commit.author_time = commit.commit_time = int(time.time())
        commit.author_timezone = commit.commit_timezone = 0
        commit.message = message.encode()
        repo.object_store.add_object(commit)
        return commit.id.decode()
    finally:
        repo.close()


def _annotated_tag(store: GitStore, key: str, target: str, name: str) -> None:
    repo = store.open(key)
    try:
        tag = Tag()
        tag.tagger = AUTHOR
        tag.message = b"release\n"
        tag.name = name.encode()
        tag.object = (Commit, target.encode())
        tag.tag_time = int(time.time())
        tag.tag_timezone = 0
        repo.object_store.add_object(tag)
        repo.refs[f"refs/tags/{name}".encode()] = tag.id
    finally:
        repo.close()


def test_init_makes_one_commit_on_main(store: GitStore, key: str) -> None:
    assert store.exists(key)
    refs = store.refs(key)
    assert list(refs) == ["refs/heads/main"]
    info = store.commit(key, refs["refs/heads/main"])
    assert info.parents == ()
    assert info.message == "initial"
    assert store.read_blob(key, store.entry(key, info.sha, "README.md").sha) == b"# hi\n"


def test_storage_keys_are_validated(store: GitStore) -> None:
    for bad in ("../../etc", "A" * 32, "a" * 31, "", "a" * 31 + "/", "a" * 32 + "\n"):
        with pytest.raises(ValueError):
            store.path(bad)
    assert not store.exists(uuid.uuid4().hex)


def test_resolve_branch_tag_sha_short_sha_and_refs(store: GitStore, key: str) -> None:
    main = store.refs(key)["refs/heads/main"]
    second = _commit(store, key, main, "second")
    store.update_ref(key, "refs/heads/dev", None, second)
    store.update_ref(key, "refs/tags/v1", None, main)
    _annotated_tag(store, key, second, "v2")

    assert store.resolve(key, "main") == main
    assert store.resolve(key, "dev") == second
    assert store.resolve(key, "v1") == main
    assert store.resolve(key, "v2") == second  # annotated tags peel to their commit
    assert store.resolve(key, "refs/heads/dev") == second
    assert store.resolve(key, "refs/tags/v2") == second
    assert store.resolve(key, second) == second
    assert store.resolve(key, second[:7]) == second
    assert store.resolve(key, main[:12]) == main
    tree = store.commit(key, main).tree
    for bad in (
        "nope",
        "refs/heads/nope",
        "0" * 40,
        tree,
        "ab",
        "main\x00",
        "",
        "../main",
        "refs/heads/../../config",
        main + "\n",
        main[:8] + "\n",
    ):
        with pytest.raises(RevisionNotFoundError):
            store.resolve(key, bad)


def test_update_ref_is_compare_and_swap(store: GitStore, key: str) -> None:
    main = store.refs(key)["refs/heads/main"]
    a = _commit(store, key, main, "a")
    b = _commit(store, key, main, "b")
    store.update_ref(key, "refs/heads/main", main, a)
    # The loser of a race still names the old value: refused, the winner stays.
    with pytest.raises(ConflictError):
        store.update_ref(key, "refs/heads/main", main, b)
    assert store.refs(key)["refs/heads/main"] == a
    # Creating a ref that exists, or deleting with a stale old value, is refused too.
    with pytest.raises(ConflictError):
        store.update_ref(key, "refs/heads/main", None, b)
    with pytest.raises(ConflictError):
        store.update_ref(key, "refs/heads/main", main, ZERO_SHA)
    assert store.refs(key)["refs/heads/main"] == a
    store.update_ref(key, "refs/heads/dev", ZERO_SHA, b)
    store.update_ref(key, "refs/heads/dev", b, None)
    assert "refs/heads/dev" not in store.refs(key)


def test_update_ref_refuses_while_the_ref_is_locked(store: GitStore, key: str) -> None:
    main = store.refs(key)["refs/heads/main"]
    a = _commit(store, key, main, "a")
    lock = store.path(key) / "refs" / "heads" / "main.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_bytes(b"")
    with pytest.raises(ConflictError):
        store.update_ref(key, "refs/heads/main", main, a)
    assert lock.exists()  # someone else's lock is never taken over or removed
    lock.unlink()
    assert store.refs(key)["refs/heads/main"] == main
    store.update_ref(key, "refs/heads/main", main, a)
    assert store.refs(key)["refs/heads/main"] == a


def test_remove_stale_locks_removes_only_old_ones(store: GitStore, key: str) -> None:
    repo_dir = store.path(key)
    (repo_dir / "refs" / "heads" / "nested").mkdir(parents=True, exist_ok=True)
    old = [
        repo_dir / "refs" / "heads" / "main.lock",
        repo_dir / "refs" / "heads" / "nested" / "x.lock",
        repo_dir / "packed-refs.lock",
    ]
    fresh = repo_dir / "refs" / "heads" / "dev.lock"
    hour_ago = time.time() - 3600
    for path in old:
        path.write_bytes(b"")
        os.utime(path, (hour_ago, hour_ago))
    fresh.write_bytes(b"")
    assert store.remove_stale_locks(max_age=600) == len(old)
    assert not any(p.exists() for p in old)
    assert fresh.exists()
    assert (repo_dir / "HEAD").exists()
    assert store.remove_stale_locks(max_age=600) == 0


def test_remove_stale_locks_uses_the_setting(store: GitStore, key: str, settings) -> None:  # type: ignore[no-untyped-def]
    lock = store.path(key) / "refs" / "heads" / "main.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_bytes(b"")
    ten_s_ago = time.time() - 10
    os.utime(lock, (ten_s_ago, ten_s_ago))
    settings.GIT_STALE_LOCK_SECONDS = 60
    assert store.remove_stale_locks() == 0
    settings.GIT_STALE_LOCK_SECONDS = 5
    assert store.remove_stale_locks() == 1
    assert not lock.exists()


def test_delete_removes_the_repo(store: GitStore, key: str) -> None:
    store.delete(key)
    assert not store.exists(key)
    assert not store.path(key).exists()
    store.delete(key)  # deleting again is a no-op


@pytest.mark.parametrize(
    "ref",
    [
        "refs/heads/../../config",
        "refs/heads/a..b",
        "refs/heads/x.lock",
        "refs/heads/",
        "refs/heads/a b",
        "HEAD",
        "config",
        "refs/heads/a\x00b",
    ],
)
def test_update_ref_refuses_funny_names(store: GitStore, key: str, ref: str) -> None:
    main = store.refs(key)["refs/heads/main"]
    with pytest.raises(BadRequestError):
        store.update_ref(key, ref, None, main)
    assert store.refs(key) == {"refs/heads/main": main}
    assert "[core]" in (store.path(key) / "config").read_text()


def test_branch_names_that_look_like_options_are_plain_names(store: GitStore, key: str) -> None:
    main = store.refs(key)["refs/heads/main"]
    for name in ("-h", "--upload-pack=x"):
        store.update_ref(key, f"refs/heads/{name}", None, main)
        assert store.resolve(key, name) == main
