"""Organizations in headless Chromium, against a real server, with the real clients:

- an org admin invites a user in the browser, the user accepts in the browser and then
  pushes with git and uploads with huggingface_hub to the org's private repo (refused
  before joining); the admin then revokes that token's access to the org on the org's
  token page and the next push is refused;
- a user asks for access to a gated repo in the browser, is refused the file with
  `GatedRepoError` while the request waits, an admin approves it in the browser, and the
  user downloads the file with `hf_hub_download` and `/resolve`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

from tests.e2e.conftest import HubServer, browser_page
from tests.e2e.helpers import clone, commit_file, git

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.git]

PASSWORD = "correct-horse-1"


def _sign_in(page, server: HubServer, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{server.url}/login")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(f"{server.url}/")


def test_admin_invites_user_accepts_in_browser_then_pushes_and_uploads(
    hub_server: HubServer, browser, git_env: dict[str, str], tmp_path: Path
) -> None:
    boss, boss_token = hub_server.create_user(password=PASSWORD)
    newcomer, newcomer_token = hub_server.create_user(password=PASSWORD)
    org = hub_server.unique("browserorg")

    # The admin creates the org (new repos private by default) and invites by user name.
    admin = browser_page(browser)
    _sign_in(admin, hub_server, boss)
    admin.goto(f"{hub_server.url}/organizations/new")
    admin.fill("#id_name", org)
    admin.check("#id_default_private")
    admin.click("button[type=submit]:has-text('Create')")
    admin.wait_for_url(f"{hub_server.url}/organizations/{org}/settings")
    repo = hub_server.api(boss_token).create_repo(f"{org}/shared-model").repo_id
    assert hub_server.api(boss_token).model_info(repo).private

    admin.fill("#id_who", newcomer)
    admin.select_option("#id_role", "write")
    admin.click("button[type=submit]:has-text('Invite')")
    invite_url = admin.input_value("#invite-url")
    assert f"/organizations/{org}/invitations/" in invite_url
    pending = admin.locator("#invitations table").inner_text()
    assert newcomer in pending

    # Not a member yet: the private org repo does not exist for the newcomer.
    with pytest.raises(RepositoryNotFoundError):
        hub_server.api(newcomer_token).model_info(repo)
    refused = clone(hub_server, repo, tmp_path / "early", git_env, newcomer_token, check=False)
    assert refused.returncode != 0

    # The newcomer finds the invitation in its settings and accepts it.
    user = browser_page(browser)
    _sign_in(user, hub_server, newcomer)
    user.goto(f"{hub_server.url}/settings/organizations")
    invitations = user.locator("#my-invitations")
    assert org in invitations.inner_text()
    invitations.locator("a:has-text('Answer')").click()
    assert user.url == invite_url
    user.click("button:has-text('Accept and join')")
    user.wait_for_url(f"{hub_server.url}/{org}")
    assert repo in user.locator("main").inner_text()  # the org's private repo is listed
    user.goto(f"{hub_server.url}/settings/organizations")
    row = user.locator("#my-orgs tr", has_text=org)
    assert "write" in row.inner_text()

    # The admin sees the new member, and the invitation is no longer pending.
    admin.goto(f"{hub_server.url}/organizations/{org}/settings")
    assert admin.locator(f'#members tr[data-member="{newcomer}"]').count() == 1
    assert newcomer not in admin.locator("#invitations").inner_text()
    admin.goto(f"{hub_server.url}/organizations/{org}/settings/audit?verb=org.")
    log = admin.locator("table.audit").inner_text()
    assert "org.invite" in log
    assert "org.member.add" in log

    # Write access: a git push and a huggingface_hub upload both land.
    work = tmp_path / "work"
    clone(hub_server, repo, work, git_env, newcomer_token)
    pushed = commit_file(work, git_env, "README.md", "# Shared model\n\nFrom the newcomer.\n")
    git("push", "-q", "origin", "HEAD:main", cwd=work, env=git_env)
    assert hub_server.api(boss_token).model_info(repo).sha == pushed
    hub_server.api(newcomer_token).upload_file(
        path_or_fileobj=b"weights from the newcomer",
        path_in_repo="weights.bin",
        repo_id=repo,
    )
    files = {s.rfilename for s in hub_server.api(boss_token).model_info(repo).siblings}
    assert {"README.md", "weights.bin"} <= files
    admin.goto(f"{hub_server.url}/{repo}")
    assert "From the newcomer." in admin.locator("article").inner_text()

    git("pull", "-q", "--rebase", "origin", "main", cwd=work, env=git_env)  # up to date

    # The admin cuts the newcomer's token off the org from the org's token page (after the
    # browser's confirmation): the next push is refused, the member's role is untouched.
    admin.goto(f"{hub_server.url}/organizations/{org}/settings/tokens")
    row = admin.locator(f'#org-tokens tr[data-owner="{newcomer}"]')
    assert "write" in row.inner_text()
    admin.once("dialog", lambda dialog: dialog.accept())
    row.locator("button:has-text('Revoke access')").click()
    admin.wait_for_url(f"{hub_server.url}/organizations/{org}/settings/tokens")
    revoked = admin.locator(f'#org-tokens-revoked tr[data-owner="{newcomer}"]')
    assert revoked.count() == 1
    head_before = hub_server.api(boss_token).model_info(repo).sha
    commit_file(work, git_env, "README.md", "# Shared model\n\nAfter the revocation.\n")
    refused = git("push", "-q", "origin", "HEAD:main", cwd=work, env=git_env, check=False)
    assert refused.returncode != 0
    assert hub_server.api(boss_token).model_info(repo).sha == head_before
    user.goto(f"{hub_server.url}/settings/tokens")
    assert f"no access to {org}" in user.locator("table.tokens").inner_text()


def test_gated_request_in_browser_approved_in_browser_then_download(
    hub_server: HubServer, browser, tmp_path: Path
) -> None:
    boss, boss_token = hub_server.create_user(password=PASSWORD)
    asker, asker_token = hub_server.create_user(password=PASSWORD)
    org = hub_server.unique("gatedorg")
    hub_server.cli("org", "create", org, "--admin", boss)
    api = hub_server.api(boss_token)
    repo = api.create_repo(f"{org}/gated-model", private=False).repo_id
    api.upload_file(path_or_fileobj=b"gated weights", path_in_repo="model.bin", repo_id=repo)

    # The admin turns manual gating on, with one question, from the repo's settings page.
    admin = browser_page(browser)
    _sign_in(admin, hub_server, boss)
    admin.goto(f"{hub_server.url}/{repo}/settings")
    admin.check("input[name=gated][value=manual]")
    admin.click("button[type=submit]:has-text('Save')")
    admin.wait_for_url(f"{hub_server.url}/{repo}/settings")
    admin.fill("#gate-questions", "Company")
    admin.click("button:has-text('Save questions')")
    assert api.model_info(repo).gated == "manual"

    download = {
        "repo_id": repo,
        "filename": "model.bin",
        "endpoint": hub_server.url,
        "cache_dir": tmp_path / "cache",
        "token": asker_token,
    }
    with pytest.raises(GatedRepoError):
        hf_hub_download(**download)

    # The user asks in the browser: the answer is required, the request waits for review.
    user = browser_page(browser)
    _sign_in(user, hub_server, asker)
    user.goto(f"{hub_server.url}/{repo}")
    gate = user.locator("#gate")
    assert "Request access" in gate.inner_text()
    gate.locator("input[name=field_0]").fill("Initech")
    gate.locator("button:has-text('Request access')").click()
    user.wait_for_url(f"{hub_server.url}/{repo}")
    assert "Request pending review" in user.locator("#gate").inner_text()
    with pytest.raises(GatedRepoError):
        hf_hub_download(**download)
    resolve = f"{hub_server.url}/{repo}/resolve/main/model.bin"
    auth = {"Authorization": f"Bearer {asker_token}"}
    refused = requests.get(resolve, headers=auth, timeout=30)
    assert refused.status_code == 403
    assert refused.headers["X-Error-Code"] == "GatedRepo"

    # The admin reviews the request in the browser and accepts it.
    admin.goto(f"{hub_server.url}/{repo}/access-requests")
    row = admin.locator(f'#access-requests tr[data-user="{asker}"]')
    assert "Initech" in row.inner_text()
    row.locator("button:has-text('Accept')").click()
    admin.wait_for_url(f"{hub_server.url}/{repo}/access-requests?status=pending")
    assert admin.locator(f'#access-requests tr[data-user="{asker}"]').count() == 0
    admin.goto(f"{hub_server.url}/{repo}/access-requests?status=accepted")
    assert admin.locator(f'#access-requests tr[data-user="{asker}"]').count() == 1

    # The user now downloads the file, with the client and with a plain resolve.
    path = hf_hub_download(**download)
    assert Path(path).read_bytes() == b"gated weights"
    got = requests.get(resolve, headers=auth, timeout=30)
    assert got.status_code == 200
    assert got.content == b"gated weights"
    user.reload()
    assert "Access granted" in user.locator("#gate").inner_text()
    # The decision is in the org's audit log.
    admin.goto(f"{hub_server.url}/organizations/{org}/settings/audit?verb=repo.access.")
    log = admin.locator("table.audit").inner_text()
    assert "repo.access.request" in log
    assert "repo.access.handle" in log
