"""The read side of the HF API with the real huggingface_hub client against a live hub.

The repo is filled through git (one storage, two doors): README, config, nested files, an
LFS weight file, a branch whose name holds a slash, and a tag.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
import requests
from huggingface_hub import (
    HfFileSystem,
    get_hf_file_metadata,
    hf_hub_download,
    hf_hub_url,
    snapshot_download,
)
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from tests.e2e.conftest import HubServer, git_environment

pytestmark = [pytest.mark.e2e, pytest.mark.git, pytest.mark.lfs]


def _git(cwd: Path, env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"git {' '.join(args)} failed:\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def filled_repo(hub_server: HubServer, tmp_path_factory: pytest.TempPathFactory) -> dict:
    from tests.conftest import require_tool

    require_tool("git")
    require_tool("git-lfs")
    user, token = hub_server.create_user()
    repo_id = hub_server.create_repo(token)
    env = git_environment(tmp_path_factory.mktemp("home"), name="Ann", email="ann@example.com")
    work = tmp_path_factory.mktemp("work") / "r"
    url = hub_server.url.replace("http://", f"http://x:{token}@") + f"/{repo_id}"
    _git(work.parent, env, "clone", url, str(work))
    _git(work, env, "lfs", "install", "--local")
    weights = os.urandom(2 * 1024 * 1024 + 7)
    (work / "README.md").write_text("---\nlicense: mit\n---\n# Model\n")
    (work / "config.json").write_text('{"architectures": ["BertModel"]}\n')
    (work / "model.safetensors").write_bytes(weights)
    (work / "sub" / "deep").mkdir(parents=True)
    (work / "sub" / "a.txt").write_text("a\n")
    (work / "sub" / "deep" / "b.txt").write_text("b\n")
    _git(work, env, "add", ".")
    _git(work, env, "commit", "-qm", "Add model files")
    _git(work, env, "push", "-q", "origin", "main")
    _git(work, env, "checkout", "-qb", "feature/x")
    (work / "branch-only.txt").write_text("only on the branch\n")
    _git(work, env, "add", ".")
    _git(work, env, "commit", "-qm", "Branch commit")
    _git(work, env, "push", "-q", "origin", "feature/x")
    _git(work, env, "tag", "v1", "main")
    _git(work, env, "push", "-q", "origin", "v1")
    main_sha = _git(work, env, "rev-parse", "main").strip()
    branch_sha = _git(work, env, "rev-parse", "feature/x").strip()
    return {
        "repo_id": repo_id,
        "token": token,
        "user": user,
        "weights": weights,
        "main": main_sha,
        "branch": branch_sha,
    }


def test_model_info_reports_commit_and_siblings(hub_server: HubServer, filled_repo: dict) -> None:
    api = hub_server.api(filled_repo["token"])
    info = api.model_info(filled_repo["repo_id"], files_metadata=True)
    assert info.id == filled_repo["repo_id"]
    assert info.sha == filled_repo["main"]
    assert info.private is False
    assert info.last_modified is not None
    assert info.created_at is not None
    names = {s.rfilename: s for s in info.siblings}
    assert set(names) == {
        ".gitattributes",
        "README.md",
        "config.json",
        "model.safetensors",
        "sub/a.txt",
        "sub/deep/b.txt",
    }
    weights = names["model.safetensors"]
    assert weights.size == len(filled_repo["weights"])
    assert weights.lfs is not None
    assert weights.lfs.sha256 == hashlib.sha256(filled_repo["weights"]).hexdigest()
    assert names["config.json"].lfs is None
    assert info.card_data is not None
    assert info.card_data.to_dict() == {"license": "mit"}
    assert len(names["config.json"].blob_id) == 40


def test_revisions_branch_with_slash_tag_and_sha(hub_server: HubServer, filled_repo: dict) -> None:
    api = hub_server.api(filled_repo["token"])
    assert api.model_info(filled_repo["repo_id"], revision="feature/x").sha == filled_repo["branch"]
    assert api.model_info(filled_repo["repo_id"], revision="v1").sha == filled_repo["main"]
    assert (
        api.model_info(filled_repo["repo_id"], revision=filled_repo["main"]).sha
        == filled_repo["main"]
    )
    assert (
        api.model_info(filled_repo["repo_id"], revision=filled_repo["main"][:10]).sha
        == filled_repo["main"]
    )
    with pytest.raises(RevisionNotFoundError):
        api.model_info(filled_repo["repo_id"], revision="nope")
    assert api.revision_exists(filled_repo["repo_id"], "feature/x")
    assert not api.revision_exists(filled_repo["repo_id"], "nope")


def test_missing_and_private_repos_look_the_same(hub_server: HubServer, filled_repo: dict) -> None:
    _owner, owner_token = hub_server.create_user()
    private = hub_server.create_repo(owner_token, private=True)
    _other, other_token = hub_server.create_user()
    for token in (None, other_token):
        api = hub_server.api(token)
        for repo_id in (private, f"{filled_repo['user']}/does-not-exist"):
            with pytest.raises(RepositoryNotFoundError):
                api.model_info(repo_id)
            assert not api.repo_exists(repo_id)
    anon = requests.get(f"{hub_server.url}/api/models/{private}", timeout=10)
    assert anon.status_code == 401
    assert anon.headers["X-Error-Code"] == "RepoNotFound"
    other = requests.get(
        f"{hub_server.url}/api/models/{private}",
        headers={"Authorization": f"Bearer {other_token}"},
        timeout=10,
    )
    assert other.status_code == 404
    assert other.headers["X-Error-Code"] == "RepoNotFound"
    assert hub_server.api(owner_token).model_info(private).private is True


def test_hf_hub_download_regular_and_lfs(
    hub_server: HubServer, filled_repo: dict, tmp_path: Path
) -> None:
    kw = {
        "repo_id": filled_repo["repo_id"],
        "endpoint": hub_server.url,
        "token": filled_repo["token"],
        "cache_dir": tmp_path,
    }
    config = Path(hf_hub_download(filename="config.json", **kw))
    assert config.read_text() == '{"architectures": ["BertModel"]}\n'
    assert config.parent.name == filled_repo["main"]  # snapshots/<commit>/
    weights = Path(hf_hub_download(filename="model.safetensors", **kw))
    assert weights.read_bytes() == filled_repo["weights"]
    sha256 = hashlib.sha256(filled_repo["weights"]).hexdigest()
    blobs = {
        p.name
        for p in (
            tmp_path / f"models--{filled_repo['repo_id'].replace('/', '--')}" / "blobs"
        ).iterdir()
    }
    assert sha256 in blobs  # the LFS etag names the cache blob
    nested = Path(hf_hub_download(filename="sub/deep/b.txt", **kw))
    assert nested.read_text() == "b\n"
    branch_file = Path(hf_hub_download(filename="branch-only.txt", revision="feature/x", **kw))
    assert branch_file.read_text() == "only on the branch\n"
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(filename="nope.txt", **kw)
    # Fetching the config counts one download (daily buckets, last 30 days).
    info = hub_server.api(filled_repo["token"]).model_info(
        filled_repo["repo_id"], expand=["downloads", "downloadsAllTime"]
    )
    assert info.downloads >= 1
    assert info.downloads_all_time >= info.downloads


def test_metadata_headers(hub_server: HubServer, filled_repo: dict) -> None:
    url = hf_hub_url(filled_repo["repo_id"], "model.safetensors", endpoint=hub_server.url)
    meta = get_hf_file_metadata(url, token=filled_repo["token"])
    assert meta.commit_hash == filled_repo["main"]
    assert meta.etag == hashlib.sha256(filled_repo["weights"]).hexdigest()
    assert meta.size == len(filled_repo["weights"])
    head = requests.head(url, headers={"Accept-Encoding": "identity"}, timeout=10)
    assert head.headers["X-Linked-Size"] == str(len(filled_repo["weights"]))
    assert head.headers["Content-Length"] == str(len(filled_repo["weights"]))
    assert "X-Xet-Hash" not in head.headers
    missing = requests.head(
        hf_hub_url(filled_repo["repo_id"], "nope", endpoint=hub_server.url), timeout=10
    )
    assert missing.status_code == 404
    assert missing.headers["X-Error-Code"] == "EntryNotFound"
    assert missing.headers["X-Repo-Commit"] == filled_repo["main"]
    assert "X-Request-Id" in missing.headers


def test_range_requests(hub_server: HubServer, filled_repo: dict) -> None:
    weights = filled_repo["weights"]
    for name, data in (
        ("model.safetensors", weights),
        ("config.json", b'{"architectures": ["BertModel"]}\n'),
    ):
        url = hf_hub_url(filled_repo["repo_id"], name, endpoint=hub_server.url)
        part = requests.get(url, headers={"Range": "bytes=5-14"}, timeout=10)
        assert part.status_code == 206
        assert part.content == data[5:15]
        assert part.headers["Content-Range"] == f"bytes 5-14/{len(data)}"
        tail = requests.get(url, headers={"Range": "bytes=10-"}, timeout=10)
        assert tail.content == data[10:]
        past = requests.get(url, headers={"Range": f"bytes={len(data) + 5}-"}, timeout=10)
        assert past.status_code == 416


def test_snapshot_download_with_patterns(
    hub_server: HubServer, filled_repo: dict, tmp_path: Path
) -> None:
    folder = Path(
        snapshot_download(
            filled_repo["repo_id"],
            endpoint=hub_server.url,
            token=filled_repo["token"],
            cache_dir=tmp_path,
            allow_patterns=["*.json", "sub/*"],
        )
    )
    got = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert got == ["config.json", "sub/a.txt", "sub/deep/b.txt"]
    assert folder.name == filled_repo["main"]
    full = Path(
        snapshot_download(
            filled_repo["repo_id"],
            endpoint=hub_server.url,
            token=filled_repo["token"],
            cache_dir=tmp_path / "full",
            revision="v1",
        )
    )
    assert (full / "model.safetensors").read_bytes() == filled_repo["weights"]


def test_tree_paths_info_commits_refs(hub_server: HubServer, filled_repo: dict) -> None:
    api = hub_server.api(filled_repo["token"])
    repo_id = filled_repo["repo_id"]
    assert sorted(api.list_repo_files(repo_id)) == [
        ".gitattributes",
        "README.md",
        "config.json",
        "model.safetensors",
        "sub/a.txt",
        "sub/deep/b.txt",
    ]
    tree = list(api.list_repo_tree(repo_id, recursive=True))
    assert len(tree) == 8  # 6 files + sub + sub/deep
    top = {e.path: e for e in api.list_repo_tree(repo_id, expand=True)}
    assert set(top) == {".gitattributes", "README.md", "config.json", "model.safetensors", "sub"}
    assert top["model.safetensors"].lfs.sha256 == hashlib.sha256(filled_repo["weights"]).hexdigest()
    assert top["README.md"].last_commit.title == "Add model files"
    sub = sorted(e.path for e in api.list_repo_tree(repo_id, path_in_repo="sub"))
    assert sub == ["sub/a.txt", "sub/deep"]
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(repo_id, path_in_repo="nope"))
    infos = api.get_paths_info(repo_id, ["config.json", "sub", "missing.txt"])
    assert sorted(i.path for i in infos) == ["config.json", "sub"]
    commits = api.list_repo_commits(repo_id)
    assert [c.title for c in commits] == ["Add model files", "initial commit"]
    assert commits[0].commit_id == filled_repo["main"]
    branch_commits = api.list_repo_commits(repo_id, revision="feature/x")
    assert branch_commits[0].title == "Branch commit"
    refs = api.list_repo_refs(repo_id)
    assert {b.name for b in refs.branches} == {"main", "feature/x"}
    assert [t.name for t in refs.tags] == ["v1"]
    assert refs.tags[0].target_commit == filled_repo["main"]
    assert api.file_exists(repo_id, "sub/a.txt")
    assert not api.file_exists(repo_id, "sub/zzz.txt")


def test_hf_filesystem_reads(hub_server: HubServer, filled_repo: dict) -> None:
    fs = HfFileSystem(endpoint=hub_server.url, token=filled_repo["token"])
    repo_id = filled_repo["repo_id"]
    assert fs.cat(f"{repo_id}/sub/a.txt") == b"a\n"
    with fs.open(f"{repo_id}/model.safetensors", "rb") as f:
        f.seek(100)
        assert f.read(50) == filled_repo["weights"][100:150]
    assert sorted(fs.ls(f"{repo_id}/sub", detail=False)) == [
        f"{repo_id}/sub/a.txt",
        f"{repo_id}/sub/deep",
    ]


def test_gated_repo_files_need_access(hub_server: HubServer, tmp_path: Path) -> None:
    _owner, owner_token = hub_server.create_user()
    repo_id = hub_server.create_repo(owner_token)
    name = repo_id.split("/")[1]
    hub_server.cli(
        "shell",
        "-c",
        f"from repos.models import Repo; Repo.objects.filter(name={name!r}).update(gated='manual')",
    )
    _other, other_token = hub_server.create_user()
    info = hub_server.api(other_token).model_info(repo_id)  # metadata stays readable
    assert info.gated == "manual"
    for token in (None, other_token):
        with pytest.raises(
            GatedRepoError, match="is restricted and you are not in the authorized list"
        ):
            hf_hub_download(
                repo_id, ".gitattributes", endpoint=hub_server.url, token=token, cache_dir=tmp_path
            )
    assert hub_server.api(other_token).repo_exists(repo_id)
    path = hf_hub_download(
        repo_id,
        ".gitattributes",
        endpoint=hub_server.url,
        token=owner_token,
        cache_dir=tmp_path / "owner",
    )
    assert Path(path).read_text().startswith("*.7z")


def test_xet_token_request_gets_a_clear_error(hub_server: HubServer, filled_repo: dict) -> None:
    r = requests.get(
        f"{hub_server.url}/api/models/{filled_repo['repo_id']}/xet-write-token/main",
        headers={"Authorization": f"Bearer {filled_repo['token']}"},
        timeout=10,
    )
    assert r.status_code == 501
    assert "HF_HUB_DISABLE_XET=1" in r.json()["error"]
