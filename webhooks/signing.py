"""Standard Webhooks signatures (https://www.standardwebhooks.com/, "Signature scheme").

`webhook-signature: v1,<base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))>`. A secret
written `whsec_<base64>` is used as its decoded bytes (as the spec's libraries do); any other
secret as its UTF-8 bytes, so secrets typed for the public hub keep working.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from common.errors import ValidationError

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


def secret_key(secret: str) -> bytes:
    """The HMAC key for `secret`; ValidationError for a `whsec_` secret that is not base64."""
    if secret.startswith(SECRET_PREFIX):
        encoded = secret[len(SECRET_PREFIX) :]
        try:
            # Padding is optional in the wild; the spec's libraries add it back the same way.
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError("A secret starting with whsec_ must be base64.") from None
        if not key:
            raise ValidationError("A whsec_ secret may not be empty.")
        return key
    return secret.encode("utf-8")


def sign(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one request."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return f"v1,{base64.b64encode(digest).decode('ascii')}"
