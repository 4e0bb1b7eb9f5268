"""SAML 2.0 Web SSO, service-provider initiated, with pysaml2 (signatures checked by the
xmlsec1 binary).

- `saml_begin` builds an AuthnRequest (HTTP-Redirect binding) for the IdP in the stored
  metadata; its ID is the `SSOAuthRequest.state` and travels as RelayState.
- The IdP POSTs the Response to the ACS. That POST is cross-site, so the browser sends no
  (SameSite=Lax) session cookie: the ACS verifies the Response (assertion signature
  required, audience, destination, conditions with a 60 s clock skew, InResponseTo equal
  to the one outstanding request named by RelayState, which is claimed once) and keeps
  the verified claims on that request row, then redirects to `finish`, a same-site GET
  that carries the session: only the session that started the request may finish it
  (no login CSRF), and only once.
- Unsolicited (IdP-initiated) responses are refused.
"""

from __future__ import annotations

import logging
import secrets
import shutil
from typing import Any

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string

from common.errors import ValidationError
from sso.models import SSOProvider
from sso.services import SignInClaims, SSOSignInError

log = logging.getLogger(__name__)
CLOCK_SKEW_SECONDS = 60
MAX_ATTRIBUTE_VALUES = 500


def xmlsec_binary() -> str:
    path = shutil.which("xmlsec1")
    if path is None:
        raise SSOSignInError("SAML needs the xmlsec1 program on the server (apt: xmlsec1).")
    return path


def _config(*, entity_id: str, acs_url: str, metadata_xml: str | None) -> SPConfig:
    conf: dict[str, Any] = {
        "entityid": entity_id,
        "xmlsec_binary": xmlsec_binary(),
        "accepted_time_diff": CLOCK_SKEW_SECONDS,
        "allow_unknown_attributes": True,
        "service": {
            "sp": {
                "endpoints": {"assertion_consumer_service": [(acs_url, BINDING_HTTP_POST)]},
                "allow_unsolicited": False,
                "authn_requests_signed": False,
                "want_assertions_signed": True,
                "want_response_signed": False,
                "only_use_keys_in_metadata": True,
            }
        },
    }
    if metadata_xml:
        conf["metadata"] = {"inline": [metadata_xml]}
    config = SPConfig()
    config.load(conf)
    return config


def sp_entity_id(provider: SSOProvider, default: str) -> str:
    return provider.saml_sp_entity_id or default


def client_for(provider: SSOProvider, *, entity_id: str, acs_url: str) -> Saml2Client:
    try:
        return Saml2Client(
            config=_config(
                entity_id=entity_id, acs_url=acs_url, metadata_xml=provider.saml_idp_metadata_xml
            )
        )
    except Exception as exc:  # pysaml2 raises many types for bad metadata
        raise SSOSignInError(
            f"The IdP metadata cannot be used ({exc.__class__.__name__})."
        ) from None


def idp_entity_id_of(metadata_xml: str) -> str:
    """The single IdP entity the metadata describes; ValidationError otherwise."""
    try:
        config = _config(
            entity_id="urn:hubforge:check", acs_url="https://check/acs", metadata_xml=metadata_xml
        )
        ids = list(Saml2Client(config=config).metadata.identity_providers())
    except SSOSignInError as exc:
        raise ValidationError(exc.message) from None
    except Exception as exc:  # malformed XML, wrong schema, ...
        raise ValidationError(
            f"The IdP metadata is not valid SAML metadata ({exc.__class__.__name__})."
        ) from None
    if len(ids) != 1:
        raise ValidationError(
            "The metadata must describe exactly one identity provider (IDPSSODescriptor)."
        )
    return str(ids[0])


def begin(client: Saml2Client, provider: SSOProvider) -> tuple[str, str]:
    """(AuthnRequest ID, the IdP URL to redirect to, with RelayState = the ID)."""
    message_id = "id-" + secrets.token_hex(20)  # an NCName; it comes back as InResponseTo
    try:
        request_id, info = client.prepare_for_authenticate(
            entityid=provider.saml_idp_entity_id,
            binding=BINDING_HTTP_REDIRECT,
            relay_state=message_id,
            message_id=message_id,
        )
    except Exception as exc:
        raise SSOSignInError(f"Cannot build the SAML request ({exc.__class__.__name__}).") from None
    location = dict(info["headers"])["Location"]
    return str(request_id), location


def parse_response(client: Saml2Client, saml_response: str, *, request_id: str) -> Any:
    """The verified AuthnResponse, or SSOSignInError with the reason."""
    try:
        response = client.parse_authn_request_response(
            saml_response, BINDING_HTTP_POST, outstanding={request_id: "/"}
        )
    except Exception as exc:  # signature, audience, time, InResponseTo, XML: all refusals
        log.info("SAML response refused: %s: %s", exc.__class__.__name__, exc)
        raise SSOSignInError(
            f"The SAML response was refused ({exc.__class__.__name__}: {str(exc)[:160]})."
        ) from None
    if response is None:
        raise SSOSignInError("The SAML response was refused (empty).")
    if response.in_response_to != request_id:
        raise SSOSignInError("The SAML response answers another request (InResponseTo).")
    if not response.assertion or not getattr(response.assertion, "signature", None):
        raise SSOSignInError("The SAML assertion is not signed.")
    return response


def _values(ava: dict[str, list[Any]], name: str) -> list[str]:
    if not name:
        return []
    for key, values in ava.items():
        if key.lower() == name.lower():
            return [str(v) for v in values if isinstance(v, str | int)][:MAX_ATTRIBUTE_VALUES]
    return []


def claims_of(provider: SSOProvider, response: Any) -> SignInClaims:
    ava = response.get_identity() or {}
    name_id = response.name_id
    subject = (name_id.text or "").strip() if name_id is not None else ""
    email = next(iter(_values(ava, provider.saml_attr_email)), "")
    username = next(iter(_values(ava, provider.saml_attr_username)), "")
    fullname = next(iter(_values(ava, "displayName") or _values(ava, "name")), "")
    return SignInClaims(
        subject=subject,
        email=email.strip(),
        email_verified=False,  # SAML has no standard claim: only `trust_email` vouches
        username=username.strip(),
        fullname=fullname.strip(),
        groups=tuple(_values(ava, provider.saml_attr_groups)),
    )


def sp_metadata(provider: SSOProvider | None, *, entity_id: str, acs_url: str) -> str:
    config = _config(entity_id=entity_id, acs_url=acs_url, metadata_xml=None)
    return str(create_metadata_string(None, config=config, valid=24 * 7, sign=False).decode())
