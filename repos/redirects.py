"""Old names of moved repos answer with a relative 307 to the new name, on every door.

One middleware serves the API (`/api/{T}/{ns}/{name}/...`), downloads (`/{ns}/{name}/resolve`,
`/datasets/...`), git smart HTTP and LFS (`/{ns}/{name}.git/...`) and pages alike: when a
view answered "repo not found" (401/404 without a more precise X-Error-Code) for a path that
names a repo, and that name is a redirect (`RepoRedirect`) to a repo the caller may read, the
answer becomes `307 Location: /{new ns}/{new name}/...`. A private repo the caller cannot read
keeps the original RepoNotFound, so an old name reveals nothing.

Why after the view and not before: a live repo always wins over a redirect of the same name,
and the view already knows whether one exists; only misses pay for the extra lookup.
Relative Locations are what the Hub sends (hf-api-contract 0.7) and what every
huggingface_hub version and git (`http.followRedirects=initial`) follow. 307 keeps the
method and body, so a POST (git-upload-pack, commit) is replayed at the new name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from django.http import HttpRequest, HttpResponse

from orgs.names import RESERVED_NAMESPACES
from repos.models import API_PLURAL, URL_PREFIX, RepoKind
from repos.selectors import repo_renamed_get

_NS = r"(?P<ns>[A-Za-z0-9][A-Za-z0-9_.-]*)"
_NAME = r"(?P<name>[A-Za-z0-9_.-]+?)"
_REST = r"(?P<rest>/.*)?$"
_API = re.compile(rf"^/api/(?P<plural>models|datasets)/{_NS}/{_NAME}{_REST}")
_DATASET = re.compile(rf"^/datasets/{_NS}/{_NAME}(?P<git>\.git)?{_REST}")
_MODEL = re.compile(rf"^/{_NS}/{_NAME}(?P<git>\.git)?{_REST}")
_PLURAL_KIND = {"models": RepoKind.MODEL, "datasets": RepoKind.DATASET}


def match_repo_path(path: str) -> tuple[str, str, str, str, str] | None:
    """(kind, namespace, name, path before `ns/name`, path after it) or None."""
    m = _API.match(path)
    if m:
        kind = _PLURAL_KIND[m["plural"]]
        return kind, m["ns"], m["name"], f"/api/{API_PLURAL[kind]}/", m["rest"] or ""
    m = _DATASET.match(path)
    kind = RepoKind.DATASET
    if m is None:
        m = _MODEL.match(path)
        kind = RepoKind.MODEL
        if m is None or m["ns"].lower() in RESERVED_NAMESPACES:
            return None
    tail = (m["git"] or "") + (m["rest"] or "")
    return kind, m["ns"], m["name"], f"/{URL_PREFIX[kind]}", tail


def _raw_path(request: HttpRequest) -> str:
    """The path as the client sent it (keeps `%2F` in revisions), when the server kept it."""
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    return urlsplit(raw).path if raw else quote(request.path)


def _is_repo_miss(response: HttpResponse) -> bool:
    return response.status_code in (401, 404) and response.get("X-Error-Code") in (
        None,
        "RepoNotFound",
    )


class RenamedRepoRedirectMiddleware:
    """Turn a RepoNotFound for an old repo name into a relative 307 to its new name."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not _is_repo_miss(response):
            return response
        location = renamed_location(request)
        if location is None:
            return response
        redirect = HttpResponse(status=307)
        redirect["Location"] = location
        return redirect


def renamed_location(request: HttpRequest) -> str | None:
    """Where the request's repo now lives, if it was moved and the user may read it."""
    raw = _raw_path(request)
    found = match_repo_path(raw)
    if found is None:
        return None
    kind, namespace, name, before, after = found
    repo = repo_renamed_get(user=request.user, kind=kind, namespace=namespace, name=name)
    if repo is None:
        return None
    query = request.META.get("QUERY_STRING", "")
    return before + repo.full_name + after + (f"?{query}" if query else "")
