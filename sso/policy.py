"""SSO-required organizations: which credential has passed an org's single sign-on.

- A browser session carries, per organization, the time its SSO sign-in stops counting
  (`session["hub_sso"]`, set by the sign-in views): `SSOProvider.session_hours` after the
  sign-in. A password sign-in sets nothing.
- An access token counts for an org once it is authorized for it (`TokenAuthorization`):
  automatically when it is created from a session with a valid SSO sign-in for that org,
  or later from /settings/sso while such a session is held (GitHub's rule). It stays
  authorized until the token is revoked or expires.
- The gate applies to the request's own credential only: the session's user or the token's
  user. Any other user object (a background task, or a check about someone else) is
  judged on its standing roles.
- Site admins are never gated (their rights do not come from memberships).

`orgs.permissions.grants_for` calls `blocked_namespaces` once per user object; a refusal it
caused is turned into a 403 that says how to sign in (`SSOMiddleware`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.db.models.signals import post_save
from django.http import HttpRequest, HttpResponse

from orgs.models import AccessToken, User

SESSION_FLAGS = "hub_sso"
_session: ContextVar[SessionBase | None] = ContextVar("sso_session", default=None)


def _session_user_id(session: SessionBase) -> str | None:
    value = session.get(SESSION_KEY)
    return str(value) if value is not None else None


def session_orgs(session: SessionBase | None, *, now: float | None = None) -> dict[int, float]:
    """Org namespace id -> expiry (epoch seconds) of the session's valid SSO sign-ins."""
    if session is None:
        return {}
    flags = session.get(SESSION_FLAGS) or {}
    moment = time.time() if now is None else now
    out: dict[int, float] = {}
    for key, expires in flags.items() if isinstance(flags, dict) else ():
        try:
            namespace_id, until = int(key), float(expires)
        except (TypeError, ValueError):
            continue
        if until > moment:
            out[namespace_id] = until
    return out


def session_mark(session: SessionBase, *, namespace_id: int, hours: int) -> float:
    """Record a successful SSO sign-in for an org in the session; returns its expiry."""
    flags = dict(session.get(SESSION_FLAGS) or {})
    until = time.time() + hours * 3600
    flags[str(namespace_id)] = until
    session[SESSION_FLAGS] = flags
    return until


def current_session() -> SessionBase | None:
    return _session.get()


def _passed(user: User, namespace_ids: frozenset[int]) -> set[int] | None:
    """The namespaces among `namespace_ids` this credential passed SSO for; None when the
    user object is not the request's credential (not gated)."""
    from sso.models import TokenAuthorization

    token = getattr(user, "access_token", None)
    if token is not None:
        return set(
            TokenAuthorization.objects.filter(
                token_id=token.pk, org__namespace_id__in=namespace_ids
            ).values_list("org__namespace_id", flat=True)
        )
    session = _session.get()
    if session is None or _session_user_id(session) != str(user.pk):
        return None
    return set(session_orgs(session)) & namespace_ids


def blocked_namespaces(user: User, namespace_ids: frozenset[int]) -> frozenset[int]:
    """The gate `orgs.permissions` asks: among the org namespaces the user holds roles in,
    those that require SSO this credential has not passed."""
    from sso.models import SSOProvider

    if not namespace_ids or user.is_superuser:
        return frozenset()
    required = set(
        SSOProvider.objects.filter(
            org__namespace_id__in=namespace_ids, required=True, enabled=True
        ).values_list("org__namespace_id", flat=True)
    )
    if not required:
        return frozenset()
    passed = _passed(user, frozenset(required))
    if passed is None:
        return frozenset()
    return frozenset(required - passed)


# --- tokens created from an SSO session ------------------------------------------------------


def _authorize_new_token(sender: Any, instance: AccessToken, created: bool, **kwargs: Any) -> None:
    if not created:
        return
    session = _session.get()
    if session is None or _session_user_id(session) != str(instance.user_id):
        return
    orgs = session_orgs(session)
    if orgs:
        from sso.services import token_authorize_for_session

        token_authorize_for_session(token=instance, namespace_ids=set(orgs))


def connect_signals() -> None:
    post_save.connect(_authorize_new_token, sender=AccessToken, dispatch_uid="sso.token_created")


# --- the middleware --------------------------------------------------------------------------


class SSOMiddleware:
    """Makes the session available to the gate, and explains refusals it caused.

    A 401/403/404 answered to a user whose org role was set aside by an SSO requirement
    becomes a 403 naming the org and where to sign in: JSON for the API and LFS, plain
    text for git (which shows it as `remote:` lines), a page for browsers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        reset = _session.set(session if getattr(request, "token_user", None) is None else None)
        try:
            response = self.get_response(request)
        finally:
            _session.reset(reset)
        if response.status_code in (401, 403, 404):
            from sso.responses import sso_required_response

            return sso_required_response(request, response)
        return response
