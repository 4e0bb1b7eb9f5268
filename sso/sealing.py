"""The OIDC client secret at rest: Fernet (AES-128-CBC + HMAC) under a key derived from the
hub's SECRET_KEY, so a copy of the database alone does not reveal it. Rotating
HUB_SECRET_KEY makes stored secrets unreadable: the admin enters them again (the sign-in
page says so)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from common.errors import ServiceUnavailableError


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"hubforge-sso-client-secret:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def secret_seal(value: str) -> str:
    return _fernet().encrypt(value.encode("utf-8")).decode("ascii") if value else ""


def secret_open(sealed: str) -> str:
    """The stored secret; ServiceUnavailableError when it cannot be read (key rotated)."""
    if not sealed:
        return ""
    try:
        return _fernet().decrypt(sealed.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise ServiceUnavailableError(
            "The SSO client secret cannot be read (the hub's secret key changed); an "
            "organization admin must enter it again."
        ) from None
