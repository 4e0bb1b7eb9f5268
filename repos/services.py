"""Writes for repos. Each service checks permission, validates, writes, and publishes."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    PermissionDeniedError,
    RepoNotFoundError,
)
from orgs.audit import audit_log
from orgs.models import Namespace, User
from orgs.names import validate_repo_name
from orgs.org_selectors import org_default_private
from orgs.permissions import Action, can, can_write_namespace, namespace_role
from repos import events
from repos.git.store import git_store, signature
from repos.gitattributes import default_gitattributes
from repos.models import LfsLink, LfsObject, Like, Repo, RepoKind, RepoRedirect, TeamRepo
from repos.quotas import (
    transfer_require,
    usage_lfs_linked,
    usage_repo_deleting,
    usage_repo_moved,
)


def author_signature(user: User | None) -> bytes:
    if user is None:
        return signature("hubforge", "noreply@hubforge.local")
    return signature(
        user.fullname or user.username, user.email or f"{user.username}@users.noreply.hubforge"
    )


def namespace_for_write(*, actor: User | AnonymousUser, name: str | None) -> Namespace:
    """The namespace `actor` creates repos in (its own when `name` is None)."""
    if not actor.is_authenticated:
        raise AuthenticationError("You must be signed in to create a repository.")
    if not name:
        assert actor.namespace is not None
        return actor.namespace
    namespace = Namespace.objects.filter(name__iexact=name).first()
    if namespace is None or not can_write_namespace(actor, namespace):
        raise PermissionDeniedError(f"You don't have the rights to create a repo under {name}.")
    return namespace


def repo_create(
    *,
    actor: User | AnonymousUser,
    namespace: str | None,
    name: str,
    kind: str = RepoKind.MODEL,
    private: bool | None = None,
) -> Repo:
    """Create the row and the bare repo with its initial commit; publish RepoCreated.

    ConflictError (409) when the name is taken in that namespace, ignoring case. `private`
    None: the owner's default (an org may make new repos private by default).
    """
    if kind not in RepoKind.values:
        raise BadRequestError(f"Invalid repo type {kind!r}: use 'model' or 'dataset'.")
    validate_repo_name(name)
    owner = namespace_for_write(actor=actor, name=namespace)
    if not can_write_namespace(actor, owner):
        raise PermissionDeniedError("Your token cannot create repositories (read-only).")
    if private is None:  # --- orgs and access requests: an org's default visibility ---
        private = org_default_private(namespace=owner)
    repo = Repo(owner=owner, name=name, kind=kind, private=private, created_by=actor)
    try:
        with transaction.atomic():
            repo.save()
            sha = git_store().init(
                repo.storage_key,
                files={".gitattributes": default_gitattributes(kind)},
                message="initial commit",
                author=author_signature(actor),  # type: ignore[arg-type]
            )
            events.publish(
                events.RepoCreated(
                    repo_id=repo.pk, full_name=repo.full_name, repo_kind=kind, head_sha=sha
                )
            )
            audit_log(verb="repo.create", actor=actor, target=repo, details={"private": private})
    except IntegrityError:
        # Lost a race with (or repeated) a create of the same name: the row was rolled back.
        git_store().delete(repo.storage_key)
        raise ConflictError(f"You already created this {kind} repo: {owner.name}/{name}") from None
    except BaseException:
        git_store().delete(repo.storage_key)
        raise
    return repo


def repo_check_name_free(*, owner: Namespace, kind: str, name: str) -> None:
    if Repo.objects.filter(owner=owner, kind=kind, name__iexact=name).exists():
        raise ConflictError(f"You already created this {kind} repo: {owner.name}/{name}")


def repo_delete(*, actor: User | AnonymousUser, repo: Repo) -> None:
    """Delete the row (and its links) and the bare repo; publish RepoDeleted."""
    if not can(actor, Action.ADMIN, repo):
        if not can(actor, Action.READ, repo):
            raise RepoNotFoundError(anonymous=not actor.is_authenticated)
        raise PermissionDeniedError(f"You don't have the rights to delete {repo.full_name}.")
    storage_key = repo.storage_key
    with transaction.atomic():
        events.publish(
            events.RepoDeleted(
                repo_id=repo.pk, full_name=repo.full_name, repo_kind=repo.kind, private=repo.private
            )
        )
        audit_log(verb="repo.delete", actor=actor, target=repo)
        usage_repo_deleting(repo=repo)  # its LFS objects no other repo of the owner holds
        repo.delete()
    git_store().delete(storage_key)


def repo_touch(*, repo_id: int) -> None:
    Repo.objects.filter(pk=repo_id).update(last_modified=timezone.now())


def repo_record_push(*, repo: Repo, updates: list[events.RefUpdate], source: str) -> None:
    """After refs moved (push or commit API): bump lastModified and publish RepoUpdated."""
    if not updates:
        return
    with transaction.atomic():
        Repo.objects.filter(pk=repo.pk).update(last_modified=timezone.now())
        events.publish(
            events.RepoUpdated(
                repo_id=repo.pk,
                full_name=repo.full_name,
                repo_kind=repo.kind,
                updates=[{"ref": u.ref, "old": u.old, "new": u.new} for u in updates],
                source=source,
            )
        )


# --- LFS ------------------------------------------------------------------------------------


def lfs_link(*, repo: Repo, oid: str, size: int) -> None:
    """Record that `repo` holds object `oid` (after its bytes were verified); idempotent."""
    obj, _ = LfsObject.objects.get_or_create(oid=oid, defaults={"size": size})
    _, created = LfsLink.objects.get_or_create(repo=repo, lfs_object=obj)
    if created:
        usage_lfs_linked(repo=repo, oid=oid, size=obj.size)  # the namespace's storage usage


def lfs_linked_oids(*, repo: Repo, oids: list[str]) -> set[str]:
    """Which of `oids` this repo may read."""
    found: set[str] = set()
    for i in range(0, len(oids), 500):
        found.update(
            LfsLink.objects.filter(repo=repo, lfs_object_id__in=oids[i : i + 500]).values_list(
                "lfs_object_id", flat=True
            )
        )
    return found


# --- lifecycle, listing, likes: move, settings, likes ---------------------------------------


def _require_admin(actor: User | AnonymousUser, repo: Repo) -> None:
    if can(actor, Action.ADMIN, repo):
        return
    if not can(actor, Action.READ, repo):
        raise RepoNotFoundError(anonymous=not actor.is_authenticated)
    raise PermissionDeniedError(f"You don't have the rights to change {repo.full_name}.")


def repo_move(*, actor: User | AnonymousUser, repo: Repo, to_namespace: str, to_name: str) -> Repo:
    """Rename and/or transfer; the old name becomes a redirect. Publishes RepoConfigChanged.

    Needs admin on the repo and, for a transfer, the write or admin role in the target
    namespace (an org contributor may create repos there, not bring them in); ConflictError
    (409) when the target name is taken. A transfer drops the repo from the old org's teams.
    Git storage is keyed by `storage_key`, so no bytes move.
    """
    _require_admin(actor, repo)
    validate_repo_name(to_name)
    owner = namespace_for_write(actor=actor, name=to_namespace)
    role = namespace_role(actor, owner.pk)
    if owner.pk != repo.owner_id and role not in (Action.WRITE, Action.ADMIN):
        raise PermissionDeniedError(
            f"Transferring a repo to {owner.name} needs the write or admin role there."
        )
    old_name = repo.full_name
    old_owner_id = repo.owner_id
    new_name = f"{owner.name}/{to_name}"
    if old_name == new_name:
        raise BadRequestError(f"{old_name} already has that name.")
    # huggingface_hub's tests match `A model repository called .* already exists`.
    conflict = ConflictError(f"A {repo.kind} repository called {new_name} already exists")
    if (
        Repo.objects.filter(owner=owner, kind=repo.kind, name__iexact=to_name)
        .exclude(pk=repo.pk)
        .exists()
    ):
        raise conflict
    if owner.pk != old_owner_id:  # its bytes would count against the target's quota (507)
        transfer_require(repo=repo, to_namespace_id=owner.pk)
    try:
        with transaction.atomic():
            repo.owner = owner
            repo.name = to_name
            repo.save(update_fields=["owner", "name"])
            usage_repo_moved(repo=repo, old_owner_id=old_owner_id)  # LFS usage changes hands
            # The new name now belongs to a live repo; an old redirect of that name is void.
            RepoRedirect.objects.filter(kind=repo.kind, full_name__iexact=new_name).delete()
            if old_name.lower() != new_name.lower():
                RepoRedirect.objects.filter(kind=repo.kind, full_name__iexact=old_name).delete()
                RepoRedirect.objects.create(kind=repo.kind, full_name=old_name, repo=repo)
            events.publish(
                events.RepoConfigChanged(
                    repo_id=repo.pk,
                    full_name=new_name,
                    repo_kind=repo.kind,
                    changes={"name": {"old": old_name, "new": new_name}},
                )
            )
            moved: dict[str, object] = {"old": old_name, "new": new_name}
            if old_owner_id != owner.pk:
                # Teams hold repos of their own org only: the old org's teams lose it.
                links = TeamRepo.objects.filter(repo=repo)
                teams = sorted(links.values_list("team__name", flat=True))
                if teams:
                    links.delete()
                    moved["teams"] = teams
            if old_owner_id == owner.pk:
                audit_log(verb="repo.rename", actor=actor, target=repo, details=moved)
            else:  # recorded for both namespaces: each org's admins see it in their log
                audit_log(
                    verb="repo.transfer",
                    actor=actor,
                    target=repo,
                    details=moved,
                    namespace=old_owner_id,
                )
                audit_log(verb="repo.transfer", actor=actor, target=repo, details=moved)
    except IntegrityError:  # lost a race with a create or move to the same name
        raise conflict from None
    return repo


GATED_VALUES = {"auto": "auto", "manual": "manual", False: ""}


def repo_update_settings(
    *,
    actor: User | AnonymousUser,
    repo: Repo,
    private: bool | None = None,
    gated: str | bool | None = None,
) -> Repo:
    """Change visibility and gating (admin only); publish RepoConfigChanged when anything moved.

    `gated` is "auto", "manual" or False (off), as huggingface_hub sends it.
    """
    _require_admin(actor, repo)
    changes: dict[str, object] = {}
    if gated is not None:
        if isinstance(gated, bool) and gated:
            raise BadRequestError("gated must be 'auto', 'manual' or false.")
        stored = GATED_VALUES.get(gated)  # type: ignore[call-overload]
        if stored is None:
            raise BadRequestError("gated must be 'auto', 'manual' or false.")
        if stored != repo.gated:
            repo.gated = stored
            changes["gated"] = stored or False
    if private is not None and private != repo.private:
        repo.private = private
        changes["private"] = private
    if changes:
        with transaction.atomic():
            repo.save(update_fields=["private", "gated"])
            if "private" in changes:
                audit_log(
                    verb="repo.visibility",
                    actor=actor,
                    target=repo,
                    details={"private": changes["private"]},
                )
            if "gated" in changes:
                audit_log(
                    verb="repo.gating",
                    actor=actor,
                    target=repo,
                    details={"gated": changes["gated"]},
                )
            events.publish(
                events.RepoConfigChanged(
                    repo_id=repo.pk, full_name=repo.full_name, repo_kind=repo.kind, changes=changes
                )
            )
    return repo


def like_add(*, actor: User | AnonymousUser, repo: Repo) -> None:
    """`actor` likes `repo` (which the caller checked it can read); idempotent."""
    if not actor.is_authenticated:
        raise AuthenticationError("You must be signed in to like a repository.")
    try:
        with transaction.atomic():
            Like.objects.get_or_create(user=actor, repo=repo)
    except IntegrityError:  # a concurrent like of the same repo by the same user: done already
        pass


def like_remove(*, actor: User | AnonymousUser, repo: Repo) -> None:
    """Remove `actor`'s like of `repo`; idempotent."""
    if not actor.is_authenticated:
        raise AuthenticationError("You must be signed in to unlike a repository.")
    Like.objects.filter(user=actor, repo=repo).delete()
