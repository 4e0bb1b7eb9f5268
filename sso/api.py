"""JSON API for SSO configuration: org admins at /api/organizations/{org}/sso, site admins
at /api/sso (the instance-wide provider). GET reads, PUT/PATCH change (fields left out
keep their value; `clientSecret` is write-only: GET shows its last four characters),
DELETE removes the provider."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import AuthenticationError, NotFoundError
from orgs.models import Organization
from orgs.org_services import org_get
from sso.flow import public_url
from sso.models import SSOProvider
from sso.services import provider_delete, provider_get, provider_update, require_provider_admin


def provider_json(
    provider: SSOProvider | None, request: HttpRequest, org: Organization | None
) -> dict[str, Any]:
    base = f"/organizations/{org.name}/sso" if org is not None else "/sso"
    urls = {
        "loginUrl": public_url(request, f"{base}/login"),
        "redirectUri": public_url(request, f"{base}/callback"),
        "acsUrl": public_url(request, f"{base}/saml/acs"),
        "spMetadataUrl": public_url(request, f"{base}/saml/metadata"),
    }
    if provider is None:
        return {"configured": False, **urls}
    return {
        "configured": True,
        "organization": org.name if org is not None else None,
        "protocol": provider.protocol,
        "enabled": provider.enabled,
        "displayName": provider.display_name,
        "issuer": provider.oidc_issuer,
        "clientId": provider.oidc_client_id,
        "clientSecret": f"…{provider.oidc_client_secret_last4}"
        if provider.oidc_client_secret_enc
        else None,
        "scopes": provider.oidc_scopes,
        "groupsClaim": provider.oidc_groups_claim,
        "metadataUrl": provider.saml_idp_metadata_url,
        "hasMetadata": bool(provider.saml_idp_metadata_xml),
        "idpEntityId": provider.saml_idp_entity_id,
        "spEntityId": provider.saml_sp_entity_id or urls["spMetadataUrl"],
        "groupsAttribute": provider.saml_attr_groups,
        "emailAttribute": provider.saml_attr_email,
        "usernameAttribute": provider.saml_attr_username,
        "trustEmail": provider.trust_email,
        "roleMapping": provider.role_rules,
        "defaultRole": provider.default_role,
        "required": provider.required,
        "sessionHours": provider.session_hours,
        "updatedAt": provider.updated_at.isoformat(),
        **urls,
    }


class _ProviderApi(APIView):
    def org(self, **kwargs: Any) -> Organization | None:
        raise NotImplementedError

    def _scope(self, request: Request, **kwargs: Any) -> Organization | None:
        if not request.user.is_authenticated:
            raise AuthenticationError("You must be signed in.")
        try:
            org = self.org(**kwargs)
        except NotFoundError:
            raise NotFoundError("Organization not found.") from None
        require_provider_admin(request.user, org)
        return org

    def get(self, request: Request, **kwargs: Any) -> Response:
        org = self._scope(request, **kwargs)
        return Response(provider_json(provider_get(org=org), request._request, org))

    def put(self, request: Request, **kwargs: Any) -> Response:
        org = self._scope(request, **kwargs)
        provider = provider_update(actor=request.user, org=org, data=request.data)
        return Response(provider_json(provider, request._request, org))

    patch = put

    def delete(self, request: Request, **kwargs: Any) -> Response:
        org = self._scope(request, **kwargs)
        provider_delete(actor=request.user, org=org)
        return Response(status=204)


class OrgSSOApi(_ProviderApi):
    """GET/PUT/PATCH/DELETE /api/organizations/{name}/sso (org admins)."""

    def org(self, **kwargs: Any) -> Organization | None:
        return org_get(name=kwargs["name"])


class InstanceSSOApi(_ProviderApi):
    """GET/PUT/PATCH/DELETE /api/sso: the instance-wide provider (site admins)."""

    def org(self, **kwargs: Any) -> Organization | None:
        return None
