"""Signatures per Standard Webhooks, checked by an independent implementation and by the
`standardwebhooks` library (SECURITY.md 36)."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from common.errors import ValidationError
from tests.webhooks.verify import verify
from webhooks.signing import secret_key, sign

BODY = b'{"event":{"action":"update","scope":"repo.content"}}'
WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def _headers(secret: str, *, timestamp: int | None = None, body: bytes = BODY) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": "msg_abc",
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret=secret, message_id="msg_abc", timestamp=ts, body=body),
    }


@pytest.mark.parametrize("secret", [WHSEC, "a plain secret", "ünïcode-sécret"])
def test_independent_verifier_accepts_our_signature(secret: str) -> None:
    assert verify(secret=secret, headers=_headers(secret), body=BODY)


def test_standardwebhooks_library_accepts_our_whsec_signature() -> None:
    payload = StandardWebhook(WHSEC).verify(BODY, _headers(WHSEC))
    assert payload == {"event": {"action": "update", "scope": "repo.content"}}


def test_standardwebhooks_library_accepts_a_plain_secret_given_as_its_bytes() -> None:
    StandardWebhook(b"a plain secret").verify(BODY, _headers("a plain secret"))


def test_a_body_changed_by_one_byte_fails() -> None:
    headers = _headers(WHSEC)
    tampered = BODY.replace(b"update", b"updatf")
    assert not verify(secret=WHSEC, headers=headers, body=tampered)
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(WHSEC).verify(tampered, headers)


def test_a_timestamp_ten_minutes_old_fails() -> None:
    headers = _headers(WHSEC, timestamp=int(time.time()) - 600)
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(WHSEC).verify(BODY, headers)


def test_whsec_secret_is_used_as_its_decoded_bytes() -> None:
    assert secret_key(WHSEC) == b"0123456789abcdef0123456789abcdef"
    assert secret_key("whsec_c2VjcmV0") == b"secret"  # unpadded base64 is accepted
    assert secret_key("not-prefixed") == b"not-prefixed"


@pytest.mark.parametrize("bad", ["whsec_!!!notbase64", "whsec_"])
def test_a_whsec_secret_that_does_not_decode_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        secret_key(bad)
