from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from repos.models import public_base_url


def site(request: HttpRequest) -> dict[str, Any]:
    return {"PUBLIC_URL": public_base_url(), "ALLOW_SIGNUP": settings.ALLOW_SIGNUP}
