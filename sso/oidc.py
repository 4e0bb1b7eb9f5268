"""OpenID Connect: authorization code flow with PKCE (S256), state and nonce, the ID token
verified against the provider's JWKS (RS256/ES256/PS256; joserfc, Authlib's JOSE
library), issuer, audience, expiry and issue time checked with a small clock-skew leeway.

The flow: `oidc_begin` stores a single-use `SSOAuthRequest` (state, nonce, code verifier)
and answers the IdP's authorization URL; the IdP sends the browser back to
`<base_path>/callback?code&state`; `oidc_finish` claims the request (once), exchanges the
code at the token endpoint with the client secret and the verifier, verifies the ID token
and returns its claims.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from sso.fetch import IdPUnreachableError, fetch_json, post_form
from sso.models import SSOProvider
from sso.sealing import secret_open
from sso.services import SignInClaims, SSOSignInError

CLOCK_SKEW_SECONDS = 60  # leeway on exp/iat/nbf
MAX_ID_TOKEN_AGE_SECONDS = 600  # an ID token issued longer ago than this is refused
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]


def discovery(provider: SSOProvider) -> dict[str, Any]:
    """The provider's metadata (`.well-known/openid-configuration` under the issuer, or
    the issuer field itself when it names the discovery document)."""
    url = provider.oidc_issuer.rstrip("/")
    if not url.endswith("/.well-known/openid-configuration"):
        url += "/.well-known/openid-configuration"
    doc = fetch_json(url)
    for key in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise IdPUnreachableError(f"The provider's discovery document has no {key}.")
    return doc


def authorization_url(
    provider: SSOProvider, *, redirect_uri: str, state: str, nonce: str, verifier: str
) -> str:
    doc = discovery(provider)
    query = {
        "response_type": "code",
        "client_id": provider.oidc_client_id,
        "redirect_uri": redirect_uri,
        "scope": provider.oidc_scopes or "openid",
        "state": state,
        "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    separator = "&" if "?" in doc["authorization_endpoint"] else "?"
    return doc["authorization_endpoint"] + separator + urlencode(query)


def new_secrets() -> tuple[str, str, str]:
    """(state, nonce, PKCE code verifier): 48 random URL-safe characters each."""
    return generate_token(48), generate_token(48), generate_token(64)


def exchange_code(
    provider: SSOProvider, *, code: str, redirect_uri: str, verifier: str, nonce: str
) -> dict[str, Any]:
    """Trade the code for tokens and return the verified ID token's claims."""
    doc = discovery(provider)
    status, body = post_form(
        doc["token_endpoint"],
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        auth=(provider.oidc_client_id, secret_open(provider.oidc_client_secret_enc)),
    )
    if status != 200:
        error = body.get("error_description") or body.get("error") or f"HTTP {status}"
        raise SSOSignInError(f"The identity provider refused the code: {str(error)[:200]}")
    id_token = body.get("id_token")
    if not isinstance(id_token, str):
        raise SSOSignInError("The identity provider answered no ID token.")
    return verify_id_token(
        provider, id_token, issuer=doc["issuer"], jwks_uri=doc["jwks_uri"], nonce=nonce
    )


def verify_id_token(
    provider: SSOProvider, id_token: str, *, issuer: str, jwks_uri: str, nonce: str
) -> dict[str, Any]:
    keys = KeySet.import_key_set(fetch_json(jwks_uri))  # type: ignore[arg-type]
    try:
        token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
    except (JoseError, ValueError) as exc:
        raise SSOSignInError(
            f"The ID token's signature is not valid ({exc.__class__.__name__})."
        ) from None
    claims = token.claims
    now = int(time.time())
    registry = jwt.JWTClaimsRegistry(
        now=now,
        leeway=CLOCK_SKEW_SECONDS,
        iss={"essential": True, "value": issuer},
        sub={"essential": True},
        aud={"essential": True, "value": provider.oidc_client_id},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise SSOSignInError(f"The ID token was refused: {exc.description or exc.error}.") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != provider.oidc_client_id:
        raise SSOSignInError("The ID token was issued to another client (azp).")
    iat = claims.get("iat")
    if (
        not isinstance(iat, int)
        or iat > now + CLOCK_SKEW_SECONDS
        or iat < now - MAX_ID_TOKEN_AGE_SECONDS
    ):
        raise SSOSignInError("The ID token's issue time is out of range.")
    return claims


def claims_of(provider: SSOProvider, claims: dict[str, Any]) -> SignInClaims:
    raw_groups = claims.get(provider.oidc_groups_claim) if provider.oidc_groups_claim else None
    if isinstance(raw_groups, str):
        groups: tuple[str, ...] = (raw_groups,)
    elif isinstance(raw_groups, list):
        groups = tuple(str(g) for g in raw_groups if isinstance(g, str | int))[:500]
    else:
        groups = ()

    def text(key: str) -> str:
        value = claims.get(key)
        return value.strip() if isinstance(value, str) else ""

    return SignInClaims(
        subject=str(claims["sub"]),
        email=text("email"),
        email_verified=claims.get("email_verified") is True,
        username=text("preferred_username") or text("nickname"),
        fullname=text("name"),
        groups=groups,
    )
