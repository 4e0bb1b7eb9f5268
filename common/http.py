"""Error answers: status, JSON body `{"error": msg}`, and the X-Error-Code/-Message headers."""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse

from common.errors import HubError


def _header_safe(message: str) -> str:
    # Header values must be latin-1 and single-line.
    return message.replace("\r", " ").replace("\n", " ").encode("latin-1", "replace").decode(
        "latin-1"
    )[:1000]


def error_response(exc: HubError, *, head: bool = False) -> HttpResponse:
    response: HttpResponse
    if head:
        response = HttpResponse(status=exc.status)
    else:
        response = JsonResponse({**exc.extra, "error": exc.message}, status=exc.status)
    response["X-Error-Message"] = _header_safe(exc.message)
    if exc.code:
        response["X-Error-Code"] = exc.code
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Basic realm="hubforge", charset="UTF-8"'
    return response
