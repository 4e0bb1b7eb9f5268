"""Reads for repos, with access checks built in: a hidden repo is indistinguishable from none."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import QuerySet, Value
from django.db.models.functions import Lower

from common.errors import PermissionDeniedError, RepoNotFoundError
from orgs.models import User
from orgs.permissions import Action, can
from repos.models import Like, Repo, RepoKind, RepoRedirect


def _anonymous(user: User | AnonymousUser) -> bool:
    return not user.is_authenticated


def repo_lookup(*, kind: str, namespace: str, name: str) -> Repo | None:
    """The repo with that name, ignoring case; no access check.

    Runs on every request that names a repo (each file of a snapshot_download), so it is
    written for the unique indexes on LOWER(name) of namespaces and repos: `__iexact`
    (LIKE on SQLite, UPPER() on PostgreSQL) would scan every namespace instead.
    """
    found = (
        Repo.objects.select_related("owner")
        .alias(owner_ci=Lower("owner__name"), name_ci=Lower("name"))
        .filter(kind=kind, owner_ci=Lower(Value(namespace)), name_ci=Lower(Value(name)))
        .order_by()[:1]
    )
    return next(iter(found), None)


def repo_redirect_lookup(*, kind: str, namespace: str, name: str) -> Repo | None:
    """The repo an old name now points to, if it was renamed."""
    redirect = (
        RepoRedirect.objects.select_related("repo__owner")
        .filter(kind=kind, full_name__iexact=f"{namespace}/{name}")
        .first()
    )
    return redirect.repo if redirect else None


def repo_get(
    *,
    user: User | AnonymousUser,
    kind: str,
    namespace: str,
    name: str,
    action: Action = Action.READ,
) -> Repo:
    """The repo, if `user` may do `action` on it; else RepoNotFoundError (401 when anonymous).

    A private repo the user cannot read answers exactly like a missing one. A user who can
    read but not write gets PermissionDeniedError from the caller's write check instead.
    """
    repo = repo_lookup(kind=kind, namespace=namespace, name=name)
    if repo is None or not can(user, Action.READ, repo):
        raise RepoNotFoundError(anonymous=_anonymous(user))
    if action is not Action.READ and not can(user, action, repo):
        if _anonymous(user):
            raise RepoNotFoundError(anonymous=True)
        raise PermissionDeniedError(
            f"You don't have the rights to {action.value} {repo.full_name}."
        )
    return repo


def repo_list_for_owner(*, user: User | AnonymousUser, namespace: str) -> QuerySet[Repo]:
    return (
        Repo.objects.visible_to(user)
        .select_related("owner")
        .filter(owner__name__iexact=namespace)
        .order_by("-last_modified")
    )


def repo_list_recent(
    *, user: User | AnonymousUser, kind: str | None = None, limit: int = 30
) -> list[Repo]:
    qs = Repo.objects.visible_to(user).select_related("owner").order_by("-last_modified")
    if kind:
        qs = qs.filter(kind=kind)
    return list(qs[:limit])


KINDS = {
    "models": RepoKind.MODEL,
    "datasets": RepoKind.DATASET,
    "model": RepoKind.MODEL,
    "dataset": RepoKind.DATASET,
}


# --- lifecycle, listing, likes: redirects of old names, likes -------------------------------


def repo_renamed_get(
    *, user: User | AnonymousUser, kind: str, namespace: str, name: str
) -> Repo | None:
    """The repo an old name now points to, when `user` may read it; else None.

    None as well when a live repo holds the name (it shadows the redirect). Callers that
    missed with `repo_get` ask this before answering RepoNotFound, and redirect (307).
    """
    if repo_lookup(kind=kind, namespace=namespace, name=name) is not None:
        return None
    repo = repo_redirect_lookup(kind=kind, namespace=namespace, name=name)
    if repo is None or not can(user, Action.READ, repo):
        return None
    return repo


def like_list_for_user(*, viewer: User | AnonymousUser, username: str) -> QuerySet[Like]:
    """Likes of `username`, newest first, limited to repos `viewer` may read."""
    return (
        Like.objects.select_related("repo__owner")
        .filter(user__username__iexact=username, repo__in=Repo.objects.visible_to(viewer))
        .order_by("-created_at", "-pk")
    )


def like_list_for_repo(*, repo: Repo) -> QuerySet[Like]:
    """Who liked `repo`, newest first (the caller checked the repo is readable)."""
    return Like.objects.select_related("user").filter(repo=repo).order_by("-created_at", "-pk")


def user_exists(*, username: str) -> bool:
    return User.objects.filter(username__iexact=username).exists()


def repo_for_token_scope(user: User, kind: str, full_name: str) -> tuple[int, str] | None:
    """(id, canonical name) of the repo a fine-grained token scope names, when `user` can
    read it; None otherwise, so a hidden repo cannot be probed through token creation."""
    namespace, _, name = full_name.partition("/")
    repo = repo_lookup(kind=kind, namespace=namespace, name=name) if name else None
    if repo is None or not can(user, Action.READ, repo):
        return None
    return repo.pk, repo.full_name
