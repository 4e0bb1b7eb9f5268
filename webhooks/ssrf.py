"""Which webhook targets the hub may connect to (SECURITY.md 5 and 28-29).

`ipaddress` flags alone are not a guard: `::ffff:127.0.0.1` is not `is_loopback`, and the
NAT64 and 6to4 forms of private addresses are `is_global`. So a target is resolved first,
every address is unwrapped to the IPv4 address it stands for, and then it must be global and
outside an explicit deny list. The caller connects to an address that passed, never to the
name again (DNS may answer differently the second time).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from common.errors import ValidationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> addresses as text; socket.getaddrinfo by default, a stub in tests.
Resolver = Callable[[str, int], list[str]]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215 local-use translation

# Refused even with HUB_WEBHOOK_ALLOW_LOCAL: nothing on-premises lives here, cloud metadata does.
_ALWAYS_DENIED = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this host": connecting to 0.0.0.0 reaches loopback on Linux
        "169.254.0.0/16",  # link-local, incl. 169.254.169.254 metadata
        "100.64.0.0/10",  # CGNAT (incl. Alibaba's 100.100.100.200 metadata)
        "168.63.129.16/32",  # Azure wireserver/metadata; is_global is True
        "192.0.0.0/24",  # IETF protocol assignments (Oracle metadata 192.0.0.192)
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, incl. broadcast
        "::/128",
        "fe80::/10",  # IPv6 link-local
        "fd00:ec2::/32",  # AWS IPv6 metadata, inside fc00::/7
        "ff00::/8",  # IPv6 multicast
    )
]
# What HUB_WEBHOOK_ALLOW_LOCAL opens: loopback and the private ranges, nothing more.
_LOCAL = [
    ipaddress.ip_network(n)
    for n in (
        "127.0.0.0/8",
        "::1/128",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
    )
]
_SCHEMES = {"http": 80, "https": 443}


class UnsafeTargetError(ValidationError):
    """The URL or an address it resolves to may not be called (422 at the API)."""


class ResolutionError(ValidationError):
    """The host name did not resolve (at delivery: transient, worth a retry)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (Host header and TLS server name)
    port: int
    path: str  # path and query, never empty


def parse_url(url: str) -> Target:
    """Split a webhook URL; UnsafeTargetError for other schemes, credentials or no host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeTargetError(f"Invalid webhook URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise UnsafeTargetError("Webhook URLs must use http or https.")
    if not parts.hostname:
        raise UnsafeTargetError("Webhook URL has no host.")
    if parts.username is not None or parts.password is not None:
        # Credentials would end up in logs and delivery records; use the secret instead.
        raise UnsafeTargetError("Webhook URLs may not contain credentials.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=scheme, host=parts.hostname, port=port or _SCHEMES[scheme], path=path)


def unwrap(ip: IPAddress) -> list[IPAddress]:
    """The address plus every IPv4 address it embeds (mapped, NAT64, 6to4, Teredo)."""
    out: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            out.append(ip.ipv4_mapped)
        if ip in _NAT64:
            out.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.sixtofour is not None:
            out.append(ip.sixtofour)
        if ip.teredo is not None:
            out.extend(ip.teredo)  # (server, client), the client already de-obfuscated
    return out


def address_refusal(ip: IPAddress, *, allow_local: bool) -> str | None:
    """Why `ip` may not be called, or None when it may."""
    ip_text = str(ip)
    forms = unwrap(ip)
    for candidate in forms:
        if any(candidate in net for net in _ALWAYS_DENIED if candidate.version == net.version):
            return f"{ip_text} is a link-local, metadata or reserved address"
        if candidate.version == 6 and candidate in _NAT64_LOCAL:
            return f"{ip_text} is a local-use NAT64 address"
    # A wrapped address reaches the IPv4 address inside it: judge that one.
    for candidate in forms[1:] or forms:
        if allow_local and any(
            candidate in net for net in _LOCAL if candidate.version == net.version
        ):
            continue
        if not candidate.is_global:
            return f"{ip_text} is a loopback, private or non-public address"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_checked(
    target: Target, *, allow_local: bool, resolver: Resolver | None = None
) -> list[str]:
    """Addresses of `target.host`, all checked; refuses if any one is unsafe.

    Refusing when one of several addresses is unsafe (rather than picking a safe one) keeps a
    name that mixes a public and a private address from being an SSRF lever.
    """
    resolve = resolver or system_resolver
    try:
        addresses = resolve(target.host, target.port)
    except (OSError, UnicodeError) as exc:
        raise ResolutionError(f"Cannot resolve {target.host}: {exc}") from None
    if not addresses:
        raise ResolutionError(f"Cannot resolve {target.host}: no addresses")
    for text in addresses:
        try:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            raise UnsafeTargetError(f"{target.host} resolved to an invalid address") from None
        reason = address_refusal(ip, allow_local=allow_local)
        if reason:
            raise UnsafeTargetError(f"Webhook target refused: {reason}.")
    return addresses


def url_check(url: str, *, allow_local: bool, resolver: Resolver | None = None) -> Target:
    """Validate a URL at creation: scheme, host, and every address it resolves to now."""
    target = parse_url(url)
    resolve_checked(target, allow_local=allow_local, resolver=resolver)
    return target
