"""Access decisions, in one place: every door (pages, API, git, LFS, resolve) asks `can()`."""

from __future__ import annotations

import enum
from typing import Protocol

from django.contrib.auth.models import AnonymousUser

from orgs import tokens
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


def _token_allows(
    user: User,
    action: Action,
    resource: Guarded | None = None,
    *,
    namespace_id: int | None = None,
    permission: str | None = None,
) -> bool:
    """Does the token the user signed in with (if any) allow this? Never widens the user's
    own rights: callers check the role separately.

    Classic tokens: read allows reads, write allows everything. Fine-grained tokens need a
    scope (orgs/tokens.py) granting `permission` (by default repo.content.read for READ,
    repo.write for WRITE/ADMIN) on `resource` (a repo) or on `namespace_id`.
    """
    token = getattr(user, "access_token", None)
    if token is None:  # a browser session: the user's full rights
        return True
    if token.is_fine_grained:
        if permission is None:
            permission = tokens.REPO_CONTENT_READ if action is Action.READ else tokens.REPO_WRITE
        if resource is not None:
            namespace_id = resource.owner_id
        return tokens.scopes_allow(
            token.scopes,
            permission,
            namespace_id=namespace_id,
            repo_kind=getattr(resource, "kind", None),
            repo_id=getattr(resource, "pk", None),
        )
    if action is Action.READ:
        return True
    return bool(token.can_write)


def token_permits(user: User | AnonymousUser, permission: str, *, namespace_id: int) -> bool:
    """May the user's token (if any) exercise a namespace-level `permission` (repos.create,
    webhooks.manage, org.members.manage) on `namespace_id`? True for sessions and classic
    write tokens; classic read tokens allow none. The caller still checks the user's role."""
    if not user.is_authenticated:
        return False
    return _token_allows(
        user,  # type: ignore[arg-type]
        Action.WRITE,
        namespace_id=namespace_id,
        permission=permission,
    )


def can_manage_webhooks(user: User | AnonymousUser, *, write: bool) -> bool:
    """May the user (through its token) see (`write=False`) or change its own webhooks?
    Classic read tokens may list them; fine-grained tokens need webhooks.manage on the
    owner's user namespace for either."""
    if not user.is_authenticated:
        return False
    token = getattr(user, "access_token", None)
    if token is None:
        return True
    if token.is_fine_grained:
        return tokens.scopes_allow(
            token.scopes, tokens.WEBHOOKS_MANAGE, namespace_id=user.namespace_id
        )
    return bool(token.can_write) or not write


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
    if not _token_allows(user, action, resource):  # type: ignore[arg-type]
        return False
    role = namespace_role(user, resource.owner_id)
    return role is not None and _RANK[role] >= _RANK[action]


def can_write_namespace(user: User | AnonymousUser, namespace: Namespace) -> bool:
    """May `user` create repos under `namespace`?"""
    if not user.is_authenticated or not token_permits(
        user, tokens.REPOS_CREATE, namespace_id=namespace.pk
    ):
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
