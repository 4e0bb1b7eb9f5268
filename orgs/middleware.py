"""Resolve an Authorization header once per request, for API, git and download views alike."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from common.errors import AuthenticationError
from common.http import error_response
from orgs.auth import authenticate_request


class TokenAuthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.token_user = None  # type: ignore[attr-defined]
        try:
            user = authenticate_request(request)
        except AuthenticationError as exc:
            return error_response(exc)
        if user is not None:
            request.user = user
            request.token_user = user  # type: ignore[attr-defined]
            # A token-authenticated request carries no cookie credentials: no CSRF risk.
            request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
        return self.get_response(request)
