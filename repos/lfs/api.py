"""Git LFS over HTTP: the batch API, basic transfer (signed PUT/GET hrefs), verify, locks.

Served at `<repo>.git/info/lfs/...` for git-lfs (Basic auth) and huggingface_hub (Bearer).
huggingface_hub PUTs to the upload href with no credentials and without the action's
headers (hf-api-contract.md 1.6), so every href carries its own short-lived signature.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from common.errors import (
    AuthenticationError,
    BadRequestError,
    HubError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ValidationError,
)
from common.streams import iter_file, iter_wsgi_input, prefetch
from orgs.permissions import Action, can, can_discuss
from repos.access_requests import require_download
from repos.lfs import multipart
from repos.lfs.store import Oid, object_store
from repos.models import LfsLink, LfsLock, Repo, public_base_url
from repos.quotas import lfs_batch_refusal, lfs_require
from repos.selectors import repo_get
from repos.services import lfs_link, lfs_linked_oids

logger = logging.getLogger(__name__)

LFS_JSON = "application/vnd.git-lfs+json"
MAX_BATCH_BODY = 10 * 1024 * 1024
MAX_BATCH_OBJECTS = 10_000
MAX_OBJECT_SIZE = 2**50  # 1 PiB: anything larger is a malformed request
_SALT = "hubforge.lfs"


def _lfs_error(status: int, message: str, *, auth: bool = False) -> JsonResponse:
    response = JsonResponse({"message": message}, status=status, content_type=LFS_JSON)
    response["X-Error-Message"] = message
    if auth:
        response["LFS-Authenticate"] = 'Basic realm="hubforge"'
        response["WWW-Authenticate"] = 'Basic realm="hubforge"'
    return response


def _hub_error(exc: HubError) -> JsonResponse:
    response = _lfs_error(exc.status, exc.message, auth=exc.status == 401)
    if exc.code:
        response["X-Error-Code"] = exc.code
    return response


def _read_json(request: HttpRequest) -> Any:
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > MAX_BATCH_BODY:
        raise PayloadTooLargeError("Batch request body is too large.")
    if length:
        raw = request.body
    else:  # chunked: read no more than the limit allows, never the whole body
        parts, received = [], 0
        for chunk in iter_wsgi_input(request.environ):
            received += len(chunk)
            if received > MAX_BATCH_BODY:
                raise PayloadTooLargeError("Batch request body is too large.")
            parts.append(chunk)
        raw = b"".join(parts)
    if len(raw) > MAX_BATCH_BODY:
        raise PayloadTooLargeError("Batch request body is too large.")
    try:
        return json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise BadRequestError("Request body is not valid JSON.") from None


def _sign(payload: dict[str, Any]) -> str:
    return signing.dumps(payload, salt=_SALT, compress=True)


def _unsign(token: str) -> dict[str, Any]:
    try:
        data = signing.loads(token, salt=_SALT, max_age=settings.LFS_HREF_TTL_SECONDS)
    except signing.SignatureExpired:
        raise AuthenticationError("This transfer link has expired; ask for a new one.") from None
    except signing.BadSignature:
        raise AuthenticationError("Invalid transfer link signature.") from None
    if not isinstance(data, dict):
        raise AuthenticationError("Invalid transfer link.")
    return data


def _object_url(op: str, repo: Repo, oid: str, size: int) -> str:
    token = _sign({"op": op, "repo": repo.pk, "oid": oid, "size": size})
    return f"{public_base_url()}/api/lfs/objects/{oid}?t={token}"


def _verify_url(repo: Repo, oid: str, size: int) -> str:
    token = _sign({"op": "verify", "repo": repo.pk, "oid": oid, "size": size})
    return f"{public_base_url()}/api/lfs/verify?t={token}"


def _parse_objects(body: Any) -> tuple[str, list[dict[str, Any]]]:
    if not isinstance(body, dict):
        raise ValidationError("The batch request must be a JSON object.")
    operation = body.get("operation")
    if operation not in ("upload", "download"):
        raise ValidationError("operation must be 'upload' or 'download'.")
    objects = body.get("objects")
    if not isinstance(objects, list):
        raise ValidationError("objects must be a list.")
    if len(objects) > MAX_BATCH_OBJECTS:
        raise PayloadTooLargeError(f"At most {MAX_BATCH_OBJECTS} objects per batch request.")
    algo = body.get("hash_algo", "sha256")
    if algo != "sha256":
        raise ValidationError("Only the sha256 hash algorithm is supported.")
    return operation, objects


def _object_error(obj: Any) -> tuple[str, int, dict[str, Any] | None]:
    """Normalize one batch object; (oid, size, error-or-None)."""
    oid = obj.get("oid") if isinstance(obj, dict) else None
    size = obj.get("size") if isinstance(obj, dict) else None
    oid_out = oid if isinstance(oid, str) else ""
    size_out = size if isinstance(size, int) and not isinstance(size, bool) else 0
    try:
        Oid.parse(oid)
    except ValidationError:
        return oid_out[:100], size_out, {"code": 422, "message": "Invalid object id."}
    if not isinstance(size, int) or isinstance(size, bool) or size < 0 or size > MAX_OBJECT_SIZE:
        return oid_out, size_out, {"code": 422, "message": "Invalid object size."}
    return oid_out, size_out, None


def _pr_upload(
    request: HttpRequest, body: dict[str, Any], kind: str, namespace: str, name: str
) -> Repo:
    """The repo, for an upload a non-writer may make: for a new pull request (huggingface_hub
    sends no `ref` with create_pr, lfs.py) or onto a `refs/pr/N`, by someone who may open PRs
    here; PermissionDeniedError otherwise. The commit using the objects is judged again by
    commit_create."""
    ref = body.get("ref")
    name_ = ref.get("name") if isinstance(ref, dict) else None
    repo = repo_get(user=request.user, kind=kind, namespace=namespace, name=name)
    for_pr = name_ is None or (isinstance(name_, str) and name_.startswith("refs/pr/"))
    if not for_pr or not can_discuss(request.user, repo):
        raise PermissionDeniedError(f"You don't have the rights to write {repo.full_name}.")
    return repo


@csrf_exempt
def batch(request: HttpRequest, kind: str, namespace: str, name: str) -> HttpResponse:
    """POST <repo>.git/info/lfs/objects/batch (git-lfs docs/api/batch.md)."""
    if request.method != "POST":
        return _lfs_error(405, "Use POST for the batch API.")
    accept = request.META.get("HTTP_ACCEPT", "")
    if accept and not any(t in accept for t in ("git-lfs+json", "application/json", "*/*")):
        return _lfs_error(406, f"Accept must be {LFS_JSON}.")
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type and not content_type.endswith("json"):
        # A form or text/plain POST is what a cross-site page can send with a session cookie.
        return _lfs_error(415, f"Content-Type must be {LFS_JSON}.")
    try:
        body = _read_json(request)
        operation, objects = _parse_objects(body)
        action = Action.WRITE if operation == "upload" else Action.READ
        if action is Action.WRITE and not request.user.is_authenticated:
            raise AuthenticationError("Authentication required to upload.")
        try:
            repo = repo_get(
                user=request.user, kind=kind, namespace=namespace, name=name, action=action
            )
        except PermissionDeniedError:
            # huggingface_hub create_pr: readers upload LFS files for their pull request
            repo = _pr_upload(request, body, kind, namespace, name)
        if operation == "download":
            require_download(request.user, repo)  # gated repos: accepted requests only
    except HubError as exc:
        return _hub_error(exc)

    parsed = [_object_error(o) for o in objects]
    valid_oids = [oid for oid, _size, err in parsed if err is None]
    linked = lfs_linked_oids(repo=repo, oids=valid_oids)
    store = object_store()
    refused: set[str] = set()
    if operation == "upload":  # objects new to the namespace must fit its quota, together
        refusal = lfs_batch_refusal(
            repo=repo,
            objects={oid: size for oid, size, err in parsed if err is None and oid not in linked},
        )
        refused, refusal_message = refusal or (set(), "")
    ttl = settings.LFS_HREF_TTL_SECONDS
    expires_at = (timezone.now() + timezone.timedelta(seconds=ttl)).strftime("%Y-%m-%dT%H:%M:%SZ")
    out = []
    for oid, size, err in parsed:
        entry: dict[str, Any] = {"oid": oid, "size": size}
        if err is not None:
            entry["error"] = err
        elif operation == "download":
            stored = store.size(Oid(oid)) if oid in linked else None
            if stored is None:
                entry["error"] = {"code": 404, "message": "Object does not exist."}
            else:
                entry["size"] = stored
                entry["authenticated"] = True
                href = store.download_url(Oid(oid), filename=oid, ttl=ttl) or _object_url(
                    "download", repo, oid, stored
                )
                entry["actions"] = {
                    "download": {"href": href, "header": {}, "expires_in": ttl,
                                 "expires_at": expires_at}
                }
        elif oid in linked and store.size(Oid(oid)) == size:
            entry["authenticated"] = True  # already here: no actions means "skip upload"
        elif oid in refused:
            # git-lfs prints the message per object; huggingface_hub raises it in a ValueError
            # (its preupload call already answers 507 for what it declares, see commits.py).
            entry["error"] = {"code": 507, "message": refusal_message}
        else:
            # Even when another repo holds the bytes, the client must upload them again:
            # re-upload is the proof of possession (SECURITY.md 6).
            entry["authenticated"] = True
            entry["actions"] = {
                "upload": {"href": _object_url("upload", repo, oid, size), "header": {},
                           "expires_in": ttl, "expires_at": expires_at},
                "verify": {"href": _verify_url(repo, oid, size), "header": {},
                           "expires_in": ttl, "expires_at": expires_at},
            }
            if multipart.wants_multipart(body, size=size):  # huggingface_hub, big objects
                entry["actions"]["upload"] = multipart.upload_action(
                    repo=repo, oid=oid, size=size, ttl=ttl, expires_at=expires_at
                )
        out.append(entry)
    response = JsonResponse({"transfer": "basic", "objects": out, "hash_algo": "sha256"},
                            content_type=LFS_JSON)
    return response


@csrf_exempt
def object_transfer(request: HttpRequest, oid: str) -> HttpResponse:
    """PUT (upload) or GET (download) one object through a signed href."""
    try:
        grant = _unsign(request.GET.get("t", ""))
        if grant.get("oid") != oid:
            raise AuthenticationError("This transfer link is for another object.")
        Oid.parse(oid)
        repo = Repo.objects.filter(pk=grant.get("repo")).first()
        if repo is None:
            raise NotFoundError("Repository not found.")
        if request.method == "PUT" and grant.get("op") == "upload":
            return _upload(request, repo, Oid(oid), int(grant["size"]))
        if request.method in ("GET", "HEAD") and grant.get("op") == "download":
            return _download(request, repo, Oid(oid))
        raise AuthenticationError("This transfer link does not allow that method.")
    except HubError as exc:
        return _hub_error(exc)


def _upload(request: HttpRequest, repo: Repo, oid: Oid, size: int) -> HttpResponse:
    declared = request.META.get("CONTENT_LENGTH")
    if declared and int(declared) != size:
        raise ValidationError(f"Content-Length {declared} differs from the object size {size}.")
    lfs_require(repo=repo, oid=oid, size=size)  # links may be used long after the batch
    store = object_store()
    body = prefetch(iter_wsgi_input(request.environ, chunk=1024 * 1024))
    if store.size(oid) == size:
        store.verify(oid, size, body)  # the bytes are here already: check, do not rewrite
    else:
        store.put(oid, size, body)
    lfs_link(repo=repo, oid=oid, size=size)
    return HttpResponse(status=200)


def _download(request: HttpRequest, repo: Repo, oid: Oid) -> HttpResponse:
    if not LfsLink.objects.filter(repo=repo, lfs_object_id=oid).exists():
        raise NotFoundError("Object does not exist.")
    store = object_store()
    path = store.local_path(oid)
    if path is not None:
        response: HttpResponse = FileResponse(
            path.open("rb"), content_type="application/octet-stream"
        )
    else:
        size = store.size(oid)
        if size is None:
            raise NotFoundError("Object does not exist.")
        response = StreamingHttpResponse(iter_file(store.open(oid)),
                                         content_type="application/octet-stream")
        response["Content-Length"] = str(size)
    return response


@csrf_exempt
def verify(request: HttpRequest) -> HttpResponse:
    """POST the verify href: 200 when the repo holds the object with that size."""
    try:
        if request.method != "POST":
            raise BadRequestError("Use POST to verify.")
        grant = _unsign(request.GET.get("t", ""))
        if grant.get("op") != "verify":
            raise AuthenticationError("Invalid verify link.")
        body = _read_json(request)
        oid = Oid.parse(body.get("oid") if isinstance(body, dict) else None)
        size = body.get("size")
        if oid != grant.get("oid"):
            raise ValidationError("The verified oid differs from the uploaded one.")
        link = LfsLink.objects.select_related("lfs_object").filter(
            repo_id=grant.get("repo"), lfs_object_id=oid
        ).first()
        if link is None:
            raise NotFoundError("Object not found: upload it first.")
        if size != link.lfs_object.size:
            raise ValidationError(
                f"Size mismatch: stored {link.lfs_object.size}, announced {size}."
            )
    except HubError as exc:
        return _hub_error(exc)
    return JsonResponse({"message": "ok"}, content_type=LFS_JSON)


# --- locks (git-lfs docs/api/locking.md) -----------------------------------------------------


def _lock_json(lock: LfsLock) -> dict[str, Any]:
    return {
        "id": str(lock.pk),
        "path": lock.path,
        "locked_at": lock.locked_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "owner": {"name": lock.owner.username},
    }


@csrf_exempt
def locks(
    request: HttpRequest, kind: str, namespace: str, name: str, rest: str = ""
) -> HttpResponse:
    """GET/POST locks, POST locks/verify, POST locks/<id>/unlock."""
    try:
        writing = request.method == "POST"
        if writing and not request.user.is_authenticated:
            raise AuthenticationError("Authentication required.")
        repo = repo_get(user=request.user, kind=kind, namespace=namespace, name=name,
                        action=Action.WRITE if writing else Action.READ)
        if rest == "" and request.method == "GET":
            qs = LfsLock.objects.filter(repo=repo).select_related("owner")
            if request.GET.get("path"):
                qs = qs.filter(path=request.GET["path"])
            if request.GET.get("id"):
                qs = qs.filter(pk=request.GET["id"]) if request.GET["id"].isdigit() else qs.none()
            return JsonResponse({"locks": [_lock_json(lk) for lk in qs[:1000]]},
                                content_type=LFS_JSON)
        if not writing:
            raise BadRequestError("Unsupported locks request.")
        body = _read_json(request)
        if not isinstance(body, dict):
            raise ValidationError("Expected a JSON object.")
        if rest == "verify":
            # Locks are advisory here: pushes are not checked against them. 501 is git-lfs's
            # signal for that; it then turns lock verification off for the remote quietly,
            # where a 200 would print a "Consider enabling it" hint (with the remote URL,
            # credentials included) on every push (git-lfs commands/lockverifier.go).
            return _lfs_error(501, "Lock verification is not enforced by this server.")
        if rest == "":
            path = body.get("path")
            if not isinstance(path, str) or not path or len(path) > 1024:
                raise ValidationError("A lock needs a path.")
            existing = LfsLock.objects.filter(repo=repo, path=path).select_related("owner").first()
            if existing is not None:
                return JsonResponse(
                    {"lock": _lock_json(existing), "message": "already created lock"},
                    status=409,
                    content_type=LFS_JSON,
                )
            lock = LfsLock.objects.create(repo=repo, path=path, owner=request.user)
            return JsonResponse({"lock": _lock_json(lock)}, status=201, content_type=LFS_JSON)
        if rest.endswith("/unlock"):
            lock_id = rest[: -len("/unlock")]
            pk = int(lock_id) if lock_id.isdigit() else -1
            lock = LfsLock.objects.filter(repo=repo, pk=pk).select_related("owner").first()
            if lock is None:
                raise NotFoundError("Lock not found.")
            forced = body.get("force") and can(request.user, Action.ADMIN, repo)
            if lock.owner_id != request.user.pk and not forced:
                return _lfs_error(403, "You must own the lock (or force as a repo admin).")
            data = _lock_json(lock)
            lock.delete()
            return JsonResponse({"lock": data}, content_type=LFS_JSON)
        raise NotFoundError("Unknown locks endpoint.")
    except HubError as exc:
        return _hub_error(exc)
