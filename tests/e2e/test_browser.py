"""The browser path in headless Chromium: sign up, create a token and a repo, push, see the card."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import HubServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.git]

README = """---
license: apache-2.0
---
# Browser-made model

Pushed with **git** over HTTP.

<script>document.title = "owned"</script>
<img src="x" onerror="document.title = 'owned'">
"""


def _git(args: list[str], env: dict[str, str], cwd: Path | None = None) -> None:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_sign_up_create_token_and_repo_then_see_the_pushed_readme(
    hub_server: HubServer,
    page,
    git_env: dict[str, str],
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    username = f"Browser{uuid.uuid4().hex[:6]}"
    page.goto(f"{hub_server.url}/signup")
    page.fill("#id_username", username)
    page.fill("#id_fullname", "Browser Tester")
    page.fill("#id_email", "browser@example.com")
    page.fill("#id_password", "correct-horse-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{hub_server.url}/")
    assert page.locator(".avatar-button").is_visible()

    page.goto(f"{hub_server.url}/settings/tokens")
    page.fill("#id_name", "browser-push")
    page.check("input[name=role][value=write]")
    page.click("text=Create token")
    token = page.input_value("#token-secret")
    assert token.startswith("hf_")
    assert page.locator("table.tokens").inner_text().count("hf_…" + token[-4:]) == 1

    page.goto(f"{hub_server.url}/new")
    page.fill("#id_name", "browser-model")
    page.click("text=Create repository")
    page.wait_for_url(f"{hub_server.url}/{username}/browser-model")
    assert "No model card yet" in page.locator("article").inner_text()

    work = tmp_path / "work"
    remote = hub_server.url.replace("http://", f"http://user:{token}@")
    _git(["clone", f"{remote}/{username}/browser-model", str(work)], git_env)
    (work / "README.md").write_text(README)
    _git(["add", "README.md"], git_env, cwd=work)
    _git(["commit", "-qm", "Add the model card"], git_env, cwd=work)
    _git(["push", "origin", "main"], git_env, cwd=work)

    page.reload()
    card = page.locator("article .markdown")
    assert card.locator("h1").inner_text() == "Browser-made model"
    assert "Pushed with git over HTTP." in card.inner_text()
    assert "license" not in card.inner_text()
    assert card.locator("script").count() == 0
    assert page.title() != "owned"
    assert (
        f"git clone {hub_server.url}/{username}/browser-model"
        in page.locator("#clone-git").inner_text()
    )
    if os.environ.get("HUB_TEST_SCREENSHOT_DIR"):  # for a look at the page while developing
        page.screenshot(
            path=str(Path(os.environ["HUB_TEST_SCREENSHOT_DIR"]) / "repo.png"), full_page=True
        )
