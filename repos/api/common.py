"""Shared pieces of the Hugging Face-compatible API views."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse

from common.errors import HubError, RepoNotFoundError
from common.http import error_response
from orgs.permissions import Action
from repos.models import Repo, RepoKind, public_base_url
from repos.selectors import repo_get, repo_redirect_lookup

PLURAL_TO_KIND = {"models": RepoKind.MODEL, "datasets": RepoKind.DATASET}

V = TypeVar("V", bound=Callable[..., HttpResponse])


def hf_date(value: datetime | int | float) -> str:
    """`YYYY-MM-DDTHH:MM:SS.mmmZ`: the only form huggingface_hub parses (contract 0.3)."""
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, tz=UTC)
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def kind_from_plural(plural: str) -> str:
    kind = PLURAL_TO_KIND.get(plural)
    if kind is None:
        raise RepoNotFoundError()
    return kind


def api_repo(
    request: HttpRequest, *, kind: str, namespace: str, name: str, action: Action = Action.READ
) -> Repo:
    """The repo named in an API path, checked for `action`, or RepoNotFound (401/404)."""
    return repo_get(user=request.user, kind=kind, namespace=namespace, name=name, action=action)


def renamed_repo(*, kind: str, namespace: str, name: str) -> Repo | None:
    return repo_redirect_lookup(kind=kind, namespace=namespace, name=name)


def hf_errors(view: V) -> V:
    """Plain Django views: turn our errors into the client's error shape (HEAD: headers only)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except HubError as exc:
            return error_response(exc, head=request.method == "HEAD")

    wrapper.csrf_exempt = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def next_link(request: HttpRequest, **overrides: str | None) -> str:
    """`<url>; rel="next"`, absolute, carrying the query with `overrides` applied.

    huggingface_hub requests the URL as is, with no base and no extra parameters
    (utils/_pagination.py `_get_next_page`).
    """
    params = [(k, v) for k, v in request.GET.lists() if k not in overrides]
    params += [(k, [v]) for k, v in overrides.items() if v is not None]
    query = urlencode([(k, v) for k, values in params for v in values])
    return f'<{public_base_url()}{request.path}?{query}>; rel="next"'
