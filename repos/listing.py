"""Counters shown with every repo (likes, downloads, trending) and keyset page cursors.

Listing and searching themselves live in the search app (search/backends), which
imports these. Pagination is keyset-based: the cursor holds the last row's sort value
and id, so a page costs the same at any depth and rows created meanwhile neither repeat
nor vanish.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count
from django.utils import timezone

from common.errors import BadRequestError
from repos.downloads import DownloadCounts, download_counts
from repos.models import Like, Repo

TRENDING_DAYS = 7
# Cursor keys whose values are dates or text; any other key holds a number.
DATE_KEYS = {"created_at", "last_modified"}
TEXT_KEYS = {"id_lower"}


@dataclass(frozen=True)
class RepoStats:
    likes: int = 0
    downloads: DownloadCounts = field(default_factory=DownloadCounts)
    trending_score: int = 0


def encode_cursor(value: Any, pk: int) -> str:
    if isinstance(value, datetime.datetime):
        value = value.isoformat()
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, key: str) -> tuple[Any, int]:
    """(sort value, pk) from a cursor this module made; BadRequestError otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if not isinstance(pk, int):
            raise ValueError("pk")
        if key in DATE_KEYS:
            value = datetime.datetime.fromisoformat(value)
        elif key in TEXT_KEYS:
            if not isinstance(value, str):
                raise ValueError("value")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("value")
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise BadRequestError("Invalid cursor.") from None
    return value, pk


def repo_stats(*, repos: Iterable[Repo]) -> dict[int, RepoStats]:
    """Likes, downloads (30 days and all time) and trending score for each repo, by id.

    Three queries whatever the number of repos; model_info uses it for one repo.
    """
    ids = [r.pk for r in repos]
    if not ids:
        return {}
    likes = dict(
        Like.objects.filter(repo_id__in=ids)
        .order_by()
        .values("repo_id")
        .annotate(n=Count("pk"))
        .values_list("repo_id", "n")
    )
    since = timezone.now() - datetime.timedelta(days=TRENDING_DAYS)
    recent_likes = dict(
        Like.objects.filter(repo_id__in=ids, created_at__gte=since)
        .order_by()
        .values("repo_id")
        .annotate(n=Count("pk"))
        .values_list("repo_id", "n")
    )
    downloads = download_counts(repo_ids=ids)
    return {
        i: RepoStats(
            likes=likes.get(i, 0), downloads=downloads[i], trending_score=recent_likes.get(i, 0)
        )
        for i in ids
    }
