"""SSO pages: the sign-in round trip (start, OIDC callback), the org admin's SSO settings
page, the site admin's instance provider page, and the user's SSO page (sessions, token
authorizations). Thin: forms in, services out."""

from __future__ import annotations

import logging

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.errors import HubError, NotFoundError
from orgs.models import AccessToken, Membership, Organization, OrgRole
from orgs.org_services import org_get
from sso import oidc, saml
from sso.fetch import IdPUnreachableError
from sso.flow import (
    public_url,
    request_begin,
    request_claim,
    request_claim_result,
    request_claim_unbound,
    request_finish,
    request_store_result,
)
from sso.models import DEFAULT_ROLE_CHOICES, Protocol, SSOProvider, TokenAuthorization
from sso.policy import session_orgs
from sso.services import (
    SSOSignInError,
    provider_get,
    provider_update,
    require_provider_admin,
    sign_in_failed,
    token_authorize,
    token_deauthorize,
)

log = logging.getLogger(__name__)


def _org_or_404(name: str) -> Organization:
    try:
        return org_get(name=name)
    except NotFoundError:
        raise Http404("Not found") from None


def _enabled_provider(org: Organization | None) -> SSOProvider:
    provider = provider_get(org=org)
    if provider is None or not provider.enabled:
        raise Http404("Single sign-on is not configured here.")
    return provider


def _failure(request: HttpRequest, provider: SSOProvider | None, exc: HubError) -> HttpResponse:
    sign_in_failed(provider=provider, reason=exc.message)
    return render(
        request,
        "sso/error.html",
        {"provider": provider, "message": exc.message},
        status=exc.status if exc.status >= 400 else 403,
    )


# --- the round trip ------------------------------------------------------------------------


def _begin(request: HttpRequest, org: Organization | None) -> HttpResponse:
    provider = _enabled_provider(org)
    try:
        if provider.protocol == Protocol.OIDC:
            state, nonce, verifier = oidc.new_secrets()
            request_begin(request, provider, state=state, nonce=nonce, verifier=verifier)
            return redirect(
                oidc.authorization_url(
                    provider,
                    redirect_uri=public_url(request, f"{provider.base_path}/callback"),
                    state=state,
                    nonce=nonce,
                    verifier=verifier,
                )
            )
        client = saml.client_for(provider, **_saml_endpoints(request, provider))
        request_id, location = saml.begin(client, provider)
        request_begin(request, provider, state=request_id)
        return redirect(location)
    except HubError as exc:
        return _failure(request, provider, exc)


def _saml_endpoints(request: HttpRequest, provider: SSOProvider | None, base: str = "") -> dict:
    base = base or (provider.base_path if provider else "/sso")
    default_entity = public_url(request, f"{base}/saml/metadata")
    return {
        "entity_id": saml.sp_entity_id(provider, default_entity) if provider else default_entity,
        "acs_url": public_url(request, f"{base}/saml/acs"),
    }


def _saml_acs(request: HttpRequest, org: Organization | None) -> HttpResponse:
    provider = _enabled_provider(org)
    try:
        if provider.protocol != Protocol.SAML:
            raise SSOSignInError("This provider does not use SAML.")
        relay_state = request.POST.get("RelayState", "")
        saml_response = request.POST.get("SAMLResponse", "")
        if not relay_state or not saml_response:
            raise SSOSignInError("Unsolicited SAML responses are not accepted.")
        auth_request = request_claim_unbound(provider, relay_state)
        client = saml.client_for(provider, **_saml_endpoints(request, provider))
        response = saml.parse_response(client, saml_response, request_id=auth_request.state)
        request_store_result(auth_request, saml.claims_of(provider, response))
    except HubError as exc:
        return _failure(request, provider, exc)
    return redirect(f"{provider.base_path}/saml/finish?state={auth_request.state}")


def _saml_finish(request: HttpRequest, org: Organization | None) -> HttpResponse:
    provider = _enabled_provider(org)
    try:
        auth_request, claims = request_claim_result(request, provider, request.GET.get("state", ""))
        next_url = request_finish(request, provider, auth_request, claims)
    except HubError as exc:
        return _failure(request, provider, exc)
    return redirect(next_url)


def _saml_metadata(request: HttpRequest, org: Organization | None) -> HttpResponse:
    provider = provider_get(org=org)
    base = f"/organizations/{org.name}/sso" if org else "/sso"
    try:
        xml = saml.sp_metadata(provider, **_saml_endpoints(request, provider, base))
    except HubError as exc:
        return HttpResponse(exc.message, status=503, content_type="text/plain")
    return HttpResponse(xml, content_type="application/samlmetadata+xml")


def _oidc_callback(request: HttpRequest, org: Organization | None) -> HttpResponse:
    provider = _enabled_provider(org)
    try:
        if provider.protocol != Protocol.OIDC:
            raise SSOSignInError("This provider does not use OpenID Connect.")
        state = request.GET.get("state", "")
        if request.GET.get("error"):
            # Still consume the state so the attempt cannot be finished later.
            request_claim(request, provider, state)
            detail = request.GET.get("error_description") or request.GET["error"]
            raise SSOSignInError(f"The identity provider refused the sign-in: {detail[:200]}")
        auth_request = request_claim(request, provider, state)
        code = request.GET.get("code", "")
        if not code:
            raise SSOSignInError("The identity provider sent no authorization code.")
        claims = oidc.exchange_code(
            provider,
            code=code,
            redirect_uri=public_url(request, f"{provider.base_path}/callback"),
            verifier=auth_request.code_verifier,
            nonce=auth_request.nonce,
        )
        next_url = request_finish(request, provider, auth_request, oidc.claims_of(provider, claims))
    except (SSOSignInError, IdPUnreachableError) as exc:
        return _failure(request, provider, exc)
    except HubError as exc:
        return _failure(request, provider, exc)
    return redirect(next_url)


@require_GET
def org_login(request: HttpRequest, name: str) -> HttpResponse:
    return _begin(request, _org_or_404(name))


@require_GET
def org_callback(request: HttpRequest, name: str) -> HttpResponse:
    return _oidc_callback(request, _org_or_404(name))


@csrf_exempt  # the IdP's cross-site POST; the Response's signature and InResponseTo guard it
@require_POST
def org_saml_acs(request: HttpRequest, name: str) -> HttpResponse:
    return _saml_acs(request, _org_or_404(name))


@require_GET
def org_saml_finish(request: HttpRequest, name: str) -> HttpResponse:
    return _saml_finish(request, _org_or_404(name))


@require_GET
def org_saml_metadata(request: HttpRequest, name: str) -> HttpResponse:
    return _saml_metadata(request, _org_or_404(name))


@csrf_exempt  # as org_saml_acs
@require_POST
def instance_saml_acs(request: HttpRequest) -> HttpResponse:
    return _saml_acs(request, None)


@require_GET
def instance_saml_finish(request: HttpRequest) -> HttpResponse:
    return _saml_finish(request, None)


@require_GET
def instance_saml_metadata(request: HttpRequest) -> HttpResponse:
    return _saml_metadata(request, None)


@require_GET
def instance_login(request: HttpRequest) -> HttpResponse:
    return _begin(request, None)


@require_GET
def instance_callback(request: HttpRequest) -> HttpResponse:
    return _oidc_callback(request, None)


@require_GET
def login_by_org(request: HttpRequest) -> HttpResponse:
    """The login page's "organization SSO" box: on to that org's sign-in."""
    name = (request.GET.get("org") or "").strip()
    try:
        org = org_get(name=name)
    except NotFoundError:
        messages.error(request, f"No organization named {name!r}.")
        return redirect("/login")
    provider = provider_get(org=org)
    if provider is None or not provider.enabled:
        messages.error(request, f"{org.name} has no single sign-on.")
        return redirect("/login")
    query = request.GET.copy()
    query.pop("org", None)
    suffix = f"?{query.urlencode()}" if query else ""
    return redirect(f"{provider.login_path}{suffix}")


# --- configuration pages ---------------------------------------------------------------------


class ProviderForm(forms.Form):
    protocol = forms.ChoiceField(choices=Protocol.choices)
    enabled = forms.BooleanField(required=False, initial=True)
    displayName = forms.CharField(max_length=80, required=False, label="Button label")
    issuer = forms.CharField(
        max_length=500,
        required=False,
        label="Issuer or discovery URL",
        help_text="e.g. https://idp.example.com/realms/acme",
    )
    clientId = forms.CharField(max_length=255, required=False, label="Client ID")
    clientSecret = forms.CharField(
        max_length=1000,
        required=False,
        label="Client secret",
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the stored secret.",
    )
    scopes = forms.CharField(max_length=255, required=False, initial="openid email profile")
    groupsClaim = forms.CharField(
        max_length=100, required=False, label="Groups claim", initial="groups"
    )
    metadataUrl = forms.CharField(max_length=500, required=False, label="IdP metadata URL")
    metadataXml = forms.CharField(
        required=False,
        label="IdP metadata XML",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Paste the XML, or give the URL above (fetched when you save).",
    )
    spEntityId = forms.CharField(max_length=500, required=False, label="SP entity ID")
    groupsAttribute = forms.CharField(max_length=200, required=False, initial="groups")
    emailAttribute = forms.CharField(max_length=200, required=False, initial="email")
    usernameAttribute = forms.CharField(max_length=200, required=False, initial="username")
    trustEmail = forms.BooleanField(
        required=False, label="The IdP verifies email addresses (link accounts by email)"
    )
    roleMapping = forms.CharField(
        required=False,
        label="Role mapping",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One rule a line: group = role (read, contributor, write, admin).",
    )
    defaultRole = forms.ChoiceField(choices=DEFAULT_ROLE_CHOICES, initial=OrgRole.READ)
    required = forms.BooleanField(required=False, label="Require SSO for this organization")
    sessionHours = forms.IntegerField(
        min_value=1, max_value=720, initial=24, label="SSO session (hours)"
    )

    def clean_roleMapping(self) -> list[dict[str, str]]:
        rules = []
        for number, line in enumerate(self.cleaned_data["roleMapping"].splitlines(), 1):
            if not line.strip():
                continue
            value, sep, role = line.rpartition("=")
            if not sep or not value.strip() or role.strip() not in OrgRole.values:
                raise forms.ValidationError(f"Line {number}: write 'group = role'.")
            rules.append({"value": value.strip(), "role": role.strip()})
        return rules

    @classmethod
    def initial_for(cls, provider: SSOProvider | None) -> dict[str, object]:
        if provider is None:
            return {}
        return {
            "protocol": provider.protocol,
            "enabled": provider.enabled,
            "displayName": provider.display_name,
            "issuer": provider.oidc_issuer,
            "clientId": provider.oidc_client_id,
            "scopes": provider.oidc_scopes,
            "groupsClaim": provider.oidc_groups_claim,
            "metadataUrl": provider.saml_idp_metadata_url,
            "metadataXml": provider.saml_idp_metadata_xml,
            "spEntityId": provider.saml_sp_entity_id,
            "groupsAttribute": provider.saml_attr_groups,
            "emailAttribute": provider.saml_attr_email,
            "usernameAttribute": provider.saml_attr_username,
            "trustEmail": provider.trust_email,
            "roleMapping": "\n".join(f"{r['value']} = {r['role']}" for r in provider.role_rules),
            "defaultRole": provider.default_role,
            "required": provider.required,
            "sessionHours": provider.session_hours,
        }


def _settings_page(request: HttpRequest, org: Organization | None, page_url: str) -> HttpResponse:
    try:
        require_provider_admin(request.user, org)
    except HubError:
        raise Http404("Not found") from None
    provider = provider_get(org=org)
    form = ProviderForm(request.POST or None, initial=ProviderForm.initial_for(provider))
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if (
            provider is not None
            and data.get("metadataUrl")
            and data.get("metadataXml") == provider.saml_idp_metadata_xml
        ):
            data["metadataXml"] = ""  # unchanged XML beside a URL: fetch the URL again
        try:
            provider_update(actor=request.user, org=org, data=data)
        except HubError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Single sign-on settings saved.")
            return redirect(page_url)
    from sso.api import provider_json

    return render(
        request,
        "sso/settings.html",
        {
            "org": org,
            "provider": provider,
            "info": provider_json(provider, request, org),
            "form": form,
            "page_url": page_url,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def org_settings(request: HttpRequest, name: str) -> HttpResponse:
    org = _org_or_404(name)
    return _settings_page(request, org, f"/organizations/{org.name}/settings/sso")


@login_required
@require_http_methods(["GET", "POST"])
def site_settings(request: HttpRequest) -> HttpResponse:
    return _settings_page(request, None, "/_/sso")


# --- the user's page: SSO sessions and token authorizations ----------------------------------


@login_required
@require_GET
def my_sso(request: HttpRequest) -> HttpResponse:
    active = session_orgs(request.session)
    rows = []
    memberships = (
        Membership.objects.filter(user=request.user, org__sso_provider__isnull=False)
        .select_related("org__namespace", "org__sso_provider")
        .order_by("org__namespace__name")
    )
    for m in memberships:
        rows.append(
            {"org": m.org, "provider": m.org.sso_provider, "until": active.get(m.org.namespace_id)}
        )
    tokens = list(AccessToken.objects.filter(user=request.user, revoked_at__isnull=True))
    authorized = set(
        TokenAuthorization.objects.filter(token__in=tokens).values_list("token_id", "org_id")
    )
    token_rows = [
        {"token": t, "org": row["org"], "authorized": (t.pk, row["org"].pk) in authorized}
        for t in tokens
        for row in rows
    ]
    return render(request, "sso/my_sso.html", {"rows": rows, "token_rows": token_rows})


@login_required
@require_POST
def my_token_authorization(request: HttpRequest) -> HttpResponse:
    org = _org_or_404(request.POST.get("org", ""))
    try:
        token_id = int(request.POST.get("token", "0"))
    except ValueError:
        token_id = 0
    try:
        if request.POST.get("action") == "remove":
            token_deauthorize(user=request.user, token_id=token_id, org=org)  # type: ignore[arg-type]
            messages.success(request, f"The token is no longer authorized for {org.name}.")
        else:
            token_authorize(
                user=request.user,  # type: ignore[arg-type]
                token_id=token_id,
                org=org,
                session_org_ids=set(session_orgs(request.session)),
            )
            messages.success(request, f"The token is authorized for {org.name}.")
    except HubError as exc:
        messages.error(request, exc.message)
    return redirect("/settings/sso")
