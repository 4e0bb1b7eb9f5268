"""A small OpenID Connect provider for tests, served over real HTTP on loopback.

It speaks what the hub uses: discovery, an authorization endpoint that signs in whoever
the test names (`idp.user`) and redirects back with a code, a token endpoint that checks
the client secret, the redirect URI and the PKCE verifier and issues an RS256 ID token,
and a JWKS endpoint. `idp.tamper` makes it misbehave on purpose (bad signature, wrong
audience, expired token, wrong nonce, wrong issuer) so the hub's checks can be seen to
refuse.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "hubforge-test"
CLIENT_SECRET = "s3cret-for-the-test-client"


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class OIDCProvider:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"}, private=True)
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
        self.user: dict[str, Any] = {}
        self.tamper: str | None = None
        self.codes: dict[str, dict[str, Any]] = {}
        self.redirect_uris: set[str] = set()
        self.token_requests = 0
        self.server: WSGIServer | None = None
        self.url = ""

    # --- HTTP ---------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if path == "/.well-known/openid-configuration":
            return self._json(start_response, 200, self.discovery())
        if path == "/jwks":
            return self._json(start_response, 200, KeySet([self.key]).as_dict(private=False))
        if path == "/authorize":
            return self._authorize(start_response, query)
        if path == "/token" and environ["REQUEST_METHOD"] == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            form = {k: v[0] for k, v in parse_qs(environ["wsgi.input"].read(size).decode()).items()}
            return self._token(start_response, form, environ.get("HTTP_AUTHORIZATION", ""))
        return self._json(start_response, 404, {"error": "not_found"})

    @staticmethod
    def _json(start_response: Any, status: int, body: dict[str, Any]) -> list[bytes]:
        data = json.dumps(body).encode()
        start_response(f"{status} X", [("Content-Type", "application/json")])
        return [data]

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def _authorize(self, start_response: Any, q: dict[str, str]) -> list[bytes]:
        if (
            q.get("client_id") != CLIENT_ID
            or q.get("response_type") != "code"
            or q.get("redirect_uri") not in self.redirect_uris
            or q.get("code_challenge_method") != "S256"
            or not q.get("code_challenge")
            or "openid" not in q.get("scope", "").split()
        ):
            return self._json(start_response, 400, {"error": "invalid_request", "got": q})
        code = secrets.token_urlsafe(24)
        self.codes[code] = {
            "redirect_uri": q["redirect_uri"],
            "challenge": q["code_challenge"],
            "nonce": q.get("nonce"),
            "user": dict(self.user),
        }
        location = q["redirect_uri"] + "?" + urlencode({"code": code, "state": q.get("state", "")})
        start_response("302 Found", [("Location", location)])
        return [b""]

    def _token(self, start_response: Any, form: dict[str, str], authorization: str) -> list[bytes]:
        self.token_requests += 1
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if authorization != expected:
            return self._json(start_response, 401, {"error": "invalid_client"})
        grant = self.codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None or form.get("grant_type") != "authorization_code":
            return self._json(start_response, 400, {"error": "invalid_grant"})
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return self._json(start_response, 400, {"error": "invalid_grant"})
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
            return self._json(start_response, 400, {"error": "invalid_grant", "pkce": "mismatch"})
        return self._json(
            start_response,
            200,
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "id_token": self.id_token(grant["user"], grant["nonce"]),
            },
        )

    def id_token(self, user: dict[str, Any], nonce: str | None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            **user,
        }
        key = self.key
        if self.tamper == "bad_signature":
            key = self.other_key
        elif self.tamper == "wrong_audience":
            claims["aud"] = "someone-else"
        elif self.tamper == "expired":
            claims["iat"], claims["exp"] = now - 900, now - 600
        elif self.tamper == "wrong_nonce":
            claims["nonce"] = "not-the-nonce"
        elif self.tamper == "wrong_issuer":
            claims["iss"] = "https://evil.example"
        return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        self.server = make_server("127.0.0.1", 0, self, handler_class=_QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@contextmanager
def running_provider() -> Iterator[OIDCProvider]:
    idp = OIDCProvider()
    idp.start()
    try:
        yield idp
    finally:
        idp.stop()
