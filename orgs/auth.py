"""Credentials: bearer tokens (API), HTTP basic with a token as password (git), sessions (web).

The token found is attached to the user object as `access_token`, so `can()` can limit a
read token to reads without every caller passing it along.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils import timezone
from rest_framework import authentication

from common.errors import AuthenticationError
from orgs.models import AccessToken, User

# Write last-used times at most this often per token, to keep reads cheap.
_LAST_USED_GRANULARITY_SECONDS = 60


def credentials_from_header(header: str | None) -> str | None:
    """The token secret carried by an Authorization header (Bearer, or Basic with any user)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme == "bearer" and value:
        return value
    if scheme == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthenticationError("Invalid credentials in Authorization header") from None
        _, sep, password = decoded.partition(":")
        if not sep or not password:
            raise AuthenticationError("Invalid credentials in Authorization header")
        return password
    return None


def user_for_token(secret: str) -> User:
    """The active user a token belongs to, with the token attached; AuthenticationError if not.

    Looked up by the sha256 of the secret, so timing does not depend on how much of a
    guess matches a real token.
    """
    digest = AccessToken.digest_of(secret)
    # `digest` is unique: no ORDER BY (.first() adds one), one row at most. This runs on
    # every authenticated request (each HEAD and GET of a snapshot_download).
    found = (
        AccessToken.objects.select_related("user")
        .filter(digest=digest, revoked_at__isnull=True)
        .order_by()[:1]
    )
    token = next(iter(found), None)
    now = timezone.now()
    if (
        token is None
        # The index lookup already matched; compare again in constant time so no code
        # path depends on how many characters of a digest agree.
        or not hmac.compare_digest(token.digest, digest)
        or not token.user.is_active
        or token.is_expired(now)  # refused at once, as a revoked token is
    ):
        raise AuthenticationError("Invalid credentials in Authorization header")
    if (
        token.last_used_at is None
        or (now - token.last_used_at).total_seconds() > _LAST_USED_GRANULARITY_SECONDS
    ):
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
    user = token.user
    user.access_token = token  # type: ignore[attr-defined]
    return user


def authenticate_request(request: HttpRequest) -> User | None:
    """The user named by the request's Authorization header, None when there is none."""
    secret = credentials_from_header(request.META.get("HTTP_AUTHORIZATION"))
    if secret is None:
        return None
    return user_for_token(secret)


class TokenAuthentication(authentication.BaseAuthentication):
    """DRF: `Authorization: Bearer hf_...` (or Basic with the token as password)."""

    def authenticate(self, request: Any) -> tuple[User, AccessToken] | None:
        # The middleware has already resolved the header for this request.
        django_request = request._request
        user = getattr(django_request, "token_user", None)
        if user is None:
            return None
        return user, user.access_token

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="hubforge"'


class HubSessionAuthentication(authentication.SessionAuthentication):
    """Browser sessions, with CSRF enforced on unsafe methods."""

    def authenticate(self, request: Any) -> tuple[User, None] | None:
        if getattr(request._request, "token_user", None) is not None:
            return None
        user = getattr(request._request, "user", None)
        if not user or not user.is_active or isinstance(user, AnonymousUser):
            return None
        self.enforce_csrf(request)
        return user, None
