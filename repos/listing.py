"""Listing and searching repos (GET /api/models, /api/datasets): the database backend.

Reads only, behind one entry point (`repo_list`), so the search issue can swap the backend
(Elasticsearch) without touching the API view. Pagination is keyset-based: the cursor
holds the last row's sort value and id, so a page costs the same at any depth and rows
created meanwhile neither repeat nor vanish.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Concat, Lower
from django.utils import timezone

from common.errors import BadRequestError
from orgs.models import User
from repos.downloads import DownloadCounts, download_counts, downloads_since_expr
from repos.models import Like, Repo

TRENDING_DAYS = 7

# API sort names (and the snake_case spellings older clients send) -> annotation or field.
SORTS = {
    "createdAt": "created_at",
    "created_at": "created_at",
    "lastModified": "last_modified",
    "last_modified": "last_modified",
    "modified": "last_modified",
    "likes": "likes_count",
    "downloads": "downloads_recent",
    "trendingScore": "trending_score",
    "trending_score": "trending_score",
    "id": "id_lower",
}
_DATE_KEYS = {"created_at", "last_modified"}


@dataclass(frozen=True)
class ListingQuery:
    kind: str
    search: tuple[str, ...] = ()
    author: str | None = None
    tags: tuple[str, ...] = ()  # every one must be among the repo's tags
    gated: bool | None = None
    sort: str = "createdAt"
    descending: bool = True


@dataclass
class ListingPage:
    repos: list[Repo]
    next_cursor: str | None
    stats: dict[int, RepoStats] = field(default_factory=dict)


@dataclass(frozen=True)
class RepoStats:
    likes: int = 0
    downloads: DownloadCounts = field(default_factory=DownloadCounts)
    trending_score: int = 0


def _likes_since_expr(since: datetime.datetime | None) -> Coalesce:
    likes = Like.objects.filter(repo_id=OuterRef("pk"))
    if since is not None:
        likes = likes.filter(created_at__gte=since)
    per_repo = likes.order_by().values("repo_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(per_repo, output_field=IntegerField()), Value(0))


def _annotate_sort(qs: QuerySet[Repo], key: str) -> QuerySet[Repo]:
    if key == "likes_count":
        return qs.annotate(likes_count=_likes_since_expr(None))
    if key == "downloads_recent":
        return qs.annotate(downloads_recent=downloads_since_expr(30))
    if key == "trending_score":
        # Likes received over the last week: the Hub's "trending" rewards recent interest.
        since = timezone.now() - datetime.timedelta(days=TRENDING_DAYS)
        return qs.annotate(trending_score=_likes_since_expr(since))
    if key == "id_lower":
        return qs.annotate(id_lower=Lower(Concat("owner__name", Value("/"), "name")))
    return qs


def repo_tags(repo: Repo) -> list[str]:
    """The repo's tags. None are stored yet: card-derived tags come with the search index."""
    return []


def _filter_tags(qs: QuerySet[Repo], tags: Iterable[str]) -> QuerySet[Repo]:
    # AND over tags (hf-api-contract 1.3). No repo has stored tags yet (see `repo_tags`),
    # so any tag filter matches nothing, rather than silently matching everything.
    return qs.none() if any(tags) else qs


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
        if key in _DATE_KEYS:
            value = datetime.datetime.fromisoformat(value)
        elif key == "id_lower":
            if not isinstance(value, str):
                raise ValueError("value")
        elif not isinstance(value, int):
            raise ValueError("value")
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        raise BadRequestError("Invalid cursor.") from None
    return value, pk


def repo_list(
    *,
    user: User | AnonymousUser,
    query: ListingQuery,
    size: int,
    cursor: str | None = None,
) -> ListingPage:
    """One page of repos `user` may read, matching `query`, in its order; with their stats.

    Private repos appear only for those who can read them. BadRequestError on an unknown
    sort or a cursor this function did not make.
    """
    key = SORTS.get(query.sort)
    if key is None:
        raise BadRequestError(
            f"Invalid sort {query.sort!r}: use createdAt, lastModified, likes, downloads or "
            "trendingScore."
        )
    qs = Repo.objects.visible_to(user).filter(kind=query.kind).select_related("owner")
    if query.author:
        qs = qs.filter(owner__name__iexact=query.author)
    terms = [t for t in query.search if t]
    if terms:
        qs = qs.annotate(full_id=Concat("owner__name", Value("/"), "name"))
        for term in terms:
            qs = qs.filter(full_id__icontains=term)
    if query.gated is True:
        qs = qs.exclude(gated="")
    elif query.gated is False:
        qs = qs.filter(gated="")
    qs = _filter_tags(qs, query.tags)
    qs = _annotate_sort(qs, key)
    if cursor:
        value, pk = decode_cursor(cursor, key)
        if query.descending:
            qs = qs.filter(Q(**{f"{key}__lt": value}) | Q(**{key: value, "pk__lt": pk}))
        else:
            qs = qs.filter(Q(**{f"{key}__gt": value}) | Q(**{key: value, "pk__gt": pk}))
    order = [f"-{key}", "-pk"] if query.descending else [key, "pk"]
    rows = list(qs.order_by(*order)[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = encode_cursor(getattr(last, key), last.pk)
    return ListingPage(repos=rows, next_cursor=next_cursor, stats=repo_stats(repos=rows))


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
