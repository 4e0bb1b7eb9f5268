"""Operational endpoints."""

from __future__ import annotations

import os
import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse


def _check(fn: Any) -> dict[str, Any]:
    started = time.monotonic()
    try:
        detail = fn()
        state = {"status": "ok"}
        if detail:
            state.update(detail)
    except Exception as exc:
        state = {"status": "error", "error": f"{exc.__class__.__name__}: {exc}"[:300]}
    state["ms"] = round((time.monotonic() - started) * 1000, 1)
    return state


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"backend": connection.vendor}


def _broker() -> dict[str, Any]:
    from hub.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        transport = conn.transport_cls
    return {"transport": str(transport)}


def _search() -> dict[str, Any]:
    if settings.ELASTICSEARCH_URL:
        import urllib.request

        with urllib.request.urlopen(settings.ELASTICSEARCH_URL, timeout=2) as resp:  # noqa: S310
            resp.read(1024)
        return {"backend": "elasticsearch"}
    return {"backend": "database"}


def _storage() -> dict[str, Any]:
    settings.GIT_ROOT.mkdir(parents=True, exist_ok=True)
    if not os.access(settings.GIT_ROOT, os.W_OK):
        raise OSError(f"{settings.GIT_ROOT} is not writable")
    if settings.S3_BUCKET:
        from repos.lfs.store import object_store

        store = object_store()
        store.client.head_bucket(Bucket=settings.S3_BUCKET)  # type: ignore[attr-defined]
        return {"git": str(settings.GIT_ROOT), "lfs": f"s3://{settings.S3_BUCKET}"}
    settings.LFS_ROOT.mkdir(parents=True, exist_ok=True)
    if not os.access(settings.LFS_ROOT, os.W_OK):
        raise OSError(f"{settings.LFS_ROOT} is not writable")
    return {"git": str(settings.GIT_ROOT), "lfs": str(settings.LFS_ROOT)}


def health(request: HttpRequest) -> JsonResponse:
    """GET /api/health: the state of each backend; 200 while the web process answers."""
    checks = {
        "database": _check(_database),
        "broker": _check(_broker),
        "search": _check(_search),
        "storage": _check(_storage),
    }
    overall = "ok" if all(c["status"] == "ok" for c in checks.values()) else "degraded"
    return JsonResponse({"status": overall, **checks})
