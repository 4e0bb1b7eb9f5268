"""What a push may do: the checks run by the pre-receive hook (recording: repos/pushes.py)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from common.errors import InsufficientStorageError
from orgs.models import User
from repos.discussions import pr_push_refusal
from repos.git.hooks import (
    HookCall,
    Verdict,
    new_objects,
    object_sizes,
    quarantined_ids,
    read_blobs,
    tip_tree_depth,
)
from repos.git.store import ZERO_SHA
from repos.lfs.pointer import MAX_POINTER_SIZE, parse_pointer
from repos.models import Repo
from repos.quotas import push_require
from repos.services import lfs_linked_oids

ALLOWED_REF_PREFIXES = ("refs/heads/", "refs/tags/", "refs/pr/")
# Deeper trees break recursive tree walkers (git's t6700; core.maxTreeDepth since git 2.43).
MAX_TREE_DEPTH = 2048
# Smallest possible pointer: version line + oid line + "size 0".
_MIN_POINTER_SIZE = 120


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


def check_push(
    *, repo: Repo, git_dir: Path, call: HookCall, actor: User | AnonymousUser | None = None
) -> Verdict:
    """Decide a whole push (pre-receive): any failed rule declines every ref, atomically.
    With `actor`, each ref is also judged for it (refs/pr/N: pull request authors too)."""
    errors: list[str] = []
    for _old, new, ref in call.updates:
        if not ref.startswith(ALLOWED_REF_PREFIXES):
            errors.append(
                f"refusing to update {ref}: only branches and tags (and refs/pr/N of open pull "
                "requests) can be pushed"
            )
        elif actor is not None and (
            refusal := pr_push_refusal(actor=actor, repo=repo, ref=ref, new=new)
        ):
            errors.append(refusal)
        elif new == ZERO_SHA and ref == f"refs/heads/{repo.default_branch}":
            errors.append(f"refusing to delete the default branch {repo.default_branch}")
    if errors:
        return Verdict(ok=False, message=_report(errors))
    try:  # the received pack, still in quarantine, must fit the namespace's quota
        push_require(repo=repo, quarantine=call.env.get("GIT_QUARANTINE_PATH"))
    except InsufficientStorageError as exc:
        return Verdict(ok=False, message=_report([exc.message]))

    max_blob = settings.MAX_GIT_BLOB_BYTES
    candidates: dict[str, str] = {}  # blob sha -> path, small enough to be an LFS pointer
    ids = quarantined_ids(call)
    if ids is None:  # no quarantine (old git, or nothing received): walk the new history
        objects = [(t, sha, size) for t, sha, size, _path in new_objects(call, git_dir)]
    else:
        objects = list(object_sizes(call, git_dir, ids))
    # The pushed tips' trees, not every intermediate one: walking all new history costs
    # more than the rest of the push (bench/RESULTS.md); the walkers stay safe either way.
    if any(obj_type == "tree" for obj_type, _sha, _size in objects) and (
        tip_tree_depth(call, git_dir) > MAX_TREE_DEPTH
    ):
        errors.append(f"directories nested more than {MAX_TREE_DEPTH} levels deep")
    oversized = {sha for obj_type, sha, size in objects if obj_type == "blob" and size > max_blob}
    for obj_type, sha, size in objects:
        if obj_type == "blob" and _MIN_POINTER_SIZE <= size <= MAX_POINTER_SIZE:
            candidates[sha] = sha
    if oversized:
        # The slow path, on refusal only: name the files with their paths.
        named = {
            sha: (path, size)
            for _t, sha, size, path in new_objects(call, git_dir)
            if sha in oversized
        }
        for sha in sorted(oversized, key=lambda s: named.get(s, (s, 0))[0]):
            path, size = named.get(sha, (sha, 0))
            errors.append(
                f"{path}: file of {_mib(size)} is over the {_mib(max_blob)} limit for "
                "files stored in git; track it with Git LFS (git lfs track) and push again"
            )
    if errors:
        return Verdict(ok=False, message=_report(errors))

    pointers: dict[str, str] = {}  # lfs oid -> path
    for sha, content in read_blobs(call, git_dir, list(candidates)):
        pointer = parse_pointer(content)
        if pointer is not None:
            pointers[pointer.oid] = candidates.get(sha, sha)
    if pointers:
        present = lfs_linked_oids(repo=repo, oids=list(pointers))
        if set(pointers) - present:  # name the files, on refusal only
            paths = {
                sha: path for _t, sha, _s, path in new_objects(call, git_dir) if sha in candidates
            }
            pointers = {oid: paths.get(blob, blob) for oid, blob in pointers.items()}
        for oid, path in sorted(pointers.items(), key=lambda kv: kv[1]):
            if oid not in present:
                errors.append(
                    f"{path}: Git LFS object {oid} is not on the server; run `git lfs push "
                    "--all origin` (or install git-lfs) and push again"
                )
    if errors:
        return Verdict(ok=False, message=_report(errors))
    return Verdict(ok=True)


def _report(errors: list[str]) -> str:
    lines = ["", "hubforge: push rejected", *[f"  - {e}" for e in errors[:50]]]
    if len(errors) > 50:
        lines.append(f"  ... and {len(errors) - 50} more")
    return "\n".join(lines) + "\n"
