"""Writing history without git on the client: the commit API, preupload, branches, tags, squash.

A commit is built with dulwich on top of the branch head and lands with the same
compare-and-swap a push uses (GitStore.update_ref), so the two doors never lose each other's
work. Every rule a push obeys (repos/git/policy.py) holds here too: no non-LFS blob over
MAX_GIT_BLOB_BYTES, and every LFS pointer names an object linked to this repo.
"""

from __future__ import annotations

import hashlib
import re
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from dulwich.objects import Blob, Commit, Tag, Tree
from dulwich.refs import check_ref_format
from dulwich.repo import Repo as DulwichRepo

from common.errors import (
    BadRequestError,
    ConflictError,
    EntryNotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    PreconditionFailedError,
    RepoNotFoundError,
    RevisionNotFoundError,
    ValidationError,
)
from orgs.models import User
from orgs.permissions import Action, can
from repos import events
from repos.discussions import (
    discussion_create,
    may_commit_to_pr,
    pr_for_ref,
    pr_record_commit,
    require_discuss,
)
from repos.git.store import ZERO_SHA, git_store
from repos.gitattributes_match import GitIgnore, gitattributes
from repos.lfs.pointer import MAX_POINTER_SIZE, Pointer, parse_pointer
from repos.lfs.store import Oid, object_store
from repos.models import LfsObject, Repo, public_base_url
from repos.pulls import is_ancestor
from repos.quotas import commit_require, quota_require
from repos.services import author_signature, lfs_linked_oids, repo_record_push

# huggingface_hub matches this text (hf-api-contract.md 1.6, "parentCommit ≠ branch head").
STALE_PARENT = "The branch was updated since you opened this page. Please refresh and try again."
# _commit_api.py appends its folder hint when the message contains this text.
NO_SUCH_FILE = "A file with this name doesn't exist"
MAX_PATH_BYTES = 4096
MAX_NAME_BYTES = 255
MAX_COMMIT_ATTEMPTS = 5
FILE_MODE = 0o100644
EXEC_MODE = 0o100755
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_COMMIT_ID_RE = re.compile(r"^[0-9a-f]{5,40}\Z")  # huggingface_hub constants.REGEX_COMMIT_OID


# --- operations -------------------------------------------------------------------------------


class Content(Protocol):
    """Bytes of a regular file that may live outside memory (a spooled request body)."""

    size: int

    def read(self) -> bytes: ...


@dataclass(frozen=True)
class AddFile:
    """A regular (in-git) file; `content` is bytes or a Content read when the blob is written."""

    path: str
    content: bytes | Content


@dataclass(frozen=True)
class AddLfsFile:
    """An LFS file: a pointer blob to `oid`. `size` None: a same-repo copy of a linked object."""

    path: str
    oid: str
    size: int | None = None


@dataclass(frozen=True)
class DeleteFile:
    path: str


@dataclass(frozen=True)
class DeleteFolder:
    path: str


Operation = AddFile | AddLfsFile | DeleteFile | DeleteFolder


@dataclass(frozen=True)
class CommitResult:
    oid: str
    url: str
    message: str
    pr_url: str | None = None  # create_pr: the pull request opened for it
    pr_num: int | None = None


def _size(content: bytes | Content) -> int:
    return len(content) if isinstance(content, bytes) else content.size


def _read(content: bytes | Content) -> bytes:
    return content if isinstance(content, bytes) else content.read()


# --- validation -------------------------------------------------------------------------------


def validate_path(path: object) -> str:
    """A repo-relative file path, or ValidationError (422) naming what is wrong (SECURITY.md 45)."""
    if not isinstance(path, str) or not path:
        raise ValidationError("Invalid path: a file path is required.")
    shown = path[:200]
    if _CONTROL.search(path):
        raise ValidationError(f"Invalid path {shown!r}: control characters are not allowed.")
    if "\\" in path:
        # `..\\ddd` escapes the folder on Windows clients (huggingface_hub test: 422).
        raise ValidationError(f"Invalid path {shown!r}: backslashes are not allowed.")
    try:
        encoded = path.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("Invalid path: not valid UTF-8.") from None
    if len(encoded) > MAX_PATH_BYTES:
        raise ValidationError(f"Invalid path: longer than {MAX_PATH_BYTES} bytes.")
    if path.startswith("/"):
        raise ValidationError(f"Invalid path {shown!r}: paths are relative to the repo root.")
    for part in path.split("/"):
        if part in ("", ".", ".."):
            raise ValidationError(f"Invalid path {shown!r}: empty, '.' or '..' segment.")
        if part.lower() == ".git":
            raise ValidationError(f"Invalid path {shown!r}: '.git' is reserved.")
        if len(part.encode("utf-8")) > MAX_NAME_BYTES:
            raise ValidationError(f"Invalid path: a name is longer than {MAX_NAME_BYTES} bytes.")
    return path


def _validated(op: Operation) -> Operation:
    if isinstance(op, DeleteFolder):
        # huggingface_hub sends folders with a trailing "/" (CommitOperationDelete.is_folder).
        validate_path(op.path.rstrip("/") if isinstance(op.path, str) else op.path)
        return DeleteFolder(path=op.path.rstrip("/"))
    validate_path(op.path)
    if isinstance(op, AddLfsFile):
        Oid.parse(op.oid)
        if op.size is not None and (not isinstance(op.size, int) or op.size < 0):
            raise ValidationError(f"Invalid size for {op.path}.")
    return op


def _require(actor: User | AnonymousUser, repo: Repo, action: Action) -> None:
    if can(actor, action, repo):
        return
    if not can(actor, Action.READ, repo):
        raise RepoNotFoundError(anonymous=not actor.is_authenticated)
    raise PermissionDeniedError(f"You don't have the rights to write to {repo.full_name}.")


def _require_for_ref(actor: User | AnonymousUser, repo: Repo, ref: str, *, create_pr: bool) -> None:
    """Writers commit anywhere; create_pr needs only discussion rights (a reader who is
    signed in), and a PR's author may commit to its `refs/pr/N` while it is open."""
    if can(actor, Action.WRITE, repo):
        return
    if create_pr:
        require_discuss(actor, repo)
        return
    pr = pr_for_ref(repo=repo, ref=ref)
    if pr is not None and may_commit_to_pr(actor, pr):
        return
    _require(actor, repo, Action.WRITE)


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


# --- the in-memory tree -----------------------------------------------------------------------


class _Dir:
    """A tree being edited: entries loaded from git on first touch, children edited in place."""

    def __init__(self, repo: DulwichRepo, tree_id: bytes | None):
        self.entries: dict[bytes, tuple[int, bytes]] = {}
        if tree_id is not None:
            for name, mode, sha in repo[tree_id].iteritems():
                self.entries[name] = (mode, sha)
        self.original_count = len(self.entries)
        self.children: dict[bytes, _Dir] = {}
        self._repo = repo

    def child(self, name: bytes, path: str, *, create: bool) -> _Dir | None:
        if name in self.children:
            return self.children[name]
        entry = self.entries.get(name)
        if entry is None:
            if not create:
                return None
            node = _Dir(self._repo, None)
        elif stat.S_ISDIR(entry[0]):
            node = _Dir(self._repo, entry[1])
        else:
            kind = "a symlink" if stat.S_ISLNK(entry[0]) else "a file"
            raise ValidationError(
                f"Invalid path {path!r}: {name.decode()} is {kind}, not a folder."
            )
        self.children[name] = node
        self.entries.pop(name, None)
        return node

    def is_empty(self) -> bool:
        return not self.entries and all(c.is_empty() for c in self.children.values())


@dataclass
class _Edit:
    root: _Dir
    dirs: int = 0
    touched: list[tuple[str, _Dir]] = field(default_factory=list)


def _walk(edit: _Edit, path: str, *, create: bool) -> tuple[_Dir | None, bytes]:
    parts = path.split("/")
    node: _Dir | None = edit.root
    prefix = ""
    for part in parts[:-1]:
        assert node is not None
        prefix = f"{prefix}{part}/"
        node = node.child(part.encode(), path, create=create)
        if node is None:
            return None, parts[-1].encode()
        if create:
            edit.touched.append((prefix, node))
    return node, parts[-1].encode()


def _apply(edit: _Edit, op: Operation, blob: bytes | None) -> None:
    if isinstance(op, AddFile | AddLfsFile):
        assert blob is not None
        node, name = _walk(edit, op.path, create=True)
        assert node is not None
        if name in node.children or stat.S_ISDIR(node.entries.get(name, (0, b""))[0]):
            raise ValidationError(f"Invalid path {op.path!r}: a folder with this name exists.")
        old_mode = node.entries.get(name, (FILE_MODE, b""))[0]
        node.entries[name] = (EXEC_MODE if old_mode == EXEC_MODE else FILE_MODE, blob)
        edit.touched.append((op.path.rpartition("/")[0], node))
    elif isinstance(op, DeleteFile):
        try:
            node, name = _walk(edit, op.path, create=False)
        except ValidationError:
            node, name = None, b""
        entry = node.entries.get(name) if node is not None else None
        if node is None or entry is None or stat.S_ISDIR(entry[0]):
            raise EntryNotFoundError(f"{NO_SUCH_FILE}: {op.path}")
        del node.entries[name]
    else:
        try:
            node, name = _walk(edit, op.path, create=False)
        except ValidationError:
            node, name = None, b""
        if node is None:
            raise EntryNotFoundError(f"A folder with this name doesn't exist: {op.path}")
        if name in node.children:
            del node.children[name]
        elif stat.S_ISDIR(node.entries.get(name, (0, b""))[0]):
            del node.entries[name]
        else:
            raise EntryNotFoundError(f"A folder with this name doesn't exist: {op.path}")


def _check_sizes(edit: _Edit) -> None:
    limit = settings.MAX_TREE_ENTRIES
    for prefix, node in [("", edit.root), *edit.touched]:
        count = len(node.entries) + len(node.children)
        if count > limit and count > node.original_count:
            raise ValidationError(
                f"Too many entries in folder {prefix or '/'!r}: at most {limit} per folder."
            )


def _write_tree(repo: DulwichRepo, node: _Dir, *, root: bool = False) -> bytes | None:
    """Store the edited tree bottom-up; None when a folder ended up empty (git has none)."""
    tree = Tree()
    for name, (mode, sha) in node.entries.items():
        tree.add(name, mode, sha)
    for name, child in node.children.items():
        child_id = _write_tree(repo, child)
        if child_id is not None:
            tree.add(name, stat.S_IFDIR, child_id)
    if not tree.items() and not root:
        return None
    repo.object_store.add_object(tree)
    return tree.id


# --- blobs ------------------------------------------------------------------------------------


def _blob_id(data: bytes) -> bytes:
    return (
        hashlib.sha1(b"blob %d\x00" % len(data) + data, usedforsecurity=False).hexdigest().encode()
    )


@dataclass(frozen=True)
class _Prepared:
    op: Operation
    blob: bytes | None  # the git blob id an add writes


def _prepare(repo: Repo, ops: list[Operation]) -> tuple[list[_Prepared], dict[str, int]]:
    """Blob ids for every add and the sizes of LFS objects, after the policy checks; no writes."""
    max_blob = settings.MAX_GIT_BLOB_BYTES
    lfs_sizes: dict[str, int | None] = {}
    pointer_paths: dict[str, str] = {}  # oid -> path, for regular files that are pointers
    prepared: list[_Prepared] = []
    for op in ops:
        if isinstance(op, AddFile):
            size = _size(op.content)
            if size > max_blob:
                raise PayloadTooLargeError(
                    f"{op.path}: file of {_mib(size)} is over the {_mib(max_blob)} limit for "
                    "files stored in git; upload it as an LFS file."
                )
            data = _read(op.content)
            if len(data) != size:
                raise ValidationError(f"{op.path}: content length changed while reading.")
            if size <= MAX_POINTER_SIZE:
                pointer = parse_pointer(data)
                if pointer is not None:
                    pointer_paths.setdefault(pointer.oid, op.path)
            prepared.append(_Prepared(op, _blob_id(data)))
        elif isinstance(op, AddLfsFile):
            lfs_sizes.setdefault(op.oid, op.size)
            prepared.append(_Prepared(op, None))
        else:
            prepared.append(_Prepared(op, None))
    sizes = _check_lfs(repo, lfs_sizes, pointer_paths)
    return [
        _Prepared(p.op, _blob_id(Pointer(p.op.oid, sizes[p.op.oid]).encode()))
        if isinstance(p.op, AddLfsFile)
        else p
        for p in prepared
    ], sizes


def _check_lfs(
    repo: Repo, wanted: dict[str, int | None], pointer_paths: dict[str, str]
) -> dict[str, int]:
    """Stored sizes of the LFS objects named; each must be linked to `repo` and in the store."""
    oids = sorted(set(wanted) | set(pointer_paths))
    if not oids:
        return {}
    linked = lfs_linked_oids(repo=repo, oids=oids)
    known = dict(LfsObject.objects.filter(oid__in=linked).values_list("oid", "size"))
    store = object_store()
    sizes: dict[str, int] = {}
    for oid in oids:
        where = pointer_paths.get(oid, oid)
        stored = known.get(oid)
        if stored is None or store.size(Oid(oid)) != stored:
            raise ValidationError(
                f"{where}: LFS object {oid} was not uploaded to this repository; upload it "
                "through the LFS batch API first."
            )
        announced = wanted.get(oid)
        if announced is not None and announced != stored:
            raise ValidationError(
                f"LFS object {oid}: announced size {announced} differs from the stored {stored}."
            )
        sizes[oid] = stored
    return sizes


def _write_blobs(repo: DulwichRepo, prepared: list[_Prepared], sizes: dict[str, int]) -> None:
    for p in prepared:
        if isinstance(p.op, AddFile):
            data = _read(p.op.content)
        elif isinstance(p.op, AddLfsFile):
            data = Pointer(p.op.oid, sizes[p.op.oid]).encode()
        else:
            continue
        blob = Blob.from_string(data)
        if blob.id != p.blob:
            raise ValidationError(f"{p.op.path}: content changed while committing.")
        repo.object_store.add_object(blob)


# --- refs -------------------------------------------------------------------------------------


def valid_ref_name(ref: str) -> bool:
    """`git check-ref-format` for a full ref name, plus `--branch` rules for the short name."""
    short = ref.split("/", 2)[-1] if ref.startswith(("refs/heads/", "refs/tags/")) else ref
    if not ref.startswith("refs/") or short.startswith("-") or short in ("HEAD", "@"):
        return False
    if any(c in ref for c in " ~^:?*[\\") or _CONTROL.search(ref):
        return False
    try:
        return bool(check_ref_format(ref.encode("utf-8")))
    except UnicodeEncodeError:
        return False


def _branch_ref(revision: str, default_branch: str) -> str:
    revision = revision or default_branch
    if revision.startswith("refs/"):
        if revision.startswith(("refs/heads/", "refs/pr/")):
            return revision
        raise RevisionNotFoundError(f"Invalid rev id: {revision} (not a branch)")
    return f"refs/heads/{revision}"


def _ref_sha(repo: Repo, ref: str) -> str | None:
    return git_store().refs(repo.storage_key).get(ref)


def _head(repo: Repo, ref: str, revision: str) -> str:
    sha = _ref_sha(repo, ref)
    if sha is None:
        raise RevisionNotFoundError(f"Invalid rev id: {revision}")
    return sha


def _new_commit(
    dulwich_repo: DulwichRepo, *, tree: bytes, parents: list[bytes], author: bytes, message: str
) -> bytes:
    commit = Commit()
    commit.tree = tree
    commit.parents = parents
    commit.author = commit.committer = author
    commit.author_time = commit.commit_time = int(time.time())
    commit.author_timezone = commit.commit_timezone = 0
    commit.encoding = b"UTF-8"
    commit.message = message.encode("utf-8")
    dulwich_repo.object_store.add_object(commit)
    return commit.id


def _parent(repo: Repo, parent_commit: str, head: str, create_pr: bool) -> str:
    """The commit `parentCommit` (full or abbreviated) names. Without create_pr it must be
    the branch head (the no-lost-update rule: 412 otherwise); with create_pr, any commit
    in the branch's history, where the pull request will start."""
    parent = parent_commit.lower()
    if parent == head:
        return head
    sha = git_store().commit_by_id(repo.storage_key, parent)
    if not create_pr:
        if sha != head:
            raise PreconditionFailedError(STALE_PARENT)
        return head
    if sha is None or not is_ancestor(repo, sha, head):
        raise RevisionNotFoundError(
            f"Invalid rev id: {parent_commit} (parentCommit must be a commit in the history "
            "of the branch the pull request is opened against)"
        )
    return sha


def _publish(repo: Repo, ref: str, old: str | None, new: str | None) -> None:
    repo_record_push(
        repo=repo,
        updates=[events.RefUpdate(ref=ref, old=old or ZERO_SHA, new=new or ZERO_SHA)],
        source="api",
    )


def commit_url(repo: Repo, oid: str) -> str:
    """`{public base}/{url_path}/commit/{oid}`: the client checks it starts with the RepoUrl."""
    return f"{public_base_url()}/{repo.url_path}/commit/{oid}"


# --- services ---------------------------------------------------------------------------------


def commit_create(
    *,
    actor: User | AnonymousUser,
    repo: Repo,
    revision: str,
    operations: Sequence[Operation],
    summary: str,
    description: str = "",
    parent_commit: str | None = None,
    create_pr: bool = False,
) -> CommitResult:
    """Commit `operations` (applied in order) on the branch `revision`; publish RepoUpdated.

    Validates every path and LFS object before any object is written. Raises
    PreconditionFailedError (412) when `parent_commit` is not the head; without a parent, a
    lost race with another writer rebuilds on the new head. Empty commits are allowed.
    With `create_pr`, `parent_commit` is where the pull request starts instead of the head
    (huggingface_hub create_commit: "the pull request will be created from parent_commit"):
    a commit in the branch's history, else RevisionNotFoundError.
    """
    ref = _branch_ref(revision, repo.default_branch)
    _require_for_ref(actor, repo, ref, create_pr=create_pr)
    if create_pr and not ref.startswith("refs/heads/"):
        raise RevisionNotFoundError(f"Invalid rev id: {revision} (a PR needs a base branch)")
    if not isinstance(summary, str) or not summary.strip():
        raise BadRequestError("A commit summary is required.")
    if parent_commit is not None and not _COMMIT_ID_RE.match(parent_commit.lower()):
        raise BadRequestError("parentCommit must be a commit id (5 to 40 hexadecimal digits).")
    ops = [_validated(op) for op in operations]
    head = _head(repo, ref, revision)
    start = None if parent_commit is None else _parent(repo, parent_commit, head, create_pr)
    prepared, sizes = _prepare(repo, ops)
    pr = pr_for_ref(repo=repo, ref=ref)
    if create_pr:
        # huggingface_hub create_commit(create_pr=True): the commit's title names the PR.
        pr = discussion_create(
            actor=actor,
            repo=repo,
            title=summary.strip()[:200].ljust(3, "."),
            description=description or "",
            pull_request=True,
            base_branch=ref,
            start_point=start,
        )
        ref = pr.pr_ref
        head = _head(repo, ref, ref)
    commit_require(  # the blobs the repo lacks must fit the namespace's quota (507)
        repo=repo,
        blobs=[(p.blob, _size(p.op.content)) for p in prepared if isinstance(p.op, AddFile)],
    )
    message = summary.strip() + (f"\n\n{description.strip()}" if description.strip() else "")
    author = author_signature(actor if isinstance(actor, User) else None)
    store = git_store()
    blobs_written = False
    for _attempt in range(MAX_COMMIT_ATTEMPTS):
        dulwich_repo = store.open(repo.storage_key)
        try:
            head_tree = dulwich_repo[head.encode()].tree
            edit = _Edit(root=_Dir(dulwich_repo, head_tree))
            for p in prepared:
                _apply(edit, p.op, p.blob)
            _check_sizes(edit)
            if not blobs_written:
                _write_blobs(dulwich_repo, prepared, sizes)
                blobs_written = True
            tree = _write_tree(dulwich_repo, edit.root, root=True)
            assert tree is not None
            new = _new_commit(
                dulwich_repo, tree=tree, parents=[head.encode()], author=author, message=message
            ).decode()
        finally:
            dulwich_repo.close()
        try:
            store.update_ref(repo.storage_key, ref, head, new)
        except ConflictError:
            if parent_commit is not None and not create_pr:
                raise PreconditionFailedError(STALE_PARENT) from None
            head = _head(repo, ref, revision)
            continue
        _publish(repo, ref, head, new)
        if pr is None:
            return CommitResult(oid=new, url=commit_url(repo, new), message=message)
        pr_record_commit(actor=actor, discussion=pr, old=head, new=new, subject=summary.strip())
        return CommitResult(
            oid=new,
            url=commit_url(repo, new),
            message=message,
            pr_url=f"{public_base_url()}/{repo.url_path}/discussions/{pr.num}",
            pr_num=pr.num,
        )
    raise ConflictError(f"{ref} kept moving while committing; try again.")


# --- preupload --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreuploadFile:
    path: str
    size: int
    sample: bytes = b""


@dataclass(frozen=True)
class PreuploadAnswer:
    path: str
    upload_mode: str  # "lfs" or "regular"
    should_ignore: bool
    oid: str | None  # sha256 of the current LFS file, git blob sha1 of a regular one


def _blob_at(dulwich_repo: DulwichRepo, tree_id: bytes, path: str) -> tuple[int, bytes] | None:
    node = tree_id
    parts = path.split("/")
    for i, part in enumerate(parts):
        try:
            mode, sha = dulwich_repo[node][part.encode()]
        except KeyError:
            return None
        if i == len(parts) - 1:
            return (mode, sha) if stat.S_ISREG(mode) else None
        if not stat.S_ISDIR(mode):
            return None
        node = sha
    return None


def preupload_plan(
    *,
    actor: User | AnonymousUser,
    repo: Repo,
    revision: str,
    files: Sequence[PreuploadFile],
    git_ignore: str | None = None,
    create_pr: bool = False,
) -> list[PreuploadAnswer]:
    """How the client should send each file (hf-api-contract.md 1.6 "Preupload"); reads only.

    LFS when the branch's `.gitattributes` routes the path to `filter=lfs`, when the file is
    over MAX_GIT_BLOB_BYTES, or when its sample holds a NUL byte (git's binary test); a
    0-byte file is always regular. `shouldIgnore` follows `git_ignore` if given, else the
    branch's `.gitignore`. A path that cannot be committed answers 422 here already.
    """
    ref = _branch_ref(revision, repo.default_branch)
    _require_for_ref(actor, repo, ref, create_pr=create_pr)
    head = _head(repo, ref, revision)
    max_blob = settings.MAX_GIT_BLOB_BYTES
    dulwich_repo = git_store().open(repo.storage_key)
    try:
        tree = dulwich_repo[head.encode()].tree

        def read(path: str) -> bytes:
            found = _blob_at(dulwich_repo, tree, path)
            return dulwich_repo[found[1]].as_raw_string() if found else b""

        attributes = gitattributes(read(".gitattributes"))
        ignore = GitIgnore(git_ignore if git_ignore is not None else read(".gitignore"))
        answers = []
        adding = 0  # declared bytes of files that differ from what their path holds
        for f in files:
            validate_path(f.path)
            if f.size == 0:
                mode = "regular"  # _commit_api.py forces size-0 files to regular as well
            elif f.size > max_blob or attributes.is_lfs(f.path) or b"\x00" in f.sample:
                mode = "lfs"
            else:
                mode = "regular"
            oid = None
            existing = _blob_at(dulwich_repo, tree, f.path)
            existing_size = None
            if existing is not None:
                oid = existing[1].decode()
                raw = dulwich_repo[existing[1]].as_raw_string()
                existing_size = len(raw)
                pointer = parse_pointer(raw) if len(raw) <= MAX_POINTER_SIZE else None
                if pointer is not None:
                    oid, existing_size = pointer.oid, pointer.size
            if existing_size != f.size and not ignore.ignores(f.path):
                adding += f.size  # the same size at the same path: most likely unchanged
            answers.append(
                PreuploadAnswer(
                    path=f.path, upload_mode=mode, should_ignore=ignore.ignores(f.path), oid=oid
                )
            )
        # huggingface_hub raises HfHubHTTPError with this message before uploading anything;
        # the LFS batch and commit_create then check exactly what is new to the namespace.
        quota_require(namespace_id=repo.owner_id, adding=adding, what="this upload")
        return answers
    finally:
        dulwich_repo.close()


# --- branches, tags, squash (hf-api-contract.md 1.5) ------------------------------------------


def _short_branch_name(branch: str) -> str:
    if branch.startswith("refs/") or not valid_ref_name(f"refs/heads/{branch}"):
        raise BadRequestError(f"Invalid reference for a branch: {branch}")
    return branch


def _ref_add(repo: Repo, ref: str, value: Callable[[], str]) -> str:
    """Create `ref` at `value()` (called only when the name is free); 409 when it exists."""
    exists = ConflictError(f"Reference {ref} already exists")
    if _ref_sha(repo, ref) is not None:
        raise exists
    sha = value()
    try:
        git_store().update_ref(repo.storage_key, ref, None, sha)
    except ConflictError:  # created meanwhile by another writer
        raise exists from None
    _publish(repo, ref, None, sha)
    return sha


def _ref_remove(repo: Repo, ref: str, *, shown: str) -> None:
    old = _ref_sha(repo, ref) if valid_ref_name(ref) else None
    if old is None:
        raise RevisionNotFoundError(f"Invalid rev id: {shown}")
    git_store().update_ref(repo.storage_key, ref, old, None)
    _publish(repo, ref, old, None)


def branch_create(
    *, actor: User | AnonymousUser, repo: Repo, branch: str, starting_point: str | None = None
) -> str:
    """Create `refs/heads/{branch}` at `starting_point` (branch, tag or sha; default: the default
    branch head); ConflictError (409) when it exists. Returns the commit sha."""
    _require(actor, repo, Action.WRITE)
    ref = f"refs/heads/{_short_branch_name(branch)}"
    target = git_store().resolve(repo.storage_key, starting_point or repo.default_branch)
    _ref_add(repo, ref, lambda: target)
    return target


def branch_delete(*, actor: User | AnonymousUser, repo: Repo, branch: str) -> None:
    """Delete a branch; never the default one. RevisionNotFoundError when it does not exist."""
    _require(actor, repo, Action.WRITE)
    ref = branch if branch.startswith("refs/heads/") else f"refs/heads/{branch}"
    if ref == f"refs/heads/{repo.default_branch}":
        raise BadRequestError(f"Cannot delete {ref}: it is the default branch.")
    _ref_remove(repo, ref, shown=branch)


def tag_create(
    *,
    actor: User | AnonymousUser,
    repo: Repo,
    tag: str,
    revision: str | None = None,
    message: str | None = None,
) -> str:
    """Tag `revision` (branch, tag, `refs/pr/N`, full or short sha); annotated when a message is
    given. ConflictError (409) when the tag exists; BadRequestError for a name git refuses."""
    _require(actor, repo, Action.WRITE)
    if not isinstance(tag, str) or not tag or tag.startswith("refs/"):
        raise BadRequestError(f"Invalid tag name: {tag!r}")
    ref = f"refs/tags/{tag}"
    if not valid_ref_name(ref):
        raise BadRequestError(f"Invalid tag name: {tag!r}")
    target = git_store().resolve(repo.storage_key, revision or repo.default_branch)

    def tag_object() -> str:
        if not message:
            return target  # a lightweight tag
        dulwich_repo = git_store().open(repo.storage_key)
        try:
            obj = Tag()
            obj.object = (Commit, target.encode())
            obj.name = tag.encode()
            obj.tagger = author_signature(actor if isinstance(actor, User) else None)
            obj.tag_time = int(time.time())
            obj.tag_timezone = 0
            obj.message = message.encode("utf-8") + (b"" if message.endswith("\n") else b"\n")
            dulwich_repo.object_store.add_object(obj)
            return str(obj.id.decode())
        finally:
            dulwich_repo.close()

    return _ref_add(repo, ref, tag_object)


def tag_delete(*, actor: User | AnonymousUser, repo: Repo, tag: str) -> None:
    """Delete a tag; RevisionNotFoundError when there is none by that name."""
    _require(actor, repo, Action.WRITE)
    ref = tag if tag.startswith("refs/tags/") else f"refs/tags/{tag}"
    _ref_remove(repo, ref, shown=tag)


def branch_squash(
    *, actor: User | AnonymousUser, repo: Repo, branch: str, message: str
) -> CommitResult:
    """Replace the branch (or `refs/pr/N`) with one parentless commit holding its current tree.

    Other refs keep their history. ConflictError if the branch moved meanwhile.
    """
    _require(actor, repo, Action.WRITE)
    ref = _branch_ref(branch, repo.default_branch)
    head = _head(repo, ref, branch)
    message = (
        message.strip()
        if isinstance(message, str) and message.strip()
        else (f"Super-squash branch '{branch}'")
    )
    dulwich_repo = git_store().open(repo.storage_key)
    try:
        tree = dulwich_repo[head.encode()].tree
        author = author_signature(actor if isinstance(actor, User) else None)
        new = _new_commit(dulwich_repo, tree=tree, parents=[], author=author, message=message)
    finally:
        dulwich_repo.close()
    git_store().update_ref(repo.storage_key, ref, head, new.decode())
    _publish(repo, ref, head, new.decode())
    return CommitResult(oid=new.decode(), url=commit_url(repo, new.decode()), message=message)
