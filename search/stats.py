"""Sort keys kept on RepoMetadata: likes, downloads and the trending score.

Trending score (documented in search/README.md):

    score = sum over likes of the last 30 days       of 2 ** (-age_days / 3)
          + sum over download days of the last 30 days of log10(1 + n) * 2 ** (-age_days / 3)

Interest halves every 3 days, so last week's burst outranks last month's, and a like
counts fully on the day it is given. Downloads are damped per day with log10, so a
script fetching a repo ten thousand times a day adds 4 points, no more than four likes:
likes are cheap to give but one per account. The score changes with time alone, so the
periodic `refresh_stats` task recomputes every row (one pass over recent likes and
download days); a like or unlike adjusts its repo's row at once (`like_changed`).
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import F, Sum
from django.utils import timezone

from repos.downloads import RECENT_DAYS
from repos.models import DownloadDay, Like
from search.models import RepoMetadata

HALF_LIFE_DAYS = 3.0
WINDOW_DAYS = 30
BATCH = 2000


def decay(age: datetime.timedelta) -> float:
    return 2.0 ** (-max(age.total_seconds(), 0.0) / 86400.0 / HALF_LIFE_DAYS)


def download_weight(count: int) -> float:
    return math.log10(1 + max(count, 0))


def compute_stats(
    *, repo_ids: Iterable[int] | None, now: datetime.datetime | None = None
) -> dict[int, tuple[int, int, int, float]]:
    """{repo id: (likes, downloads 30 days, downloads all time, trending score)}.

    `repo_ids` None means every repo with any like or download (others score zero).
    """
    now = now or timezone.now()
    today = now.astimezone(datetime.UTC).date()
    ids = None if repo_ids is None else list(repo_ids)
    likes = Like.objects.order_by()
    days = DownloadDay.objects.order_by()
    if ids is not None:
        likes = likes.filter(repo_id__in=ids)
        days = days.filter(repo_id__in=ids)
    out: dict[int, list[float]] = defaultdict(lambda: [0, 0, 0, 0.0])
    for repo_id, created in likes.values_list("repo_id", "created_at").iterator(BATCH):
        row = out[repo_id]
        row[0] += 1
        age = now - created
        if age <= datetime.timedelta(days=WINDOW_DAYS):
            row[3] += decay(age)
    totals = days.values("repo_id").annotate(n=Sum("count")).values_list("repo_id", "n")
    for repo_id, total in totals.iterator(BATCH):
        out[repo_id][2] = total or 0
    since = today - datetime.timedelta(days=max(WINDOW_DAYS, RECENT_DAYS) - 1)
    recent = days.filter(day__gte=since).values_list("repo_id", "day", "count")
    recent_since = today - datetime.timedelta(days=RECENT_DAYS - 1)
    for repo_id, day, count in recent.iterator(BATCH):
        row = out[repo_id]
        if day >= recent_since:
            row[1] += count
        # A day's downloads are taken at that day's noon (UTC), a fair middle.
        noon = datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)
        row[3] += download_weight(count) * decay(now - noon)
    if ids is not None:
        for i in ids:
            out[i]
    return {k: (int(v[0]), int(v[1]), int(v[2]), round(v[3], 6)) for k, v in out.items()}


def stats_refresh(*, repo_ids: Iterable[int] | None = None) -> int:
    """Recompute the sort keys of `repo_ids` (None: every row); returns rows written.

    Idempotent, and safe beside concurrent likes: a like that lands during the pass
    adjusts the row again through `like_changed`, and the next pass settles it.
    """
    now = timezone.now()
    stats = compute_stats(repo_ids=repo_ids, now=now)
    metas = RepoMetadata.objects.all()
    if repo_ids is not None:
        metas = metas.filter(pk__in=list(repo_ids))
    written = 0
    batch: list[RepoMetadata] = []
    for pk in metas.values_list("pk", flat=True).iterator(BATCH):
        likes, downloads, all_time, score = stats.get(pk, (0, 0, 0, 0.0))
        batch.append(
            RepoMetadata(
                pk=pk,
                likes=likes,
                downloads=downloads,
                downloads_all_time=all_time,
                trending_score=score,
                stats_at=now,
            )
        )
        if len(batch) >= BATCH:
            written += _flush(batch)
    return written + _flush(batch)


def _flush(batch: list[RepoMetadata]) -> int:
    if batch:
        RepoMetadata.objects.bulk_update(
            batch, ["likes", "downloads", "downloads_all_time", "trending_score", "stats_at"]
        )
    n = len(batch)
    batch.clear()
    return n


def like_changed(*, repo_id: int, created_at: datetime.datetime, added: bool) -> None:
    """Adjust one row for a like given or taken back, in the like's own transaction.

    A single UPDATE, so "sort by likes" and "trending" reflect a like at once (the
    listing reads these columns); the periodic refresh recomputes them exactly anyway.
    """
    weight = decay(timezone.now() - created_at)
    if timezone.now() - created_at > datetime.timedelta(days=WINDOW_DAYS):
        weight = 0.0
    sign = 1 if added else -1
    RepoMetadata.objects.filter(pk=repo_id).update(
        likes=F("likes") + sign, trending_score=F("trending_score") + sign * weight
    )
