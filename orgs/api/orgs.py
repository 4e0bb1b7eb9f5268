"""Organization API: the paths huggingface_hub reads (overview, members) and our own for
managing orgs (create, settings, invitations, roles, teams).

huggingface_hub HfApi.get_organization_overview -> GET /api/organizations/{name}/overview
huggingface_hub HfApi.list_organization_members -> GET /api/organizations/{name}/members
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import AuthenticationError
from orgs.models import Membership, Organization, OrgRole, Team, TeamRole, User
from orgs.org_selectors import membership_list, team_list
from orgs.org_services import (
    invitation_accept,
    invitation_create,
    invitation_decline,
    member_leave,
    member_remove,
    member_set_role,
    org_create,
    org_get,
    org_update,
    require_org_admin,
    team_create,
    team_delete,
    team_get,
    team_member_remove,
    team_member_set,
    team_update,
)


def user_json(user: User) -> dict[str, Any]:
    return {
        "user": user.username,
        "fullname": user.fullname or user.username,
        "avatarUrl": "",
        "type": "user",
        "isPro": False,
    }


def org_json(org: Organization, **extra: Any) -> dict[str, Any]:
    return {
        "type": "org",
        "name": org.name,
        "fullname": org.display_name,
        "avatarUrl": org.avatar_url,
        "isEnterprise": False,
        **extra,
    }


def _team_json(team: Team) -> dict[str, Any]:
    return {
        "id": str(team.pk),
        "name": team.name,
        "description": team.description,
        "members": [
            {**user_json(m.user), "role": m.role}
            for m in team.members.all()  # prefetched
        ],
    }


class OrgCreateApi(APIView):
    """POST /api/organizations/new {"name", "fullname"?, "defaultPrivate"?}: the caller
    becomes the org's first admin."""

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=42)
        fullname = serializers.CharField(
            max_length=120, required=False, default="", allow_blank=True
        )
        defaultPrivate = serializers.BooleanField(required=False, default=False)

    def post(self, request: Request) -> Response:
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        org = org_create(
            actor=request.user,
            name=d["name"],
            fullname=d["fullname"],
            default_private=d["defaultPrivate"],
        )
        return Response(org_json(org, roleInOrg=OrgRole.ADMIN))


class OrgOverviewApi(APIView):
    """huggingface_hub HfApi.get_organization_overview -> GET .../overview."""

    def get(self, request: Request, name: str) -> Response:
        from django.db.models import Count, Q

        org = org_get(name=name)
        counts = org.namespace.repos.aggregate(
            models=Count("pk", filter=Q(kind="model", private=False)),
            datasets=Count("pk", filter=Q(kind="dataset", private=False)),
        )
        return Response(
            org_json(
                org,
                details="",
                isVerified=False,
                isFollowing=False,
                numUsers=Membership.objects.filter(org=org).count(),
                numModels=counts["models"],
                numDatasets=counts["datasets"],
                numSpaces=0,
                numFollowers=0,
                numPapers=0,
                defaultPrivate=org.default_private,
            )
        )


class OrgSettingsApi(APIView):
    """PUT /api/organizations/{name}/settings {"fullname"?, "defaultPrivate"?} (admins)."""

    class InputSerializer(serializers.Serializer):
        fullname = serializers.CharField(max_length=120, required=False, allow_blank=True)
        defaultPrivate = serializers.BooleanField(required=False)

    def put(self, request: Request, name: str) -> Response:
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        org = org_update(
            actor=request.user,
            org=org_get(name=name),
            fullname=d.get("fullname"),
            default_private=d.get("defaultPrivate"),
        )
        return Response(org_json(org, defaultPrivate=org.default_private))


class OrgMemberListApi(APIView):
    """huggingface_hub HfApi.list_organization_members -> GET .../members.

    Public, as on the hub: `[{"user", "fullname", "avatarUrl", "type"}]`; org admins also
    see each member's `role`.
    """

    def get(self, request: Request, name: str) -> Response:
        from orgs.org_selectors import is_org_admin

        org = org_get(name=name)
        admin = is_org_admin(user=request.user, org=org)
        rows = []
        for m in membership_list(org=org):
            row = user_json(m.user)
            if admin:
                row["role"] = m.role
            rows.append(row)
        return Response(rows)


class OrgMemberApi(APIView):
    """PUT /api/organizations/{name}/members/{user} {"role"}: change a role (admins);
    DELETE: remove the member (the last admin cannot be removed)."""

    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=OrgRole.choices)

    def put(self, request: Request, name: str, username: str) -> Response:
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        m = member_set_role(
            actor=request.user,
            org=org_get(name=name),
            username=username,
            role=s.validated_data["role"],
        )
        return Response({**user_json(m.user), "role": m.role})

    def delete(self, request: Request, name: str, username: str) -> Response:
        member_remove(actor=request.user, org=org_get(name=name), username=username)
        return Response({})


class OrgLeaveApi(APIView):
    """POST /api/organizations/{name}/leave."""

    def post(self, request: Request, name: str) -> Response:
        member_leave(actor=request.user, org=org_get(name=name))
        return Response({})


class OrgInvitationCreateApi(APIView):
    """POST /api/organizations/{name}/invitations {"user" or "email", "role"} (admins).
    The answer carries the invitation's `token` for the invitee's accept/decline calls."""

    class InputSerializer(serializers.Serializer):
        user = serializers.CharField(required=False, allow_blank=True, default="")
        email = serializers.CharField(required=False, allow_blank=True, default="")
        role = serializers.ChoiceField(choices=OrgRole.choices, default=OrgRole.READ)

    def post(self, request: Request, name: str) -> Response:
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        inv = invitation_create(
            actor=request.user,
            org=org_get(name=name),
            role=d["role"],
            username=d["user"],
            email=d["email"],
        )
        return Response(
            {
                "id": str(inv.pk),
                "token": inv.token,
                "role": inv.role,
                "status": inv.status,
                "user": inv.invitee.username if inv.invitee else None,
                "email": inv.email or None,
                "url": f"/organizations/{inv.org.name}/invitations/{inv.token}",
            }
        )


class InvitationAnswerApi(APIView):
    """POST /api/invitations/{token}/accept | decline (the invitee)."""

    def post(self, request: Request, token: str, answer: str) -> Response:
        if answer == "accept":
            m = invitation_accept(actor=request.user, token=token)
            return Response(org_json(m.org, roleInOrg=m.role))
        invitation_decline(actor=request.user, token=token)
        return Response({"status": "declined"})


class OrgTeamListApi(APIView):
    """GET /api/organizations/{name}/teams (admins); POST {"name", "description"?}."""

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=64)
        description = serializers.CharField(
            max_length=300, required=False, default="", allow_blank=True
        )

    def get(self, request: Request, name: str) -> Response:
        org = org_get(name=name)
        require_org_admin(request.user, org)
        return Response([_team_json(t) for t in team_list(org=org)])

    def post(self, request: Request, name: str) -> Response:
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        team = team_create(
            actor=request.user, org=org_get(name=name), name=d["name"], description=d["description"]
        )
        return Response(
            {"id": str(team.pk), "name": team.name, "description": team.description, "members": []}
        )


class OrgTeamApi(APIView):
    """PUT /api/organizations/{name}/teams/{team} {"name"?, "description"?}; DELETE."""

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=64, required=False)
        description = serializers.CharField(max_length=300, required=False, allow_blank=True)

    def put(self, request: Request, name: str, team: str) -> Response:
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        org = org_get(name=name)
        t = team_update(
            actor=request.user,
            team=team_get(org=org, name=team),
            name=s.validated_data.get("name"),
            description=s.validated_data.get("description"),
        )
        return Response({"id": str(t.pk), "name": t.name, "description": t.description})

    def delete(self, request: Request, name: str, team: str) -> Response:
        org = org_get(name=name)
        team_delete(actor=request.user, team=team_get(org=org, name=team))
        return Response({})


class OrgTeamMemberApi(APIView):
    """PUT /api/organizations/{name}/teams/{team}/members/{user} {"role"}; DELETE."""

    class InputSerializer(serializers.Serializer):
        role = serializers.ChoiceField(choices=TeamRole.choices, default=TeamRole.READ)

    def put(self, request: Request, name: str, team: str, username: str) -> Response:
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        org = org_get(name=name)
        m = team_member_set(
            actor=request.user,
            team=team_get(org=org, name=team),
            username=username,
            role=s.validated_data["role"],
        )
        return Response({**user_json(m.user), "role": m.role})

    def delete(self, request: Request, name: str, team: str, username: str) -> Response:
        org = org_get(name=name)
        team_member_remove(actor=request.user, team=team_get(org=org, name=team), username=username)
        return Response({})


def whoami_orgs(user: User) -> list[dict[str, Any]]:
    """whoami-v2 `orgs`: name, fullname and the caller's roleInOrg in each."""
    from orgs.org_selectors import org_list_for_user

    if not user.is_authenticated:
        raise AuthenticationError("Invalid user token.")
    return [org_json(m.org, roleInOrg=m.role) for m in org_list_for_user(user=user)]
