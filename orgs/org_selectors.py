"""Reads for organizations: members, teams, invitations, a user's orgs."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, QuerySet

from orgs.models import (
    Invitation,
    Membership,
    Namespace,
    Organization,
    OrgRole,
    Team,
    TeamMember,
    User,
)
from orgs.permissions import Action, can_write_namespace, namespace_role


def membership_list(*, org: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(org=org).select_related("user").order_by("user__username")


def org_list_for_user(*, user: User | AnonymousUser) -> QuerySet[Membership]:
    """The user's memberships with their orgs (whoami-v2 `orgs`, the settings page)."""
    if not user.is_authenticated:
        return Membership.objects.none()
    return (
        Membership.objects.filter(user_id=user.pk)
        .select_related("org__namespace")
        .order_by("org__namespace__name")
    )


def team_list(*, org: Organization) -> QuerySet[Team]:
    return Team.objects.filter(org=org).prefetch_related(
        Prefetch(
            "members", queryset=TeamMember.objects.select_related("user").order_by("user__username")
        )
    )


def invitation_list_pending(*, org: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.filter(org=org, status=Invitation.Status.PENDING).select_related(
        "invitee"
    )


def invitation_list_for_user(*, user: User) -> QuerySet[Invitation]:
    """Pending invitations addressed to the user (by account or by its email)."""
    qs = Invitation.objects.filter(status=Invitation.Status.PENDING).select_related(
        "org__namespace", "invited_by"
    )
    if user.email:
        return qs.filter(invitee=user) | qs.filter(invitee__isnull=True, email__iexact=user.email)
    return qs.filter(invitee=user)


def org_role_of(*, user: User | AnonymousUser, org: Organization) -> str | None:
    """The user's membership role in the org ("read" ... "admin"), None if not a member."""
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(org=org, user_id=user.pk).values_list("role", flat=True).first()
    )


def is_org_admin(*, user: User | AnonymousUser, org: Organization) -> bool:
    return namespace_role(user, org.namespace_id) is Action.ADMIN


def namespaces_for_create(*, user: User) -> list[str]:
    """The namespaces the user may create repos in: its own, then its orgs (write,
    contributor or admin), by name."""
    names = [user.namespace.name] if user.namespace else []
    rows = (
        Membership.objects.filter(
            user=user, role__in=[OrgRole.CONTRIBUTOR, OrgRole.WRITE, OrgRole.ADMIN]
        )
        .select_related("org__namespace")
        .order_by("org__namespace__name")
    )
    names += [m.org.namespace.name for m in rows if can_write_namespace(user, m.org.namespace)]
    return names


def namespaces_for_transfer(*, user: User) -> list[str]:
    """Where the user may transfer a repo it administers: its own namespace, then the orgs
    where it holds the write or admin role (a contributor creates, it does not bring in)."""
    names = [user.namespace.name] if user.namespace else []
    rows = (
        Membership.objects.filter(user=user, role__in=[OrgRole.WRITE, OrgRole.ADMIN])
        .select_related("org__namespace")
        .order_by("org__namespace__name")
    )
    return names + [m.org.namespace.name for m in rows]


def org_default_private(*, namespace: Namespace) -> bool:
    """Whether new repos of this namespace start private (an org setting; users: no)."""
    if namespace.kind != Namespace.Kind.ORG:
        return False
    return bool(
        Organization.objects.filter(namespace=namespace)
        .values_list("default_private", flat=True)
        .first()
    )
