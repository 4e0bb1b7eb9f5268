"""The hub's own error types. One handler (hub/api.py) turns them into HTTP answers.

Each error carries a message for people and, where the Hugging Face client reads one, an
`X-Error-Code` value (hf-api-contract.md 0.6).
"""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    status = 400
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        # More fields for the JSON body, where the client reads them (e.g. `url` on a 409
        # from create_repo(exist_ok=True): hf_api.py reads it from the error response).
        self.extra = dict(extra or {})
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class BadRequestError(HubError):
    status = 400


class ValidationError(HubError):
    status = 422


class AuthenticationError(HubError):
    """Credentials were sent but are not valid."""

    status = 401


class PermissionDeniedError(HubError):
    status = 403


class NotFoundError(HubError):
    status = 404


class RepoNotFoundError(NotFoundError):
    """The repo does not exist or the caller may not see it (401 for anonymous callers)."""

    code = "RepoNotFound"

    def __init__(self, message: str = "Repository not found", *, anonymous: bool = False):
        super().__init__(message, status=401 if anonymous else 404)


class RevisionNotFoundError(NotFoundError):
    code = "RevisionNotFound"


class EntryNotFoundError(NotFoundError):
    code = "EntryNotFound"


class GatedRepoError(HubError):
    code = "GatedRepo"
    status = 403


class ConflictError(HubError):
    status = 409


class PreconditionFailedError(HubError):
    status = 412


class PayloadTooLargeError(HubError):
    status = 413


class IntegrityMismatchError(HubError):
    """Bytes received do not hash to the announced oid, or their length differs."""

    status = 422


class ServiceUnavailableError(HubError):
    status = 503


class InsufficientStorageError(HubError):
    """A namespace's storage quota would be exceeded; refused before any byte is stored."""

    status = 507
    code = "StorageQuotaExceeded"
