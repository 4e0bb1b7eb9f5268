"""Outbound HTTP to identity providers (OIDC discovery, JWKS, token endpoint; SAML
metadata), with limits: timeouts, a size cap, and an address check.

The URLs are typed by org admins, so the hub must not become a way to reach what only it
can reach (SECURITY.md 5): every address a host resolves to is unwrapped (IPv4-mapped,
NAT64, 6to4) and refused when it is link-local, metadata, multicast or unspecified, and,
unless HUB_SSO_ALLOW_LOCAL is set (an IdP on the same private network), loopback or
private. Plain http is accepted only with HUB_SSO_ALLOW_LOCAL. Redirects are not followed.
Known gap: requests resolves the name again when it connects, so a DNS answer that changes
between the check and the connection (rebinding) is not caught.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings

from common.errors import HubError

MAX_BYTES = 5 * 1024 * 1024
TIMEOUT = (5.0, 10.0)

_ALWAYS_DENIED = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "169.254.0.0/16",
        "100.64.0.0/10",
        "168.63.129.16/32",
        "192.0.0.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "fe80::/10",
        "fd00:ec2::/32",
        "ff00::/8",
    )
]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class IdPUnreachableError(HubError):
    """The identity provider could not be asked, or answered something unusable."""

    status = 502


def _unwrap(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Any:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def check_url(url: str) -> None:
    """IdPUnreachableError unless the hub may call `url` (scheme, then every address)."""
    allow_local = bool(getattr(settings, "SSO_ALLOW_LOCAL", False))
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise IdPUnreachableError(f"Not an http(s) URL: {url[:200]}")
    if parts.scheme == "http" and not allow_local:
        raise IdPUnreachableError("Identity provider URLs must use https.")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise IdPUnreachableError(f"Cannot resolve {parts.hostname}.") from None
    for info in infos:
        address = _unwrap(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        if any(address in net for net in _ALWAYS_DENIED if net.version == address.version):
            raise IdPUnreachableError(f"{parts.hostname} resolves to a refused address.")
        if not address.is_global and not allow_local:
            raise IdPUnreachableError(
                f"{parts.hostname} resolves to a private address (set HUB_SSO_ALLOW_LOCAL "
                "for an identity provider on your own network)."
            )


def _read(response: requests.Response) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_BYTES:
            raise IdPUnreachableError("The identity provider's answer is too large.")
        chunks.append(chunk)
    return b"".join(chunks)


def http_request(method: str, url: str, **kwargs: Any) -> tuple[int, bytes]:
    """(status, body) of one request to an IdP; IdPUnreachableError on network failures."""
    check_url(url)
    try:
        with requests.request(
            method, url, timeout=TIMEOUT, allow_redirects=False, stream=True, **kwargs
        ) as response:
            return response.status_code, _read(response)
    except requests.RequestException as exc:
        raise IdPUnreachableError(f"The identity provider did not answer: {exc}") from None


def fetch_json(url: str) -> dict[str, Any]:
    status, body = http_request("GET", url, headers={"Accept": "application/json"})
    if status != 200:
        raise IdPUnreachableError(f"{url[:200]} answered HTTP {status}.")
    return _json_object(body, url)


def _json_object(body: bytes, url: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        raise IdPUnreachableError(f"{url[:200]} did not answer JSON.") from None
    if not isinstance(data, dict):
        raise IdPUnreachableError(f"{url[:200]} did not answer a JSON object.")
    return data


def post_form(url: str, data: dict[str, str], auth: tuple[str, str]) -> tuple[int, dict[str, Any]]:
    status, body = http_request(
        "POST", url, data=data, auth=auth, headers={"Accept": "application/json"}
    )
    return status, _json_object(body, url)


def fetch_text(url: str) -> str:
    status, body = http_request("GET", url)
    if status != 200:
        raise IdPUnreachableError(f"{url[:200]} answered HTTP {status}.")
    return body.decode("utf-8", "replace")
