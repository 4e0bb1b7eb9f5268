"""The webhook worker's tuning comes from HUB_* variables; bad values stop the start-up."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from hub.env import env_float, env_int
from tests.e2e.conftest import ROOT


def test_minimums_are_enforced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_X", "0")
    with pytest.raises(ImproperlyConfigured, match="HUB_X must be at least 1, not 0"):
        env_int("HUB_X", 8, minimum=1)
    assert env_int("HUB_X", 8, minimum=0) == 0
    monkeypatch.setenv("HUB_X", "-0.5")
    with pytest.raises(ImproperlyConfigured, match=r"at least 0\.1"):
        env_float("HUB_X", 1.0, minimum=0.1)


def _settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    clean.update(HUB_DATA_DIR=os.environ["HUB_DATA_DIR"], HUB_SECRET_KEY="x" * 50, **env)
    code = (
        "import hub.settings as s; print(s.WEBHOOK_SEND_THREADS, s.WEBHOOK_DRAIN_BATCH, "
        "s.WEBHOOK_DRAIN_SECONDS, s.WEBHOOK_SWEEP_BATCH, s.WEBHOOK_COUNTDOWN_LIMIT_SECONDS, "
        "s.WEBHOOK_RETRY_BASE_SECONDS, s.WEBHOOK_DISABLE_AFTER_FAILED_EVENTS, "
        "s.WEBHOOK_READ_TIMEOUT_SECONDS)"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=clean,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_tuning_variables_reach_the_settings() -> None:
    done = _settings(
        HUB_WEBHOOK_SEND_THREADS="16",
        HUB_WEBHOOK_DRAIN_BATCH="50",
        HUB_WEBHOOK_DRAIN_SECONDS="5",
        HUB_WEBHOOK_SWEEP_BATCH="200",
        HUB_WEBHOOK_COUNTDOWN_LIMIT_SECONDS="60",
        HUB_WEBHOOK_RETRY_BASE_SECONDS="10",
        HUB_WEBHOOK_DISABLE_AFTER_FAILED_EVENTS="0",
        HUB_WEBHOOK_READ_TIMEOUT_SECONDS="3",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["16", "50", "5.0", "200", "60.0", "10.0", "0", "3.0"]
    defaults = _settings()
    assert defaults.stdout.split() == ["8", "100", "10.0", "1000", "300.0", "30.0", "20", "10.0"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HUB_WEBHOOK_SEND_THREADS": "0"}, "HUB_WEBHOOK_SEND_THREADS must be at least 1"),
        ({"HUB_WEBHOOK_DRAIN_BATCH": "many"}, "HUB_WEBHOOK_DRAIN_BATCH must be an integer"),
        ({"HUB_WEBHOOK_LEASE_SECONDS": "0"}, "HUB_WEBHOOK_LEASE_SECONDS must be at least 1"),
        (
            {
                "HUB_REDIS_URL": "redis://127.0.0.1:6379/0",
                "HUB_CELERY_VISIBILITY_TIMEOUT": "600",
                "HUB_WEBHOOK_COUNTDOWN_LIMIT_SECONDS": "900",
            },
            "must stay below HUB_CELERY_VISIBILITY_TIMEOUT",
        ),
    ],
)
def test_bad_values_stop_the_start_up(env: dict[str, str], message: str) -> None:
    done = _settings(**env)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert message in done.stderr
