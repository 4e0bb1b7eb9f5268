"""Byte counts for people: parse "10GiB" or "500 MB", format 1536 as "1.5 KiB"."""

from __future__ import annotations

import re

from common.errors import ValidationError

# Decimal units as storage vendors write them, binary ones as git's config does (k, m, g).
_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "pb": 1000**5,
    "k": 1024,
    "m": 1024**2,
    "g": 1024**3,
    "t": 1024**4,
    "p": 1024**5,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
    "pib": 1024**5,
}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
MAX_SIZE = 2**62  # fits a signed 64-bit column with room to add


def parse_size(text: str) -> int:
    """`"1073741824"`, `"10GiB"`, `"1.5 GB"`, `"500m"` -> bytes; ValidationError otherwise.

    KB/MB/GB/TB are powers of 1000; KiB/MiB/GiB/TiB and the bare letters k/m/g/t powers of 1024.
    """
    match = _SIZE_RE.match(text or "")
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ValidationError(
            f"Invalid size {text[:40]!r}: write a number of bytes, or one with a unit "
            "such as 500MB or 10GiB."
        )
    value = (
        int(float(match.group(1)) * _UNITS[unit])
        if "." in match.group(1)
        else (int(match.group(1)) * _UNITS[unit])
    )
    if value > MAX_SIZE:
        raise ValidationError(f"Invalid size {text[:40]!r}: too large.")
    return value


def format_bytes(n: int | None) -> str:
    """Binary units with one decimal: 0 B, 512 B, 1.5 KiB, 10.0 GiB."""
    if n is None:
        return "unlimited"
    if abs(n) < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB"):
        value /= 1024
        if abs(value) < 1024 or unit == "PiB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")
