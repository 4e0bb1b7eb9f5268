"""`/{repo}/resolve/{rev}/{path}`: file bytes with the metadata headers huggingface_hub reads.

Contract (hf-api-contract.md 1.7, 0.7): `X-Repo-Commit`, `ETag` (git blob sha1, or the
sha256 for LFS files, also as `X-Linked-Etag`), `X-Linked-Size`, exact `Content-Length`,
Range/206/416, error codes on HEAD through headers only. Bytes are served with 200
directly (or a cross-origin redirect to a presigned URL for S3), never with Xet headers.
"""

from __future__ import annotations

import io
import mimetypes
import re
from urllib.parse import quote

from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.views.decorators.http import require_http_methods

from common.errors import EntryNotFoundError, GatedRepoError, HubError
from common.http import error_response
from common.streams import iter_file
from orgs.permissions import can_download
from repos.api.info import resolve_commit
from repos.downloads import download_record, root_config_probe
from repos.files import FileEntry, file_entry
from repos.git.store import git_store
from repos.lfs.store import Oid, object_store
from repos.models import Repo
from repos.revisions import raw_tail, split_revision
from repos.selectors import repo_get

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# Types a browser would run or render as active content: always served as plain text.
_ACTIVE = (
    "text/html",
    "image/svg+xml",
    "application/xhtml+xml",
    "text/xml",
    "application/xml",
    "application/javascript",
    "text/javascript",
)
_LINK_TTL = 3600


def _content_type(path: str) -> str:
    guessed, _ = mimetypes.guess_type(path)
    if guessed is None or guessed.startswith(_ACTIVE):
        return "text/plain; charset=utf-8" if guessed else "application/octet-stream"
    return guessed


def _disposition(path: str, download: bool) -> str:
    name = path.rsplit("/", 1)[-1]
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_")
    kind = "attachment" if download else "inline"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


def _parse_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """(start, end inclusive) for a single satisfiable range; None: whole file; False: 416."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match:
        return None  # multiple or malformed ranges: answer with the whole file
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        length = int(last)
        if length == 0:
            return False
        return max(0, size - length), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        return False
    return start, min(end, size - 1)


def gated_error(repo: Repo, *, anonymous: bool) -> GatedRepoError:
    """The error huggingface_hub turns into GatedRepoError (contract 0.6, 1.7)."""
    kind = "model" if repo.kind == "model" else "dataset"
    return GatedRepoError(
        f"Access to {kind} {repo.full_name} is restricted and you are not in the authorized "
        f"list. Visit {repo.html_url} to ask for access.",
        status=401 if anonymous else 403,
    )


def _metadata(response: HttpResponse, *, commit: str, entry: FileEntry) -> None:
    response["X-Repo-Commit"] = commit
    if entry.lfs is not None:
        response["ETag"] = f'"{entry.lfs.oid}"'
        response["X-Linked-Etag"] = f'"{entry.lfs.oid}"'
        response["X-Linked-Size"] = str(entry.lfs.size)
    else:
        response["ETag"] = f'"{entry.oid}"'
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    # User content on our origin: never let it run as a page.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"


@require_http_methods(["GET", "HEAD"])
def resolve(request: HttpRequest, kind: str, namespace: str, name: str, tail: str) -> HttpResponse:
    head = request.method == "HEAD"
    commit = ""
    try:
        repo = repo_get(user=request.user, kind=kind, namespace=namespace, name=name)
        if not can_download(request.user, repo):
            raise gated_error(repo, anonymous=not request.user.is_authenticated)
        revision, path = split_revision(repo, decoded_tail=tail, raw=raw_tail(request, "resolve"))
        commit = resolve_commit(repo, revision)
        entry = file_entry(repo, commit=commit, path=path)
        if entry is None or entry.type != "file":
            raise EntryNotFoundError(f'{path} does not exist on "{revision}"')
        response = _serve(request, repo, commit, entry, head=head)
        if response.status_code < 300:
            download_record(
                repo=repo,
                path=path,
                method=request.method or "GET",
                request_headers=request.headers,
                has_root_config=root_config_probe(repo, commit),
            )
        return response
    except HubError as exc:
        response = error_response(exc, head=head)
        if commit and isinstance(exc, EntryNotFoundError):
            # The client caches the miss under .no_exist/<commit>/<path> (contract 1.7).
            response["X-Repo-Commit"] = commit
        return response


def _serve(
    request: HttpRequest, repo: Repo, commit: str, entry: FileEntry, *, head: bool
) -> HttpResponse:
    size = entry.real_size
    download = request.GET.get("download", "").lower() in ("1", "true")
    content_type = _content_type(entry.path)
    wanted = _parse_range(request.META.get("HTTP_RANGE"), size)
    if wanted is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        _metadata(response, commit=commit, entry=entry)
        return response

    if entry.lfs is not None:
        store = object_store()
        oid = Oid.parse(entry.lfs.oid)
        url = store.download_url(oid, filename=entry.path.rsplit("/", 1)[-1], ttl=_LINK_TTL)
        if url is not None:
            # A different origin: the client reads metadata from this 302 (contract 0.7).
            response = HttpResponseRedirect(url)
            _metadata(response, commit=commit, entry=entry)
            return response
        if store.size(oid) is None:
            raise EntryNotFoundError(f"{entry.path}: the LFS object is missing from storage.")
        opener = lambda start: store.open(oid, start=start)  # noqa: E731
    else:
        # Read only when a body is sent: a HEAD (one per file of a snapshot_download) needs
        # nothing the tree listing did not already give.
        def blob() -> bytes:
            return git_store().read_blob(repo.storage_key, entry.oid)

        opener = lambda start: io.BytesIO(blob()[start:])  # noqa: E731

    if head:
        response = HttpResponse(status=200 if wanted is None else 206, content_type=content_type)
    elif wanted is None and entry.lfs is None:
        # A git blob is at most HUB_MAX_GIT_BLOB_BYTES and read whole anyway: one write.
        response = HttpResponse(blob(), content_type=content_type)
    elif wanted is None:
        path = object_store().local_path(Oid(entry.lfs.oid))
        if path is not None:  # gunicorn sends it with sendfile(): no copy through Python
            response = FileResponse(path.open("rb"), content_type=content_type)
        else:
            response = StreamingHttpResponse(iter_file(opener(0)), content_type=content_type)
    else:
        start, end = wanted
        response = StreamingHttpResponse(
            iter_file(opener(start), limit=end - start + 1), status=206, content_type=content_type
        )
    if wanted is None:
        response["Content-Length"] = str(size)
    else:
        start, end = wanted
        response["Content-Length"] = str(end - start + 1)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Disposition"] = _disposition(entry.path, download)
    _metadata(response, commit=commit, entry=entry)
    return response
