"""Access decisions, in one place: every door (pages, API, git, LFS, resolve) asks `can()`."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from django.contrib.auth.models import AnonymousUser

from orgs import tokens
from orgs.models import Membership, Namespace, TeamMember, User
from orgs.token_blocks import blocked_namespace_ids, repo_ids_in, token_blocked_in


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
    if token_blocked_in(token, resource.owner_id if resource is not None else namespace_id):
        return False  # the org's admins cut this token off (orgs/org_tokens.py)
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


def can_manage_webhooks(
    user: User | AnonymousUser, *, write: bool, org_namespace_id: int | None = None
) -> bool:
    """May the user (through its token) see (`write=False`) or change its own webhooks, or,
    with `org_namespace_id`, the webhooks that organization owns (its admins only)?
    Classic read tokens may list them; fine-grained tokens need webhooks.manage on the
    owning namespace (the user's own, or the org) for either."""
    if not user.is_authenticated:
        return False
    namespace_id = user.namespace_id  # type: ignore[union-attr]
    if org_namespace_id is not None:
        if namespace_role(user, org_namespace_id) is not Action.ADMIN:
            return False
        namespace_id = org_namespace_id
    token = getattr(user, "access_token", None)
    if token is None:
        return True
    if token.is_fine_grained:
        return tokens.scopes_allow(token.scopes, tokens.WEBHOOKS_MANAGE, namespace_id=namespace_id)
    return bool(token.can_write) or not write


def namespace_can_read(namespace_id: int, resource: Guarded) -> bool:
    """May something a namespace owns in its own right (an organization's webhook, which
    outlives the admins who set it up) learn about `resource`? Public repos and the
    namespace's own repos; no member's or team's rights carry over."""
    return not resource.private or resource.owner_id == namespace_id


def namespace_role(user: User | AnonymousUser, namespace_id: int) -> Action | None:
    """The strongest action the user holds on everything a namespace owns (no token limit).

    Their own namespace and, for site admins, every one: ADMIN. An organization: the
    member's role (read and contributor -> READ, write -> WRITE, admin -> ADMIN). Team
    grants cover single repos, so they are not a namespace role (see `repo_role`).
    """
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Action.ADMIN
    if getattr(user, "namespace_id", None) == namespace_id:
        return Action.ADMIN
    grants = grants_for(user)  # type: ignore[arg-type]
    org_role = grants.org_roles.get(namespace_id)
    if org_role is None and namespace_id in grants.sso_blocked:
        note_sso_denied(user, namespace_id)
    return _ORG_ACTION.get(org_role) if org_role else None


_RANK = {Action.READ: 1, Action.WRITE: 2, Action.ADMIN: 3}


def can(user: User | AnonymousUser, action: Action, resource: Guarded) -> bool:
    """May `user` (as limited by the token it signed in with) do `action` on `resource`?"""
    if action is Action.READ and not resource.private:
        return True
    if not user.is_authenticated:
        return False
    if not _token_allows(user, action, resource):  # type: ignore[arg-type]
        return False
    role = repo_role(user, resource)
    if role is not None and _RANK[role] >= _RANK[action]:
        return True
    if resource.owner_id in grants_for(user).sso_blocked:  # type: ignore[arg-type]
        note_sso_denied(user, resource.owner_id)
    return False


def can_discuss(user: User | AnonymousUser, resource: Guarded) -> bool:
    """May `user` open discussions and pull requests on `resource` and comment on them?

    Anyone signed in who may read the repo, as on the public hub (an org's `read` and
    `contributor` members included); a classic read token may not, a fine-grained one needs
    discussion.write (or repo.write) on the repo or its namespace.
    """
    if not user.is_authenticated or not can(user, Action.READ, resource):
        return False
    token = getattr(user, "access_token", None)
    if token is None:
        return True
    if token.is_fine_grained:
        return _token_allows(user, Action.WRITE, resource, permission=tokens.DISCUSSION_WRITE)  # type: ignore[arg-type]
    return bool(token.can_write) and _token_allows(user, Action.WRITE, resource)  # type: ignore[arg-type]


def can_write_namespace(user: User | AnonymousUser, namespace: Namespace) -> bool:
    """May `user` create repos under `namespace`? Org contributors may, as writers do."""
    if not user.is_authenticated or not token_permits(
        user, tokens.REPOS_CREATE, namespace_id=namespace.pk
    ):
        return False
    role = namespace_role(user, namespace.pk)
    if role is not None and _RANK[role] >= _RANK[Action.WRITE]:
        return True
    return grants_for(user).org_roles.get(namespace.pk) == "contributor"  # type: ignore[arg-type]


def can_download(user: User | AnonymousUser, resource: Guarded) -> bool:
    """May `user` fetch the files of `resource`? Gated repos need more than read access.

    Metadata of a gated repo stays readable by everyone (as on the public hub); its files
    are for those with a role on it (namespace, org membership or team) and for users whose
    access request was accepted.
    """
    if not can(user, Action.READ, resource):
        return False
    if not resource.gated:
        return True
    if not user.is_authenticated:
        return False
    if token_blocked_in(getattr(user, "access_token", None), resource.owner_id):
        return False  # a token cut off the org gets what anonymous visitors get
    if repo_role(user, resource) is not None:
        return True
    return getattr(resource, "pk", None) in grants_for(user).accepted_repo_ids  # type: ignore[arg-type]


# --- organizations and teams: who holds which role where ------------------------------------

_ORG_ACTION = {
    "read": Action.READ,
    "contributor": Action.READ,
    "write": Action.WRITE,
    "admin": Action.ADMIN,
}
_TEAM_ACTION = {"read": Action.READ, "write": Action.WRITE, "admin": Action.ADMIN}


@dataclass(frozen=True)
class Grants:
    """Everything that gives a user rights beyond its own namespace, loaded once per user
    object (that is, once per request): org roles by namespace id, team roles by repo id,
    and the gated repos whose access request was accepted.

    `sso_blocked` holds the org namespaces whose roles (membership and teams) were left out
    because the org requires single sign-on and this credential has not passed it (the
    gate registered by the sso app); they are in neither `org_roles` nor `team_repo_roles`.
    """

    org_roles: dict[int, str] = field(default_factory=dict)
    team_repo_roles: dict[int, Action] = field(default_factory=dict)
    accepted_repo_ids: frozenset[int] = frozenset()
    sso_blocked: frozenset[int] = frozenset()

    @property
    def namespace_ids(self) -> list[int]:
        return list(self.org_roles)


# repos registers the query for accepted access requests (orgs cannot import repos):
# user -> ids of the gated repos the user may download through an accepted request.
AcceptedRepos = Callable[[User], Iterable[int]]
_accepted_repos: AcceptedRepos | None = None


def register_accepted_repos(lookup: AcceptedRepos) -> None:
    global _accepted_repos  # set once, by repos' AppConfig.ready
    _accepted_repos = lookup


# The sso app registers its gate (orgs cannot import sso): (user, org namespace ids the user
# holds roles in) -> the ones that require single sign-on this credential has not passed.
SSOGate = Callable[[User, frozenset[int]], frozenset[int]]
_sso_gate: SSOGate | None = None
_SSO_DENIED_ATTR = "_hub_sso_denied"


def register_sso_gate(gate: SSOGate) -> None:
    global _sso_gate  # set once, by sso's AppConfig.ready
    _sso_gate = gate


def note_sso_denied(user: User | AnonymousUser, namespace_id: int) -> None:
    """Remember on the user object that a refusal came from an org's SSO requirement, so
    the answer can say so (sso.middleware) instead of a bare 404/403."""
    denied = getattr(user, _SSO_DENIED_ATTR, None)
    if denied is None:
        denied = set()
        setattr(user, _SSO_DENIED_ATTR, denied)
    denied.add(namespace_id)


def sso_denied_namespaces(user: User | AnonymousUser) -> set[int]:
    """The org namespaces whose SSO requirement refused something to this user object."""
    return set(getattr(user, _SSO_DENIED_ATTR, None) or ())


_GRANTS_ATTR = "_hub_grants"


def grants_for(user: User) -> Grants:
    """The user's grants, cached on the user object (per request: each request loads its
    user afresh). Three small queries the first time, none after."""
    cached = getattr(user, _GRANTS_ATTR, None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    org_roles = dict(
        Membership.objects.filter(user_id=user.pk).values_list("org__namespace_id", "role")
    )
    rows = list(
        TeamMember.objects.filter(user_id=user.pk, team__repo_links__isnull=False).values_list(
            "team__repo_links__repo_id", "role", "team__org__namespace_id"
        )
    )
    blocked: frozenset[int] = frozenset()
    if _sso_gate is not None and (org_roles or rows):
        blocked = _sso_gate(user, frozenset(org_roles) | {row[2] for row in rows})
        org_roles = {ns: role for ns, role in org_roles.items() if ns not in blocked}
    team_roles: dict[int, Action] = {}
    for repo_id, role, team_namespace_id in rows:
        if team_namespace_id in blocked:
            continue
        action = _TEAM_ACTION[role]
        if repo_id not in team_roles or _RANK[action] > _RANK[team_roles[repo_id]]:
            team_roles[repo_id] = action
    accepted = frozenset(_accepted_repos(user)) if _accepted_repos else frozenset()
    grants = Grants(
        org_roles=org_roles,
        team_repo_roles=team_roles,
        accepted_repo_ids=accepted,
        sso_blocked=blocked,
    )
    setattr(user, _GRANTS_ATTR, grants)
    return grants


def forget_grants(user: User | AnonymousUser) -> None:
    """Drop the cached grants (after a change to this user's memberships, or to the SSO
    state of its session, in-process)."""
    if hasattr(user, _GRANTS_ATTR):
        delattr(user, _GRANTS_ATTR)


def repo_role(user: User | AnonymousUser, resource: Guarded) -> Action | None:
    """The strongest action `user` holds on one repo (no token limit): its namespace role,
    write for a contributor on a repo it created, and its teams' roles on the repo."""
    if not user.is_authenticated:
        return None
    best = namespace_role(user, resource.owner_id)
    if best is Action.ADMIN:
        return best
    grants = grants_for(user)  # type: ignore[arg-type]
    if (
        grants.org_roles.get(resource.owner_id) == "contributor"
        and getattr(resource, "created_by_id", None) == user.pk
    ):
        best = Action.WRITE
    team = grants.team_repo_roles.get(getattr(resource, "pk", None))  # type: ignore[arg-type]
    if team is not None and (best is None or _RANK[team] > _RANK[best]):
        best = team
    return best


def readable_scope(user: User | AnonymousUser) -> tuple[list[int], list[int]] | None:
    """(namespace ids, repo ids) whose private repos `user` may read; None: every repo
    (site admins). Listings turn it into one SQL condition (Repo.objects.visible_to), so it
    answers as `can(user, READ, repo)` does for each private repo: the user's own rights,
    less the orgs that cut its token off, and, under a fine-grained token, only where the
    token's scopes grant read (`_fine_grained_scope`)."""
    if not user.is_authenticated:
        return [], []
    token = getattr(user, "access_token", None)
    fine = token is not None and token.is_fine_grained
    if user.is_superuser and not fine:
        return None
    blocked = blocked_namespace_ids(token) if token is not None else frozenset()
    if fine:
        return _fine_grained_scope(user, token.scopes, blocked)  # type: ignore[arg-type,union-attr]
    grants = grants_for(user)  # type: ignore[arg-type]
    namespaces = [user.namespace_id, *grants.org_roles]  # type: ignore[union-attr]
    repo_ids = list(grants.team_repo_roles)
    if blocked:  # orgs that cut this token off: their private repos are not listed
        namespaces = [n for n in namespaces if n not in blocked]
        hidden = repo_ids_in(blocked)
        repo_ids = [r for r in repo_ids if r not in hidden]
    return [n for n in namespaces if n is not None], repo_ids


def _fine_grained_scope(
    user: User, scopes: list[dict[str, object]], blocked: frozenset[int]
) -> tuple[list[int], list[int]]:
    """The intersection of what the user may read (its namespace, its orgs, its teams' repos;
    every namespace for a site admin) with what the token's scopes let it read (namespaces,
    repos), outside `blocked`. A repo named on one side and a namespace on the other needs
    the repo's owner: one query over those few repo ids, none when there are none."""
    token_namespaces, token_repos = tokens.read_scope(scopes)  # type: ignore[arg-type]
    everywhere = user.is_superuser
    team: dict[int, Action] = {}
    mine: set[int] = set()
    if not everywhere:
        grants = grants_for(user)
        mine = {n for n in (user.namespace_id, *grants.org_roles) if n is not None}
        team = grants.team_repo_roles
    namespaces = {n for n in token_namespaces if (everywhere or n in mine) and n not in blocked}
    candidates = set(token_repos)
    if token_namespaces:
        candidates |= set(team)
    repo_ids: list[int] = []
    if candidates:
        rows = Namespace.objects.filter(repos__id__in=candidates).values_list(
            "repos__id", "pk", "repos__kind"
        )
        for repo_id, owner_id, kind in rows:
            if owner_id in blocked or owner_id in namespaces:
                continue  # cut off, or listed through its namespace already
            by_token = token_repos.get(repo_id) == kind or owner_id in token_namespaces
            by_user = everywhere or owner_id in mine or repo_id in team
            if by_token and by_user:
                repo_ids.append(repo_id)
    return sorted(namespaces), sorted(repo_ids)
