"""Writes for accounts and tokens."""

from __future__ import annotations

import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import BadRequestError, ConflictError, NotFoundError
from orgs.models import AccessToken, Namespace, User
from orgs.names import validate_namespace_name

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


def token_create(
    *, user: User, name: str, role: str = AccessToken.Role.READ
) -> tuple[AccessToken, str]:
    """Issue a token; returns the row and the secret, which is never stored or shown again."""
    if role not in AccessToken.Role.values:
        raise BadRequestError(f"Token role must be one of {', '.join(AccessToken.Role.values)}.")
    name = (name or "").strip() or "token"
    if len(name) > 100:
        raise BadRequestError("Token name: at most 100 characters.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(30).replace("-", "A").replace("_", "b")
    token = AccessToken.objects.create(
        user=user, name=name, role=role, digest=AccessToken.digest_of(secret), last4=secret[-4:]
    )
    return token, secret


def token_revoke(*, user: User, token_id: int) -> None:
    """Revoke one of the user's tokens, effective at once; NotFoundError if not theirs."""
    updated = AccessToken.objects.filter(
        pk=token_id, user=user, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    if not updated:
        raise NotFoundError("Token not found.")
