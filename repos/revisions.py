"""Split `{rev}/{path}` URL tails where the revision itself may contain `/`.

Clients percent-encode revisions with `safe=""` (`refs%2Fpr%2F1`), but WSGI decodes `%2F`
in PATH_INFO, so `/resolve/{rev}/{path}` is ambiguous once decoded (hf-api-contract.md 0.1).
We read the raw request URI when the server gives it (gunicorn: RAW_URI), and otherwise
fall back to the client's own rule: `refs/pr/N`, `refs/convert/X`, then the longest
existing branch or tag name.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from django.http import HttpRequest

from repos.git.store import git_store
from repos.models import Repo

_HEX = re.compile(r"[0-9a-f]{7,40}")
_SPECIAL = re.compile(r"^(refs/(?:pr/\d+|convert/[\w-]+))(?:/(.*))?$")


def raw_tail(request: HttpRequest, marker: str) -> str | None:
    """The still-encoded part of the request path after `/{marker}/`, if the server kept it."""
    raw = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
    if not raw:
        return None
    raw_path = urlsplit(raw).path
    token = f"/{marker}/"
    index = raw_path.find(token)
    if index < 0:
        return None
    return raw_path[index + len(token) :]


def split_revision(repo: Repo, *, decoded_tail: str, raw: str | None) -> tuple[str, str]:
    """(revision, path) for a tail `{rev}[/{path}]`; the path may be empty."""
    if raw is not None:
        first, _, rest = raw.partition("/")
        revision = unquote(first)
        if "/" in revision or _ref_exists(repo, revision) or not rest:
            return revision, unquote(rest)
    tail = decoded_tail
    special = _SPECIAL.match(tail)
    if special:
        return special.group(1), special.group(2) or ""
    parts = tail.split("/")
    if len(parts) > 1:
        names = _ref_names(repo)
        for i in range(len(parts), 1, -1):
            candidate = "/".join(parts[:i])
            if candidate in names:
                return candidate, "/".join(parts[i:])
    return parts[0], "/".join(parts[1:])


def _ref_names(repo: Repo) -> set[str]:
    names = set()
    for ref in git_store().refs(repo.storage_key):
        for prefix in ("refs/heads/", "refs/tags/"):
            if ref.startswith(prefix):
                names.add(ref[len(prefix) :])
    return names


def _ref_exists(repo: Repo, revision: str) -> bool:
    # A sha needs no look-up; a name is checked alone, not by listing every ref (this runs
    # on each /resolve request, e.g. once per file of a snapshot_download).
    return bool(_HEX.fullmatch(revision)) or git_store().has_ref(repo.storage_key, revision)
