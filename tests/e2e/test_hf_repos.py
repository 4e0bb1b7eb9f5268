"""Repo lifecycle with the real huggingface_hub client and `hf` CLI: create, delete, move
(old names redirect on every door), settings, likes, and the README check (validate-yaml)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import requests
from huggingface_hub import RepoUrl, hf_hub_download
from huggingface_hub.errors import (
    BadRequestError,
    HfHubHTTPError,
    RepositoryNotFoundError,
)

from tests.e2e.conftest import HubServer
from tests.e2e.helpers import clone, git, query_events
from tests.e2e.test_hf_cli import _hf

pytestmark = pytest.mark.e2e


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- create / delete --------------------------------------------------------------------------


def test_create_repo_url_and_exist_ok(hub_server: HubServer) -> None:
    user, token = hub_server.create_user()
    api = hub_server.api(token)
    url = api.create_repo("first")  # organization: null -> the caller's namespace
    assert url == f"{hub_server.url}/{user}/first"
    assert isinstance(url, RepoUrl)
    assert (url.repo_id, url.repo_type, url.namespace) == (f"{user}/first", "model", user)
    with pytest.raises(HfHubHTTPError) as exc:
        api.create_repo(f"{user}/first")
    assert exc.value.response.status_code == 409
    assert "first" in str(exc.value)
    assert api.create_repo(f"{user}/FIRST", exist_ok=True).repo_id == f"{user}/first"


def test_create_private_repo_hidden_from_others(hub_server: HubServer) -> None:
    user, token = hub_server.create_user()
    _other, other_token = hub_server.create_user()
    url = hub_server.api(token).create_repo(f"{user}/secret", private=True)
    assert hub_server.api(token).model_info(url.repo_id).private is True
    assert hub_server.api(None).repo_exists(url.repo_id) is False
    assert hub_server.api(other_token).repo_exists(url.repo_id) is False
    # `visibility` (clients >= 1.8) as well as legacy `private`
    visible = hub_server.api(token).create_repo(f"{user}/open", visibility="public")
    assert hub_server.api(None).repo_exists(visible.repo_id)


def test_create_dataset_repo(hub_server: HubServer) -> None:
    user, token = hub_server.create_user()
    api = hub_server.api(token)
    url = api.create_repo(f"{user}/data", repo_type="dataset")
    assert url == f"{hub_server.url}/datasets/{user}/data"
    assert (url.repo_id, url.repo_type) == (f"{user}/data", "dataset")
    assert api.repo_exists(f"{user}/data", repo_type="dataset")
    assert not api.repo_exists(f"{user}/data")  # no model of that name
    # A model and a dataset may share a name.
    assert api.create_repo(f"{user}/data").repo_type == "model"


def test_spaces_are_refused_with_a_clear_message(hub_server: HubServer) -> None:
    user, token = hub_server.create_user()
    with pytest.raises(BadRequestError, match="Spaces are not supported"):
        hub_server.api(token).create_repo(f"{user}/app", repo_type="space", space_sdk="gradio")


def test_delete_repo_missing_ok(hub_server: HubServer) -> None:
    user, token = hub_server.create_user()
    api = hub_server.api(token)
    repo = hub_server.create_repo(token)
    api.delete_repo(repo)
    assert not api.repo_exists(repo)
    with pytest.raises(RepositoryNotFoundError):
        api.delete_repo(repo)
    api.delete_repo(repo, missing_ok=True)
    api.delete_repo(f"{user}/never-existed", repo_type="dataset", missing_ok=True)


def test_hf_cli_creates_private_dataset_and_moves_it(hub_server: HubServer, tmp_path: Path) -> None:
    user, token = hub_server.create_user()

    def hf(*args: str) -> str:
        out = _hf(hub_server, token, tmp_path, "repos", *args, "--repo-type", "dataset")
        assert out.returncode == 0, out.stderr + out.stdout
        return out.stdout

    assert f"datasets/{user}/cli-data" in hf("create", "cli-data", "--private")
    assert hub_server.api(token).dataset_info(f"{user}/cli-data").private is True
    hf("create", "cli-data", "--exist-ok")
    hf("move", f"{user}/cli-data", f"{user}/cli-data2")
    assert hub_server.api(token).dataset_info(f"{user}/cli-data2").id == f"{user}/cli-data2"


# --- move -------------------------------------------------------------------------------------


def test_move_repo_keeps_old_name_working(hub_server: HubServer, git_env, tmp_path: Path) -> None:
    user, token = hub_server.create_user()
    api = hub_server.api(token)
    old = hub_server.create_repo(token, "before")
    sha = api.model_info(old).sha
    api.move_repo(old, f"{user}/after")

    # API paths under the old name redirect, for the client and for anonymous readers.
    assert api.model_info(old).id == f"{user}/after"
    assert hub_server.api(None).model_info(old).sha == sha
    r = requests.get(
        f"{hub_server.url}/api/models/{old}/revision/main?x=1", allow_redirects=False, timeout=30
    )
    assert r.status_code == 307
    assert r.headers["Location"] == f"/api/models/{user}/after/revision/main?x=1"  # relative

    # Downloads and git clone through the old name.
    path = hf_hub_download(
        old, ".gitattributes", endpoint=hub_server.url, token=False, cache_dir=tmp_path / "cache"
    )
    assert "filter=lfs" in Path(path).read_text()
    clone(hub_server, old, tmp_path / "w", git_env)
    assert git("rev-parse", "HEAD", cwd=tmp_path / "w", env=git_env).stdout.strip() == sha

    # An event tells consumers about the rename.
    changes = [e["payload"]["changes"] for e in query_events(hub_server, "repo.config")]
    assert {"name": {"old": old, "new": f"{user}/after"}} in changes


def test_move_to_an_existing_name_conflicts(hub_server: HubServer) -> None:
    _user, token = hub_server.create_user()
    api = hub_server.api(token)
    a = hub_server.create_repo(token)
    b = hub_server.create_repo(token)
    with pytest.raises(HfHubHTTPError, match=r"A model repository called .* already exists"):
        api.move_repo(a, b)
    da = hub_server.create_repo(token, kind="dataset")
    db = hub_server.create_repo(token, kind="dataset")
    with pytest.raises(HfHubHTTPError, match=r"A dataset repository called .* already exists"):
        api.move_repo(da, db, repo_type="dataset")
    assert api.repo_exists(a)
    assert api.repo_exists(b)


def test_move_needs_admin_and_a_writable_target(hub_server: HubServer) -> None:
    user, token = hub_server.create_user()
    other, other_token = hub_server.create_user()
    repo = hub_server.create_repo(token)
    with pytest.raises(HfHubHTTPError) as exc:
        hub_server.api(other_token).move_repo(repo, f"{other}/stolen")
    assert exc.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as exc:  # the target namespace is someone else's
        hub_server.api(token).move_repo(repo, f"{other}/gift")
    assert exc.value.response.status_code == 403
    with pytest.raises(RepositoryNotFoundError):
        hub_server.api(token).move_repo(f"{user}/missing", f"{user}/x")


def test_moved_private_repo_redirects_only_its_readers(hub_server: HubServer) -> None:
    user, token = hub_server.create_user()
    _other, other_token = hub_server.create_user()
    old = hub_server.create_repo(token, private=True)
    hub_server.api(token).move_repo(old, f"{user}/hidden-now")
    assert hub_server.api(token).model_info(old).id == f"{user}/hidden-now"
    for outsider in (None, other_token):
        with pytest.raises(RepositoryNotFoundError):
            hub_server.api(outsider).model_info(old)
        headers = _auth(outsider) if outsider else {}
        r = requests.get(
            f"{hub_server.url}/{old}/resolve/main/.gitattributes",
            headers=headers,
            allow_redirects=False,
            timeout=30,
        )
        assert r.status_code in (401, 404)
        assert "Location" not in r.headers
        assert r.headers["X-Error-Code"] == "RepoNotFound"


def test_new_repo_at_an_old_name_shadows_the_redirect(hub_server: HubServer) -> None:
    user, token = hub_server.create_user()
    api = hub_server.api(token)
    old = hub_server.create_repo(token, "reused")
    api.move_repo(old, f"{user}/elsewhere")
    api.create_repo(old)
    assert api.model_info(old).id == old
    api.move_repo(f"{user}/elsewhere", f"{user}/third")  # the first repo moves on again
    assert api.model_info(f"{user}/elsewhere").id == f"{user}/third"
    assert api.model_info(old).id == old


# --- settings ---------------------------------------------------------------------------------


def test_update_repo_settings_visibility_and_gating(hub_server: HubServer) -> None:
    _user, token = hub_server.create_user()
    api = hub_server.api(token)
    repo = hub_server.create_repo(token)
    api.update_repo_settings(repo, private=True)
    assert api.model_info(repo).private is True
    assert not hub_server.api(None).repo_exists(repo)
    api.update_repo_settings(repo, visibility="public")
    assert hub_server.api(None).model_info(repo).private is False
    api.update_repo_settings(repo, gated="auto")
    assert api.model_info(repo).gated == "auto"
    api.update_repo_settings(repo, gated="manual")
    assert hub_server.api(None).model_info(repo).gated == "manual"  # metadata stays readable
    api.update_repo_settings(repo, gated=False)
    assert api.model_info(repo).gated is False
    # tests of the client also send a raw {"gated": "auto"}
    r = requests.put(
        f"{hub_server.url}/api/models/{repo}/settings",
        json={"gated": "auto"},
        headers=_auth(token),
        timeout=30,
    )
    assert r.status_code == 200
    assert api.model_info(repo).gated == "auto"
    bad = requests.put(
        f"{hub_server.url}/api/models/{repo}/settings",
        json={"gated": "yes"},
        headers=_auth(token),
        timeout=30,
    )
    assert bad.status_code == 400
    changes = [
        e["payload"]["changes"]
        for e in query_events(hub_server, "repo.config")
        if e["payload"]["full_name"] == repo
    ]
    assert changes[:2] == [{"private": True}, {"private": False}]


def test_settings_need_admin(hub_server: HubServer) -> None:
    _user, token = hub_server.create_user()
    _other, other_token = hub_server.create_user()
    repo = hub_server.create_repo(token)
    private = hub_server.create_repo(token, private=True)
    with pytest.raises(HfHubHTTPError) as exc:
        hub_server.api(other_token).update_repo_settings(repo, private=True)
    assert exc.value.response.status_code == 403
    with pytest.raises(RepositoryNotFoundError):
        hub_server.api(other_token).update_repo_settings(private, gated="auto")
    read_token = hub_server.token(_user, role="read")
    with pytest.raises(HfHubHTTPError) as exc:
        hub_server.api(read_token).update_repo_settings(repo, private=True)
    assert exc.value.response.status_code == 403
    assert hub_server.api(None).model_info(repo).private is False


# --- likes ------------------------------------------------------------------------------------


def test_like_unlike_and_lists(hub_server: HubServer) -> None:
    owner, token = hub_server.create_user()
    fan, fan_token = hub_server.create_user()
    model = hub_server.create_repo(token)
    data = hub_server.create_repo(token, kind="dataset")
    private = hub_server.create_repo(token, private=True)
    for path in (f"models/{model}", f"datasets/{data}", f"models/{private}"):
        r = requests.post(f"{hub_server.url}/api/{path}/like", headers=_auth(token), timeout=30)
        assert r.status_code == 200, r.text
    r = requests.post(
        f"{hub_server.url}/api/models/{model}/like", headers=_auth(fan_token), timeout=30
    )
    assert r.status_code == 200
    # liking twice is harmless
    requests.post(
        f"{hub_server.url}/api/models/{model}/like", headers=_auth(fan_token), timeout=30
    ).raise_for_status()

    likes = hub_server.api(token).list_liked_repos()
    assert (likes.user, set(likes.models), likes.datasets) == (owner, {model, private}, [data])
    # Others do not see the private repo among the owner's likes.
    assert set(hub_server.api(fan_token).list_liked_repos(owner).models) == {model}
    assert hub_server.api(None).list_liked_repos(fan).models == [model]

    likers = list(hub_server.api(None).list_repo_likers(model))
    assert sorted(u.username for u in likers) == sorted([owner, fan])
    hub_server.api(fan_token).unlike(model)
    hub_server.api(fan_token).unlike(model)  # idempotent
    assert [u.username for u in hub_server.api(None).list_repo_likers(model)] == [owner]
    assert hub_server.api(None).list_liked_repos(fan).total == 0

    with pytest.raises(RepositoryNotFoundError):
        hub_server.api(fan_token).unlike(private)
    anon = requests.post(f"{hub_server.url}/api/models/{model}/like", timeout=30)
    assert anon.status_code == 401
    missing = requests.get(f"{hub_server.url}/api/users/nobody-{owner}/likes", timeout=30)
    assert missing.status_code == 404


# --- validate-yaml ----------------------------------------------------------------------------


def test_validate_yaml_answers_the_client(hub_server: HubServer) -> None:
    _user, token = hub_server.create_user()
    api = hub_server.api(token)
    api._validate_yaml("---\nlicense: mit\nmodel-index:\n- name: m\n  results: []\n---\n# Hi\n")
    with pytest.raises(ValueError, match=r'Invalid metadata in README\.md\.\n- "model-index" must'):
        api._validate_yaml("---\nmodel-index: foo\n---\n")
    with pytest.warns(UserWarning, match="Empty or missing yaml metadata"):
        api._validate_yaml("# Just a title\n")
    with pytest.raises(ValueError, match="must be a YAML mapping"):
        api._validate_yaml("---\n- a\n- b\n---\n", repo_type="dataset")
    with pytest.raises(ValueError, match="anchors and aliases"):
        api._validate_yaml("---\na: &x [1]\nb: *x\n---\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        api._validate_yaml("---\nconfigs:\n- config_name: default\n---\n", repo_type="dataset")


def test_validate_yaml_always_answers_json(hub_server: HubServer) -> None:
    url = f"{hub_server.url}/api/validate-yaml"
    for body in ({}, {"content": 3}, {"content": "---\nmodel-index: foo\n---\n"}):
        r = requests.post(url, json=body, timeout=30)
        assert r.status_code == 400
        assert isinstance(r.json()["errors"], list)
        assert r.json()["errors"]
    r = requests.post(
        url, json={"content": "---\ntags: [a]\n---\n", "repoType": "model"}, timeout=30
    )
    assert (r.status_code, r.json()) == (200, {"errors": [], "warnings": []})
