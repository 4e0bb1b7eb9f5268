"""The `hf` command-line tool against the live hub: whoami, repo create, upload, download."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import HubServer

pytestmark = pytest.mark.e2e


def _hf(
    server: HubServer, token: str | None, tmp: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("hf", path=str(Path(sys.executable).parent)) or shutil.which("hf")
    assert exe, "the hf CLI is installed with huggingface_hub"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(
        HF_ENDPOINT=server.url,
        HF_HOME=str(tmp / "hf-home"),
        HF_HUB_DISABLE_XET="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        NO_COLOR="1",
    )
    if token:
        env["HF_TOKEN"] = token
    return subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=120)


def test_whoami(hub_server: HubServer, tmp_path: Path) -> None:
    user, token = hub_server.create_user()
    out = _hf(hub_server, token, tmp_path, "auth", "whoami")
    assert out.returncode == 0, out.stderr
    assert user in out.stdout
    bad = _hf(hub_server, "hf_not_a_real_token", tmp_path, "auth", "whoami")
    assert bad.returncode != 0


def test_repo_create_upload_download(hub_server: HubServer, tmp_path: Path) -> None:
    user, token = hub_server.create_user()
    created = _hf(hub_server, token, tmp_path, "repos", "create", f"{user}/cli-model")
    assert created.returncode == 0, created.stderr + created.stdout
    folder = tmp_path / "upload"
    (folder / "nested").mkdir(parents=True)
    (folder / "config.json").write_text('{"a": 1}\n')
    (folder / "nested" / "weights.bin").write_bytes(os.urandom(300_000))
    up = _hf(hub_server, token, tmp_path, "upload", f"{user}/cli-model", str(folder), ".")
    assert up.returncode == 0, up.stderr + up.stdout
    dest = tmp_path / "download"
    down = _hf(
        hub_server, token, tmp_path, "download", f"{user}/cli-model", "--local-dir", str(dest)
    )
    assert down.returncode == 0, down.stderr + down.stdout
    assert (dest / "config.json").read_text() == '{"a": 1}\n'
    assert (dest / "nested" / "weights.bin").read_bytes() == (
        folder / "nested" / "weights.bin"
    ).read_bytes()
