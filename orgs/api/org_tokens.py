"""The access tokens that reach an organization, for its admins (orgs/org_tokens.py).

GET    /api/organizations/{name}/tokens                 -> [{id, name, masked, owner, role,
                                                            scopes, createdAt, lastUsedAt,
                                                            expiresAt, revokedForOrg}]
DELETE /api/organizations/{name}/tokens/{id}            -> cut the token off the org
POST   /api/organizations/{name}/tokens/{id}/restore    -> let it back in
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orgs.org_services import org_get
from orgs.org_tokens import org_token_json, org_token_list, org_token_restore, org_token_revoke


class OrgTokenListApi(APIView):
    def get(self, request: Request, name: str) -> Response:
        rows = org_token_list(actor=request.user, org=org_get(name=name))
        return Response([org_token_json(row) for row in rows])


class OrgTokenApi(APIView):
    def delete(self, request: Request, name: str, token_id: str) -> Response:
        token = org_token_revoke(actor=request.user, org=org_get(name=name), token_id=token_id)
        return Response({"id": str(token.pk), "revokedForOrg": True})


class OrgTokenRestoreApi(APIView):
    def post(self, request: Request, name: str, token_id: str) -> Response:
        token = org_token_restore(actor=request.user, org=org_get(name=name), token_id=token_id)
        return Response({"id": str(token.pk), "revokedForOrg": False})
