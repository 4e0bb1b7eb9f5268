"""Name rules for accounts and repos, as the public hub applies them."""

from __future__ import annotations

import re

from common.errors import BadRequestError

# Users and organizations: letters, digits, `-` and `_`; keep their case (`DVUser`).
NAMESPACE_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,40}[A-Za-z0-9])?\Z")
# Repos: letters, digits, `-`, `_`, `.`; at most 96; no `--` or `..`; not starting or
# ending with `-` or `.` (huggingface_hub utils/_validators.py and the Hub's own checks).
REPO_NAME_RE = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?\Z")
RESERVED_NAMESPACES = frozenset(
    {
        "api", "datasets", "spaces", "models", "settings", "login", "logout", "signup",
        "new", "static", "organizations", "docs", "search", "join", "health",
        "lfs", "oauth", "sso", "users", "collections", "papers", "new-dataset", "account",
    }
)


def validate_namespace_name(name: str) -> str:
    if not isinstance(name, str) or not NAMESPACE_RE.match(name) or "--" in name:
        raise BadRequestError(
            "Invalid name: use 1-42 letters, digits, '-' or '_', starting and ending with a "
            "letter or digit, without '--'."
        )
    if name.lower() in RESERVED_NAMESPACES:
        raise BadRequestError(f"The name {name!r} is reserved.")
    return name


def validate_repo_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise BadRequestError("Invalid repo name: a name is required.")
    if len(name) > 96:
        raise BadRequestError("Invalid repo name: at most 96 characters.")
    if "--" in name or ".." in name:
        raise BadRequestError("Invalid repo name: '--' and '..' are forbidden.")
    if name.endswith(".git"):
        raise BadRequestError("Invalid repo name: it cannot end with '.git'.")
    if not REPO_NAME_RE.match(name):
        raise BadRequestError(
            "Invalid repo name: use letters, digits, '-', '_' and '.', not starting or "
            "ending with '-' or '.'."
        )
    return name
