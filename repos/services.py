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
from orgs.models import Namespace, User
from orgs.names import validate_repo_name
from orgs.permissions import Action, can, can_write_namespace
from repos import events
from repos.git.store import git_store, signature
from repos.gitattributes import default_gitattributes
from repos.models import LfsLink, LfsObject, Repo, RepoKind


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
    private: bool = False,
) -> Repo:
    """Create the row and the bare repo with its initial commit; publish RepoCreated.

    ConflictError (409) when the name is taken in that namespace, ignoring case.
    """
    if kind not in RepoKind.values:
        raise BadRequestError(f"Invalid repo type {kind!r}: use 'model' or 'dataset'.")
    validate_repo_name(name)
    owner = namespace_for_write(actor=actor, name=namespace)
    if not can_write_namespace(actor, owner):
        raise PermissionDeniedError("Your token cannot create repositories (read-only).")
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
    except IntegrityError:
        # Lost a race with (or repeated) a create of the same name: the row was rolled back.
        git_store().delete(repo.storage_key)
        raise ConflictError(
            f"You already created this {kind} repo: {owner.name}/{name}"
        ) from None
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
            events.RepoDeleted(repo_id=repo.pk, full_name=repo.full_name, repo_kind=repo.kind)
        )
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
    LfsLink.objects.get_or_create(repo=repo, lfs_object=obj)


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
