"""Access decisions, in one place: every door (pages, API, git, LFS, resolve) asks `can()`."""

from __future__ import annotations

import enum
from typing import Protocol

from django.contrib.auth.models import AnonymousUser

from orgs.models import Namespace, User


class Action(enum.Enum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class Guarded(Protocol):
    """What `can()` needs of a resource; `repos.Repo` satisfies it structurally."""

    owner_id: int
    private: bool
    gated: str  # "" (not gated), "auto" or "manual"


def _token_allows(user: User, action: Action) -> bool:
    token = getattr(user, "access_token", None)
    if token is None:  # a browser session: the user's full rights
        return True
    if action is Action.READ:
        return True
    return bool(token.can_write)


def namespace_role(user: User | AnonymousUser, namespace_id: int) -> Action | None:
    """The strongest action the user holds on everything a namespace owns (no token limit)."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Action.ADMIN
    if getattr(user, "namespace_id", None) == namespace_id:
        return Action.ADMIN
    return None


_RANK = {Action.READ: 1, Action.WRITE: 2, Action.ADMIN: 3}


def can(user: User | AnonymousUser, action: Action, resource: Guarded) -> bool:
    """May `user` (as limited by the token it signed in with) do `action` on `resource`?"""
    if action is Action.READ and not resource.private:
        return True
    if not user.is_authenticated:
        return False
    if not _token_allows(user, action):  # type: ignore[arg-type]
        return False
    role = namespace_role(user, resource.owner_id)
    return role is not None and _RANK[role] >= _RANK[action]


def can_write_namespace(user: User | AnonymousUser, namespace: Namespace) -> bool:
    """May `user` create repos under `namespace`?"""
    if not user.is_authenticated or not _token_allows(user, Action.WRITE):  # type: ignore[arg-type]
        return False
    role = namespace_role(user, namespace.pk)
    return role is not None and _RANK[role] >= _RANK[Action.WRITE]


def can_download(user: User | AnonymousUser, resource: Guarded) -> bool:
    """May `user` fetch the files of `resource`? Gated repos need more than read access.

    Metadata of a gated repo stays readable by everyone (as on the public hub); its files
    are for those with write access to it (and, once access requests exist, approved users).
    """
    if not can(user, Action.READ, resource):
        return False
    if not resource.gated:
        return True
    if not user.is_authenticated:
        return False
    role = namespace_role(user, resource.owner_id)
    return role is not None
