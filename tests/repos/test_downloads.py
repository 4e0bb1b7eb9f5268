"""Download counting: one count per fetch of a query file, in daily buckets."""

from __future__ import annotations

import datetime

import pytest
import time_machine

from orgs.services import user_create
from repos.downloads import (
    download_counts,
    download_day_increment,
    download_record,
    downloads_since_expr,
    is_counted_request,
    is_query_file,
    root_config_probe,
)
from repos.models import DownloadDay, Repo, RepoKind
from repos.services import repo_create

HF_HEAD = {"X-HF-Download-Counter": "1", "User-Agent": "unknown/None; hf_hub/2.4.0"}
OLD_HF = {"user-agent": "unknown/None; hf_hub/0.30.0; python/3.11"}
CURL = {"User-Agent": "curl/8.5.0"}


@pytest.fixture
def repo(db, data_dir) -> Repo:  # type: ignore[no-untyped-def]
    owner = user_create(username="alice", password=None)
    return repo_create(actor=owner, namespace=None, name="m", kind=RepoKind.MODEL)


@pytest.mark.parametrize(
    ("method", "headers", "counted"),
    [
        ("HEAD", HF_HEAD, True),  # huggingface_hub: the metadata HEAD counts ...
        ("GET", HF_HEAD, False),  # ... and its GET that follows does not
        ("HEAD", OLD_HF, True),  # older clients: recognised by the user agent
        ("GET", OLD_HF, False),
        ("GET", CURL, True),  # anyone else counts on GET
        ("HEAD", CURL, False),
        ("GET", {**CURL, "Range": "bytes=0-"}, True),
        ("GET", {**CURL, "Range": "bytes=100-"}, False),  # a resumed download
        ("POST", CURL, False),
    ],
)
def test_one_request_per_fetch_counts(method: str, headers: dict[str, str], counted: bool) -> None:
    assert is_counted_request(method=method, request_headers=headers) is counted


@pytest.mark.parametrize(
    ("kind", "path", "has_config", "counted"),
    [
        (RepoKind.MODEL, "config.json", True, True),
        (RepoKind.MODEL, "sub/config.json", True, False),
        (RepoKind.MODEL, "README.md", True, False),
        (RepoKind.MODEL, "model.safetensors", True, False),  # the config counts instead
        (RepoKind.MODEL, "model.safetensors", False, True),
        (RepoKind.MODEL, "model-00001-of-00003.safetensors", False, True),
        (RepoKind.MODEL, "model-00002-of-00003.safetensors", False, False),
        (RepoKind.MODEL, "notes.txt", False, False),
        (RepoKind.DATASET, "README.md", True, True),
        (RepoKind.DATASET, "data/train.parquet", True, False),
    ],
)
def test_query_files(kind: str, path: str, has_config: bool, counted: bool) -> None:
    assert is_query_file(kind=kind, path=path, has_root_config=lambda: has_config) is counted


def test_weights_do_not_count_without_a_probe() -> None:
    assert not is_query_file(kind=RepoKind.MODEL, path="model.bin", has_root_config=None)


def test_record_counts_into_todays_bucket(repo: Repo) -> None:
    with time_machine.travel(datetime.datetime(2025, 3, 1, 23, 59, tzinfo=datetime.UTC)):
        assert download_record(
            repo=repo, path="config.json", method="HEAD", request_headers=HF_HEAD
        )
        assert not download_record(
            repo=repo, path="config.json", method="GET", request_headers=HF_HEAD
        )
        assert download_record(repo=repo, path="config.json", method="GET", request_headers=CURL)
    with time_machine.travel(datetime.datetime(2025, 3, 2, 0, 1, tzinfo=datetime.UTC)):
        assert download_record(repo=repo, path="config.json", method="GET", request_headers=CURL)
    days = dict(DownloadDay.objects.filter(repo=repo).values_list("day", "count"))
    assert days == {datetime.date(2025, 3, 1): 2, datetime.date(2025, 3, 2): 1}


def test_root_config_probe_reads_the_commit(repo: Repo) -> None:
    from repos.git.store import git_store

    commit = git_store().resolve(repo.storage_key, "main")
    assert root_config_probe(repo, commit)() is False
    assert download_record(
        repo=repo,
        path="model.safetensors",
        method="GET",
        request_headers=CURL,
        has_root_config=root_config_probe(repo, commit),
    )


def test_recent_is_the_last_30_days_and_all_time_sums_every_bucket(repo: Repo) -> None:
    today = datetime.date(2025, 6, 30)
    for days_ago, count in ((0, 1), (29, 10), (30, 100), (400, 1000)):
        download_day_increment(
            repo_id=repo.pk, day=today - datetime.timedelta(days=days_ago), by=count
        )
    download_day_increment(repo_id=repo.pk, day=today)  # the bucket exists: it grows
    counts = download_counts(repo_ids=[repo.pk, repo.pk + 999], today=today)
    assert counts[repo.pk].recent == 12
    assert counts[repo.pk].all_time == 1112
    assert counts[repo.pk + 999].recent == 0


def test_sort_expression_matches_the_counts(repo: Repo) -> None:
    today = datetime.date(2025, 6, 30)
    download_day_increment(repo_id=repo.pk, day=today, by=3)
    download_day_increment(repo_id=repo.pk, day=today - datetime.timedelta(days=8), by=5)
    other = repo_create(actor=repo.owner.user, namespace=None, name="n")
    row = {
        r.pk: (r.d7, r.d30)
        for r in Repo.objects.annotate(
            d7=downloads_since_expr(7, today=today), d30=downloads_since_expr(30, today=today)
        )
    }
    assert row == {repo.pk: (3, 8), other.pk: (0, 0)}
