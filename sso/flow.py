"""The sign-in round trip shared by both protocols: start (a single-use request bound to
this browser session), finish (claim it once, then sign in and mark the session)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from orgs.models import User
from orgs.permissions import forget_grants
from sso.models import SSOAuthRequest, SSOProvider
from sso.policy import session_mark
from sso.services import SignInClaims, SSOSignInError, sign_in_complete

REQUEST_TTL = timedelta(minutes=10)
PENDING_KEY = "hub_sso_pending"
MAX_PENDING = 5


def public_url(request: HttpRequest, path: str) -> str:
    base = settings.PUBLIC_URL or f"{request.scheme}://{request.get_host()}"
    return base.rstrip("/") + path


def safe_next(request: HttpRequest, target: str | None) -> str:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target[:1000]
    return "/"


def request_begin(
    request: HttpRequest, provider: SSOProvider, *, state: str, nonce: str = "", verifier: str = ""
) -> SSOAuthRequest:
    """Store the attempt and remember its state in this session (a few at most)."""
    user = request.user if request.user.is_authenticated else None
    SSOAuthRequest.objects.filter(created_at__lt=timezone.now() - REQUEST_TTL * 6).delete()
    auth_request = SSOAuthRequest.objects.create(
        provider=provider,
        state=state,
        nonce=nonce,
        code_verifier=verifier,
        next_url=safe_next(request, request.GET.get("next")),
        link_user=user,  # type: ignore[misc]
    )
    pending = [s for s in request.session.get(PENDING_KEY, []) if isinstance(s, str)]
    request.session[PENDING_KEY] = [*pending, state][-MAX_PENDING:]
    return auth_request


def _session_takes(request: HttpRequest, state: str) -> None:
    """SSOSignInError unless this browser session started the attempt; forgets it."""
    pending = request.session.get(PENDING_KEY, [])
    if not state or not isinstance(pending, list) or state not in pending:
        raise SSOSignInError("This sign-in was not started in this browser (unknown state).")
    request.session[PENDING_KEY] = [s for s in pending if s != state]


def _claim(provider: SSOProvider, state: str, step: str, **conditions: object) -> SSOAuthRequest:
    now = timezone.now()
    claimed = SSOAuthRequest.objects.filter(
        provider=provider,
        state=state,
        created_at__gte=now - REQUEST_TTL,
        **{f"{step}__isnull": True},
        **conditions,
    ).update(**{step: now})
    if claimed != 1:
        raise SSOSignInError("This sign-in has expired or was already used; start again.")
    return SSOAuthRequest.objects.select_related("link_user").get(provider=provider, state=state)


def request_claim(request: HttpRequest, provider: SSOProvider, state: str) -> SSOAuthRequest:
    """The attempt named by `state`, claimed for good; SSOSignInError when this session did
    not start it, it is older than ten minutes, or it was already used (a replay)."""
    _session_takes(request, state)
    return _claim(provider, state, "used_at")


def request_claim_unbound(provider: SSOProvider, state: str) -> SSOAuthRequest:
    """For the SAML ACS, which the browser reaches without its session cookie: claim the
    outstanding request once; the session is checked at `request_claim_result`."""
    return _claim(provider, state, "used_at")


def request_store_result(auth_request: SSOAuthRequest, claims: SignInClaims) -> None:
    auth_request.result = asdict(claims)
    auth_request.save(update_fields=["result"])


def request_claim_result(
    request: HttpRequest, provider: SSOProvider, state: str
) -> tuple[SSOAuthRequest, SignInClaims]:
    """The verified claims the ACS kept, for the session that started the attempt, once."""
    _session_takes(request, state)
    auth_request = _claim(
        provider, state, "finished_at", used_at__isnull=False, result__isnull=False
    )
    data = dict(auth_request.result or {})
    data["groups"] = tuple(data.get("groups") or ())
    return auth_request, SignInClaims(**data)


def request_finish(
    request: HttpRequest, provider: SSOProvider, auth_request: SSOAuthRequest, claims: SignInClaims
) -> str:
    """Sign the browser in as the user the claims name; returns where to go next."""
    link_user: User | None = None
    if (
        auth_request.link_user is not None
        and request.user.is_authenticated
        and request.user.pk == auth_request.link_user_id
    ):
        link_user = auth_request.link_user
    user, _role = sign_in_complete(provider=provider, claims=claims, link_user=link_user)
    if not user.is_active:
        raise SSOSignInError("This account is disabled.")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if provider.org_id is not None:
        session_mark(
            request.session, namespace_id=provider.org.namespace_id, hours=provider.session_hours
        )
    forget_grants(request.user)
    return auth_request.next_url or "/"
