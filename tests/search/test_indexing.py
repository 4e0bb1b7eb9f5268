"""Indexing from real git commits through events and tasks, and what reads the index:
model_info fields, the listing, facet and quick-search APIs, the pages."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.test import Client

from orgs.models import User
from orgs.services import user_create
from repos.commits import AddFile, commit_create
from repos.models import Like, Repo
from repos.services import repo_create, repo_delete, repo_update_settings
from search.indexer import head_sha, repo_index
from search.models import RepoMetadata, RepoTag

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]

CARD = """---
license: mit
pipeline_tag: text-classification
library_name: transformers
language: [en]
datasets: [squad]
base_model: alice/base
tags: [demo]
---
# Sentiment

Finds the mood of zebra stories.
"""


@pytest.fixture
def alice(db) -> User:  # type: ignore[no-untyped-def]
    return user_create(username="alice", password="pw-alice-123")


@pytest.fixture
def bob(db) -> User:  # type: ignore[no-untyped-def]
    return user_create(username="bob", password="pw-bob-12345")


@pytest.fixture
def run_events(django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    """Run a block's on-commit hooks (event dispatch -> eager tasks) as a real commit would."""

    def run(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def _create(run_events, user: User, name: str, *, kind: str = "model", private: bool = False):  # type: ignore[no-untyped-def]
    return run_events(
        repo_create, actor=user, namespace=user.username, name=name, kind=kind, private=private
    )


def _commit(run_events, user: User, repo: Repo, files: dict[str, str], branch: str = "main"):  # type: ignore[no-untyped-def]
    ops = [AddFile(path=p, content=c.encode()) for p, c in files.items()]
    return run_events(
        commit_create, actor=user, repo=repo, revision=branch, operations=ops, summary="edit"
    )


def _client(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_a_pushed_card_is_indexed_and_served_by_model_info(run_events, alice) -> None:
    repo = _create(run_events, alice, "sentiment")
    meta = RepoMetadata.objects.get(pk=repo.pk)
    assert meta.indexed_sha == head_sha(repo)
    assert meta.license == ""
    first = head_sha(repo)
    _commit(run_events, alice, repo, {"README.md": CARD, "model.safetensors": "x"})
    meta.refresh_from_db()
    assert meta.indexed_sha == head_sha(repo) != first
    assert (meta.license, meta.pipeline_tag, meta.library) == ("mit", "text-classification",
                                                               "transformers")  # fmt: skip
    assert "zebra stories" in meta.card_text
    tags = set(RepoTag.objects.filter(repo=repo).values_list("tag", flat=True))
    assert {"license:mit", "dataset:squad", "base_model:finetune:alice/base", "demo"} <= tags

    info = _client(None).get(f"/api/models/{repo.full_name}").json()
    assert info["pipeline_tag"] == "text-classification"
    assert info["library_name"] == "transformers"
    assert "license:mit" in info["tags"]
    assert "safetensors" in info["tags"]
    assert info["cardData"]["license"] == "mit"
    assert info["baseModels"] == {"relation": "finetune", "models": [{"id": "alice/base"}]}
    # An older revision is described as it was, from its own card.
    old = _client(None).get(f"/api/models/{repo.full_name}/revision/{first}").json()
    assert old["tags"] == []
    assert "pipeline_tag" not in old


def test_stale_and_other_branch_tasks_change_nothing(run_events, alice) -> None:
    repo = _create(run_events, alice, "m")
    old = head_sha(repo)
    _commit(run_events, alice, repo, {"README.md": CARD})
    assert repo_index(repo_id=repo.pk, sha=old) is False  # a late task for an older commit
    assert RepoMetadata.objects.get(pk=repo.pk).license == "mit"
    from repos.commits import branch_create

    run_events(branch_create, actor=alice, repo=repo, branch="dev", starting_point=None)
    _commit(run_events, alice, repo, {"README.md": "---\nlicense: gpl-3.0\n---\n"}, branch="dev")
    assert RepoMetadata.objects.get(pk=repo.pk).license == "mit"  # only the default branch
    assert repo_index(repo_id=repo.pk, sha=head_sha(repo)) is True  # twice is harmless
    assert RepoTag.objects.filter(repo=repo, tag="license:mit").count() == 1


def test_hostile_card_never_fails_the_commit_and_warns_only_writers(run_events, alice, bob) -> None:
    repo = _create(run_events, alice, "hostile")
    bomb = "---\na: &a [1,2]\nb: [*a, *a]\n---\n# Still a card\n"
    result = _commit(run_events, alice, repo, {"README.md": bomb})
    assert result.oid == head_sha(repo)
    meta = RepoMetadata.objects.get(pk=repo.pk)
    assert meta.card_data == {}
    assert any("aliases" in w for w in meta.warnings)
    owner_page = _client(alice).get(f"/{repo.full_name}")
    assert owner_page.status_code == 200
    assert b"Card metadata problems" in owner_page.content
    assert b"Still a card" in owner_page.content
    other_page = _client(bob).get(f"/{repo.full_name}")
    assert other_page.status_code == 200
    assert b"Card metadata problems" not in other_page.content


def test_card_sidebar_shows_metadata_and_the_model_tree(run_events, alice, bob) -> None:
    base = _create(run_events, alice, "base")
    child = _create(run_events, alice, "base-gguf")
    _commit(run_events, alice, child, {"README.md": "---\nbase_model: alice/base\n---\n",
                                       "m.Q4.gguf": "x"})  # fmt: skip
    hidden = _create(run_events, bob, "secret-quant", private=True)
    _commit(run_events, bob, hidden, {"README.md": "---\nbase_model: alice/base\n---\n",
                                      "m.Q4.gguf": "x"})  # fmt: skip
    _commit(run_events, alice, base, {"README.md": CARD})
    page = _client(alice).get(f"/{base.full_name}").content.decode()
    assert "text-classification" in page
    assert "License" in page
    assert "Quantizations" in page
    assert "alice/base-gguf" in page
    assert "secret-quant" not in page  # bob's private repo is not alice's to see
    assert "secret-quant" in _client(bob).get(f"/{base.full_name}").content.decode()
    child_page = _client(None).get(f"/{child.full_name}").content.decode()
    assert "Quantized from" in child_page


def test_visibility_rename_and_delete_follow_events(run_events, alice, bob) -> None:
    repo = _create(run_events, alice, "m")
    _commit(run_events, alice, repo, {"README.md": CARD})
    facets = _client(bob).get("/api/models/facets").json()
    assert facets["total"] == 1
    run_events(repo_update_settings, actor=alice, repo=repo, private=True)
    for viewer in (bob, None):
        answer = _client(viewer).get("/api/models/facets").json()
        assert answer["total"] == 0
        assert all(values == [] for values in answer["facets"].values())
        assert _client(viewer).get("/api/models", {"filter": "license:mit"}).json() == []
        assert _client(viewer).get("/api/quicksearch", {"q": "m"}).json()["models"] == []
    mine = _client(alice).get("/api/models/facets").json()
    assert mine["facets"]["license"] == [{"value": "mit", "count": 1, "tag": "license:mit"}]
    assert [
        m["id"] for m in _client(alice).get("/api/quicksearch", {"q": "m"}).json()["models"]
    ] == ["alice/m"]
    run_events(repo_delete, actor=alice, repo=repo)
    assert not RepoMetadata.objects.filter(pk=repo.pk).exists()


def test_listing_api_filters_and_sorts(run_events, alice, bob) -> None:
    a = _create(run_events, alice, "alpha")
    b = _create(run_events, alice, "beta")
    _commit(run_events, alice, a, {"README.md": CARD})
    _commit(run_events, alice, b, {"README.md": "---\nlicense: apache-2.0\n---\nplain\n"})
    Like.objects.create(user=bob, repo=b)
    client = _client(None)

    def ids(**params):  # type: ignore[no-untyped-def]
        r = client.get("/api/models", params)
        assert r.status_code == 200, r.content
        return [m["id"] for m in r.json()]

    assert ids(filter="license:mit") == ["alice/alpha"]
    assert ids(filter=["license:mit", "demo"]) == ["alice/alpha"]
    assert ids(filter=["license:mit", "license:apache-2.0"]) == []
    assert ids(pipeline_tag="text-classification") == ["alice/alpha"]
    assert ids(library="transformers", language="en") == ["alice/alpha"]
    assert ids(q="zebra") == ["alice/alpha"]
    assert ids(sort="likes") == ["alice/beta", "alice/alpha"]
    assert ids(sort="trendingScore") == ["alice/beta", "alice/alpha"]
    item = client.get("/api/models", {"sort": "likes"}).json()[0]
    assert item["likes"] == 1
    assert item["trendingScore"] > 0
    tags = client.get("/api/models-tags-by-type").json()
    assert {"id": "license:mit", "label": "mit", "type": "license", "count": 1} in tags["license"]
    assert client.get("/api/models/facets", {"per_facet": "0"}).status_code == 400


def test_search_pages_render_facets_and_htmx_partials(
    run_events, alice, django_assert_max_num_queries
) -> None:
    for i in range(3):
        repo = _create(run_events, alice, f"zebra-{i}")
        _commit(run_events, alice, repo, {"README.md": CARD})
    _create(run_events, alice, "squad-data", kind="dataset")
    client = _client(None)
    with django_assert_max_num_queries(12):
        page = client.get("/models", {"q": "zebra", "filter": "license:mit"})
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="repo-item"') == 3
    assert "alice/zebra-0" in html
    assert "text-classification" in html
    assert "Licenses" in html
    assert 'hx-get="/models' in html
    partial = client.get("/models", {"q": "zeb"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert b"<html" not in partial.content
    assert b"alice/zebra-1" in partial.content
    datasets = client.get("/datasets").content.decode()
    assert "alice/squad-data" in datasets
    assert "zebra" not in datasets
    bad = client.get("/models", {"sort": "nope"})
    assert bad.status_code == 400
    assert b"Invalid sort" in bad.content
    home = client.get("/").content.decode()
    assert "Trending models" in home
    assert "alice/zebra-2" in home
    assert 'data-quicksearch="/api/quicksearch"' in home
    suggestions = client.get("/api/quicksearch", {"q": "zebra"}).json()
    assert len(suggestions["models"]) == 3
    assert suggestions["models"][0]["url"].startswith("/alice/zebra-")


def test_reindex_command_rebuilds_rows(run_events, alice, capsys) -> None:
    repo = _create(run_events, alice, "m")
    _commit(run_events, alice, repo, {"README.md": CARD})
    RepoMetadata.objects.all().delete()
    call_command("reindex", "--backend", "db")
    assert "reindexed 1 repos with the db backend" in capsys.readouterr().out
    meta = RepoMetadata.objects.get(pk=repo.pk)
    assert meta.license == "mit"
    assert json.loads(json.dumps(meta.card_data))["datasets"] == ["squad"]
