"""The SSRF address table (SECURITY.md 5, 28, 29) at URL level and address level."""

from __future__ import annotations

import ipaddress

import pytest

from webhooks.ssrf import ResolutionError, UnsafeTargetError, address_refusal, url_check

# Resolved by the system resolver: numeric forms and localhost need no DNS.
ALWAYS_REFUSED_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://100.64.0.1/",
    "http://0.0.0.0/",
    "http://168.63.129.16/",
    "http://[fe80::1]/",
    "http://224.0.0.1/",
]
LOCAL_URLS = [
    "http://127.0.0.1:6379",
    "http://localhost/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://[fc00::1]/",
    "http://10.1.2.3/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
]
BAD_SCHEMES = ["file:///etc/passwd", "gopher://127.0.0.1:6379/_x", "ftp://example.com/", "x"]


@pytest.mark.parametrize("url", ALWAYS_REFUSED_URLS + LOCAL_URLS + BAD_SCHEMES)
def test_refused_by_default(url: str) -> None:
    with pytest.raises(UnsafeTargetError):
        url_check(url, allow_local=False)


@pytest.mark.parametrize("url", ALWAYS_REFUSED_URLS + BAD_SCHEMES)
def test_still_refused_when_local_targets_are_allowed(url: str) -> None:
    with pytest.raises(UnsafeTargetError):
        url_check(url, allow_local=True)


@pytest.mark.parametrize("url", LOCAL_URLS)
def test_loopback_and_private_pass_when_allowed(url: str) -> None:
    url_check(url, allow_local=True)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::ffff:127.0.0.1",
        "64:ff9b::7f00:1",
        "2002:7f00:1::",
        "2002:a9fe:a9fe::",
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1 (obfuscated)
        "64:ff9b:1::a00:1",
        "::",
        "::1",
        "100.100.100.200",
        "192.0.0.192",
        "fd00:ec2::254",
        "255.255.255.255",
        "198.18.0.1",
    ],
)
def test_embedded_and_special_addresses_are_refused(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), allow_local=False) is not None


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "2002:a9fe:a9fe::",
        "fd00:ec2::254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104
    ],
)
def test_metadata_addresses_are_refused_even_when_local_is_allowed(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), allow_local=True) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1::", "8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), allow_local=False) is None


def test_a_name_is_refused_when_any_of_its_addresses_is_private() -> None:
    def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.5"]

    with pytest.raises(UnsafeTargetError):
        url_check("https://mixed.example/hook", allow_local=False, resolver=resolver)


def test_a_public_name_passes_through_a_stub_resolver() -> None:
    target = url_check(
        "https://hooks.example:8443/in?x=1",
        allow_local=False,
        resolver=lambda host, port: ["93.184.216.34"],
    )
    assert (target.host, target.port, target.path) == ("hooks.example", 8443, "/in?x=1")


def test_a_name_that_does_not_resolve_is_a_resolution_error() -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(ResolutionError):
        url_check("https://nowhere.invalid/", allow_local=False, resolver=resolver)


def test_credentials_in_the_url_are_refused() -> None:
    with pytest.raises(UnsafeTargetError):
        url_check("https://user:pw@93.184.216.34/", allow_local=False)
