"""Content-addressed LFS object storage behind a small interface: local disk or S3-compatible."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import BinaryIO, Protocol

from django.conf import settings

from common.errors import IntegrityMismatchError, ValidationError

_OID_RE = re.compile(r"^[0-9a-f]{64}\Z")
CHUNK = 1024 * 1024


class Oid(str):
    """A sha256 hex digest; the only way an oid becomes part of a path or key."""

    @classmethod
    def parse(cls, value: object) -> Oid:
        if not isinstance(value, str) or not _OID_RE.match(value):
            raise ValidationError("Invalid oid: expected 64 lowercase hexadecimal characters.")
        return cls(value)


class ObjectStore(Protocol):
    def exists(self, oid: Oid) -> bool: ...

    def size(self, oid: Oid) -> int | None: ...

    def open(self, oid: Oid, *, start: int = 0) -> BinaryIO: ...

    def put(self, oid: Oid, size: int, body: Iterator[bytes]) -> None:
        """Stream into place, verifying sha256 and size; atomic; IntegrityMismatchError."""

    def verify(self, oid: Oid, size: int, body: Iterator[bytes]) -> None:
        """Hash a body against an oid without storing it (proof of possession)."""

    def delete(self, oid: Oid) -> None: ...

    def download_url(self, oid: Oid, *, filename: str, ttl: int) -> str | None:
        """A presigned URL, or None when Django must stream the bytes itself."""

    def local_path(self, oid: Oid) -> Path | None:
        """The file on disk holding the object, if the store is local."""


def _hash_into(oid: Oid, size: int, body: Iterator[bytes], sink: BinaryIO | None) -> None:
    digest = hashlib.sha256()
    received = 0
    for chunk in body:
        received += len(chunk)
        if received > size:
            raise IntegrityMismatchError(
                f"Received more than the announced {size} bytes for object {oid}."
            )
        digest.update(chunk)
        if sink is not None:
            sink.write(chunk)
    if received != size:
        raise IntegrityMismatchError(
            f"Size mismatch for object {oid}: announced {size} bytes, received {received}."
        )
    if digest.hexdigest() != oid:
        raise IntegrityMismatchError(f"The uploaded bytes do not hash to {oid}.")


class LocalObjectStore:
    """Objects under `root/ab/cd/<oid>`; uploads land in `root/tmp` and are renamed in place."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, oid: Oid) -> Path:
        oid = Oid.parse(oid)
        return self.root / oid[:2] / oid[2:4] / oid

    def exists(self, oid: Oid) -> bool:
        return self._path(oid).is_file()

    def size(self, oid: Oid) -> int | None:
        try:
            return self._path(oid).stat().st_size
        except FileNotFoundError:
            return None

    def open(self, oid: Oid, *, start: int = 0) -> BinaryIO:
        f = self._path(oid).open("rb")
        if start:
            f.seek(start)
        return f

    def put(self, oid: Oid, size: int, body: Iterator[bytes]) -> None:
        final = self._path(oid)
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        try:
            with os.fdopen(fd, "wb") as sink:
                _hash_into(oid, size, body, sink)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise

    def verify(self, oid: Oid, size: int, body: Iterator[bytes]) -> None:
        _hash_into(Oid.parse(oid), size, body, None)

    def delete(self, oid: Oid) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(oid).unlink()

    def download_url(self, oid: Oid, *, filename: str, ttl: int) -> str | None:
        return None

    def local_path(self, oid: Oid) -> Path | None:
        path = self._path(oid)
        return path if path.is_file() else None


class _IterReader:
    """A file-like reader over an iterator of chunks (for boto3's upload_fileobj)."""

    def __init__(self, it: Iterator[bytes]):
        self._it = it
        self._buf = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            try:
                self._buf += next(self._it)
            except StopIteration:
                break
        if n < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:n], self._buf[n:]
        return out


class S3ObjectStore:
    """Objects as `lfs/<oid>` keys in one bucket. Bytes are hashed on the way in; a mismatch
    deletes the key, so a presigned or proxied PUT can never plant unverified content."""

    def __init__(
        self, *, endpoint: str, bucket: str, access_key: str, secret_key: str, region: str
    ):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint or None,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            region_name=region,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    @staticmethod
    def _key(oid: Oid) -> str:
        return f"lfs/{Oid.parse(oid)}"

    def exists(self, oid: Oid) -> bool:
        return self.size(oid) is not None

    def size(self, oid: Oid) -> int | None:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(oid))
        except ClientError:
            return None
        return int(head["ContentLength"])

    def open(self, oid: Oid, *, start: int = 0) -> BinaryIO:
        kwargs = {"Range": f"bytes={start}-"} if start else {}
        obj = self.client.get_object(Bucket=self.bucket, Key=self._key(oid), **kwargs)
        return obj["Body"]  # type: ignore[no-any-return]

    def put(self, oid: Oid, size: int, body: Iterator[bytes]) -> None:
        digest = hashlib.sha256()
        received = 0

        def hashing() -> Iterator[bytes]:
            nonlocal received
            for chunk in body:
                received += len(chunk)
                if received > size:
                    raise IntegrityMismatchError(f"Received more than {size} bytes for {oid}.")
                digest.update(chunk)
                yield chunk

        tmp_key = f"tmp/{oid}-{os.urandom(8).hex()}"
        self.client.upload_fileobj(_IterReader(hashing()), self.bucket, tmp_key)
        try:
            if received != size or digest.hexdigest() != oid:
                raise IntegrityMismatchError(f"The uploaded bytes do not match {oid}/{size}.")
            self.client.copy_object(
                Bucket=self.bucket,
                Key=self._key(oid),
                CopySource={"Bucket": self.bucket, "Key": tmp_key},
            )
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=tmp_key)

    def verify(self, oid: Oid, size: int, body: Iterator[bytes]) -> None:
        _hash_into(Oid.parse(oid), size, body, None)

    def delete(self, oid: Oid) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(oid))

    def download_url(self, oid: Oid, *, filename: str, ttl: int) -> str | None:
        return str(
            self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self._key(oid),
                    "ResponseContentDisposition": f'attachment; filename="{filename}"',
                },
                ExpiresIn=ttl,
            )
        )

    def local_path(self, oid: Oid) -> Path | None:
        return None


@cache
def _make_store(kind: str, root: str) -> ObjectStore:
    if kind == "s3":
        return S3ObjectStore(
            endpoint=settings.S3_ENDPOINT,
            bucket=settings.S3_BUCKET,
            access_key=settings.S3_ACCESS_KEY,
            secret_key=settings.S3_SECRET_KEY,
            region=settings.S3_REGION,
        )
    return LocalObjectStore(Path(root))


def object_store() -> ObjectStore:
    """The configured store: S3 when HUB_S3_BUCKET is set, else files under DATA_DIR/lfs."""
    kind = "s3" if settings.S3_BUCKET else "local"
    return _make_store(kind, str(settings.LFS_ROOT))
