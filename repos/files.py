"""File listings of a commit with sizes and LFS pointers, read through C git (fast on big trees).

Trees are immutable, so listings are cached per process by tree id.
"""

from __future__ import annotations

import subprocess
import threading
from collections import OrderedDict
from dataclasses import dataclass

from common.errors import EntryNotFoundError
from repos.git.store import git_store, parse_cat_file_batch
from repos.lfs.pointer import MAX_POINTER_SIZE, Pointer, parse_pointer
from repos.models import Repo

_MIN_POINTER_SIZE = 100


@dataclass(frozen=True)
class FileEntry:
    path: str
    type: str  # "file" or "directory"
    oid: str  # git blob or tree sha1
    size: int  # bytes in git (the pointer's size for LFS files); 0 for directories
    mode: str
    lfs: Pointer | None = None

    @property
    def real_size(self) -> int:
        return self.lfs.size if self.lfs else self.size

    @property
    def is_symlink(self) -> bool:
        return self.mode == "120000"


class _Cache:
    def __init__(self, size: int = 256):
        self._data: OrderedDict[tuple[str, ...], list[FileEntry]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> list[FileEntry] | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: tuple[str, ...], value: list[FileEntry]) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)


_cache = _Cache()


def _git(repo: Repo, *args: str, input: bytes | None = None) -> bytes:
    path = git_store().path(repo.storage_key)
    proc = subprocess.run(
        ["git", f"--git-dir={path}", *args],
        input=input,
        capture_output=True,
        check=False,
        timeout=300,
    )
    if proc.returncode != 0:
        raise EntryNotFoundError("Entry not found: git could not read it.")
    return proc.stdout


def list_entries(
    repo: Repo, *, commit: str, path: str = "", recursive: bool = False
) -> list[FileEntry]:
    """Entries under `path` in `commit` (directories included, also when recursive).

    EntryNotFoundError when `path` does not exist or is not a directory.
    """
    path = path.strip("/")
    key = (repo.storage_key, commit, path, "r" if recursive else "")
    cached = _cache.get(key)
    if cached is not None:
        return cached
    if path:
        entry = git_store().entry(repo.storage_key, commit, path)
        if entry is None or not entry.is_dir:
            raise EntryNotFoundError(f"{path} does not exist on this revision.")
    treeish = f"{commit}:{path}" if path else commit
    args = ["ls-tree", "-z", "-l", "--full-tree"]
    if recursive:
        args += ["-r", "-t"]
    args += ["--end-of-options", treeish]
    raw = _git(repo, *args)
    prefix = f"{path}/" if path else ""
    entries = _parse_ls_tree(raw, prefix)
    entries = _attach_pointers(repo, entries)
    _cache.put(key, entries)
    return entries


def _parse_ls_tree(raw: bytes, prefix: str) -> list[FileEntry]:
    out = []
    for record in raw.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, obj_type, oid, size = meta.decode().split(maxsplit=3)
        if obj_type == "commit":  # submodule: not a file we can serve
            continue
        out.append(
            FileEntry(
                path=prefix + name.decode("utf-8", "replace"),
                type="directory" if obj_type == "tree" else "file",
                oid=oid,
                size=0 if size.strip() == "-" else int(size),
                mode=mode,
            )
        )
    return out


def _attach_pointers(repo: Repo, entries: list[FileEntry]) -> list[FileEntry]:
    candidates = [
        e
        for e in entries
        if e.type == "file" and not e.is_symlink and _MIN_POINTER_SIZE <= e.size <= MAX_POINTER_SIZE
    ]
    if not candidates:
        return entries
    contents = read_small_blobs(repo, [e.oid for e in candidates])
    pointers = {oid: parse_pointer(data) for oid, data in contents.items()}
    return [
        FileEntry(e.path, e.type, e.oid, e.size, e.mode, pointers.get(e.oid))
        if e.oid in pointers
        else e
        for e in entries
    ]


def read_small_blobs(repo: Repo, oids: list[str]) -> dict[str, bytes]:
    """Contents of blobs, read in one `git cat-file --batch` call."""
    unique = list(dict.fromkeys(oids))
    raw = _git(repo, "cat-file", "--batch", input=("\n".join(unique) + "\n").encode())
    return dict(parse_cat_file_batch(raw))


def file_entry(repo: Repo, *, commit: str, path: str) -> FileEntry | None:
    """The entry at `path` (file or directory) with its LFS pointer, or None."""
    path = path.strip("/")
    if not path:
        return None
    parent, _, _name = path.rpartition("/")
    try:
        siblings = list_entries(repo, commit=commit, path=parent)
    except EntryNotFoundError:
        return None
    for entry in siblings:
        if entry.path == path:
            return entry
    return None


def last_commits(repo: Repo, *, commit: str, paths: list[str]) -> dict[str, tuple[str, str, int]]:
    """For each path, the newest commit that touched it: (sha, title, unix time)."""
    out: dict[str, tuple[str, str, int]] = {}
    for p in paths:
        raw = _git(repo, "log", "-1", "--format=%H%x00%s%x00%ct", commit, "--", p or ".")
        parts = raw.decode("utf-8", "replace").strip().split("\0")
        if len(parts) == 3:
            out[p] = (parts[0], parts[1], int(parts[2]))
    return out
