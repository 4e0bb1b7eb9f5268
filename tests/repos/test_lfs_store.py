"""The local LFS object store: verified, atomic writes; oids validated before any path is built."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from common.errors import IntegrityMismatchError, ValidationError
from repos.lfs.store import LocalObjectStore, Oid

DATA = b"model weights " * 1000
OID = Oid(hashlib.sha256(DATA).hexdigest())


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "lfs")


def _files(store: LocalObjectStore) -> list[Path]:
    return sorted(p for p in store.root.rglob("*") if p.is_file()) if store.root.exists() else []


def _chunks(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_put_stores_verified_bytes(store: LocalObjectStore) -> None:
    assert not store.exists(OID)
    assert store.size(OID) is None
    store.put(OID, len(DATA), _chunks(DATA))
    assert store.exists(OID)
    assert store.size(OID) == len(DATA)
    with store.open(OID) as f:
        assert f.read() == DATA
    with store.open(OID, start=5) as f:
        assert f.read() == DATA[5:]
    assert store.local_path(OID) == store.root / OID[:2] / OID[2:4] / OID
    assert _files(store) == [store.local_path(OID)]  # no temp file left behind


@pytest.mark.parametrize(
    ("body", "size"),
    [
        (b"x" + DATA[1:], len(DATA)),  # wrong bytes, right length
        (DATA[:-1], len(DATA)),  # too short
        (DATA + b"x", len(DATA)),  # too long
        (DATA, len(DATA) - 1),  # announced size too small
        (DATA, len(DATA) + 1),  # announced size too large
        (b"", len(DATA)),
    ],
)
def test_put_refuses_bytes_that_do_not_match(
    store: LocalObjectStore, body: bytes, size: int
) -> None:
    with pytest.raises(IntegrityMismatchError):
        store.put(OID, size, _chunks(body))
    assert not store.exists(OID)
    assert _files(store) == []


def test_put_removes_the_temp_file_when_the_stream_fails(store: LocalObjectStore) -> None:
    seen_temp: list[Path] = []

    def broken() -> Iterator[bytes]:
        yield DATA[:500]
        seen_temp.extend(_files(store))
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        store.put(OID, len(DATA), broken())
    assert len(seen_temp) == 1
    assert seen_temp[0].parent == store.root / "tmp"
    assert _files(store) == []


def test_put_is_atomic(store: LocalObjectStore) -> None:
    """While bytes stream in, the object is not visible; it appears whole at the end."""
    visible_midway: list[bool] = []

    def body() -> Iterator[bytes]:
        for chunk in _chunks(DATA):
            visible_midway.append(store.exists(OID))
            yield chunk

    store.put(OID, len(DATA), body())
    assert visible_midway
    assert not any(visible_midway)
    assert store.size(OID) == len(DATA)


def test_failed_rewrite_keeps_the_good_object(store: LocalObjectStore) -> None:
    store.put(OID, len(DATA), _chunks(DATA))
    with pytest.raises(IntegrityMismatchError):
        store.put(OID, len(DATA), _chunks(b"y" * len(DATA)))
    with store.open(OID) as f:
        assert f.read() == DATA


def test_verify_hashes_without_storing(store: LocalObjectStore) -> None:
    store.verify(OID, len(DATA), _chunks(DATA))
    with pytest.raises(IntegrityMismatchError):
        store.verify(OID, len(DATA), _chunks(DATA[:-1] + b"?"))
    assert _files(store) == []


def test_delete(store: LocalObjectStore) -> None:
    store.put(OID, len(DATA), _chunks(DATA))
    store.delete(OID)
    assert not store.exists(OID)
    store.delete(OID)  # idempotent


@pytest.mark.parametrize(
    "value",
    [
        "../../etc/passwd",
        "../" + "a" * 61,
        "a" * 63,
        "a" * 65,
        "A" * 64,
        OID.upper(),
        "sha256:" + OID,
        OID[:-1] + "g",
        OID + "\n",
        " " + OID[1:],
        "",
        None,
        64,
        b"a" * 64,
    ],
)
def test_oid_parse_rejects_anything_but_64_lowercase_hex(
    store: LocalObjectStore, value: object
) -> None:
    with pytest.raises(ValidationError):
        Oid.parse(value)
    # The store never builds a path from an unchecked value either.
    with pytest.raises(ValidationError):
        store.size(value)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        store.put(value, 0, iter([]))  # type: ignore[arg-type]


def test_oid_parse_accepts_a_sha256() -> None:
    assert Oid.parse(OID) == OID
    assert isinstance(Oid.parse(str(OID)), Oid)
