"""What search adds to repos' answers and pages, through repos/extensions.py.

- `info_fields`: model_info / dataset_info / listing items get `tags`, `library_name`,
  `pipeline_tag`, `trendingScore` and `baseModels` from the card index. For a revision
  other than the indexed head (model_info(revision=...)), the card of that commit is
  read on the spot, so the answer always describes the commit it names.
- `card_panel`: the repo page's metadata sidebar (and the card's warnings, for writers).
- `trending_panel`: the home page's trending models and datasets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import HttpRequest

from repos.extensions import Panel
from repos.models import Repo
from search.cards import CardMetadata
from search.indexer import commit_metadata
from search.models import RepoMetadata
from search.selectors import RELATION_LABELS, card_metadata_get, derived_links, trending_list

TRENDING_ON_HOME = 8


def _fields(repo: Repo, meta: RepoMetadata | CardMetadata) -> dict[str, Any]:
    out: dict[str, Any] = {"tags": list(meta.tags)}
    if meta.library:
        out["library_name"] = meta.library
    if meta.pipeline_tag and repo.kind == "model":
        out["pipeline_tag"] = meta.pipeline_tag
    if meta.base_models and repo.kind == "model":
        out["baseModels"] = {
            "relation": meta.base_model_relation,
            "models": [{"id": m} for m in meta.base_models],
        }
    return out


def info_fields(repos: Sequence[Repo], *, commit: str | None = None) -> dict[int, dict[str, Any]]:
    metas = RepoMetadata.objects.in_bulk([r.pk for r in repos])
    out: dict[int, dict[str, Any]] = {}
    for repo in repos:
        meta = metas.get(repo.pk)
        fields: dict[str, Any] = {}
        if commit is not None and (meta is None or meta.indexed_sha != commit):
            fields = _fields(repo, commit_metadata(repo, commit))
        elif meta is not None:
            fields = _fields(repo, meta)
        if meta is not None:
            fields["trendingScore"] = round(meta.trending_score, 3)
        out[repo.pk] = fields
    return out


def card_panel(request: HttpRequest, *, repo: Repo, can_write: bool = False) -> Panel | None:
    meta = card_metadata_get(user=request.user, repo=repo)
    if meta is None:
        return None
    relation = RELATION_LABELS.get(meta.base_model_relation, RELATION_LABELS["finetune"])[0]
    context = {
        "meta": meta,
        "relation_label": relation,
        "derived": derived_links(user=request.user, repo=repo) if meta.derived_count else {},
        "warnings": meta.warnings if can_write else [],
        "list_url": "/datasets" if repo.kind == "dataset" else "/models",
        "task": meta.pipeline_tag if repo.kind == "model" else ", ".join(meta.task_categories),
    }
    return Panel(template="search/_card_sidebar.html", context=context)


def trending_panel(request: HttpRequest) -> Panel | None:
    models = trending_list(user=request.user, kind="model", limit=TRENDING_ON_HOME)
    datasets = trending_list(user=request.user, kind="dataset", limit=TRENDING_ON_HOME)
    context = {
        key: [(r, page.metas.get(r.pk)) for r in page.repos]
        for key, page in (("models", models), ("datasets", datasets))
    }
    return Panel(template="search/_trending.html", context=context)
