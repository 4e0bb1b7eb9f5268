"""Download counting, as the public hub does it: once per fetch of a repo's config or weights.

The Hub counts requests to a few "query files" (hub-docs models-download-stats.md: a
root `config.json`, `config.yaml`, `hyperparams.yaml` or `meta.yaml`), so a model made of
many files counts one download per fetch, not one per file. Repos without such a file
count their weights instead (the first shard only). Dataset repos count their card
(`README.md`), which `datasets.load_dataset` fetches once per load.

One fetch is one count, whatever the client:
- huggingface_hub always sends a metadata `HEAD` before its `GET`, and skips the `GET` when
  the file is cached (file_download.py `_get_metadata_or_catch_error`). So from that client
  (recognised by `X-HF-Download-Counter: 1`, utils/_http.py `flag_as_download_call`, or by
  the `hf_hub/` user-agent part older versions send) the `HEAD` counts and the `GET` does not;
- any other client (curl, a browser, a plain HTTP library) counts on `GET`;
- a `Range` request that does not start at byte 0 continues a download already counted.

Counts live in daily buckets (`DownloadDay`): `downloads` is the last 30 days,
`downloadsAllTime` the sum of every bucket.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from repos.git.store import git_store
from repos.models import DownloadDay, Repo, RepoKind

logger = logging.getLogger(__name__)

RECENT_DAYS = 30
MODEL_QUERY_FILES = ("config.json", "config.yaml", "hyperparams.yaml", "meta.yaml")
DATASET_QUERY_FILES = ("README.md",)
WEIGHT_SUFFIXES = (
    ".safetensors", ".bin", ".gguf", ".ggml", ".pt", ".pth", ".ckpt", ".h5", ".keras",
    ".onnx", ".tflite", ".msgpack", ".nemo", ".mlmodel", ".joblib", ".pkl", ".npz",
)  # fmt: skip
_SHARD = re.compile(r"-(\d{5})-of-\d{5}\.[^/]+$")


@dataclass(frozen=True)
class DownloadCounts:
    recent: int = 0  # the last RECENT_DAYS days, today included
    all_time: int = 0


def is_query_file(*, kind: str, path: str, has_root_config: Callable[[], bool] | None) -> bool:
    """Does a fetch of `path` stand for a download of the whole repo?"""
    if kind == RepoKind.DATASET:
        return path in DATASET_QUERY_FILES
    if path in MODEL_QUERY_FILES:
        return True
    if not path.lower().endswith(WEIGHT_SUFFIXES):
        return False
    shard = _SHARD.search(path)
    if shard is not None and int(shard.group(1)) != 1:
        return False
    # Weights count only where no config file does (else one fetch would count twice).
    return has_root_config is not None and not has_root_config()


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:  # a plain dict with other casing (Django's request.headers ignores case)
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), "")
    return value or ""


def is_counted_request(*, method: str, request_headers: Mapping[str, str]) -> bool:
    """Is this request the one that counts for its fetch (see the module docstring)?"""
    hf_client = bool(_header(request_headers, "X-HF-Download-Counter")) or (
        "hf_hub/" in _header(request_headers, "User-Agent")
    )
    if method == "HEAD":
        return hf_client
    if method != "GET" or hf_client:
        return False
    byte_range = _header(request_headers, "Range").replace(" ", "").lower()
    return not byte_range or byte_range.startswith("bytes=0-")


def root_config_probe(repo: Repo, commit: str) -> Callable[[], bool]:
    """A lazy check, for `download_record`: has `commit` one of the model query files?"""

    def probe() -> bool:
        store = git_store()
        return any(store.entry(repo.storage_key, commit, f) is not None for f in MODEL_QUERY_FILES)

    return probe


def _today() -> datetime.date:
    return timezone.now().astimezone(datetime.UTC).date()


def download_record(
    *,
    repo: Repo,
    path: str,
    method: str,
    request_headers: Mapping[str, str],
    has_root_config: Callable[[], bool] | None = None,
) -> bool:
    """Count one download of `repo` if this request is a counted fetch of a query file.

    Call it from /resolve once access is granted and the file exists. Returns whether it
    counted. Best effort: a database error is logged, never raised into the download.
    """
    if not is_counted_request(method=method, request_headers=request_headers):
        return False
    if not is_query_file(kind=repo.kind, path=path, has_root_config=has_root_config):
        return False
    try:
        download_day_increment(repo_id=repo.pk, day=_today())
    except DatabaseError:
        logger.exception("could not count a download of repo %s", repo.pk)
        return False
    return True


def download_day_increment(*, repo_id: int, day: datetime.date, by: int = 1) -> None:
    """Add `by` to the repo's bucket for `day`, creating it; safe under concurrency."""
    bucket = DownloadDay.objects.filter(repo_id=repo_id, day=day)
    if bucket.update(count=F("count") + by):
        return
    try:
        with transaction.atomic():
            DownloadDay.objects.create(repo_id=repo_id, day=day, count=by)
    except IntegrityError:  # another request created the bucket first
        bucket.update(count=F("count") + by)


def download_counts(
    *, repo_ids: Iterable[int], today: datetime.date | None = None
) -> dict[int, DownloadCounts]:
    """`downloads` (last 30 days) and `downloadsAllTime` per repo id; zeros when none."""
    ids = list(repo_ids)
    since = (today or _today()) - datetime.timedelta(days=RECENT_DAYS - 1)
    rows = (
        DownloadDay.objects.filter(repo_id__in=ids)
        .order_by()
        .values("repo_id")
        .annotate(all_time=Sum("count"), recent=Sum("count", filter=Q(day__gte=since)))
    )
    counts = {i: DownloadCounts() for i in ids}
    for row in rows:
        counts[row["repo_id"]] = DownloadCounts(
            recent=row["recent"] or 0, all_time=row["all_time"] or 0
        )
    return counts


def downloads_since_expr(days: int, *, today: datetime.date | None = None) -> Coalesce:
    """A Repo queryset annotation: downloads over the last `days` days (for sorting)."""
    since = (today or _today()) - datetime.timedelta(days=days - 1)
    per_repo: QuerySet[DownloadDay] = (
        DownloadDay.objects.filter(repo_id=OuterRef("pk"), day__gte=since)
        .order_by()
        .values("repo_id")
        .annotate(total=Sum("count"))
        .values("total")
    )
    return Coalesce(Subquery(per_repo, output_field=IntegerField()), Value(0))
