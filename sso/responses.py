"""The answer to a request refused because an org requires single sign-on."""

from __future__ import annotations

from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from common.errors import PermissionDeniedError
from common.http import error_response
from orgs.models import Organization
from orgs.permissions import sso_denied_namespaces

SSO_REQUIRED_CODE = "SSORequired"


def _kind(request: HttpRequest) -> str:
    path = request.path
    if "/info/lfs/" in path:
        return "lfs"
    if path.endswith(("/info/refs", "/git-upload-pack", "/git-receive-pack")):
        return "git"
    if path.startswith("/api/") or "/resolve/" in path or request.token_user is not None:  # type: ignore[attr-defined]
        return "api"
    if "text/html" in request.META.get("HTTP_ACCEPT", ""):
        return "page"
    return "api"


def sso_required_message(org: Organization, *, token: bool, base_url: str) -> str:
    login = f"{base_url}/organizations/{org.name}/sso/login"
    if token:
        return (
            f"Organization {org.name} requires single sign-on: this token is not authorized "
            f"for it. Sign in at {login}, then authorize the token at {base_url}/settings/sso "
            "(or create a new token while signed in through SSO)."
        )
    return (
        f"Organization {org.name} requires single sign-on. Sign in at {login} to access its "
        "resources."
    )


def sso_required_response(request: HttpRequest, original: HttpResponse) -> HttpResponse:
    """`original`, unless the refusal came from an SSO requirement: then a 403 saying so."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return original
    denied = sso_denied_namespaces(user)
    if not denied:
        return original
    org = (
        Organization.objects.select_related("namespace")
        .filter(namespace_id__in=denied)
        .order_by("namespace__name")
        .first()
    )
    if org is None:
        return original
    token = getattr(user, "access_token", None) is not None
    base_url = f"{request.scheme}://{request.get_host()}"
    message = sso_required_message(org, token=token, base_url=base_url)
    kind = _kind(request)
    response: HttpResponse
    if kind == "git":
        response = HttpResponse(message + "\n", status=403, content_type="text/plain")
    elif kind == "lfs":
        response = JsonResponse(
            {"message": message, "documentation_url": f"{base_url}/settings/sso"},
            status=403,
            content_type="application/vnd.git-lfs+json",
        )
    elif kind == "page":
        next_path = quote(request.get_full_path(), safe="/")
        response = render(
            request,
            "sso/required.html",
            {
                "org": org,
                "login_url": f"/organizations/{org.name}/sso/login?next={next_path}",
            },
            status=403,
        )
    else:
        response = error_response(
            PermissionDeniedError(
                message,
                code=SSO_REQUIRED_CODE,
                extra={"ssoUrl": f"{base_url}/organizations/{org.name}/sso/login"},
            ),
            head=request.method == "HEAD",
        )
    response["X-Error-Code"] = SSO_REQUIRED_CODE
    response["Cache-Control"] = "no-store"
    return response
