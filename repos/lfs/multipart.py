"""LFS multipart upload, as huggingface_hub speaks it (lfs.py `_upload_multi_part`).

The batch answer's upload action carries `header: {"chunk_size": "<n>", "1": url1, ..., "N": urlN}`
and `href` = the completion URL (hf-api-contract.md 1.6 "Upload — multipart"). The client PUTs
each slice to its URL with no credentials, keeps each response's `etag` header, then POSTs
`{"oid", "parts": [{"partNumber", "etag"}]}` to the completion URL, again with no credentials.
So every URL carries its own signature, like the basic transfer's hrefs.

Parts land in DATA_DIR/tmp/lfs-multipart/<session>/; completion streams them, in order, through
the object store's verifying `put` (sha256 and size), links the object to the repo and removes
the session. A failed completion removes it too; abandoned sessions are swept after their
links expire (SECURITY.md 44).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, JsonResponse

from common.errors import (
    AuthenticationError,
    BadRequestError,
    IntegrityMismatchError,
    NotFoundError,
    PayloadTooLargeError,
    ValidationError,
)
from common.streams import iter_wsgi_input
from repos.api.common import hf_errors
from repos.lfs.store import CHUNK, Oid, object_store
from repos.models import Repo, public_base_url
from repos.quotas import lfs_require
from repos.services import lfs_link

_SALT = "hubforge.lfs.multipart"
_SESSION_RE = re.compile(r"^[0-9a-f]{32}\Z")
MAX_PARTS = 10_000  # as S3: the chunk size grows for larger objects
MAX_COMPLETION_BODY = 4 * 1024 * 1024
_last_sweep = 0.0


def wants_multipart(body: object, *, size: int) -> bool:
    """True when the batch request offers the `multipart` transfer and the object is big enough.

    huggingface_hub sends `transfers: ["basic", "multipart"]`; git-lfs never offers it, so
    git keeps the basic transfer.
    """
    transfers = body.get("transfers") if isinstance(body, dict) else None
    return (
        isinstance(transfers, list)
        and "multipart" in transfers
        and size > settings.LFS_MULTIPART_THRESHOLD
    )


def chunk_size_for(size: int) -> int:
    return max(settings.LFS_MULTIPART_CHUNK_SIZE, math.ceil(size / MAX_PARTS), 1)


def _root() -> Path:
    return Path(settings.DATA_DIR) / "tmp" / "lfs-multipart"


def _session_dir(grant: dict[str, Any]) -> Path:
    session = str(grant.get("session", ""))
    if not _SESSION_RE.match(session):
        raise AuthenticationError("Invalid multipart link.")
    return _root() / session


def upload_action(*, repo: Repo, oid: str, size: int, ttl: int, expires_at: str) -> dict[str, Any]:
    """The batch `actions.upload` for a multipart upload of `oid` into `repo`."""
    _sweep_now_and_then()
    chunk = chunk_size_for(size)
    grant = {"repo": repo.pk, "oid": oid, "size": size, "chunk": chunk, "session": uuid.uuid4().hex}
    part_token = signing.dumps({**grant, "op": "part"}, salt=_SALT, compress=True)
    done_token = signing.dumps({**grant, "op": "complete"}, salt=_SALT, compress=True)
    base = f"{public_base_url()}/api/lfs/multipart/{oid}"
    header: dict[str, str] = {"chunk_size": str(chunk)}
    for number in range(1, math.ceil(size / chunk) + 1):
        header[str(number)] = f"{base}/{number}?t={part_token}"
    return {
        "href": f"{base}?t={done_token}",
        "header": header,
        "expires_in": ttl,
        "expires_at": expires_at,
    }


def _grant(request: HttpRequest, oid: str, op: str) -> dict[str, Any]:
    try:
        grant = signing.loads(
            request.GET.get("t", ""), salt=_SALT, max_age=settings.LFS_HREF_TTL_SECONDS
        )
    except signing.SignatureExpired:
        raise AuthenticationError("This upload link has expired; start the upload again.") from None
    except signing.BadSignature:
        raise AuthenticationError("Invalid upload link signature.") from None
    if not isinstance(grant, dict) or grant.get("op") != op or grant.get("oid") != oid:
        raise AuthenticationError("This upload link is for another object or step.")
    Oid.parse(oid)
    return grant


def _part_count(grant: dict[str, Any]) -> int:
    return math.ceil(int(grant["size"]) / int(grant["chunk"]))


@hf_errors
def part_put(request: HttpRequest, oid: str, part: int) -> HttpResponse:
    """PUT one slice; answers its `etag` (sha256 of the slice), which completion checks."""
    if request.method != "PUT":
        raise BadRequestError("Use PUT to upload a part.")
    grant = _grant(request, oid, "part")
    count = _part_count(grant)
    if not 1 <= part <= count:
        raise NotFoundError(f"Part {part} is out of range (1..{count}).")
    size, chunk = int(grant["size"]), int(grant["chunk"])
    expected = chunk if part < count else size - chunk * (count - 1)
    declared = request.META.get("CONTENT_LENGTH")
    if declared and int(declared) != expected:
        raise ValidationError(f"Part {part} must be {expected} bytes, not {declared}.")
    session = _session_dir(grant)
    session.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    received = 0
    fd, tmp = tempfile.mkstemp(dir=session, prefix=f"{part}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as sink:
            for data in iter_wsgi_input(request.environ, chunk=CHUNK):
                received += len(data)
                if received > expected:
                    raise PayloadTooLargeError(f"Part {part} is larger than {expected} bytes.")
                digest.update(data)
                sink.write(data)
        if received != expected:
            raise IntegrityMismatchError(f"Part {part}: received {received} of {expected} bytes.")
        etag = digest.hexdigest()
        os.replace(tmp, session / f"{part}.part")
        (session / f"{part}.etag").write_text(etag)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    response = HttpResponse(status=200)
    response["ETag"] = f'"{etag}"'
    return response


def _parts_in_order(session: Path, parts: object, count: int) -> list[Path]:
    if not isinstance(parts, list) or len(parts) != count:
        raise BadRequestError(f"Expected {count} parts in the completion request.")
    files = []
    for expected_number, item in enumerate(
        sorted(parts, key=lambda p: p.get("partNumber", 0) if isinstance(p, dict) else 0), start=1
    ):
        if not isinstance(item, dict) or item.get("partNumber") != expected_number:
            raise BadRequestError(f"Part {expected_number} is missing from the completion request.")
        etag_file = session / f"{expected_number}.etag"
        if not etag_file.exists():
            raise BadRequestError(f"Part {expected_number} was not uploaded.")
        if str(item.get("etag", "")).strip('"') != etag_file.read_text():
            raise BadRequestError(f"Part {expected_number}: etag does not match the uploaded part.")
        files.append(session / f"{expected_number}.part")
    return files


def _concatenate(files: list[Path]) -> Iterator[bytes]:
    for path in files:
        with path.open("rb") as f:
            while data := f.read(CHUNK):
                yield data


@hf_errors
def complete(request: HttpRequest, oid: str) -> HttpResponse:
    """POST the completion: verify and store the object, link it to the repo; removes the parts."""
    if request.method != "POST":
        raise BadRequestError("Use POST to complete a multipart upload.")
    grant = _grant(request, oid, "complete")
    session = _session_dir(grant)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > MAX_COMPLETION_BODY:
            raise PayloadTooLargeError("Completion body is too large.")
        try:
            body = json.loads(b"".join(iter_wsgi_input(request.environ)) or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise BadRequestError("Completion body is not valid JSON.") from None
        if not isinstance(body, dict) or body.get("oid") != oid:
            raise BadRequestError("The completion names another object.")
        repo = Repo.objects.filter(pk=grant["repo"]).first()
        if repo is None:
            raise NotFoundError("Repository not found.")
        files = _parts_in_order(session, body.get("parts"), _part_count(grant))
        size = int(grant["size"])
        lfs_require(repo=repo, oid=oid, size=size)
        store = object_store()
        if store.size(Oid(oid)) == size:
            store.verify(Oid(oid), size, _concatenate(files))  # here already: prove, keep
        else:
            store.put(Oid(oid), size, _concatenate(files))
        lfs_link(repo=repo, oid=oid, size=size)
    finally:
        shutil.rmtree(session, ignore_errors=True)
    return JsonResponse({"message": "ok"})


def multipart_sweep(*, max_age: float) -> int:
    """Remove upload sessions untouched for `max_age` seconds; returns how many."""
    root = _root()
    if not root.exists():
        return 0
    cutoff = time.time() - max_age
    removed = 0
    for session in root.iterdir():
        try:
            if session.stat().st_mtime < cutoff:
                shutil.rmtree(session, ignore_errors=True)
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def _sweep_now_and_then() -> None:
    global _last_sweep
    now = time.monotonic()
    if now - _last_sweep > 60:
        _last_sweep = now
        multipart_sweep(max_age=2 * settings.LFS_HREF_TTL_SECONDS)
