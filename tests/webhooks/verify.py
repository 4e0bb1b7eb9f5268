"""An independent implementation of Standard Webhooks verification, written from the spec
(https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md)
and not from the hub's signing module."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


def verify(*, secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    key = (
        base64.b64decode(secret.removeprefix("whsec_"))
        if secret.startswith("whsec_")
        else secret.encode()
    )
    msg_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(
        key, msg_id.encode() + b"." + timestamp.encode() + b"." + body, hashlib.sha256
    ).digest()
    for candidate in headers["webhook-signature"].split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(base64.b64decode(signature), expected):
            return True
    return False
