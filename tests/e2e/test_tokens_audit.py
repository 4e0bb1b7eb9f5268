"""Fine-grained tokens and the audit log against a live hub, with git and huggingface_hub;
and the token never reaching the server's log, delivery records or audit rows."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from tests.e2e.conftest import HubServer
from tests.e2e.helpers import clone, commit_file, db_query, git, poll, repo_url
from tests.webhooks.receiver import running

pytestmark = [pytest.mark.e2e, pytest.mark.git]


@pytest.fixture(scope="module")
def setup(hub_server: HubServer) -> dict[str, str]:
    """An owner with a scoped repo, a public and a private repo outside the scope, and
    fine-grained tokens: content.read on the scoped repo, and repo.write on it."""
    user, write = hub_server.create_user()
    scoped = hub_server.create_repo(write, private=True)
    public = hub_server.create_repo(write)
    private = hub_server.create_repo(write, private=True)

    def fine(*scopes: str) -> str:
        args = ["token", "create", user, "--role", "fineGrained", "--name", "fine"]
        for scope in scopes:
            args += ["--scope", scope]
        return hub_server.cli(*args).stdout.strip().splitlines()[-1]

    return {
        "user": user,
        "write": write,
        "scoped": scoped,
        "public": public,
        "private": private,
        "read_scoped": fine(f"model:{scoped}:repo.content.read"),
        "write_scoped": fine(f"model:{scoped}:repo.write"),
    }


def test_whoami_reports_a_fine_grained_token(hub_server: HubServer, setup: dict[str, str]) -> None:
    me = hub_server.api(setup["write_scoped"]).whoami()
    assert me["name"] == setup["user"]
    access = me["auth"]["accessToken"]
    assert access["role"] == "fineGrained"
    [scope] = access["fineGrained"]["scoped"]
    assert scope["entity"]["name"] == setup["scoped"]
    assert scope["permissions"] == ["repo.write"]


def test_git_clone_and_push_only_within_scope(
    hub_server: HubServer, setup: dict[str, str], git_env: dict[str, str], tmp_path: Path
) -> None:
    reader, writer = setup["read_scoped"], setup["write_scoped"]
    # content.read: clone the scoped repo, but not push to it.
    work = tmp_path / "scoped"
    clone(hub_server, setup["scoped"], work, git_env, reader)
    commit_file(work, git_env, "a.txt", "a\n")
    refused = git("push", "origin", "main", cwd=work, env=git_env, check=False)
    assert refused.returncode != 0
    assert "403" in refused.stderr
    # repo.write: the same push lands.
    git(
        "remote",
        "set-url",
        "origin",
        repo_url(hub_server, setup["scoped"], writer),
        cwd=work,
        env=git_env,
    )
    git("push", "origin", "main", cwd=work, env=git_env)
    # A private repo outside the scope does not exist, as far as this token can tell.
    hidden = clone(hub_server, setup["private"], tmp_path / "p", git_env, writer, check=False)
    assert hidden.returncode != 0
    assert "not found" in hidden.stderr.lower()
    r = requests.get(
        f"{hub_server.url}/{setup['private']}.git/info/refs",
        params={"service": "git-upload-pack"},
        auth=("x", writer),
        timeout=30,
    )
    assert r.status_code == 404
    # A public repo outside the scope: readable as by anyone, never writable.
    other = tmp_path / "public"
    clone(hub_server, setup["public"], other, git_env, writer)
    commit_file(other, git_env, "b.txt", "b\n")
    refused = git("push", "origin", "main", cwd=other, env=git_env, check=False)
    assert refused.returncode != 0
    assert "403" in refused.stderr


def test_upload_file_only_to_the_scoped_repo(hub_server: HubServer, setup: dict[str, str]) -> None:
    api = hub_server.api(setup["write_scoped"])
    info = api.upload_file(path_or_fileobj=b"ok\n", path_in_repo="ok.txt", repo_id=setup["scoped"])
    assert info.oid
    with pytest.raises(HfHubHTTPError) as refused:
        api.upload_file(path_or_fileobj=b"no\n", path_in_repo="no.txt", repo_id=setup["public"])
    assert refused.value.response.status_code == 403
    with pytest.raises(RepositoryNotFoundError):
        api.upload_file(path_or_fileobj=b"no\n", path_in_repo="no.txt", repo_id=setup["private"])
    with pytest.raises(HfHubHTTPError) as cannot_create:
        api.create_repo("not-in-scope")
    assert cannot_create.value.response.status_code == 403
    read_api = hub_server.api(setup["read_scoped"])
    with pytest.raises(HfHubHTTPError) as read_only:
        read_api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=setup["scoped"])
    assert read_only.value.response.status_code == 403


def test_token_never_reaches_logs_deliveries_or_audit_rows(
    hub_server: HubServer, git_env: dict[str, str], tmp_path: Path
) -> None:
    user, token = hub_server.create_user()
    with running() as receiver:
        hub_server.api(token).create_webhook(
            url=receiver.url, watched=[{"type": "user", "name": user}]
        )
        repo = hub_server.create_repo(token)
        marker = f"/api/models/{repo}"
        # The token in a query string, as a Basic password, and as a bearer token.
        requests.get(f"{hub_server.url}/api/whoami-v2", params={"token": token}, timeout=30)
        requests.get(f"{hub_server.url}{marker}", params={"access_token": token}, timeout=30)
        requests.get(f"{hub_server.url}{marker}", auth=("x", token), timeout=30)
        requests.get(f"{hub_server.url}/api/whoami-v2", auth=(token, token), timeout=30)
        work = tmp_path / "w"
        clone(hub_server, repo, work, git_env, token)
        commit_file(work, git_env, "README.md", "# hi\n")
        git("push", "origin", "main", cwd=work, env=git_env)
        receiver.wait_for(2)  # create and push delivered: their records are written

    def logged() -> str | None:
        text = hub_server.log_path.read_text(errors="replace") if hub_server.log_path else ""
        return text if marker in text else None

    log = poll(logged, what="the access log line of the request")
    assert token not in log
    assert "access_token=" not in log  # query strings are not logged at all
    tables = ("orgs_auditevent", "webhooks_delivery", "webhooks_deliveryattempt")
    for table in tables:
        rows = db_query(hub_server, f"SELECT * FROM {table}")  # noqa: S608 (fixed names)
        assert rows or table == "webhooks_deliveryattempt"
        assert token not in repr(rows)
    verbs = [
        r[0]
        for r in db_query(
            hub_server, "SELECT verb FROM orgs_auditevent WHERE actor_name = %s", (user,)
        )
    ]
    assert {"token.create", "webhook.create", "repo.create"} <= set(verbs)
