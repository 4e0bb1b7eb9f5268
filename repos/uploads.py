"""Uploading files from the browser: the same commit path the API uses, LFS decided alike."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from django.contrib.auth.models import AnonymousUser

from common.errors import BadRequestError
from orgs.models import User
from repos.commits import (
    AddFile,
    AddLfsFile,
    CommitResult,
    Operation,
    PreuploadFile,
    commit_create,
    preupload_plan,
    validate_path,
)
from repos.lfs.store import Oid, object_store
from repos.models import Repo
from repos.quotas import lfs_require
from repos.services import lfs_link

_CHUNK = 1024 * 1024
MAX_FILES = 100


@dataclass(frozen=True)
class Upload:
    path: str
    size: int
    file: BinaryIO  # seekable: Django keeps uploads in memory or in a temporary file


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    f.seek(0)
    while True:
        data = f.read(_CHUNK)
        if not data:
            return
        yield data


def files_upload(
    *,
    actor: User | AnonymousUser,
    repo: Repo,
    branch: str,
    uploads: Sequence[Upload],
    summary: str,
    description: str = "",
) -> CommitResult:
    """Commit browser uploads to `branch`; large or LFS-pattern files go to the LFS store.

    Paths are validated before any byte is stored; LFS objects are hashed on the server and
    linked to the repo before the commit references them (SECURITY.md 7).
    """
    if not uploads:
        raise BadRequestError("Choose at least one file.")
    if len(uploads) > MAX_FILES:
        raise BadRequestError(f"At most {MAX_FILES} files per upload.")
    for u in uploads:
        validate_path(u.path)
    samples = []
    for u in uploads:
        u.file.seek(0)
        samples.append(PreuploadFile(path=u.path, size=u.size, sample=u.file.read(512)))
    plan = {
        a.path: a for a in preupload_plan(actor=actor, repo=repo, revision=branch, files=samples)
    }
    operations: list[Operation] = []
    store = object_store()
    for u in uploads:
        if plan[u.path].upload_mode == "lfs":
            digest = hashlib.sha256()
            for chunk in _chunks(u.file):
                digest.update(chunk)
            oid = Oid(digest.hexdigest())
            lfs_require(repo=repo, oid=oid, size=u.size)
            if store.size(oid) == u.size:
                store.verify(oid, u.size, _chunks(u.file))
            else:
                store.put(oid, u.size, _chunks(u.file))
            lfs_link(repo=repo, oid=oid, size=u.size)
            operations.append(AddLfsFile(path=u.path, oid=oid, size=u.size))
        else:
            u.file.seek(0)
            operations.append(AddFile(path=u.path, content=u.file.read()))
    return commit_create(
        actor=actor,
        repo=repo,
        revision=branch,
        operations=operations,
        summary=summary,
        description=description,
    )
