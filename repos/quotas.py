"""Storage usage and quotas per namespace (a user's or an organization's).

Usage is git + LFS:
- git: the size on disk of each bare repo's objects (packs and loose objects). A task measures
  a repo after every push or commit (RepoUpdated) and stores it in RepoUsage; a periodic sweep
  re-measures old figures; a repo never measured is measured on first need.
- LFS: the objects linked to any repo of the namespace, each oid counted once per namespace
  however many of its repos link it (and once in each namespace that links it). The figure
  (NamespaceUsage) is kept current as objects are linked (`usage_lfs_linked`) and repos
  deleted or moved, with one indexed query each, so a check never sums a namespace's objects;
  the sweep recounts it exactly once a day (a recount of 100k objects takes about half a
  second, bench/RESULTS.md), healing drift from two writers linking one object at once.

The quota is the namespace's NamespaceQuota override (set by site admins), else
HUB_QUOTA_USER_BYTES / HUB_QUOTA_ORG_BYTES; 0 or None is unlimited. Every door that stores
bytes asks before it stores them: the LFS batch (a per-object 507 error), the LFS PUT and
multipart completion, the browser upload, the pre-receive hook (the size of the push's
quarantine), preupload (declared sizes) and the commit API (the blobs it would write).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from common.errors import (
    AuthenticationError,
    InsufficientStorageError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from common.sizes import format_bytes, parse_size
from orgs.audit import audit_log
from orgs.models import Namespace, User
from orgs.permissions import Action, namespace_role
from orgs.tokens import REPO_CONTENT_READ, scopes_allow
from repos import events
from repos.git.store import git_store
from repos.models import LfsLink, LfsObject, NamespaceQuota, NamespaceUsage, Repo, RepoUsage

STALE_AFTER = timedelta(days=1)  # the sweep re-measures figures older than this
SWEEP_BATCH = 500
_CHUNK = 500


# --- measuring --------------------------------------------------------------------------------


def objects_dir_size(objects: Path) -> int:
    """Bytes of the object files in a git objects folder: `??/` loose objects and `pack/`.

    Used for a repo's `objects/` and for a push's quarantine folder (laid out the same way).
    Files that vanish while we look (a concurrent repack) are skipped.
    """
    total = 0
    try:
        entries = list(os.scandir(objects))
    except (FileNotFoundError, NotADirectoryError):
        return 0
    for entry in entries:
        if not (len(entry.name) == 2 or entry.name == "pack"):
            continue  # info/ (alternates, packs list), incoming-*/ of other pushes
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            for item in os.scandir(entry.path):
                if item.is_file(follow_symlinks=False):
                    total += item.stat(follow_symlinks=False).st_size
        except FileNotFoundError:
            continue
    return total


def repo_usage_refresh(*, repo_id: int) -> int | None:
    """Measure a repo's git objects and store the figure; idempotent. None if the repo is gone."""
    storage_key = Repo.objects.filter(pk=repo_id).values_list("storage_key", flat=True).first()
    if storage_key is None:
        return None
    size = objects_dir_size(git_store().path(storage_key) / "objects")
    try:
        RepoUsage.objects.update_or_create(
            repo_id=repo_id, defaults={"git_bytes": size, "measured_at": timezone.now()}
        )
    except IntegrityError:  # deleted meanwhile: its usage went with it
        return None
    return size


def usage_sweep(*, older_than: timedelta = STALE_AFTER, limit: int = SWEEP_BATCH) -> int:
    """Measure repos never measured and the oldest figures, recount the LFS bytes of the
    namespaces counted longest ago; returns how many repos and namespaces it did."""
    cutoff = timezone.now() - older_than
    ids = list(
        Repo.objects.filter(Q(usage__isnull=True) | Q(usage__measured_at__lt=cutoff))
        .order_by("usage__measured_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    for repo_id in ids:
        repo_usage_refresh(repo_id=repo_id)
    namespaces = list(
        NamespaceUsage.objects.filter(counted_at__lt=cutoff)
        .order_by("counted_at")
        .values_list("namespace_id", flat=True)[:limit]
    )
    for namespace_id in namespaces:
        lfs_usage_recount(namespace_id=namespace_id)
    return len(ids) + len(namespaces)


def _lfs_count(namespace_id: int) -> int:
    """Exact LFS bytes of a namespace: one sum over its distinct linked objects."""
    linked = LfsLink.objects.filter(repo__owner_id=namespace_id).values("lfs_object_id")
    total = LfsObject.objects.filter(oid__in=linked).aggregate(t=Sum("size"))
    return int(total["t"] or 0)


def lfs_usage_recount(*, namespace_id: int) -> int:
    """Count a namespace's LFS bytes exactly and store the figure; idempotent."""
    total = _lfs_count(namespace_id)
    with contextlib.suppress(IntegrityError):  # the namespace is gone: nothing to keep
        NamespaceUsage.objects.update_or_create(
            namespace_id=namespace_id, defaults={"lfs_bytes": total, "counted_at": timezone.now()}
        )
    return total


def _lfs_add(namespace_id: int, delta: int) -> None:
    # A namespace never counted has no row: its first read counts it exactly instead.
    if delta:
        NamespaceUsage.objects.filter(namespace_id=namespace_id).update(
            lfs_bytes=F("lfs_bytes") + delta
        )


def _linked_in(namespace_id: int, oids: list[str], *, except_repo: int | None = None) -> set[str]:
    """Which of `oids` a repo of the namespace (other than `except_repo`) links.

    Driven by the oid index, with the owner checked per link: filtering on the owner in SQL
    lets SQLite walk every repo of a big namespace instead (370 ms against 9 ms for 1,000 oids
    in an org of 500 repos, bench/quota_bench.py).
    """
    found: set[str] = set()
    for i in range(0, len(oids), _CHUNK):
        links = LfsLink.objects.filter(lfs_object_id__in=oids[i : i + _CHUNK])
        if except_repo is not None:
            links = links.exclude(repo_id=except_repo)
        found.update(
            oid
            for oid, owner in links.values_list("lfs_object_id", "repo__owner_id")
            if owner == namespace_id
        )
    return found


def _held_only_by(repo_id: int, namespace_id: int) -> int:
    """Bytes of the objects `repo_id` links that no other repo of the namespace links."""
    sizes = dict(
        LfsLink.objects.filter(repo_id=repo_id).values_list("lfs_object_id", "lfs_object__size")
    )
    elsewhere = _linked_in(namespace_id, list(sizes), except_repo=repo_id)
    return sum(size for oid, size in sizes.items() if oid not in elsewhere)


def usage_lfs_linked(*, repo: Repo, oid: str, size: int) -> None:
    """After `oid` was newly linked to `repo`: it counts unless another repo of the namespace
    links it already (services.lfs_link)."""
    if not _linked_in(repo.owner_id, [oid], except_repo=repo.pk):
        _lfs_add(repo.owner_id, size)


def usage_repo_deleting(*, repo: Repo) -> None:
    """Before a repo's row (and its links) goes, in the same transaction (repo_delete)."""
    _lfs_add(repo.owner_id, -_held_only_by(repo.pk, repo.owner_id))


def usage_repo_moved(*, repo: Repo, old_owner_id: int) -> None:
    """After a transfer to `repo.owner_id`, in the same transaction (repo_move)."""
    if old_owner_id == repo.owner_id:
        return
    _lfs_add(old_owner_id, -_held_only_by(repo.pk, old_owner_id))
    _lfs_add(repo.owner_id, _held_only_by(repo.pk, repo.owner_id))


def on_repo_changed(event: events.Event) -> None:
    """Event handler (RepoCreated, RepoUpdated): re-measure the repo in the background."""
    from repos.tasks import refresh_repo_usage  # tasks import this module

    refresh_repo_usage.delay(repo_id=event.repo_id)


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    bytes: int | None  # None: unlimited
    source: str  # "default" (settings) or "override" (a site admin's)


@dataclass(frozen=True)
class Usage:
    namespace: Namespace
    git_bytes: int
    lfs_bytes: int
    quota: Quota

    @property
    def used_bytes(self) -> int:
        return self.git_bytes + self.lfs_bytes

    @property
    def percent(self) -> float | None:
        if self.quota.bytes is None:
            return None
        return round(100 * self.used_bytes / max(self.quota.bytes, 1), 1)

    @property
    def over(self) -> bool:
        return self.quota.bytes is not None and self.used_bytes > self.quota.bytes


@dataclass(frozen=True)
class RepoStorage:
    repo: Repo
    git_bytes: int
    lfs_bytes: int

    @property
    def total(self) -> int:
        return self.git_bytes + self.lfs_bytes


def namespace_quota(*, namespace: Namespace) -> Quota:
    """The quota that applies: the namespace's override, else the default of its kind."""
    override = NamespaceQuota.objects.filter(namespace_id=namespace.pk).first()
    if override is not None:
        return Quota(bytes=override.quota_bytes or None, source="override")
    default = (
        settings.QUOTA_ORG_BYTES
        if namespace.kind == Namespace.Kind.ORG
        else settings.QUOTA_USER_BYTES
    )
    return Quota(bytes=default or None, source="default")


def _git_bytes(namespace_id: int) -> int:
    # Repos from before this feature (or whose task has not run yet) are measured now, once.
    for repo_id in Repo.objects.filter(owner_id=namespace_id, usage__isnull=True).values_list(
        "pk", flat=True
    ):
        repo_usage_refresh(repo_id=repo_id)
    total = RepoUsage.objects.filter(repo__owner_id=namespace_id).aggregate(t=Sum("git_bytes"))
    return int(total["t"] or 0)


def _lfs_bytes(namespace_id: int) -> int:
    stored = (
        NamespaceUsage.objects.filter(namespace_id=namespace_id)
        .values_list("lfs_bytes", flat=True)
        .first()
    )
    return int(stored) if stored is not None else lfs_usage_recount(namespace_id=namespace_id)


def namespace_usage(*, namespace: Namespace) -> Usage:
    """Git and LFS bytes of a namespace (LFS objects counted once each), with its quota."""
    return Usage(
        namespace=namespace,
        git_bytes=_git_bytes(namespace.pk),
        lfs_bytes=_lfs_bytes(namespace.pk),
        quota=namespace_quota(namespace=namespace),
    )


def repo_storage_list(*, namespace: Namespace, limit: int | None = None) -> list[RepoStorage]:
    """Every repo of the namespace with its git and LFS bytes, largest first (two queries).

    A repo's LFS figure counts the objects it links; an object shared by two repos shows in
    both, while the namespace total counts it once.
    """
    repos = list(Repo.objects.filter(owner=namespace).select_related("owner", "usage"))
    lfs = dict(
        LfsLink.objects.filter(repo__owner=namespace)
        .values("repo_id")
        .annotate(t=Sum("lfs_object__size"))
        .values_list("repo_id", "t")
    )
    rows = []
    for repo in repos:
        # A missing reverse one-to-one raises RelatedObjectDoesNotExist, an AttributeError.
        usage = getattr(repo, "usage", None)
        rows.append(
            RepoStorage(
                repo=repo,
                git_bytes=usage.git_bytes if usage else 0,
                lfs_bytes=int(lfs.get(repo.pk) or 0),
            )
        )
    rows.sort(key=lambda r: (-r.total, r.repo.name.lower()))
    return rows[:limit] if limit is not None else rows


def namespace_for_usage(*, viewer: User | AnonymousUser, name: str, kind: str | None) -> Namespace:
    """The namespace whose usage `viewer` asks for: itself, an org it administers, or any for
    site admins. NotFoundError when there is none of that name (and kind); 401/403 otherwise."""
    namespace = Namespace.objects.filter(name__iexact=name).first()
    if namespace is None or (kind is not None and namespace.kind != kind):
        raise NotFoundError(f"No {'organization' if kind == 'org' else 'user'} named {name}.")
    if not viewer.is_authenticated:
        raise AuthenticationError("Sign in to see storage usage.")
    if namespace_role(viewer, namespace.pk) is not Action.ADMIN:
        raise PermissionDeniedError(f"Only {namespace.name}'s admins can see its storage usage.")
    token = getattr(viewer, "access_token", None)
    if (
        token is not None
        and token.is_fine_grained
        and not scopes_allow(token.scopes, REPO_CONTENT_READ, namespace_id=namespace.pk)
    ):  # the usage names every repo, private ones too: a token scoped to one repo sees none
        raise PermissionDeniedError(
            f"This token has no read scope on {namespace.name}, whose repositories usage lists."
        )
    return namespace


# --- refusing ---------------------------------------------------------------------------------


def _limited(namespace_id: int) -> tuple[Namespace, int] | None:
    """(namespace, quota) when the namespace has a quota; None when unlimited."""
    namespace = Namespace.objects.filter(pk=namespace_id).first()
    if namespace is None:
        return None
    quota = namespace_quota(namespace=namespace).bytes
    return (namespace, quota) if quota is not None else None


def quota_message(*, namespace: str, used: int, quota: int, adding: int, what: str) -> str:
    return (
        f"Storage quota exceeded for {namespace}: {format_bytes(used)} of "
        f"{format_bytes(quota)} used, and {what} needs {format_bytes(adding)} more. Delete "
        "files or repositories to free space, or ask a site administrator to raise the quota."
    )


def quota_require(*, namespace_id: int, adding: int, what: str) -> None:
    """Refuse (InsufficientStorageError, 507) storing `adding` more bytes in a namespace whose
    usage would then be over its quota. Unlimited namespaces cost one query, no measuring."""
    if adding <= 0:
        return
    limited = _limited(namespace_id)
    if limited is None:
        return
    namespace, quota = limited
    used = _git_bytes(namespace.pk) + _lfs_bytes(namespace.pk)
    if used + adding > quota:
        raise InsufficientStorageError(
            quota_message(
                namespace=namespace.name, used=used, quota=quota, adding=adding, what=what
            )
        )


def lfs_new_to_namespace(*, namespace_id: int, objects: dict[str, int]) -> dict[str, int]:
    """The objects (oid -> size) that no repo of the namespace links yet: what storing adds."""
    present = _linked_in(namespace_id, list(objects))
    return {oid: size for oid, size in objects.items() if oid not in present}


def lfs_batch_refusal(*, repo: Repo, objects: dict[str, int]) -> tuple[set[str], str] | None:
    """For an LFS batch upload: (the oids to refuse, why) when the objects new to the namespace
    do not fit in its quota together (git-lfs docs/api/batch.md: the sum of the request)."""
    if not objects or _limited(repo.owner_id) is None:
        return None
    new = lfs_new_to_namespace(namespace_id=repo.owner_id, objects=objects)
    count = len(new)
    try:
        quota_require(
            namespace_id=repo.owner_id,
            adding=sum(new.values()),
            what=f"this upload of {count} LFS file{'s' if count != 1 else ''}",
        )
    except InsufficientStorageError as exc:
        return set(new), exc.message
    return None


def lfs_require(*, repo: Repo, oid: str, size: int) -> None:
    """Before storing one LFS object for `repo` (PUT, multipart completion, browser upload)."""
    if _limited(repo.owner_id) is None:
        return
    new = lfs_new_to_namespace(namespace_id=repo.owner_id, objects={oid: size})
    quota_require(namespace_id=repo.owner_id, adding=sum(new.values()), what="this LFS file")


def push_require(*, repo: Repo, quarantine: str | None) -> None:
    """Before a push is accepted: its quarantined objects must fit (pre-receive)."""
    if not quarantine or _limited(repo.owner_id) is None:
        return
    quota_require(
        namespace_id=repo.owner_id, adding=objects_dir_size(Path(quarantine)), what="this push"
    )


def transfer_require(*, repo: Repo, to_namespace_id: int) -> None:
    """Before a repo moves to another namespace: its git bytes and the LFS objects the target
    does not hold yet must fit the target's quota (repo_move)."""
    if _limited(to_namespace_id) is None:
        return
    git = RepoUsage.objects.filter(repo_id=repo.pk).values_list("git_bytes", flat=True).first()
    if git is None:
        git = repo_usage_refresh(repo_id=repo.pk) or 0
    sizes = dict(
        LfsLink.objects.filter(repo_id=repo.pk).values_list("lfs_object_id", "lfs_object__size")
    )
    held = _linked_in(to_namespace_id, list(sizes))
    quota_require(
        namespace_id=to_namespace_id,
        adding=git + sum(size for oid, size in sizes.items() if oid not in held),
        what=f"moving {repo.full_name} there",
    )


def commit_require(*, repo: Repo, blobs: list[tuple[bytes, int]]) -> None:
    """Before the commit API writes blobs (git blob id, size): those the repo lacks must fit."""
    if not blobs or _limited(repo.owner_id) is None:
        return
    unique = dict(blobs)
    dulwich_repo = git_store().open(repo.storage_key)
    try:
        adding = sum(size for sha, size in unique.items() if sha not in dulwich_repo.object_store)
    finally:
        dulwich_repo.close()
    quota_require(namespace_id=repo.owner_id, adding=adding, what="this commit")


# --- changing the quota -----------------------------------------------------------------------


DEFAULT = "default"


def parse_quota(value: Any) -> int | str | None:
    """A quota as people write it: bytes (`1073741824`, `"10GiB"`, `"500MB"`), `"unlimited"`
    (or 0, None), or `"default"` (remove the override). ValidationError otherwise."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("unlimited", "none")):
        return None
    if isinstance(value, str) and value.strip().lower() in (DEFAULT, "reset"):
        return DEFAULT
    if isinstance(value, bool):
        raise ValidationError("A quota is a number of bytes, 'unlimited' or 'default'.")
    if isinstance(value, int):
        if value < 0:
            raise ValidationError("A quota cannot be negative.")
        return value or None
    if isinstance(value, str):
        return parse_size(value) or None
    raise ValidationError("A quota is a number of bytes, 'unlimited' or 'default'.")


def require_site_admin(actor: User | AnonymousUser | None) -> None:
    """Site admins only (with a write token, when they use one); None is the command line."""
    if actor is None:  # the command line, on the server's own database
        return
    if not actor.is_authenticated:
        raise AuthenticationError("Sign in as a site administrator to change quotas.")
    if not actor.is_superuser:
        raise PermissionDeniedError("Only site administrators can change storage quotas.")
    token = getattr(actor, "access_token", None)
    if token is not None and not token.can_write:
        raise PermissionDeniedError("Changing a quota needs a write token.")


def quota_set(
    *, actor: User | AnonymousUser | None, namespace: str, quota: int | str | None
) -> Quota:
    """Override a namespace's quota (bytes, None for unlimited) or remove the override
    (`DEFAULT`); site admins only (actor None: the CLI). Audited as `quota.set`."""
    require_site_admin(actor)
    target = Namespace.objects.filter(name__iexact=namespace).first()
    if target is None:
        raise NotFoundError(f"No user or organization named {namespace}.")
    if quota != DEFAULT and quota is not None and not isinstance(quota, int):
        raise ValidationError("A quota is a number of bytes, 'unlimited' or 'default'.")
    before = namespace_quota(namespace=target)
    with transaction.atomic():
        if quota == DEFAULT:
            NamespaceQuota.objects.filter(namespace=target).delete()
        else:
            NamespaceQuota.objects.update_or_create(
                namespace=target,
                defaults={
                    "quota_bytes": quota or None,
                    "set_by": actor if isinstance(actor, User) else None,
                },
            )
        after = namespace_quota(namespace=target)
        audit_log(
            verb="quota.set",
            actor=actor,
            target=target,
            namespace=target,
            details={
                "old": before.bytes,
                "oldSource": before.source,
                "new": after.bytes,
                "source": after.source,
            },
        )
    return after
