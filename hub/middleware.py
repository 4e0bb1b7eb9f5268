"""Request ids on every response, and security headers on pages."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from repos.models import request_base_url

_SAFE_ID = re.compile(r"^[A-Za-z0-9=;:._-]{1,200}$")

CSP = (
    "default-src 'self'; img-src 'self' data: https: http:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)


class RequestIdMiddleware:
    """`X-Request-Id` on every response (the client quotes it in its errors)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID") or request.META.get("HTTP_X_AMZN_TRACE_ID")
        request_id = incoming if incoming and _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_base_url.set(request.build_absolute_uri("/").rstrip("/"))
        try:
            response = self.get_response(request)
        finally:
            request_base_url.reset(token)
        response["X-Request-Id"] = request_id
        return response


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Security-Policy", CSP)
            response.setdefault("Referrer-Policy", "same-origin")
        return response
