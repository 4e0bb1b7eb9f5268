"""The commit API and preupload: how huggingface_hub writes files (hf-api-contract.md 1.6).

huggingface_hub HfApi.create_commit (upload_file, upload_folder, delete_file, delete_folder):
  1. POST /api/{T}/{repo}/preupload/{rev}   -> upload mode, ignore flag and remote oid per file
  2. LFS batch + PUT for the `lfs` files (repos/lfs/api.py, repos/lfs/multipart.py)
  3. POST /api/{T}/{repo}/commit/{rev}      -> NDJSON: a header line, then one line per operation

The NDJSON body is read as a stream, line by line; decoded file contents are spooled to a
temporary file, so memory holds one line at a time however large the commit.
"""

from __future__ import annotations

import base64
import binascii
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_POST

from common.errors import BadRequestError, PayloadTooLargeError
from common.streams import iter_wsgi_input
from orgs.permissions import Action
from repos.api.common import api_repo, hf_errors, kind_from_plural
from repos.commits import (
    AddFile,
    AddLfsFile,
    DeleteFile,
    DeleteFolder,
    Operation,
    PreuploadFile,
    commit_create,
    preupload_plan,
)

MAX_JSON_BODY = 10 * 1024 * 1024
MAX_PREUPLOAD_FILES = 1000  # the client sends 256 per call
_TRUE = ("1", "true", "True")


def read_json_object(request: HttpRequest) -> dict[str, Any]:
    """A small JSON object body (`{}` when empty); BadRequestError otherwise."""
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_JSON_BODY:
        raise PayloadTooLargeError("Request body is too large.")
    raw = b"".join(_body_chunks(request, MAX_JSON_BODY))
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequestError("Request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BadRequestError("Request body must be a JSON object.")
    return body


def _body_chunks(request: HttpRequest, limit: int) -> Iterator[bytes]:
    """The body's chunks (chunked bodies too), refusing (413) more than `limit` bytes."""
    received = 0
    for chunk in iter_wsgi_input(request.environ):
        received += len(chunk)
        if received > limit:
            raise PayloadTooLargeError("Request body is too large.")
        yield chunk


# --- preupload --------------------------------------------------------------------------------


def _preupload_files(body: dict[str, Any]) -> list[PreuploadFile]:
    files = body.get("files")
    if not isinstance(files, list) or len(files) > MAX_PREUPLOAD_FILES:
        raise BadRequestError(f"`files` must be a list of at most {MAX_PREUPLOAD_FILES} entries.")
    out = []
    for f in files:
        if not isinstance(f, dict) or not isinstance(f.get("path"), str):
            raise BadRequestError("Each file needs a `path`.")
        size = f.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BadRequestError(f"Invalid size for {f['path']}.")
        try:
            sample = base64.b64decode(f.get("sample") or "", validate=True)[:512]
        except (binascii.Error, TypeError, ValueError):
            sample = b""
        out.append(PreuploadFile(path=f["path"], size=size, sample=sample))
    return out


@hf_errors
@require_POST
def preupload(
    request: HttpRequest, plural: str, namespace: str, name: str, rev: str
) -> HttpResponse:
    """huggingface_hub _fetch_upload_modes -> POST /api/{T}/{repo}/preupload/{rev}."""
    # Read access here; the service decides (create_pr and refs/pr/N need less than write).
    repo = api_repo(
        request, kind=kind_from_plural(plural), namespace=namespace, name=name, action=Action.READ
    )
    body = read_json_object(request)
    git_ignore = body.get("gitIgnore")
    answers = preupload_plan(
        actor=request.user,
        repo=repo,
        revision=rev,
        files=_preupload_files(body),
        git_ignore=git_ignore if isinstance(git_ignore, str) else None,
        create_pr=request.GET.get("create_pr") in _TRUE,
    )
    # `uploadMode` and `shouldIgnore` are required for every file (_validate_preupload_info).
    return JsonResponse(
        {
            "files": [
                {
                    "path": a.path,
                    "uploadMode": a.upload_mode,
                    "shouldIgnore": a.should_ignore,
                    "oid": a.oid,
                }
                for a in answers
            ]
        }
    )


# --- commit -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpooledContent:
    """File bytes kept in the request's spool file, read back when the blob is written."""

    spool: BinaryIO
    offset: int
    size: int

    def read(self) -> bytes:
        self.spool.seek(self.offset)
        return self.spool.read(self.size)


@dataclass
class CommitRequest:
    summary: str = ""
    description: str = ""
    parent_commit: str | None = None
    has_header: bool = False


def iter_lines(chunks: Iterator[bytes], *, max_body: int, max_line: int) -> Iterator[bytes]:
    """Split a byte stream into lines, refusing (413) a body or a line over its limit."""
    buffer = bytearray()
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > max_body:
            raise PayloadTooLargeError(f"Commit body over the {max_body} byte limit.")
        buffer += chunk
        start = 0
        while (end := buffer.find(b"\n", start)) >= 0:
            yield bytes(buffer[start:end])
            start = end + 1
        del buffer[:start]
        if len(buffer) > max_line:
            raise PayloadTooLargeError("A commit line is too long: upload large files with LFS.")
    if buffer:
        yield bytes(buffer)


def _str(value: dict[str, Any], key: str, line: int) -> str:
    item = value.get(key)
    if not isinstance(item, str):
        raise BadRequestError(f"Line {line}: `{key}` must be a string.")
    return item


def _decode_content(value: dict[str, Any], line: int) -> bytes:
    content = _str(value, "content", line)
    encoding = value.get("encoding", "utf-8")
    if encoding == "base64":
        try:
            return base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequestError(f"Line {line}: content is not valid base64.") from None
    if encoding in ("utf-8", "utf8", None):
        return content.encode("utf-8", "surrogatepass")
    raise BadRequestError(f"Line {line}: unknown encoding {encoding!r}.")


def parse_commit_body(
    lines: Iterator[bytes], spool: BinaryIO
) -> tuple[CommitRequest, list[Operation]]:
    """The header and operations of an NDJSON commit body; file bytes go to `spool`."""
    header = CommitRequest()
    ops: list[Operation] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise BadRequestError(f"Line {number} is not valid JSON.") from None
        if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
            raise BadRequestError(f'Line {number}: expected {{"key": ..., "value": {{...}}}}.')
        key, value = item.get("key"), item["value"]
        if key == "header":
            header.summary = value.get("summary") if isinstance(value.get("summary"), str) else ""
            description = value.get("description")
            header.description = description if isinstance(description, str) else ""
            parent = value.get("parentCommit")
            header.parent_commit = parent if isinstance(parent, str) and parent else None
            header.has_header = True
        elif key == "file":
            data = _decode_content(value, number)
            spool.seek(0, 2)
            offset = spool.tell()
            spool.write(data)
            ops.append(
                AddFile(_str(value, "path", number), SpooledContent(spool, offset, len(data)))
            )
        elif key == "lfsFile":
            if value.get("algo", "sha256") != "sha256":
                raise BadRequestError(f"Line {number}: only sha256 LFS objects are supported.")
            size = value.get("size")
            if size is not None and (not isinstance(size, int) or isinstance(size, bool)):
                raise BadRequestError(f"Line {number}: `size` must be an integer.")
            # No `size`: a same-repo copy of an existing LFS file (_prepare_commit_payload).
            ops.append(AddLfsFile(_str(value, "path", number), _str(value, "oid", number), size))
        elif key == "deletedFile":
            ops.append(DeleteFile(_str(value, "path", number)))
        elif key == "deletedFolder":
            ops.append(DeleteFolder(_str(value, "path", number)))
        else:
            raise BadRequestError(f"Line {number}: unknown operation {key!r}.")
    if not header.has_header:
        raise BadRequestError("The commit body must start with a header line.")
    return header, ops


@hf_errors
@require_POST
def commit(request: HttpRequest, plural: str, namespace: str, name: str, rev: str) -> HttpResponse:
    """huggingface_hub _send_commit -> POST /api/{T}/{repo}/commit/{rev} (application/x-ndjson).

    The client sends the whole body with a Content-Length; it is read from the WSGI input as a
    stream (never request.body, which DATA_UPLOAD_MAX_MEMORY_SIZE would cap and buffer).
    """
    repo = api_repo(
        request, kind=kind_from_plural(plural), namespace=namespace, name=name, action=Action.READ
    )
    max_body = settings.COMMIT_MAX_BODY_BYTES
    if int(request.META.get("CONTENT_LENGTH") or 0) > max_body:
        raise PayloadTooLargeError(f"Commit body over the {max_body} byte limit.")
    # A base64 line of the largest file git may hold, plus the JSON around it.
    max_line = settings.MAX_GIT_BLOB_BYTES * 4 // 3 + 64 * 1024
    spool_dir = settings.DATA_DIR / "tmp"
    spool_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=spool_dir, prefix="commit-") as spool:
        lines = iter_lines(
            iter_wsgi_input(request.environ, chunk=1024 * 1024),
            max_body=max_body,
            max_line=max_line,
        )
        header, operations = parse_commit_body(lines, spool)
        result = commit_create(
            actor=request.user,
            repo=repo,
            revision=rev,
            operations=operations,
            summary=header.summary,
            description=header.description,
            parent_commit=header.parent_commit,
            create_pr=request.GET.get("create_pr") in _TRUE,
        )
    answer = {
        "success": True,
        "commitOid": result.oid,
        "commitUrl": result.url,
        "commitMessage": result.message,
    }
    if result.pr_url is not None:  # read by the client only with create_pr (.*/discussions/N)
        answer["pullRequestUrl"] = result.pr_url
    return JsonResponse(answer)
