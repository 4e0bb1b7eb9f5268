"""Account API: whoami."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import AuthenticationError


class WhoamiApi(APIView):
    """huggingface_hub HfApi.whoami -> GET /api/whoami-v2."""

    def get(self, request: Request) -> Response:
        user = request.user
        if not user.is_authenticated:
            raise AuthenticationError("Invalid user token.")
        token = getattr(user, "access_token", None)
        auth = {}
        if token is not None:
            created = token.created_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            auth = {"type": "access_token",
                    "accessToken": {"displayName": token.name, "role": token.role,
                                    "createdAt": created}}
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
                "orgs": [],
                "auth": auth,
            }
        )
