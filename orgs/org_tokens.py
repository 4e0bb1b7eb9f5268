"""Access tokens that reach an organization, as its admins see and control them.

Tokens belong to users; an org cannot own or edit them. What the org's admins get (the
"Access tokens" tab of the org settings, and /api/organizations/{name}/tokens):

- a list of the live tokens (not revoked, not expired) of everyone with a role in the org
  (members and team members) that can act in it: classic read and write tokens, which carry
  their owner's full rights, and fine-grained tokens with a scope on the org or one of its
  repos. Each row: name, masked secret, owner and the owner's role, type, what it may do
  here, created, last used, expiry, and whether the org cut it off;
- "revoke access to this org" on any of them (an OrgTokenBlock): from then on the token gets
  no more in this org than an anonymous visitor (public reads), at every door, at once
  (orgs/permissions.py). The token keeps working elsewhere, and its owner keeps their role
  (a session, or another token, still works). Restoring removes the block. Both are audited
  (`org.token.revoke`, `org.token.restore`) and the owner sees the block on their own
  token page;
- "create a token for this org": a link to the owner's token page with a fine-grained
  scope on the org filled in (/settings/tokens?org=NAME).

A member's blocks stay when the member leaves, so a re-admitted member's old tokens stay cut
off until an admin restores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from common.errors import NotFoundError
from orgs.audit import audit_log
from orgs.models import AccessToken, Membership, Organization, OrgTokenBlock, TeamMember, User
from orgs.org_services import Actor, require_org_admin
from orgs.tokens import REPO_TYPES


@dataclass(frozen=True)
class OrgToken:
    """One row of the org's token list."""

    token: AccessToken
    owner_role: str  # "admin" ... "read", or "team" for a team-only member
    scopes: list[dict[str, Any]]  # fine-grained: the scopes that reach this org
    blocked: bool

    @property
    def access(self) -> str:
        if self.token.role == AccessToken.Role.READ:
            return "Read: everything its owner may read here"
        if self.token.role == AccessToken.Role.WRITE:
            return "Write: everything its owner may do here"
        return "; ".join(
            f"{s['type']} {s['name']}: {', '.join(s['permissions'])}" for s in self.scopes
        )


def _roles_in(org: Organization) -> dict[int, str]:
    """user id -> role, for members and team members of the org."""
    roles = {
        user_id: "team"
        for user_id in TeamMember.objects.filter(team__org=org).values_list("user_id", flat=True)
    }
    roles.update(Membership.objects.filter(org=org).values_list("user_id", "role"))
    return roles


def _org_scopes(token: AccessToken, org: Organization, repo_ids: set[int]) -> list[dict]:  # type: ignore[type-arg]
    """The fine-grained scopes of `token` on the org or on one of its repos."""
    found = []
    for scope in token.scopes or ():
        kind, entity = scope.get("type"), scope.get("id")
        if (kind == "org" and entity == org.namespace_id) or (
            kind in REPO_TYPES and entity in repo_ids
        ):
            found.append(scope)
    return found


def org_token_list(*, actor: Actor, org: Organization) -> list[OrgToken]:
    """The live tokens that can act in `org` (admins only), owners by name, newest first."""
    require_org_admin(actor, org)
    roles = _roles_in(org)
    now = timezone.now()
    tokens = list(
        AccessToken.objects.filter(user_id__in=roles, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .select_related("user")
        .order_by("user__username", "-created_at")
    )
    blocked = set(OrgTokenBlock.objects.filter(org=org).values_list("token_id", flat=True))
    scoped_repo_ids = {
        scope.get("id")
        for token in tokens
        if token.is_fine_grained
        for scope in token.scopes or ()
        if scope.get("type") in REPO_TYPES
    }
    org_repo_ids = set(
        org.namespace.repos.filter(pk__in=scoped_repo_ids).values_list("pk", flat=True)
    )
    rows = []
    for token in tokens:
        scopes = _org_scopes(token, org, org_repo_ids) if token.is_fine_grained else []
        if token.is_fine_grained and not scopes:
            continue  # it cannot act in this org at all
        rows.append(OrgToken(token, roles[token.user_id], scopes, token.pk in blocked))
    return rows


def _token_of_org(org: Organization, token_id: int | str) -> AccessToken:
    try:
        pk = int(token_id)
    except (TypeError, ValueError):
        raise NotFoundError("Token not found.") from None
    token = (
        AccessToken.objects.select_related("user")
        .filter(pk=pk, revoked_at__isnull=True, user_id__in=list(_roles_in(org)))
        .first()
    )
    if token is None:
        raise NotFoundError("Token not found.")
    return token


def _audit(verb: str, actor: Actor, org: Organization, token: AccessToken) -> None:
    audit_log(
        verb=verb,
        actor=actor,
        target_type="token",
        target_id=token.pk,
        target_name=f"{token.name} ({token.masked})",
        namespace=org.namespace_id,
        details={"owner": token.user.username, "role": token.role},
    )


@transaction.atomic
def org_token_revoke(*, actor: Actor, org: Organization, token_id: int | str) -> AccessToken:
    """Cut a token of someone with a role in the org off the org (idempotent)."""
    require_org_admin(actor, org)
    token = _token_of_org(org, token_id)
    blocked_by = actor if isinstance(actor, User) else None
    try:
        with transaction.atomic():
            _, created = OrgTokenBlock.objects.get_or_create(
                org=org, token=token, defaults={"blocked_by": blocked_by}
            )
    except IntegrityError:  # blocked concurrently: done already
        created = False
    if created:
        _audit("org.token.revoke", actor, org, token)
    return token


@transaction.atomic
def org_token_restore(*, actor: Actor, org: Organization, token_id: int | str) -> AccessToken:
    """Lift the org's block on a token; NotFound when it was not blocked."""
    require_org_admin(actor, org)
    token = _token_of_org(org, token_id)
    deleted, _ = OrgTokenBlock.objects.filter(org=org, token=token).delete()
    if not deleted:
        raise NotFoundError("This token's access to the organization is not revoked.")
    _audit("org.token.restore", actor, org, token)
    return token


def org_blocks_for_user(*, user: User) -> dict[int, list[str]]:
    """token id -> names of the orgs that cut it off (the owner's token page)."""
    result: dict[int, list[str]] = {}
    rows = OrgTokenBlock.objects.filter(token__user_id=user.pk).values_list(
        "token_id", "org__namespace__name"
    )
    for token_id, org_name in rows.order_by("org__namespace__name"):
        result.setdefault(token_id, []).append(org_name)
    return result


def org_token_json(row: OrgToken) -> dict[str, Any]:
    token = row.token

    def when(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": str(token.pk),
        "name": token.name,
        "masked": token.masked,
        "owner": {"user": token.user.username, "roleInOrg": row.owner_role},
        "role": token.role,
        "scopes": [
            {"type": s["type"], "name": s["name"], "permissions": list(s["permissions"])}
            for s in row.scopes
        ],
        "createdAt": when(token.created_at),
        "lastUsedAt": when(token.last_used_at),
        "expiresAt": when(token.expires_at),
        "revokedForOrg": row.blocked,
    }
