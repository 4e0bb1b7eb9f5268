"""The live server answers, and the basic git path works end to end."""

from __future__ import annotations

import subprocess

import requests

from tests.e2e.conftest import HubServer


def test_health_names_every_backend(hub_server: HubServer) -> None:
    body = requests.get(f"{hub_server.url}/api/health", timeout=10).json()
    assert set(body) >= {"database", "broker", "search", "storage"}
    assert all(body[k]["status"] == "ok" for k in ("database", "broker", "search", "storage"))


def test_clone_then_push_a_commit(hub_server: HubServer, git_env, tmp_path) -> None:
    _user, token = hub_server.create_user()
    repo = hub_server.create_repo(token)
    url = hub_server.url.replace("http://", f"http://x:{token}@") + f"/{repo}"
    work = tmp_path / "w"
    subprocess.run(["git", "clone", url, str(work)], env=git_env, check=True, capture_output=True)
    assert (work / ".gitattributes").exists()
    (work / "README.md").write_text("# hello\n")
    subprocess.run(["git", "add", "."], cwd=work, env=git_env, check=True)
    subprocess.run(["git", "commit", "-qm", "readme"], cwd=work, env=git_env, check=True)
    push = subprocess.run(["git", "push"], cwd=work, env=git_env, capture_output=True, text=True)
    assert push.returncode == 0, push.stderr
