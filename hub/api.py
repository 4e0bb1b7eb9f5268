"""DRF wiring: our errors and DRF's own become one JSON shape with X-Error-* headers."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from common.errors import (
    AuthenticationError,
    BadRequestError,
    HubError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from common.http import error_response


def _flatten(detail: Any) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(d) for d in detail)
    return str(detail)


def to_hub_error(exc: Exception) -> HubError | None:
    if isinstance(exc, HubError):
        return exc
    if isinstance(exc, Http404):
        return NotFoundError("Not found.")
    if isinstance(exc, drf_exceptions.ValidationError):
        return BadRequestError(_flatten(exc.detail))
    if isinstance(exc, drf_exceptions.ParseError):
        return BadRequestError(_flatten(exc.detail))
    if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
        return AuthenticationError(_flatten(exc.detail))
    if isinstance(exc, drf_exceptions.PermissionDenied):
        return PermissionDeniedError(_flatten(exc.detail))
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return HubError(_flatten(exc.detail), status=415)
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return HubError(_flatten(exc.detail), status=405)
    if isinstance(exc, drf_exceptions.APIException):
        return HubError(_flatten(exc.detail), status=exc.status_code)
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | Response | None:
    hub_error = to_hub_error(exc)
    if hub_error is None:
        return None  # a bug: let Django log it and answer 500
    request = context.get("request")
    return error_response(hub_error, head=bool(request and request.method == "HEAD"))


__all__ = ["ValidationError", "exception_handler", "to_hub_error"]
