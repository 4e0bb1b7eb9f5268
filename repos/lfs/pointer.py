"""Git LFS pointer files (git-lfs docs/spec.md): parsed strictly, anything else is a plain blob."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_POINTER_SIZE = 1024
_VERSIONS = {
    "https://git-lfs.github.com/spec/v1",
    "https://hawser.github.com/spec/v1",  # pre-release name, still accepted by git-lfs
}
_KEY_RE = re.compile(r"^[a-z0-9.-]+\Z")
_OID_RE = re.compile(r"^sha256:([0-9a-f]{64})\Z")
_SIZE_RE = re.compile(r"^(?:0|[1-9][0-9]{0,17})\Z")


@dataclass(frozen=True)
class Pointer:
    oid: str
    size: int

    def encode(self) -> bytes:
        return (
            "version https://git-lfs.github.com/spec/v1\n"
            f"oid sha256:{self.oid}\nsize {self.size}\n"
        ).encode()


def parse_pointer(data: bytes) -> Pointer | None:
    """The pointer in `data`, or None when it is not exactly a valid pointer file."""
    if not data or len(data) > MAX_POINTER_SIZE or not data.endswith(b"\n"):
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        return None
    fields: dict[str, str] = {}
    keys = []
    for line in lines:
        key, sep, value = line.partition(" ")
        if not sep or not _KEY_RE.match(key) or key in fields:
            return None
        fields[key] = value
        keys.append(key)
    if keys[0] != "version" or fields["version"] not in _VERSIONS:
        return None
    # After `version`, keys are sorted (spec); extension keys `ext-N-name` are allowed.
    rest = keys[1:]
    if rest != sorted(rest) or (
        set(rest) - {"oid", "size"}
        and not all(k in ("oid", "size") or k.startswith("ext-") for k in rest)
    ):
        return None
    oid_match = _OID_RE.match(fields.get("oid", ""))
    size = fields.get("size", "")
    # ASCII digits only (str.isdigit() also takes "١" and "²"), no leading zero.  # noqa: RUF003
    if not oid_match or not _SIZE_RE.match(size):
        return None
    return Pointer(oid=oid_match.group(1), size=int(size))
