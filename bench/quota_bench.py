"""Quota benchmark: what the usage figure and the quota checks cost on a large hub.

Rows are generated straight into the database (bulk_create, no git, no LFS bytes): 1,000
namespaces with 5 repos each, plus one big organization with 500 repos; 200,000 LFS objects;
the big org links 100,000 distinct objects through 120,000 links (20% of its links share an
object with another of its repos), the others 200,000 links among them. Every repo has a
measured git size (RepoUsage), as after the first sweep. Then, in process:

- `namespace_usage` (the git sum + the kept LFS figure) for the big org and for a small user;
- `lfs_usage_recount`, the exact deduplicated LFS sum the daily sweep runs (and a namespace's
  first read);
- `quota_require` for a namespace with a quota (what every push and upload pays) and without
  one (the default: no usage query at all);
- `lfs_batch_refusal` for an LFS batch of 100 and 1,000 new objects into the big org;
- `objects_dir_size` of a bare repo folder with 10,000 loose objects and 20 packs (what the
  measuring task reads after a push).

    .venv/bin/python bench/quota_bench.py                 # SQLite in a temp dir
    .venv/bin/python bench/quota_bench.py --database-url postgres://postgres@127.0.0.1:5432/x

With --database-url the database named there is dropped and created anew.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from search_bench import setup_django  # noqa: E402 (after the path is set)


def _oid(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def generate(*, namespaces: int, big_repos: int, seed: int) -> None:
    from django.utils import timezone

    from orgs.models import Namespace
    from repos.models import LfsLink, LfsObject, Repo, RepoUsage

    rng = random.Random(seed)
    Namespace.objects.bulk_create(
        [Namespace(name=f"user{i}", kind=Namespace.Kind.USER) for i in range(namespaces)]
        + [Namespace(name="bigorg", kind=Namespace.Kind.ORG)],
        batch_size=2000,
    )
    ns = dict(Namespace.objects.values_list("name", "pk"))
    repos = [
        Repo(owner_id=ns[f"user{i}"], name=f"r{j}") for i in range(namespaces) for j in range(5)
    ]
    repos += [Repo(owner_id=ns["bigorg"], name=f"big{j}") for j in range(big_repos)]
    Repo.objects.bulk_create(repos, batch_size=2000)
    now = timezone.now()
    RepoUsage.objects.bulk_create(
        [RepoUsage(repo_id=pk, git_bytes=rng.randint(1_000, 50_000_000), measured_at=now)
         for pk in Repo.objects.values_list("pk", flat=True)],
        batch_size=5000,
    )  # fmt: skip
    LfsObject.objects.bulk_create(
        [LfsObject(oid=_oid(i), size=rng.randint(1_000, 5_000_000_000)) for i in range(200_000)],
        batch_size=5000,
    )
    big = list(Repo.objects.filter(owner_id=ns["bigorg"]).values_list("pk", flat=True))
    links = []
    for i in range(100_000):  # the big org: each object in one repo, 20,000 of them in two
        links.append(LfsLink(repo_id=big[i % len(big)], lfs_object_id=_oid(i)))
        if i % 5 == 0:
            links.append(LfsLink(repo_id=big[(i + 1) % len(big)], lfs_object_id=_oid(i)))
    small = list(Repo.objects.exclude(owner_id=ns["bigorg"]).values_list("pk", flat=True))
    for i in range(200_000):  # everyone else: objects 100,000..199,999, each linked twice
        links.append(LfsLink(repo_id=small[i % len(small)], lfs_object_id=_oid(100_000 + i // 2)))
    LfsLink.objects.bulk_create(links, batch_size=5000, ignore_conflicts=True)


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """p50 and p99 in milliseconds (one warm-up call first)."""
    fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def objects_folder(root: Path, *, loose: int, packs: int) -> Path:
    objects = root / "objects"
    for i in range(loose):
        name = hashlib.sha1(str(i).encode(), usedforsecurity=False).hexdigest()
        folder = objects / name[:2]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name[2:]).write_bytes(b"x" * 200)
    (objects / "pack").mkdir(parents=True, exist_ok=True)
    for i in range(packs):
        (objects / "pack" / f"pack-{i}.pack").write_bytes(b"p" * 4096)
        (objects / "pack" / f"pack-{i}.idx").write_bytes(b"i" * 1024)
    return objects


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--namespaces", type=int, default=1000)
    parser.add_argument("--big-repos", type=int, default=500)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    setup_django(args.database_url)

    from django.db import connection

    from orgs.models import Namespace
    from repos.models import NamespaceQuota, Repo
    from repos.quotas import (
        lfs_batch_refusal,
        lfs_usage_recount,
        namespace_usage,
        objects_dir_size,
        quota_require,
    )

    start = time.perf_counter()
    generate(namespaces=args.namespaces, big_repos=args.big_repos, seed=args.seed)
    print(f"generated in {time.perf_counter() - start:.1f} s ({connection.vendor})")
    with connection.cursor() as cursor:  # planner statistics, as autovacuum would gather them
        cursor.execute("ANALYZE")
    big = Namespace.objects.get(name="bigorg")
    small = Namespace.objects.get(name="user7")
    usage = namespace_usage(namespace=big)
    print(f"bigorg: git {usage.git_bytes:,} B, LFS {usage.lfs_bytes:,} B (deduplicated)")
    repo = Repo.objects.filter(owner=big).first()
    assert repo is not None
    batches = {n: {_oid(10_000_000 + i): 1000 for i in range(n)} for n in (100, 1000)}
    cases: list[tuple[str, Callable[[], object]]] = [
        ("namespace_usage, big org", lambda: namespace_usage(namespace=big)),
        ("lfs_usage_recount (sweep), big org", lambda: lfs_usage_recount(namespace_id=big.pk)),
        ("namespace_usage, user with 5 repos", lambda: namespace_usage(namespace=small)),
        (
            "quota_require, no quota (default)",
            lambda: quota_require(namespace_id=big.pk, adding=1, what="x"),
        ),
        (
            "quota_require, big org with a quota",
            lambda: quota_require(namespace_id=big.pk, adding=1, what="x"),
        ),
        *[
            (
                f"lfs_batch_refusal, {n} new objects, big org",
                lambda b=batch: lfs_batch_refusal(repo=repo, objects=b),
            )
            for n, batch in batches.items()
        ],
    ]
    rows: list[tuple[str, tuple[float, float]]] = []
    for name, fn in cases:
        if name == "quota_require, big org with a quota":
            NamespaceQuota.objects.create(namespace=big, quota_bytes=2**62)
        rows.append((name, timed(fn, args.runs)))
    with tempfile.TemporaryDirectory() as tmp:
        objects = objects_folder(Path(tmp), loose=10_000, packs=20)
        rows.append(
            (
                "objects_dir_size, 10,000 loose + 20 packs",
                timed(lambda: objects_dir_size(objects), args.runs),
            )
        )
    print(f"\n| operation ({connection.vendor}) | p50 (ms) | p99 (ms) |\n|---|---|---|")
    for name, (p50, p99) in rows:
        print(f"| {name} | {p50:.1f} | {p99:.1f} |")
    os.environ.pop("HUB_DATABASE_URL", None)


if __name__ == "__main__":
    main()
