"""A SAML 2.0 identity provider for tests: pysaml2's own IdP (`saml2.server.Server`) with
a freshly made RSA key and self-signed certificate. It reads the hub's AuthnRequest
(HTTP-Redirect binding) and answers a signed Response for whoever the test names, to be
POSTed to the hub's ACS as a browser would."""

from __future__ import annotations

import base64
import datetime
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import BINDING_HTTP_REDIRECT
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server

IDP_ENTITY_ID = "https://idp.saml.test/metadata"
SSO_URL = "https://idp.saml.test/sso"


def make_key_pair(folder: Path, name: str) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = folder / f"{name}.key", folder / f"{name}.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def _conf(key: Path, cert: Path, sp_metadata: str | None) -> IdPConfig:
    conf: dict[str, Any] = {
        "entityid": IDP_ENTITY_ID,
        "xmlsec_binary": shutil.which("xmlsec1"),
        "key_file": str(key),
        "cert_file": str(cert),
        "service": {
            "idp": {
                "endpoints": {"single_sign_on_service": [(SSO_URL, BINDING_HTTP_REDIRECT)]},
                "policy": {"default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None}},
                "name_id_format": [NAMEID_FORMAT_PERSISTENT],
            }
        },
    }
    if sp_metadata:
        conf["metadata"] = {"inline": [sp_metadata]}
    config = IdPConfig()
    config.load(conf)
    return config


@dataclass
class SAMLProvider:
    folder: Path

    def __post_init__(self) -> None:
        self.key, self.cert = make_key_pair(self.folder, "idp")
        self.evil_key, self.evil_cert = make_key_pair(self.folder, "evil")
        self.metadata_xml = create_metadata_string(
            None, config=_conf(self.key, self.cert, None), sign=False
        ).decode()

    def answer(
        self,
        authorize_url: str,
        sp_metadata: str,
        *,
        subject: str,
        attributes: dict[str, list[str]],
        sign_with_evil_key: bool = False,
        sign_assertion: bool = True,
        in_response_to: str | None = None,
    ) -> dict[str, str]:
        """The form a browser would POST to the ACS: SAMLResponse and RelayState."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        key, cert = (self.evil_key, self.evil_cert) if sign_with_evil_key else (self.key, self.cert)
        server = Server(config=_conf(key, cert, sp_metadata))
        request = server.parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT).message
        response = server.create_authn_response(
            identity=attributes,
            in_response_to=in_response_to or request.id,
            destination=request.assertion_consumer_service_url,
            sp_entity_id=request.issuer.text,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=subject),
            authn={"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"},
            sign_assertion=sign_assertion,
            sign_response=False,
        )
        return {
            "SAMLResponse": base64.b64encode(str(response).encode()).decode(),
            "RelayState": query.get("RelayState", ""),
            "acs": request.assertion_consumer_service_url,
        }
