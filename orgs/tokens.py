"""Fine-grained token scopes: what they name, which permissions exist, how they match.

A `fineGrained` token holds a list of scopes. Each names one entity and grants a few
permissions on it:

| entity type       | names            | permissions it may carry                              |
|-------------------|------------------|-------------------------------------------------------|
| `model`/`dataset` | one repo         | repo.content.read, repo.write                         |
| `user`            | a user namespace | repo.content.read, repo.write (every repo in it),     |
|                   |                  | repos.create, webhooks.manage                         |
| `org`             | an organization  | repo.content.read, repo.write, repos.create,          |
|                   |                  | org.members.manage, webhooks.manage                   |

Entities are stored by id (and the name they had), so a rename keeps the scope on the same
repo and a new repo taking the old name is not covered. A scope only narrows: `can()`
still requires the token owner's own role (orgs/permissions.py), so a token never grants
more than its owner has, and loses what its owner loses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from common.errors import BadRequestError, NotFoundError
from orgs.models import Namespace, User

REPO_CONTENT_READ = "repo.content.read"  # clone, download, read private files and metadata
REPO_WRITE = "repo.write"  # push, upload, commit, branches, settings, delete; implies read
REPOS_CREATE = "repos.create"  # create (or move) repos into the namespace
WEBHOOKS_MANAGE = "webhooks.manage"  # list, create, change, delete the user's or org's webhooks
ORG_MEMBERS_MANAGE = "org.members.manage"  # invite, remove, change roles in the org
DISCUSSION_WRITE = "discussion.write"  # open discussions and pull requests, comment

PERMISSIONS: dict[str, str] = {
    REPO_CONTENT_READ: "Read contents (clone, download), private repos included",
    REPO_WRITE: "Write (push, upload, settings); includes read",
    REPOS_CREATE: "Create repos in this namespace",
    WEBHOOKS_MANAGE: "Manage webhooks",
    ORG_MEMBERS_MANAGE: "Manage organization members",
    DISCUSSION_WRITE: "Open discussions and pull requests, comment",
}

REPO_TYPES = ("model", "dataset")
NAMESPACE_TYPES = ("user", "org")
ENTITY_TYPES = REPO_TYPES + NAMESPACE_TYPES
ALLOWED: dict[str, tuple[str, ...]] = {
    "model": (REPO_CONTENT_READ, REPO_WRITE, DISCUSSION_WRITE),
    "dataset": (REPO_CONTENT_READ, REPO_WRITE, DISCUSSION_WRITE),
    "user": (REPO_CONTENT_READ, REPO_WRITE, REPOS_CREATE, WEBHOOKS_MANAGE, DISCUSSION_WRITE),
    "org": (
        REPO_CONTENT_READ,
        REPO_WRITE,
        REPOS_CREATE,
        ORG_MEMBERS_MANAGE,
        WEBHOOKS_MANAGE,
        DISCUSSION_WRITE,
    ),
}
MAX_SCOPES = 50


@dataclass(frozen=True)
class ScopeSpec:
    """A scope as a person writes it, before the entity is looked up."""

    type: str
    name: str
    permissions: tuple[str, ...]


def parse_scope(text: str) -> ScopeSpec:
    """`TYPE:NAME:PERM[,PERM...]`, e.g. `model:alice/bert:repo.content.read` or
    `org:acme:repos.create,repo.write`; BadRequestError when malformed."""
    kind, _, rest = text.strip().partition(":")
    name, _, perms = rest.rpartition(":")
    if not kind or not name or not perms:
        raise BadRequestError(f"Scope {text!r}: write TYPE:NAME:PERMISSION[,PERMISSION...].")
    return ScopeSpec(
        type=kind.strip(),
        name=name.strip(),
        permissions=tuple(p.strip() for p in perms.split(",") if p.strip()),
    )


# repos registers how a repo is found (orgs may not import it): (user, kind, "ns/name") ->
# (repo id, canonical "ns/name"), or None when missing or not readable by `user`.
RepoLookup = Callable[[User, str, str], "tuple[int, str] | None"]
_repo_lookup: RepoLookup | None = None


def register_repo_lookup(lookup: RepoLookup) -> None:
    global _repo_lookup  # set once, by repos' AppConfig.ready
    _repo_lookup = lookup


def resolve_scopes(*, user: User, specs: Iterable[ScopeSpec]) -> list[dict[str, Any]]:
    """Stored scopes for `specs`: entities looked up (a repo must be readable by `user`),
    permissions checked against the entity type, duplicates merged. Raises BadRequestError
    or NotFoundError (a hidden repo is reported as not found)."""
    merged: dict[tuple[str, int], dict[str, Any]] = {}
    for spec in specs:
        if spec.type not in ENTITY_TYPES:
            raise BadRequestError(
                f"Scope type {spec.type!r}: use one of {', '.join(ENTITY_TYPES)}."
            )
        if not spec.permissions:
            raise BadRequestError(f"Scope {spec.type}:{spec.name} grants no permission.")
        for permission in spec.permissions:
            if permission not in ALLOWED[spec.type]:
                raise BadRequestError(
                    f"Permission {permission!r} does not apply to a {spec.type}: use "
                    f"{', '.join(ALLOWED[spec.type])}."
                )
        if spec.type in REPO_TYPES:
            found = _repo_lookup(user, spec.type, spec.name) if _repo_lookup else None
            if found is None:
                raise NotFoundError(f"Repository {spec.name!r} not found.")
            entity_id, name = found
        else:
            namespace = Namespace.objects.filter(name__iexact=spec.name).first()
            if namespace is None or namespace.kind != spec.type:
                raise NotFoundError(f"No {spec.type} named {spec.name!r}.")
            entity_id, name = namespace.pk, namespace.name
        scope = merged.setdefault(
            (spec.type, entity_id),
            {"type": spec.type, "id": entity_id, "name": name, "permissions": []},
        )
        for permission in spec.permissions:
            if permission not in scope["permissions"]:
                scope["permissions"].append(permission)
    if not merged:
        raise BadRequestError("A fine-grained token needs at least one scope.")
    if len(merged) > MAX_SCOPES:
        raise BadRequestError(f"A token may have at most {MAX_SCOPES} scopes.")
    return list(merged.values())


def _grants(scope: dict[str, Any], permission: str) -> bool:
    held = scope.get("permissions") or ()
    if permission in held:
        return True
    # repo.write implies reading the repo and taking part in its discussions
    return permission in (REPO_CONTENT_READ, DISCUSSION_WRITE) and REPO_WRITE in held


def scopes_allow(
    scopes: Iterable[dict[str, Any]],
    permission: str,
    *,
    namespace_id: int | None,
    repo_kind: str | None = None,
    repo_id: int | None = None,
) -> bool:
    """Does one of `scopes` grant `permission` here? A repo permission is granted by a scope
    on that repo or on its owner namespace (`namespace_id`); a namespace permission only by
    a scope on that namespace."""
    for scope in scopes:
        if not _grants(scope, permission):
            continue
        kind = scope.get("type")
        if kind in NAMESPACE_TYPES and namespace_id is not None and scope.get("id") == namespace_id:
            return True
        if (
            kind in REPO_TYPES
            and repo_id is not None
            and scope.get("id") == repo_id
            and kind == repo_kind
        ):
            return True
    return False


def read_scope(scopes: Iterable[dict[str, Any]]) -> tuple[set[int], dict[int, str]]:
    """Where `scopes` let a token read private repos (repo.content.read, or repo.write which
    implies it), as `scopes_allow` judges one repo: the namespace ids, and the repo ids with
    the repo type each scope names (a scope covers its repo only while the types agree)."""
    namespaces: set[int] = set()
    repos: dict[int, str] = {}
    for scope in scopes:
        if not _grants(scope, REPO_CONTENT_READ) or not isinstance(scope.get("id"), int):
            continue
        if scope.get("type") in NAMESPACE_TYPES:
            namespaces.add(scope["id"])
        elif scope.get("type") in REPO_TYPES:
            repos[scope["id"]] = scope["type"]
    return namespaces, repos


def scopes_as_hf(scopes: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The public hub's whoami shape: `[{entity: {_id, type, name}, permissions}]`."""
    return [
        {
            "entity": {"_id": str(s["id"]), "type": s["type"], "name": s["name"]},
            "permissions": list(s["permissions"]),
        }
        for s in scopes
    ]
