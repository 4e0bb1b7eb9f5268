"""Bare git repositories on disk, opened by immutable storage key, read and written with dulwich."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from django.conf import settings
from dulwich.objects import Blob, Commit, Tag, Tree
from dulwich.refs import DiskRefsContainer, check_ref_format
from dulwich.repo import Repo as DulwichRepo

from common.errors import BadRequestError, ConflictError, RevisionNotFoundError

ZERO_SHA = "0" * 40
_KEY_RE = re.compile(r"^[0-9a-f]{32}\Z")
_SHA_RE = re.compile(r"^[0-9a-f]{40}\Z")
_SHORT_SHA_RE = re.compile(r"^[0-9a-f]{7,39}\Z")
_COMMIT_ID_RE = re.compile(r"^[0-9a-f]{5,40}\Z")  # huggingface_hub constants.REGEX_COMMIT_OID


@dataclass(frozen=True)
class TreeEntry:
    path: str  # full path from the repo root
    name: str
    mode: int
    sha: str

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)

    @property
    def is_symlink(self) -> bool:
        return stat.S_ISLNK(self.mode)

    @property
    def is_submodule(self) -> bool:
        return self.mode == 0o160000


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    parents: tuple[str, ...]
    tree: str
    author: str
    committer: str
    author_time: int
    commit_time: int
    message: str

    @property
    def title(self) -> str:
        return self.message.strip().splitlines()[0] if self.message.strip() else ""

    @property
    def author_name(self) -> str:
        return self.author.split(" <")[0]


def signature(name: str, email: str) -> bytes:
    clean = re.sub(r"[<>\n]", "", name).strip() or "hubforge"
    mail = re.sub(r"[<>\n ]", "", email).strip() or "noreply@hubforge.local"
    return f"{clean} <{mail}>".encode()


class GitStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    # --- lifecycle ---------------------------------------------------------------------------
    def path(self, storage_key: str) -> Path:
        if not _KEY_RE.match(storage_key):
            raise ValueError("invalid storage key")
        return self.root / storage_key[:2] / f"{storage_key}.git"

    def exists(self, storage_key: str) -> bool:
        return (self.path(storage_key) / "HEAD").exists()

    def init(
        self,
        storage_key: str,
        *,
        files: dict[str, bytes],
        message: str,
        author: bytes,
        branch: str = "main",
    ) -> str:
        """Create the bare repo with one commit on `branch` holding `files`; returns its sha."""
        path = self.path(storage_key)
        path.parent.mkdir(parents=True, exist_ok=True)
        repo = DulwichRepo.init_bare(str(path), mkdir=True)
        try:
            config = repo.get_config()
            config.set((b"core",), b"logallrefupdates", False)
            config.set((b"gc",), b"auto", b"0")
            config.write_to_path()
            repo.refs.set_symbolic_ref(b"HEAD", f"refs/heads/{branch}".encode())
            tree = Tree()
            for name, content in sorted(files.items()):
                blob = Blob.from_string(content)
                repo.object_store.add_object(blob)
                tree.add(name.encode(), 0o100644, blob.id)
            repo.object_store.add_object(tree)
            commit = Commit()
            commit.tree = tree.id
            commit.author = commit.committer = author
            commit.author_time = commit.commit_time = int(time.time())
            commit.author_timezone = commit.commit_timezone = 0
            commit.message = message.encode()
            repo.object_store.add_object(commit)
            if not repo.refs.add_if_new(f"refs/heads/{branch}".encode(), commit.id):
                raise ConflictError("The repository already has commits.")
            return commit.id.decode()
        finally:
            repo.close()

    def delete(self, storage_key: str) -> None:
        """Remove the bare repo: renamed aside first, so a half-deleted repo is never served."""
        path = self.path(storage_key)
        if not path.exists():
            return
        trash = self.root / ".trash" / f"{storage_key}-{uuid.uuid4().hex[:8]}"
        trash.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, trash)
        shutil.rmtree(trash, ignore_errors=True)

    def open(self, storage_key: str) -> DulwichRepo:
        return DulwichRepo(str(self.path(storage_key)))

    # --- refs --------------------------------------------------------------------------------
    def refs(self, storage_key: str) -> dict[str, str]:
        """Every ref (tags peeled to what they point at are not included) name -> sha."""
        repo = self.open(storage_key)
        try:
            return {k.decode(): v.decode() for k, v in repo.refs.as_dict().items() if k != b"HEAD"}
        finally:
            repo.close()

    def update_ref(self, storage_key: str, ref: str, old: str | None, new: str | None) -> None:
        """Compare-and-swap a ref (None/zeros: must not exist / delete); ConflictError if moved.

        BadRequestError for a name git would call funny (`refs/heads/../x`, `a..b`, `x.lock`)
        or one outside refs/.
        """
        if not ref.startswith("refs/") or not check_ref_format(ref.encode()):
            raise BadRequestError(f"Invalid reference name: {ref!r}")
        repo = self.open(storage_key)
        try:
            old_b = None if old in (None, ZERO_SHA) else old.encode()  # type: ignore[union-attr]
            try:
                if new in (None, ZERO_SHA):
                    ok = repo.refs.remove_if_equals(ref.encode(), old_b)
                elif old_b is None:
                    ok = repo.refs.add_if_new(ref.encode(), new.encode())  # type: ignore[union-attr]
                else:
                    ok = repo.refs.set_if_equals(ref.encode(), old_b, new.encode())  # type: ignore[union-attr]
            # dulwich raises a bare FileLocked while another writer holds it
            except Exception as exc:
                if type(exc).__name__ == "FileLocked":
                    raise ConflictError(f"{ref} is being updated by another operation.") from None
                raise
            if not ok:
                raise ConflictError(f"{ref} was updated by another operation.")
        finally:
            repo.close()

    def has_ref(self, storage_key: str, name: str) -> bool:
        """Is `name` a branch or a tag? Reads the refs alone (no object store, no config)."""
        if not name or "\x00" in name or not check_ref_format(f"refs/heads/{name}".encode()):
            return False
        refs = DiskRefsContainer(str(self.path(storage_key)))
        for ref in (f"refs/heads/{name}".encode(), f"refs/tags/{name}".encode()):
            try:
                refs[ref]
            except (KeyError, ValueError):
                continue
            return True
        return False

    def resolve(self, storage_key: str, revision: str) -> str:
        """Commit sha for a branch, tag, `refs/...` name, full or short sha.

        A full sha naming a commit is that commit even if a ref has the same name (git's rule,
        and huggingface_hub's, which treats a 40-hex revision as immutable); such answers are
        kept per process (`_known_commit`), so a client fetching file after file at one
        commit does not reopen the repository for each. Raises RevisionNotFoundError."""
        if _SHA_RE.match(revision):
            with contextlib.suppress(_NotACommitError):
                return _known_commit(str(self.root), storage_key, revision)
        return self.resolve_uncached(storage_key, revision)

    def resolve_uncached(self, storage_key: str, revision: str) -> str:
        repo = self.open(storage_key)
        try:
            sha = self._resolve(repo, revision)
            if sha is None:
                raise RevisionNotFoundError(f"Invalid rev id: {revision}")
            return sha
        finally:
            repo.close()

    def _resolve(self, repo: DulwichRepo, revision: str) -> str | None:
        if not revision or "\x00" in revision:
            return None
        if _SHA_RE.match(revision):
            sha = self._peel_to_commit(repo, revision.encode())
            if sha is not None:
                return sha
        candidates = (
            [revision]
            if revision.startswith("refs/")
            else [f"refs/heads/{revision}", f"refs/tags/{revision}"]
        )
        for ref in candidates:
            try:
                sha = repo.refs[ref.encode()]
            except (KeyError, ValueError):
                continue
            return self._peel_to_commit(repo, sha)
        if _SHORT_SHA_RE.match(revision):
            matches = [sha for sha in _iter_commit_shas_with_prefix(repo, revision)]
            if len(matches) == 1:
                return matches[0]
        return None

    def commit_by_id(self, storage_key: str, oid: str) -> str | None:
        """The full sha of the commit `oid` names: a full sha, or an abbreviation (5-39 hex
        characters) that only one commit of the repo starts with. Never a ref name, a tag
        or a tree; None when missing or ambiguous."""
        oid = oid.lower()
        if not _COMMIT_ID_RE.match(oid):
            return None
        repo = self.open(storage_key)
        try:
            if len(oid) == 40:
                try:
                    return oid if isinstance(repo[oid.encode()], Commit) else None
                except KeyError:
                    return None
            matches = list(_iter_commit_shas_with_prefix(repo, oid))
            return matches[0] if len(matches) == 1 else None
        finally:
            repo.close()

    @staticmethod
    def _peel_to_commit(repo: DulwichRepo, sha: bytes) -> str | None:
        try:
            obj = repo[sha]
        except KeyError:
            return None
        while isinstance(obj, Tag):
            obj = repo[obj.object[1]]
        if isinstance(obj, Commit):
            return obj.id.decode()
        return None

    # --- reading -----------------------------------------------------------------------------
    def commit(self, storage_key: str, sha: str) -> CommitInfo:
        repo = self.open(storage_key)
        try:
            return _commit_info(repo[sha.encode()])
        finally:
            repo.close()

    def log(
        self, storage_key: str, sha: str, *, offset: int = 0, limit: int = 50
    ) -> tuple[list[CommitInfo], bool]:
        """Commits reachable from `sha`, newest first; returns (page, has_more)."""
        repo = self.open(storage_key)
        try:
            walker = repo.get_walker(include=[sha.encode()], max_entries=offset + limit + 1)
            entries = [_commit_info(e.commit) for e in walker]
        finally:
            repo.close()
        page = entries[offset : offset + limit]
        return page, len(entries) > offset + limit

    def changed_paths(self, storage_key: str, sha: str) -> list[tuple[str, str]]:
        """(change type, path) of a commit against its first parent."""
        from dulwich.diff_tree import tree_changes

        repo = self.open(storage_key)
        try:
            commit = repo[sha.encode()]
            parent_tree = repo[commit.parents[0]].tree if commit.parents else None
            out = []
            for change in tree_changes(repo.object_store, parent_tree, commit.tree):
                # dulwich >= 0.23 gives None (not an empty entry) for the missing side.
                side = change.new if change.new is not None and change.new.path else change.old
                path = side.path.decode("utf-8", "replace")
                out.append((change.type, path))
            return out
        finally:
            repo.close()

    def entry(self, storage_key: str, sha: str, path: str) -> TreeEntry | None:
        """The tree entry at `path` in commit `sha` (the root tree for ""), or None."""
        repo = self.open(storage_key)
        try:
            tree_id = repo[sha.encode()].tree
            if not path:
                return TreeEntry(path="", name="", mode=stat.S_IFDIR, sha=tree_id.decode())
            mode, obj_id = _lookup_path(repo, tree_id, path)
            if obj_id is None:
                return None
            name = path.rsplit("/", 1)[-1]
            return TreeEntry(path=path, name=name, mode=mode, sha=obj_id.decode())
        finally:
            repo.close()

    def list_tree(self, storage_key: str, tree_sha: str, prefix: str = "") -> list[TreeEntry]:
        """Direct children of a tree, directories first, then by name."""
        repo = self.open(storage_key)
        try:
            tree = repo[tree_sha.encode()]
            entries = [
                TreeEntry(
                    path=f"{prefix}{name.decode('utf-8', 'replace')}",
                    name=name.decode("utf-8", "replace"),
                    mode=mode,
                    sha=sha.decode(),
                )
                for name, mode, sha in tree.iteritems()
            ]
        finally:
            repo.close()
        entries.sort(key=lambda e: (not e.is_dir, e.name.lower()))
        return entries

    def walk_tree(self, storage_key: str, tree_sha: str, prefix: str = "") -> Iterator[TreeEntry]:
        """Every entry below a tree, depth first, directories before their contents."""
        repo = self.open(storage_key)
        try:
            stack = [(tree_sha.encode(), prefix)]
            while stack:
                tid, pfx = stack.pop()
                for name, mode, sha in sorted(repo[tid].iteritems(), reverse=True):
                    entry = TreeEntry(
                        path=f"{pfx}{name.decode('utf-8', 'replace')}",
                        name=name.decode("utf-8", "replace"),
                        mode=mode,
                        sha=sha.decode(),
                    )
                    yield entry
                    if entry.is_dir:
                        stack.append((sha, entry.path + "/"))
        finally:
            repo.close()

    def blob_size(self, storage_key: str, sha: str) -> int:
        repo = self.open(storage_key)
        try:
            return repo.object_store.get_raw(sha.encode())[1].__len__()
        finally:
            repo.close()

    def read_blob(self, storage_key: str, sha: str) -> bytes:
        repo = self.open(storage_key)
        try:
            obj = repo[sha.encode()]
            if not isinstance(obj, Blob):
                raise RevisionNotFoundError("Not a file.")
            return obj.as_raw_string()
        finally:
            repo.close()

    # --- housekeeping ------------------------------------------------------------------------
    def remove_stale_locks(self, *, max_age: float | None = None) -> int:
        """Delete `*.lock` files under refs/ older than `max_age` seconds (killed writers)."""
        max_age = settings.GIT_STALE_LOCK_SECONDS if max_age is None else max_age
        cutoff = time.time() - max_age
        removed = 0
        if not self.root.exists():
            return 0
        for lock in self.root.glob("*/*.git/refs/**/*.lock"):
            try:
                if lock.stat().st_mtime < cutoff:
                    lock.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        for lock in self.root.glob("*/*.git/packed-refs.lock"):
            try:
                if lock.stat().st_mtime < cutoff:
                    lock.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


def _commit_info(c: Commit) -> CommitInfo:
    return CommitInfo(
        sha=c.id.decode(),
        parents=tuple(p.decode() for p in c.parents),
        tree=c.tree.decode(),
        author=c.author.decode("utf-8", "replace"),
        committer=c.committer.decode("utf-8", "replace"),
        author_time=c.author_time,
        commit_time=c.commit_time,
        message=c.message.decode("utf-8", "replace"),
    )


def _lookup_path(repo: DulwichRepo, tree_id: bytes, path: str) -> tuple[int, bytes | None]:
    mode = stat.S_IFDIR
    obj_id: bytes | None = tree_id
    parts = [p for p in path.split("/") if p]
    if len(parts) > 4096:
        return 0, None
    for part in parts:
        if obj_id is None or not stat.S_ISDIR(mode):
            return 0, None
        tree = repo[obj_id]
        try:
            mode, obj_id = tree[part.encode()]
        except KeyError:
            return 0, None
    return mode, obj_id


def _iter_commit_shas_with_prefix(repo: DulwichRepo, prefix: str) -> Iterator[str]:
    seen = 0
    for sha in repo.object_store.iter_prefix(prefix.encode()):
        try:
            obj = repo[sha]
        except KeyError:
            continue
        if isinstance(obj, Commit):
            yield sha.decode()
        seen += 1
        if seen > 16:
            return


class _NotACommitError(Exception):
    """A full sha that is not itself a commit (missing, a tag, a tree): not cached."""


@lru_cache(maxsize=8192)
def _known_commit(root: str, storage_key: str, sha: str) -> str:
    """`sha`, once it is known to name a commit of that repo: objects never change, and
    storage keys are never reused. lru_cache keeps no answer for a call that raises."""
    repo = _store_for(root).open(storage_key)
    try:
        if GitStore._peel_to_commit(repo, sha.encode()) != sha:
            raise _NotACommitError(sha)
        return sha
    finally:
        repo.close()


@cache
def _store_for(root: str) -> GitStore:
    return GitStore(Path(root))


def git_store() -> GitStore:
    return _store_for(str(settings.GIT_ROOT))


def parse_cat_file_batch(raw: bytes) -> Iterator[tuple[str, bytes]]:
    """(object id, content) pairs from `git cat-file --batch` output (missing ids skipped)."""
    pos = 0
    while pos < len(raw):
        nl = raw.index(b"\n", pos)
        header = raw[pos:nl].decode().split(" ")
        pos = nl + 1
        if len(header) < 3:  # "<id> missing"
            continue
        size = int(header[2])
        yield header[0], raw[pos : pos + size]
        pos += size + 1
