"""S3ObjectStore against a live S3-compatible server (moto's, on loopback)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pytest
import requests

from common.errors import IntegrityMismatchError
from repos.lfs.store import Oid, S3ObjectStore
from tests.e2e.conftest import free_port


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def store(s3_endpoint: str) -> S3ObjectStore:
    s = S3ObjectStore(
        endpoint=s3_endpoint,
        bucket=f"lfs-{os.urandom(4).hex()}",
        access_key="test",
        secret_key="test",
        region="us-east-1",
    )
    s.client.create_bucket(Bucket=s.bucket)
    return s


def _chunks(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_put_verifies_and_serves_ranges(store: S3ObjectStore) -> None:
    data = os.urandom(12_345)
    oid = Oid(hashlib.sha256(data).hexdigest())
    store.put(oid, len(data), _chunks(data))
    assert store.exists(oid)
    assert store.size(oid) == len(data)
    assert store.open(oid).read() == data
    assert store.open(oid, start=100).read() == data[100:]
    url = store.download_url(oid, filename="w.bin", ttl=60)
    assert url is not None
    got = requests.get(url, timeout=10)
    assert got.status_code == 200
    assert got.content == data


def test_mismatched_bytes_leave_nothing(store: S3ObjectStore) -> None:
    data = os.urandom(5000)
    oid = Oid(hashlib.sha256(b"something else").hexdigest())
    with pytest.raises(IntegrityMismatchError):
        store.put(oid, len(data), _chunks(data))
    assert not store.exists(oid)
    keys = store.client.list_objects_v2(Bucket=store.bucket).get("Contents", [])
    assert keys == []  # the temporary upload key is gone too


def test_wrong_length_refused(store: S3ObjectStore) -> None:
    data = os.urandom(3000)
    oid = Oid(hashlib.sha256(data).hexdigest())
    with pytest.raises(IntegrityMismatchError):
        store.put(oid, len(data) + 1, _chunks(data))
    assert not store.exists(oid)
    store.delete(oid)  # deleting what is not there is fine
