"""Retry policy: 5xx/408/429 retry with backoff (Retry-After honoured), other 4xx and 3xx are
final, 410 disables, and the attempt budget ends it (SECURITY.md 30-32)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from webhooks.policy import backoff, decide, retry_after_seconds

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def _decide(
    status: int | None = None,
    *,
    headers: dict[str, str] | None = None,
    error_kind: str = "",
    attempt: int = 1,
    max_attempts: int = 5,
):  # type: ignore[no-untyped-def]
    return decide(
        status=status,
        headers=headers or {},
        error="boom" if status is None else "",
        error_kind=error_kind,
        attempt=attempt,
        max_attempts=max_attempts,
        base=30.0,
        now=NOW,
        rand=random.Random(1),
    )


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_2xx_succeeds(status: int) -> None:
    assert _decide(status).outcome == "succeeded"


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429])
def test_transient_answers_retry(status: int) -> None:
    decision = _decide(status)
    assert decision.outcome == "retry"
    assert 24.0 <= decision.delay <= 36.0  # base 30 s, +-20% jitter


@pytest.mark.parametrize("kind", ["timeout", "connect", "network", "dns"])
def test_network_trouble_retries(kind: str) -> None:
    assert _decide(None, error_kind=kind).outcome == "retry"


@pytest.mark.parametrize("status", [301, 302, 307, 400, 401, 403, 404, 422])
def test_other_answers_are_final(status: int) -> None:
    decision = _decide(status)
    assert decision.outcome == "failed"
    assert not decision.disable_reason


def test_an_address_refused_by_the_guard_is_final() -> None:
    assert _decide(None, error_kind="refused").outcome == "failed"


def test_410_disables_the_webhook() -> None:
    decision = _decide(410)
    assert decision.outcome == "failed"
    assert "410" in decision.disable_reason


def test_retry_after_seconds_is_honoured() -> None:
    decision = _decide(429, headers={"retry-after": "120"})
    assert decision.outcome == "retry"
    assert decision.delay >= 120


def test_retry_after_http_date_is_honoured() -> None:
    when = format_datetime(NOW + timedelta(seconds=600), usegmt=True)
    assert _decide(503, headers={"retry-after": when}).delay >= 600


def test_a_garbage_retry_after_falls_back_to_backoff() -> None:
    assert retry_after_seconds("soon", now=NOW) is None
    assert _decide(503, headers={"retry-after": "soon"}).delay < 40


def test_the_attempt_budget_ends_retries() -> None:
    assert _decide(500, attempt=4, max_attempts=5).outcome == "retry"
    final = _decide(500, attempt=5, max_attempts=5)
    assert final.outcome == "failed"
    assert "gave up after 5 attempts" in final.reason


def test_backoff_doubles_and_the_default_schedule_spans_about_a_day() -> None:
    rand = random.Random(7)
    delays = [backoff(n, base=30.0, rand=rand) for n in range(1, 13)]  # 13 attempts: 12 waits
    assert all(b > a for a, b in itertools.pairwise(delays[:9]))
    assert 16 * 3600 < sum(delays) < 48 * 3600
