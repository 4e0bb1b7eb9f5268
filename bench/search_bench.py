"""Search benchmark: 100,000 repos with realistic cards, index build time and query latency.

Rows are generated straight into the database (bulk_create, no git): namespaces, repos
(80% models, 20% datasets, 5% private), likes and download days, then the index is built
as `repo_index` would write it: RepoMetadata (card text, fields; the FTS5 triggers or the
generated tsvector follow) and RepoTag rows from `extract_metadata` of a generated card,
then `stats_refresh` for the sort keys. Queries go through the database backend, as the
API does, for an anonymous viewer and for a user who owns private repos.

    .venv/bin/python bench/search_bench.py                      # SQLite in a temp dir
    .venv/bin/python bench/search_bench.py --database-url postgres://postgres@127.0.0.1:5432/x
    .venv/bin/python bench/search_bench.py --repos 20000 --runs 50   # a quicker look

With --database-url the database named there is dropped and created anew, unless --reuse
is given and it already holds the repos. `--data-dir DIR` keeps the SQLite database (and the
data folder) in DIR; with --reuse a later run skips the generation.
"""

from __future__ import annotations

import argparse
import datetime
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

WORDS = (  # noqa: SIM905 (a sentence of words reads better than 54 quoted strings)
    "bert llama mistral whisper clip vit resnet t5 gpt neo phi qwen gemma falcon roberta deberta "
    "distil tiny small base large xl instruct chat code math vision audio speech sentiment "
    "summarize translate qa squad glue imdb wiki news legal medical finance review tweet "
    "multilingual french german spanish chinese japanese arabic hindi quantized lora merged"
).split()
TASKS = ["text-generation", "text-classification", "token-classification", "fill-mask",
         "question-answering", "summarization", "translation", "image-classification",
         "automatic-speech-recognition", "feature-extraction", "text-to-image",
         "sentence-similarity", "object-detection"]  # fmt: skip
LIBRARIES = ["transformers", "transformers", "transformers", "sentence-transformers",
             "diffusers", "peft", "gguf", "timm", "spacy", "keras"]  # fmt: skip
LICENSES = ["apache-2.0", "mit", "cc-by-4.0", "llama3", "other", "openrail", "gpl-3.0", "bsd"]
LANGUAGES = ["en", "en", "en", "fr", "de", "es", "zh", "ja", "ar", "hi", "ru", "pt", "it", "ko"]
DATASETS = ["squad", "glue", "imdb", "wikipedia", "c4", "common_voice", "mnist", "coco",
            "openwebtext", "the_pile", "alpaca", "dolly"]  # fmt: skip
SIZES = ["n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M"]
PARAGRAPH = (
    "This model was trained on {ds} for {task}. It reaches strong results on standard "
    "benchmarks and is intended for research. Limitations: it may reflect biases present in "
    "the training data. Use it with care in {lang} and other languages. Keywords: {kw}.\n\n"
)


def setup_django(
    database_url: str | None, *, data_dir: str | None = None, reuse: bool = False
) -> None:
    data = data_dir or tempfile.mkdtemp(prefix="hubforge-search-bench-")
    Path(data).mkdir(parents=True, exist_ok=True)
    os.environ["HUB_DATA_DIR"] = data
    os.environ.setdefault("HUB_SECRET_KEY", "bench-secret-key-0123456789-abcdefghijklmnop")
    os.environ["HUB_TASKS_EAGER"] = "true"
    os.environ.pop("HUB_ELASTICSEARCH_URL", None)
    if database_url:
        import psycopg

        base, name = database_url.rsplit("/", 1)
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if not (reuse and exists.fetchone()):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["HUB_DATABASE_URL"] = database_url
    else:
        os.environ.pop("HUB_DATABASE_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "hub.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def card(rng: random.Random, kind: str, name: str) -> str:
    lang = rng.sample(LANGUAGES, rng.randint(1, 2))
    if kind == "dataset":
        front = (
            f"license: {rng.choice(LICENSES)}\nlanguage: [{', '.join(lang)}]\n"
            f"task_categories: [{rng.choice(TASKS)}]\nsize_categories: [{rng.choice(SIZES)}]\n"
            f"tags: [{rng.choice(WORDS)}]\n"
        )
    else:
        ds = rng.sample(DATASETS, rng.randint(0, 2))
        front = (
            f"license: {rng.choice(LICENSES)}\nlanguage: [{', '.join(lang)}]\n"
            f"library_name: {rng.choice(LIBRARIES)}\npipeline_tag: {rng.choice(TASKS)}\n"
            f"datasets: [{', '.join(ds)}]\ntags: [{rng.choice(WORDS)}, {rng.choice(WORDS)}]\n"
        )
        if rng.random() < 0.2:
            front += f"base_model: org{rng.randint(0, 99)}/{rng.choice(WORDS)}-base\n"
    body = f"# {name}\n\n" + "".join(
        PARAGRAPH.format(
            ds=rng.choice(DATASETS), task=rng.choice(TASKS), lang=lang[0],
            kw=" ".join(rng.sample(WORDS, 6)),
        )
        for _ in range(rng.randint(2, 6))
    )  # fmt: skip
    return f"---\n{front}---\n{body}"


def generate(n_repos: int, seed: int) -> tuple[int, float]:
    """Rows for `n_repos` repos; returns (owner namespace id with private repos, build s)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from orgs.models import Namespace, User
    from repos.models import DownloadDay, Like, Repo
    from search.cards import extract_metadata
    from search.indexer import _tag_rows
    from search.models import RepoMetadata, RepoTag
    from search.stats import stats_refresh

    rng = random.Random(seed)
    now = timezone.now()
    n_owners = max(10, n_repos // 50)
    Namespace.objects.bulk_create(
        [Namespace(name=f"user{i}", kind="user") for i in range(n_owners)], batch_size=2000
    )
    spaces = list(Namespace.objects.order_by("pk"))
    User.objects.bulk_create(
        [User(username=s.name, namespace=s) for s in spaces[:2000]], batch_size=2000
    )
    users = list(User.objects.order_by("pk").values_list("pk", flat=True))
    repos = []
    for i in range(n_repos):
        kind = "dataset" if rng.random() < 0.2 else "model"
        owner = spaces[rng.randrange(len(spaces))]
        name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{i}"
        created = now - datetime.timedelta(days=rng.uniform(0, 900))
        repos.append(
            Repo(owner=owner, name=name, kind=kind, private=rng.random() < 0.05,
                 description=" ".join(rng.sample(WORDS, 5)), created_at=created,
                 last_modified=created + datetime.timedelta(days=rng.uniform(0, 100)))
        )  # fmt: skip
    Repo.objects.bulk_create(repos, batch_size=2000)
    repos = list(Repo.objects.select_related("owner").order_by("pk"))
    # Interest is skewed as on a real hub: a few repos get most likes and downloads.
    likes, seen = [], set()
    for _ in range(n_repos // 2):
        repo = repos[int(rng.paretovariate(1.2) * 7) % len(repos)]
        user = users[rng.randrange(len(users))]
        if (user, repo.pk) not in seen:
            seen.add((user, repo.pk))
            likes.append(Like(user_id=user, repo_id=repo.pk))
    Like.objects.bulk_create(likes, batch_size=5000)
    Like.objects.update(created_at=now)  # then spread over 60 days, in a few UPDATEs
    for age in range(0, 60, 6):
        Like.objects.filter(pk__in=[lk.pk for lk in likes[age::10] if lk.pk]).update(
            created_at=now - datetime.timedelta(days=age)
        )
    days = []
    today = now.date()
    for repo in rng.sample(repos, len(repos) // 5):
        for d in rng.sample(range(40), rng.randint(1, 8)):
            days.append(DownloadDay(repo_id=repo.pk, day=today - datetime.timedelta(days=d),
                                    count=int(rng.paretovariate(1.1) * 3)))  # fmt: skip
    DownloadDay.objects.bulk_create(days, batch_size=5000)
    print(f"generated {len(repos)} repos, {len(likes)} likes, {len(days)} download days")

    started = time.perf_counter()
    metas, tags = [], []
    for repo in repos:
        meta = extract_metadata(kind=repo.kind, readme=card(rng, repo.kind, repo.name), files=[])
        metas.append(
            RepoMetadata(
                repo=repo, kind=repo.kind, indexed_sha="0" * 40, full_id=repo.full_name,
                description=repo.description, card_text=meta.card_text,
                created_at=repo.created_at, last_modified=repo.last_modified,
                card_data=meta.card_data, tags=meta.tags, library=meta.library,
                pipeline_tag=meta.pipeline_tag, license=meta.license, languages=meta.languages,
                datasets=meta.datasets, base_models=meta.base_models,
                base_model_relation=meta.base_model_relation,
                task_categories=meta.task_categories, size_categories=meta.size_categories,
            )
        )  # fmt: skip
        tags += _tag_rows(repo, meta)
    with transaction.atomic():
        RepoMetadata.objects.bulk_create(metas, batch_size=2000)
        RepoTag.objects.bulk_create(tags, batch_size=5000)
    stats_refresh()
    with connection.cursor() as c:  # what autovacuum does on a live PostgreSQL
        c.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    build = time.perf_counter() - started
    owner = Repo.objects.filter(private=True).values_list("owner_id", flat=True).first()
    print(f"index build: {build:.1f} s ({len(tags)} tag rows)")
    return owner or spaces[0].pk, build


def populated(n_repos: int) -> int | None:
    """The owner namespace with private repos when the database already holds the repos."""
    from repos.models import Repo

    if Repo.objects.count() < n_repos:
        return None
    print(f"reusing {Repo.objects.count()} repos")
    return Repo.objects.filter(private=True).values_list("owner_id", flat=True).first()


def _fine_grained_viewer(owner: object) -> object:
    """The owner of private repos as a fine-grained token scoped to one of them shows it
    (orgs/permissions.py readable_scope: the listing condition names that repo only)."""
    from orgs.models import User
    from orgs.services import token_create
    from orgs.tokens import ScopeSpec
    from repos.models import Repo

    if not isinstance(owner, User):
        return owner
    repo = Repo.objects.filter(owner_id=owner.namespace_id, private=True, kind="model").first()
    if repo is None:
        return owner
    spec = ScopeSpec(type="model", name=repo.full_name, permissions=("repo.content.read",))
    token, _secret = token_create(user=owner, name="bench", role="fineGrained", scopes=[spec])
    viewer = User.objects.get(pk=owner.pk)
    viewer.access_token = token
    return viewer


def measure(cases: list[tuple[str, Callable[[], object]]], runs: int) -> dict[str, list[float]]:
    """Milliseconds per call, in rounds: each round runs every case once, so the load of a
    shared machine drifting during the run weighs on every case alike."""
    for _, fn in cases:
        fn()  # warm the caches once
    times: dict[str, list[float]] = {label: [] for label, _ in cases}
    for _ in range(runs):
        for label, fn in cases:
            t = time.perf_counter()
            fn()
            times[label].append((time.perf_counter() - t) * 1000)
    return times


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--database-url", default=os.environ.get("HUB_BENCH_DATABASE_URL"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", help="keep the data folder (SQLite database) here")
    parser.add_argument("--reuse", action="store_true", help="skip generation when populated")
    args = parser.parse_args()
    setup_django(args.database_url, data_dir=args.data_dir, reuse=args.reuse)
    from django.contrib.auth.models import AnonymousUser
    from django.db import connection

    from orgs.models import User
    from search.backends.base import SearchQuery
    from search.backends.db import DatabaseBackend

    owner_ns = populated(args.repos) if args.reuse else None
    if owner_ns is None:
        owner_ns, _build = generate(args.repos, args.seed)
    owner = User.objects.filter(namespace_id=owner_ns).first() or AnonymousUser()
    scoped = _fine_grained_viewer(owner)
    backend = DatabaseBackend()
    rng = random.Random(args.seed + 1)
    words = [w for w in WORDS if len(w) > 3]

    anonymous = AnonymousUser()

    def page(query: SearchQuery, user: object = anonymous) -> Callable[[], object]:
        return lambda: backend.search(user=user, query=query, size=30)  # type: ignore[arg-type]

    def text_query(**kw: object) -> Callable[[], object]:
        def run() -> object:
            q = SearchQuery(kind="model", text=rng.choice(words), sort="trendingScore", **kw)  # type: ignore[arg-type]
            return backend.search(user=AnonymousUser(), query=q, size=30)

        return run

    def facets(**kw: object) -> Callable[[], object]:
        def run() -> object:
            q = SearchQuery(kind="model", text=rng.choice(words), **kw)  # type: ignore[arg-type]
            return backend.facets(user=AnonymousUser(), query=q)

        return run

    def rare_text() -> object:  # three words: a few hundred matches, the other plan
        q = SearchQuery(kind="model", text=" ".join(rng.sample(words, 3)), sort="trendingScore")
        return backend.search(user=AnonymousUser(), query=q, size=30)

    cases = [
        ("full text (1 word, trending order)", text_query()),
        ("full text + 2 facets (task, license)", text_query(
            facets=(("task", "text-generation"),), tags=("license:apache-2.0",))),
        ("full text, 3 words (fewer matches)", rare_text),
        ("facet counts for a full-text query", facets()),
        ("facet counts, full text + 2 facets", facets(
            facets=(("task", "text-generation"),), tags=("license:apache-2.0",))),
        ("facet counts, whole catalogue", lambda: backend.facets(
            user=AnonymousUser(), query=SearchQuery(kind="model"))),
        ("facet counts, whole catalogue, owner of private", lambda: backend.facets(
            user=owner, query=SearchQuery(kind="model"))),
        ("sort by trending, first page", page(SearchQuery(kind="model", sort="trendingScore"))),
        ("sort by trending, owner of private repos", page(
            SearchQuery(kind="model", sort="trendingScore"), owner)),
        ("sort by trending, fine-grained token, 1 repo", page(
            SearchQuery(kind="model", sort="trendingScore"), scoped)),
        ("facet counts, whole catalogue, fine-grained", lambda: backend.facets(
            user=scoped, query=SearchQuery(kind="model"))),
        ("sort by likes", page(SearchQuery(kind="model", sort="likes"))),
        ("id substring (HF `search`)", page(SearchQuery(kind="model", search=("llama-c",)))),
        ("quick search (names, prefix)", page(
            SearchQuery(kind="model", text="mistral ins", names_only=True, sort="trendingScore"))),
    ]  # fmt: skip
    before = load_average()
    times = measure(cases, args.runs)
    print(f"\n{connection.vendor}, {args.repos} repos, {args.runs} rounds (ms)")
    print(f"load average before: {before}; after: {load_average()}")
    print(f"{'query':50} {'p50':>8} {'p99':>8}")
    for label, _ in cases:
        p50, p99 = percentiles(times[label])
        print(f"{label:50} {p50:8.1f} {p99:8.1f}")


if __name__ == "__main__":
    main()
