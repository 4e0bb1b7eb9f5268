"""Test-suite environment, loaded as a pytest plugin (`-p hub.pytest_env` in pyproject.toml).

pytest-django imports the settings before any conftest.py runs, so the variables the
settings read must be set here, at plugin load: a private data folder, tasks run inline,
and PostgreSQL when HUB_TEST_DATABASE_URL is given.
"""

from __future__ import annotations

import os
import tempfile

DATA_DIR = tempfile.mkdtemp(prefix="hubforge-test-")
os.environ["HUB_DATA_DIR"] = DATA_DIR
os.environ.setdefault("HUB_SECRET_KEY", "test-secret-key-not-for-production-0123456789")
os.environ.setdefault("HUB_PUBLIC_URL", "http://testserver")
# In-process tests run tasks inline; the live-server tests use a real worker.
os.environ["HUB_TASKS_EAGER"] = "true"
if os.environ.get("HUB_TEST_DATABASE_URL"):
    os.environ["HUB_DATABASE_URL"] = os.environ["HUB_TEST_DATABASE_URL"]
os.environ.pop("HUB_REDIS_URL", None)
