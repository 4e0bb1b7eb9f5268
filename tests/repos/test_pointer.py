"""LFS pointers are parsed strictly: anything else is a plain blob (SECURITY 23)."""

from __future__ import annotations

import pytest

from repos.lfs.pointer import MAX_POINTER_SIZE, Pointer, parse_pointer

OID = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393"
V1 = "version https://git-lfs.github.com/spec/v1\n"


def test_a_valid_pointer_parses_and_round_trips() -> None:
    data = f"{V1}oid sha256:{OID}\nsize 12345\n".encode()
    pointer = parse_pointer(data)
    assert pointer == Pointer(oid=OID, size=12345)
    assert pointer.encode() == data


def test_extension_keys_and_the_old_version_name_are_accepted() -> None:
    ext = f"{V1}ext-0-foo sha256:{'0' * 64}\noid sha256:{OID}\nsize 0\n"
    assert parse_pointer(ext.encode()) == Pointer(oid=OID, size=0)
    hawser = f"version https://hawser.github.com/spec/v1\noid sha256:{OID}\nsize 1\n"
    assert parse_pointer(hawser.encode()) == Pointer(oid=OID, size=1)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n",
        f"{V1}oid sha256:{OID}\nsize 1",  # no final newline
        f"{V1}oid sha256:{OID}\n",  # no size
        f"{V1}size 1\n",  # no oid
        f"oid sha256:{OID}\nsize 1\n",  # no version
        f"oid sha256:{OID}\n{V1}size 1\n",  # version not first
        f"version https://evil.example/spec/v1\noid sha256:{OID}\nsize 1\n",
        f"{V1}size 1\noid sha256:{OID}\n",  # keys out of order
        f"{V1}oid sha256:{OID}\nsize 1\nzzz 1\n",  # unknown extra key
        f"{V1}foo bar\noid sha256:{OID}\nsize 1\n",  # unknown extra key, sorted first
        f"{V1}oid sha256:{OID}\noid sha256:{OID}\nsize 1\n",  # duplicate key
        f"{V1}oid sha1:{'a' * 40}\nsize 1\n",  # not sha256
        f"{V1}oid {OID}\nsize 1\n",  # no algorithm
        f"{V1}oid sha256:{OID.upper()}\nsize 1\n",  # uppercase hex
        f"{V1}oid sha256:{OID[:-1]}\nsize 1\n",  # 63 characters
        f"{V1}oid sha256:{OID}0\nsize 1\n",  # 65 characters
        f"{V1}oid sha256:../../etc/passwd\nsize 1\n",
        f"{V1}oid sha256:{OID}\nsize abc\n",
        f"{V1}oid sha256:{OID}\nsize -1\n",
        f"{V1}oid sha256:{OID}\nsize 012\n",  # leading zero
        f"{V1}oid sha256:{OID}\nsize 1.5\n",
        f"{V1}oid sha256:{OID}\nsize {2**63}\n",  # beyond any real object
        f"{V1}oid sha256:{OID}\nsize  1\n",  # double space
        f"{V1}oid sha256:{OID}\nsize \n",
        f"{V1}oid sha256:{OID}\nsize \u0661\n",  # a non-ASCII digit
        f"{V1}oid sha256:{OID}\r\nsize 1\r\n",  # CRLF
        f"{V1}oid sha256:{OID}\n\nsize 1\n",  # blank line
        f"{V1}Oid sha256:{OID}\nsize 1\n",  # key case
        f"{V1}oid sha256:{OID}\nsize 1\n" + "ext-9-z " + "x" * MAX_POINTER_SIZE + "\n",
    ],
)
def test_malformed_pointers_are_plain_blobs(text: str) -> None:
    assert parse_pointer(text.encode()) is None


def test_oversized_and_binary_data_are_plain_blobs() -> None:
    valid = f"{V1}oid sha256:{OID}\nsize 1\n".encode()
    assert parse_pointer(valid + b"\x00" * 2000) is None
    assert parse_pointer(b"\xff\xfe" + valid) is None
    assert parse_pointer(valid.replace(b"size", b"s\xc3ze")) is None
    assert parse_pointer(b"x" * (MAX_POINTER_SIZE + 1)) is None


def test_the_largest_plausible_size_still_parses() -> None:
    size = 10**18 - 1
    assert parse_pointer(f"{V1}oid sha256:{OID}\nsize {size}\n".encode()) == Pointer(OID, size)
