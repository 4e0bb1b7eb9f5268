"""Writes for organizations: creation, settings, members and roles, invitations, teams.

Each service checks the actor's rights (an org admin, through a session or a token allowed
`org.members.manage`), validates, writes and audits. `actor=None` is the command line,
which acts as the site operator. Team repos are linked in repos (repos/teams.py).
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from orgs.audit import audit_log
from orgs.models import (
    Invitation,
    Membership,
    Namespace,
    Organization,
    OrgRole,
    Team,
    TeamMember,
    TeamRole,
    User,
)
from orgs.names import validate_namespace_name
from orgs.permissions import Action, forget_grants, namespace_role, token_permits
from orgs.tokens import ORG_MEMBERS_MANAGE

Actor = User | AnonymousUser | None

TEAM_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}\Z")
AVATAR_MAX_BYTES = 1024 * 1024
# Raster images only, recognised by their first bytes: an uploaded SVG could carry script.
_AVATAR_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "png",
    b"\xff\xd8\xff": "jpg",
    b"GIF87a": "gif",
    b"GIF89a": "gif",
}


def _role(value: str, choices: type[OrgRole] | type[TeamRole] = OrgRole) -> str:
    if value not in choices.values:
        raise BadRequestError(f"Role must be one of {', '.join(choices.values)}.")
    return value


def org_get(*, name: str) -> Organization:
    org = (
        Organization.objects.select_related("namespace")
        .filter(namespace__name__iexact=name)
        .first()
    )
    if org is None:
        raise NotFoundError(f"Organization {name!r} not found.")
    return org


def require_org_admin(actor: Actor, org: Organization) -> None:
    """PermissionDenied unless `actor` administers `org` (None: the command line)."""
    if actor is None:
        return
    if not actor.is_authenticated:
        raise AuthenticationError("You must be signed in.")
    if namespace_role(actor, org.namespace_id) is not Action.ADMIN:
        raise PermissionDeniedError(f"You are not an admin of {org.name}.")
    if not token_permits(actor, ORG_MEMBERS_MANAGE, namespace_id=org.namespace_id):
        raise PermissionDeniedError("Your token cannot manage this organization.")


def _user_named(username: str) -> User:
    user = User.objects.filter(username__iexact=username).first()
    if user is None:
        raise NotFoundError(f"User {username!r} not found.")
    return user


def _admins_left(org: Organization, *, without: User) -> bool:
    return Membership.objects.filter(org=org, role=OrgRole.ADMIN).exclude(user=without).exists()


def _is_last_admin(org: Organization, membership: Membership | None) -> bool:
    return (
        membership is not None
        and membership.role == OrgRole.ADMIN
        and not _admins_left(org, without=membership.user)
    )


# --- organizations --------------------------------------------------------------------------


@transaction.atomic
def org_create(
    *,
    actor: Actor,
    name: str,
    fullname: str = "",
    default_private: bool = False,
    admin: User | None = None,
) -> Organization:
    """Create an org and its namespace; its creator (or `admin`) becomes its first admin."""
    first_admin = admin if admin is not None else actor
    if first_admin is None or not first_admin.is_authenticated:
        raise AuthenticationError("You must be signed in to create an organization.")
    token = getattr(actor, "access_token", None)
    if token is not None and not token.can_write:
        raise PermissionDeniedError("Creating an organization needs a write token.")
    validate_namespace_name(name)
    if len(fullname) > 120:
        raise BadRequestError("Full name: at most 120 characters.")
    if Namespace.objects.filter(name__iexact=name).exists():
        raise ConflictError(f"The name {name!r} is already taken.")
    try:
        with transaction.atomic():
            namespace = Namespace.objects.create(name=name, kind=Namespace.Kind.ORG)
    except IntegrityError:
        raise ConflictError(f"The name {name!r} is already taken.") from None
    org = Organization.objects.create(
        namespace=namespace, fullname=fullname.strip(), default_private=default_private
    )
    Membership.objects.create(org=org, user=first_admin, role=OrgRole.ADMIN)
    forget_grants(first_admin)
    audit_log(
        verb="org.create",
        actor=actor,
        target=namespace,
        namespace=namespace,
        details={"admin": first_admin.username},
    )  # type: ignore[union-attr]
    return org


@transaction.atomic
def org_update(
    *,
    actor: Actor,
    org: Organization,
    fullname: str | None = None,
    default_private: bool | None = None,
) -> Organization:
    require_org_admin(actor, org)
    changes: dict[str, object] = {}
    if fullname is not None and fullname.strip() != org.fullname:
        if len(fullname) > 120:
            raise BadRequestError("Full name: at most 120 characters.")
        org.fullname = changes["fullname"] = fullname.strip()
    if default_private is not None and default_private != org.default_private:
        org.default_private = changes["default_private"] = default_private
    if changes:
        org.save(update_fields=["fullname", "default_private"])
        audit_log(
            verb="org.update",
            actor=actor,
            target=org.namespace,
            namespace=org.namespace_id,
            details=changes,
        )
    return org


def avatar_dir() -> Path:
    return Path(settings.DATA_DIR) / "avatars"


def org_avatar_set(*, actor: Actor, org: Organization, data: bytes | None) -> Organization:
    """Store an uploaded PNG, JPEG or GIF (at most 1 MB) as the org's avatar; None removes it
    (the page then shows generated initials)."""
    require_org_admin(actor, org)
    old = org.avatar
    if data is None:
        org.avatar = ""
    else:
        if len(data) > AVATAR_MAX_BYTES:
            raise BadRequestError("The avatar must be at most 1 MB.")
        ext = next((e for magic, e in _AVATAR_MAGIC.items() if data.startswith(magic)), None)
        if ext is None:
            raise BadRequestError("The avatar must be a PNG, JPEG or GIF image.")
        folder = avatar_dir()
        folder.mkdir(parents=True, exist_ok=True)
        filename = f"{org.namespace_id}-{secrets.token_hex(8)}.{ext}"
        tmp = folder / f".{filename}.tmp"
        tmp.write_bytes(data)
        tmp.replace(folder / filename)
        org.avatar = filename
    org.save(update_fields=["avatar"])
    if old and old != org.avatar:
        (avatar_dir() / old).unlink(missing_ok=True)
    audit_log(verb="org.avatar", actor=actor, target=org.namespace, namespace=org.namespace_id)
    return org


# --- members --------------------------------------------------------------------------------


@transaction.atomic
def member_add(*, actor: Actor, org: Organization, user: User, role: str) -> Membership:
    """Add `user` with `role`, or change the role of an existing member (admins only)."""
    require_org_admin(actor, org)
    _role(role)
    membership, created = Membership.objects.get_or_create(
        org=org, user=user, defaults={"role": role}
    )
    if not created and membership.role != role:
        return member_set_role(actor=actor, org=org, username=user.username, role=role)
    forget_grants(user)
    if created:
        audit_log(
            verb="org.member.add",
            actor=actor,
            target=user,
            namespace=org.namespace_id,
            details={"role": role},
        )
    return membership


@transaction.atomic
def member_set_role(*, actor: Actor, org: Organization, username: str, role: str) -> Membership:
    """Change a member's role. The last admin cannot be demoted."""
    require_org_admin(actor, org)
    _role(role)
    membership = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(org=org, user__username__iexact=username)
        .first()
    )
    if membership is None:
        raise NotFoundError(f"{username} is not a member of {org.name}.")
    last = not _admins_left(org, without=membership.user)
    if membership.role == OrgRole.ADMIN and role != OrgRole.ADMIN and last:
        raise BadRequestError(f"{username} is the last admin of {org.name}.")
    old = membership.role
    if old != role:
        membership.role = role
        membership.save(update_fields=["role"])
        audit_log(
            verb="org.member.role",
            actor=actor,
            target=membership.user,
            namespace=org.namespace_id,
            details={"old": old, "new": role},
        )
    forget_grants(membership.user)
    return membership


def _drop_member(org: Organization, user: User) -> None:
    """Remove the membership and every team membership in the org: nothing is left."""
    Membership.objects.filter(org=org, user=user).delete()
    TeamMember.objects.filter(team__org=org, user=user).delete()
    forget_grants(user)


@transaction.atomic
def member_remove(*, actor: Actor, org: Organization, username: str) -> None:
    """Remove a member (and its teams in the org). The last admin cannot be removed."""
    require_org_admin(actor, org)
    user = _user_named(username)
    membership = Membership.objects.select_for_update().filter(org=org, user=user).first()
    in_team = TeamMember.objects.filter(team__org=org, user=user).exists()
    if membership is None and not in_team:
        raise NotFoundError(f"{username} is not a member of {org.name}.")
    if _is_last_admin(org, membership):
        raise BadRequestError(f"{username} is the last admin of {org.name}.")
    _drop_member(org, user)
    audit_log(verb="org.member.remove", actor=actor, target=user, namespace=org.namespace_id)


@transaction.atomic
def member_leave(*, actor: User | AnonymousUser, org: Organization) -> None:
    """Leave an org; the last admin cannot (make someone else admin first)."""
    if not actor.is_authenticated:
        raise AuthenticationError("You must be signed in.")
    membership = Membership.objects.select_for_update().filter(org=org, user=actor).first()
    in_team = TeamMember.objects.filter(team__org=org, user=actor).exists()
    if membership is None and not in_team:
        raise NotFoundError(f"You are not a member of {org.name}.")
    if _is_last_admin(org, membership):
        raise BadRequestError(
            f"You are the last admin of {org.name}: make another member admin first."
        )
    _drop_member(org, actor)  # type: ignore[arg-type]
    audit_log(verb="org.member.leave", actor=actor, target=actor, namespace=org.namespace_id)


# --- invitations ----------------------------------------------------------------------------


@transaction.atomic
def invitation_create(
    *,
    actor: Actor,
    org: Organization,
    role: str,
    username: str | None = None,
    email: str | None = None,
) -> Invitation:
    """Invite a user (by name) or an email address; a pending invitation to the same person
    is replaced. The invitee answers with the invitation's token (its page or the API)."""
    require_org_admin(actor, org)
    _role(role)
    username = (username or "").strip()
    email = (email or "").strip()
    if bool(username) == bool(email):
        raise BadRequestError("Invite either a user name or an email address.")
    invitee = None
    if username:
        invitee = _user_named(username)
        if Membership.objects.filter(org=org, user=invitee).exists():
            raise ConflictError(f"{invitee.username} is already a member of {org.name}.")
    else:
        if "@" not in email or len(email) > 254:
            raise BadRequestError("Invalid email address.")
        invitee = User.objects.filter(email__iexact=email).first()
    pending = Invitation.objects.filter(org=org, status=Invitation.Status.PENDING)
    if invitee is not None:
        pending.filter(invitee=invitee).delete()
    else:
        pending.filter(email__iexact=email, invitee__isnull=True).delete()
    invitation = Invitation.objects.create(
        org=org,
        invitee=invitee,
        email="" if invitee is not None and not email else email,
        role=role,
        token=secrets.token_urlsafe(32),
        invited_by=actor if actor is not None and actor.is_authenticated else None,
    )
    audit_log(
        verb="org.invite",
        actor=actor,
        target=org.namespace,
        namespace=org.namespace_id,
        details={"invitee": invitee.username if invitee else email, "role": role},
    )
    return invitation


def invitation_get(*, token: str) -> Invitation:
    invitation = (
        Invitation.objects.select_related("org__namespace", "invitee", "invited_by")
        .filter(token=token)
        .first()
    )
    if invitation is None:
        raise NotFoundError("Invitation not found.")
    return invitation


def _check_invitee(actor: User | AnonymousUser, invitation: Invitation) -> None:
    if not actor.is_authenticated:
        raise AuthenticationError("Sign in to answer the invitation.")
    if invitation.invitee_id is not None and invitation.invitee_id != actor.pk:
        raise NotFoundError("Invitation not found.")
    if invitation.invitee_id is None and invitation.email.lower() != (actor.email or "").lower():
        raise PermissionDeniedError(
            "This invitation was sent to another email address than your account's."
        )
    if invitation.status != Invitation.Status.PENDING:
        raise ConflictError(f"This invitation was already {invitation.status}.")


@transaction.atomic
def invitation_accept(*, actor: User | AnonymousUser, token: str) -> Membership:
    """Join the org with the invitation's role (kept if the user already holds a higher one)."""
    invitation = invitation_get(token=token)
    _check_invitee(actor, invitation)
    invitation.status = Invitation.Status.ACCEPTED
    invitation.invitee = actor  # type: ignore[assignment]
    invitation.answered_at = timezone.now()
    invitation.save(update_fields=["status", "invitee", "answered_at"])
    membership, created = Membership.objects.get_or_create(
        org=invitation.org, user=actor, defaults={"role": invitation.role}
    )
    if not created:
        ranks = list(OrgRole.values)
        if ranks.index(invitation.role) > ranks.index(membership.role):
            membership.role = invitation.role
            membership.save(update_fields=["role"])
    forget_grants(actor)
    audit_log(
        verb="org.member.add",
        actor=actor,
        target=actor,
        namespace=invitation.org.namespace_id,
        details={"role": membership.role, "invitation": invitation.pk},
    )
    return membership


@transaction.atomic
def invitation_decline(*, actor: User | AnonymousUser, token: str) -> Invitation:
    invitation = invitation_get(token=token)
    _check_invitee(actor, invitation)
    invitation.status = Invitation.Status.DECLINED
    invitation.answered_at = timezone.now()
    invitation.save(update_fields=["status", "answered_at"])
    audit_log(
        verb="org.invite.decline",
        actor=actor,
        target=invitation.org.namespace,
        namespace=invitation.org.namespace_id,
        details={"invitation": invitation.pk, "role": invitation.role},
    )
    return invitation


@transaction.atomic
def invitation_cancel(*, actor: Actor, org: Organization, invitation_id: int) -> None:
    require_org_admin(actor, org)
    invitation = (
        Invitation.objects.select_related("invitee")
        .filter(org=org, pk=invitation_id, status=Invitation.Status.PENDING)
        .first()
    )
    if invitation is None:
        raise NotFoundError("Invitation not found.")
    invitee = invitation.invitee.username if invitation.invitee else invitation.email
    invitation.delete()
    audit_log(
        verb="org.invite.cancel",
        actor=actor,
        target=org.namespace,
        namespace=org.namespace_id,
        details={"invitation": invitation_id, "invitee": invitee, "role": invitation.role},
    )


# --- teams ----------------------------------------------------------------------------------


def team_get(*, org: Organization, name: str) -> Team:
    team = Team.objects.filter(org=org, name__iexact=name).first()
    if team is None:
        raise NotFoundError(f"Team {name!r} not found in {org.name}.")
    return team


@transaction.atomic
def team_create(*, actor: Actor, org: Organization, name: str, description: str = "") -> Team:
    require_org_admin(actor, org)
    name = (name or "").strip()
    if not TEAM_NAME_RE.match(name):
        raise BadRequestError(
            "Team name: 1-64 letters, digits, spaces, '.', '-' or '_', starting with a "
            "letter or digit."
        )
    if Team.objects.filter(org=org, name__iexact=name).exists():
        raise ConflictError(f"A team called {name!r} already exists in {org.name}.")
    try:
        with transaction.atomic():
            team = Team.objects.create(org=org, name=name, description=description[:300])
    except IntegrityError:
        raise ConflictError(f"A team called {name!r} already exists in {org.name}.") from None
    audit_log(verb="org.team.create", actor=actor, target=team, namespace=org.namespace_id)
    return team


@transaction.atomic
def team_update(
    *, actor: Actor, team: Team, name: str | None = None, description: str | None = None
) -> Team:
    require_org_admin(actor, team.org)
    changes: dict[str, object] = {}
    if name is not None and name.strip() != team.name:
        name = name.strip()
        if not TEAM_NAME_RE.match(name):
            raise BadRequestError("Invalid team name.")
        if Team.objects.filter(org=team.org, name__iexact=name).exclude(pk=team.pk).exists():
            raise ConflictError(f"A team called {name!r} already exists.")
        changes["name"] = {"old": team.name, "new": name}
        team.name = name
    if description is not None and description[:300] != team.description:
        team.description = changes["description"] = description[:300]
    if changes:
        team.save(update_fields=["name", "description"])
        audit_log(
            verb="org.team.update",
            actor=actor,
            target=team,
            namespace=team.org.namespace_id,
            details=changes,
        )
    return team


@transaction.atomic
def team_delete(*, actor: Actor, team: Team) -> None:
    require_org_admin(actor, team.org)
    audit_log(verb="org.team.delete", actor=actor, target=team, namespace=team.org.namespace_id)
    team.delete()


@transaction.atomic
def team_member_set(*, actor: Actor, team: Team, username: str, role: str) -> TeamMember:
    """Add `username` to the team with `role` (read, write, admin on the team's repos), or
    change its role. The user need not be an org member: a team-only member sees the
    team's repos and nothing else of the org."""
    require_org_admin(actor, team.org)
    _role(role, TeamRole)
    user = _user_named(username)
    member, created = TeamMember.objects.get_or_create(
        team=team, user=user, defaults={"role": role}
    )
    if not created and member.role != role:
        member.role = role
        member.save(update_fields=["role"])
    forget_grants(user)
    audit_log(
        verb="org.team.member",
        actor=actor,
        target=user,
        namespace=team.org.namespace_id,
        details={"team": team.name, "role": role},
    )
    return member


@transaction.atomic
def team_member_remove(*, actor: Actor, team: Team, username: str) -> None:
    require_org_admin(actor, team.org)
    user = _user_named(username)
    deleted, _ = TeamMember.objects.filter(team=team, user=user).delete()
    if not deleted:
        raise NotFoundError(f"{username} is not in team {team.name}.")
    forget_grants(user)
    audit_log(
        verb="org.team.member.remove",
        actor=actor,
        target=user,
        namespace=team.org.namespace_id,
        details={"team": team.name},
    )
