"""Test setup shared by every test: a private data folder, both profiles, tool checks.

In-process tests use pytest-django's database (SQLite, or PostgreSQL when
HUB_TEST_DATABASE_URL is set). End-to-end tests (tests/e2e) start a real server.
"""

from __future__ import annotations

import os
import shutil

import pytest

# The environment the settings read is set by the `hub.pytest_env` plugin (pyproject.toml),
# which pytest loads before pytest-django imports the settings.
from hub.pytest_env import DATA_DIR as _DATA

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(name: str) -> str:
    """Path of a program the test needs: a skip locally, a failure in CI."""
    path = shutil.which(name) or (name if os.path.isabs(name) and os.path.exists(name) else None)
    if path is None:
        message = f"{name} is not installed"
        if IN_CI:
            pytest.fail(f"{message} (CI must install it: see .ci/run)")
        pytest.skip(message)
    return path


def require_service(name: str, available: bool) -> None:
    if not available:
        if IN_CI:
            pytest.fail(f"{name} is not available (CI must provide it)")
        pytest.skip(f"{name} is not available")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_DATA, ignore_errors=True)


@pytest.fixture
def data_dir(settings, tmp_path):  # type: ignore[no-untyped-def]
    """A fresh data folder per test: git repos and LFS objects land under tmp_path."""
    settings.DATA_DIR = tmp_path
    settings.GIT_ROOT = tmp_path / "git"
    settings.LFS_ROOT = tmp_path / "lfs"
    return tmp_path
