"""Pull requests in git: the diff a PR shows, the files that conflict, and the merge.

C git does the three-way work (`git merge-tree --write-tree`, git 2.38+), so a merge commit
holds exactly what `git merge` would have produced; refs still move only through the
store's compare-and-swap (GitStore.update_ref).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

from common.errors import ConflictError, HubError
from repos.git.store import git_store
from repos.models import Repo

MAX_DIFF_BYTES = 1024 * 1024  # the details answer carries the diff inline
GIT_TIMEOUT = 120


@dataclass(frozen=True)
class MergePlan:
    """How the PR head `head` joins the base at `base`."""

    base: str
    head: str
    fast_forward: bool  # base is an ancestor of head
    up_to_date: bool  # head is already in base: nothing to merge
    tree: str | None  # the merged tree (three-way merges without conflicts)
    conflicts: tuple[str, ...] = ()


def _git(repo: Repo, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    path = git_store().path(repo.storage_key)
    try:
        return subprocess.run(
            ["git", f"--git-dir={path}", *args],
            capture_output=True,
            check=False,
            timeout=GIT_TIMEOUT,
            env=env,
        )
    except subprocess.TimeoutExpired:
        raise HubError("git took too long on this pull request.", status=503) from None


def is_ancestor(repo: Repo, older: str, newer: str) -> bool:
    """Is commit `older` in the history of `newer` (or the same commit)?"""
    return _git(repo, "merge-base", "--is-ancestor", older, newer).returncode == 0


def merge_base(repo: Repo, a: str, b: str) -> str | None:
    proc = _git(repo, "merge-base", a, b)
    out = proc.stdout.decode().strip()
    return out if proc.returncode == 0 and out else None


def merge_plan(repo: Repo, *, base: str, head: str) -> MergePlan:
    """Fast-forward, nothing to do, or a three-way merge (with the files that conflict)."""
    if base == head or is_ancestor(repo, head, base):
        return MergePlan(base, head, fast_forward=False, up_to_date=True, tree=None)
    if is_ancestor(repo, base, head):
        return MergePlan(base, head, fast_forward=True, up_to_date=False, tree=None)
    proc = _git(
        repo,
        "merge-tree",
        "--write-tree",
        "--name-only",
        "--no-messages",
        "--allow-unrelated-histories",
        base,
        head,
    )
    lines = proc.stdout.decode("utf-8", "replace").splitlines()
    if proc.returncode not in (0, 1) or not lines:
        raise HubError("git could not merge this pull request.", status=500)
    if proc.returncode == 1:
        conflicts = tuple(dict.fromkeys(line for line in lines[1:] if line))
        return MergePlan(base, head, False, False, tree=None, conflicts=conflicts)
    return MergePlan(base, head, fast_forward=False, up_to_date=False, tree=lines[0].strip())


def pr_diff(repo: Repo, *, base: str, head: str) -> str:
    """The unified diff of the PR's changes since it left the base (`git diff base...head`),
    cut at MAX_DIFF_BYTES."""
    start = merge_base(repo, base, head) or base
    proc = _git(
        repo, "diff", "--no-color", "--no-ext-diff", "--no-renames", "--binary", start, head
    )
    if proc.returncode != 0:
        raise ConflictError("git could not compute this pull request's diff.")
    raw = proc.stdout
    if len(raw) > MAX_DIFF_BYTES:
        raw = raw[:MAX_DIFF_BYTES] + b"\n... diff truncated ...\n"
    return raw.decode("utf-8", "replace")


@dataclass(frozen=True)
class ChangedFile:
    path: str
    status: str  # A, M, D
    additions: int | None  # None for binary files
    deletions: int | None


def pr_changed_files(repo: Repo, *, base: str, head: str) -> list[ChangedFile]:
    """Files the PR changes since it left the base, with line counts (the "Files" page)."""
    start = merge_base(repo, base, head) or base
    status = _git(repo, "diff", "--no-renames", "--name-status", "-z", start, head)
    counts = _git(repo, "diff", "--no-renames", "--numstat", "-z", start, head)
    if status.returncode != 0 or counts.returncode != 0:
        raise ConflictError("git could not compute this pull request's files.")
    parts = status.stdout.decode("utf-8", "replace").split("\0")
    kinds = {parts[i + 1]: parts[i][:1] for i in range(0, len(parts) - 1, 2)}
    out = []
    for record in counts.stdout.decode("utf-8", "replace").split("\0"):
        if not record:
            continue
        added, deleted, path = record.split("\t", 2)
        out.append(
            ChangedFile(
                path=path,
                status=kinds.get(path, "M"),
                additions=None if added == "-" else int(added),
                deletions=None if deleted == "-" else int(deleted),
            )
        )
    return out
