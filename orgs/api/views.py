"""Account API: whoami."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import AuthenticationError
from orgs.api.orgs import whoami_orgs
from orgs.tokens import scopes_as_hf


class WhoamiApi(APIView):
    """huggingface_hub HfApi.whoami -> GET /api/whoami-v2."""

    def get(self, request: Request) -> Response:
        user = request.user
        if not user.is_authenticated:
            raise AuthenticationError("Invalid user token.")
        token = getattr(user, "access_token", None)
        auth: dict[str, Any] = {}
        if token is not None:
            created = token.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            access: dict[str, Any] = {
                "displayName": token.name,
                "role": token.role,
                "createdAt": created,
            }
            if token.is_fine_grained:
                # The public hub's shape; huggingface_hub reads only role and displayName.
                access["fineGrained"] = {
                    "canReadGatedRepos": False,
                    "global": [],
                    "scoped": scopes_as_hf(token.scopes),
                }
            if token.expires_at is not None:
                access["expiresAt"] = token.expires_at.isoformat()
            auth = {"type": "access_token", "accessToken": access}
        return Response(
            {
                "type": "user",
                "id": str(user.pk),
                "name": user.username,
                "fullname": user.fullname or user.username,
                "email": user.email or None,
                "emailVerified": bool(user.email),
                "isPro": False,
                "canPay": False,
                "avatarUrl": "",
                "orgs": whoami_orgs(user),  # --- orgs: name, fullname, roleInOrg ---
                "auth": auth,
            }
        )
