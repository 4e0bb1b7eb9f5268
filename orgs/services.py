"""Writes for accounts and tokens."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import BadRequestError, ConflictError, NotFoundError
from orgs.audit import audit_log
from orgs.models import AccessToken, Namespace, User
from orgs.names import validate_namespace_name
from orgs.tokens import ScopeSpec, resolve_scopes

TOKEN_PREFIX = "hf_"  # noqa: S105 (a prefix, not a secret)


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str | None,
    email: str = "",
    fullname: str = "",
    is_admin: bool = False,
    check_password_strength: bool = True,
) -> User:
    """Create a user and its namespace; ConflictError if the name (any case) is taken."""
    validate_namespace_name(username)
    if Namespace.objects.filter(name__iexact=username).exists():
        raise ConflictError(f"The name {username!r} is already taken.")
    if password and check_password_strength:
        try:
            validate_password(password)
        except DjangoValidationError as exc:
            raise BadRequestError(" ".join(exc.messages)) from None
    try:
        with transaction.atomic():
            namespace = Namespace.objects.create(name=username, kind=Namespace.Kind.USER)
    except IntegrityError:
        raise ConflictError(f"The name {username!r} is already taken.") from None
    user = User(
        username=username,
        email=email,
        fullname=fullname,
        namespace=namespace,
        is_staff=is_admin,
        is_superuser=is_admin,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


def user_get(*, username: str) -> User:
    user = User.objects.filter(username__iexact=username).first()
    if user is None:
        raise NotFoundError(f"User {username!r} not found.")
    return user


@transaction.atomic
def token_create(
    *,
    user: User,
    name: str,
    role: str = AccessToken.Role.READ,
    scopes: Iterable[ScopeSpec] = (),
    expires_at: datetime | None = None,
    actor: User | AnonymousUser | None = None,
) -> tuple[AccessToken, str]:
    """Issue a token; returns the row and the secret, which is never stored or shown again.

    `role` is read, write or fineGrained; a fine-grained token needs `scopes` (see
    orgs/tokens.py), the others take none. `expires_at`, when given, must be in the future.
    `actor` (default: `user`) is who is recorded in the audit log.
    """
    if role not in AccessToken.Role.values:
        raise BadRequestError(f"Token role must be one of {', '.join(AccessToken.Role.values)}.")
    name = (name or "").strip() or "token"
    if len(name) > 100:
        raise BadRequestError("Token name: at most 100 characters.")
    specs = list(scopes)
    stored_scopes: list[dict[str, Any]] = []
    if role == AccessToken.Role.FINE_GRAINED:
        stored_scopes = resolve_scopes(user=user, specs=specs)
    elif specs:
        raise BadRequestError("Only fine-grained tokens take scopes.")
    if expires_at is not None and expires_at <= timezone.now():
        raise BadRequestError("A token's expiry must be in the future.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(30).replace("-", "A").replace("_", "b")
    token = AccessToken.objects.create(
        user=user,
        name=name,
        role=role,
        digest=AccessToken.digest_of(secret),
        last4=secret[-4:],
        scopes=stored_scopes,
        expires_at=expires_at,
    )
    audit_log(
        verb="token.create",
        actor=actor if actor is not None else user,
        target=token,
        namespace=user.namespace_id,
        details={
            "role": role,
            "scopes": stored_scopes,
            "expiresAt": expires_at.isoformat() if expires_at else None,
        },
    )
    return token, secret


@transaction.atomic
def token_revoke(*, user: User, token_id: int, actor: User | AnonymousUser | None = None) -> None:
    """Revoke one of the user's tokens, effective at once; NotFoundError if not theirs."""
    token = AccessToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).first()
    updated = AccessToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if not updated or token is None:
        raise NotFoundError("Token not found.")
    audit_log(
        verb="token.revoke",
        actor=actor if actor is not None else user,
        target=token,
        namespace=user.namespace_id,
    )
