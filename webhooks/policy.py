"""What an attempt's outcome means for the delivery: done, retry (when), or give up.

Pure functions of the answer and the attempt count, so the whole policy tests without I/O.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

MAX_DELAY_SECONDS = 12 * 3600.0  # one backoff step never exceeds this
MAX_RETRY_AFTER_SECONDS = 24 * 3600.0  # nor does a receiver's Retry-After


@dataclass(frozen=True)
class Decision:
    outcome: str  # "succeeded" | "retry" | "failed"
    delay: float = 0.0  # seconds until the next attempt, for "retry"
    reason: str = ""  # why it failed (shown in the log)
    disable_reason: str = ""  # set when the webhook itself must be disabled


def backoff(attempt: int, *, base: float, rand: random.Random | None = None) -> float:
    """Delay after the `attempt`-th failed attempt: base * 2^(attempt-1), +-20% jitter."""
    raw = min(base * 2 ** max(attempt - 1, 0), MAX_DELAY_SECONDS)
    jitter = (rand or random).uniform(0.8, 1.2)  # spreads load; not a secret
    return raw * jitter


def retry_after_seconds(value: str | None, *, now: datetime) -> float | None:
    """`Retry-After` as seconds from now (delta-seconds or HTTP-date); None when absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_SECONDS)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER_SECONDS)


def decide(
    *,
    status: int | None,
    headers: dict[str, str],
    error: str,
    error_kind: str,
    attempt: int,
    max_attempts: int,
    base: float,
    now: datetime,
    rand: random.Random | None = None,
) -> Decision:
    """Classify one attempt (`attempt` counts from 1 since the last (re)delivery request)."""
    if status is not None:
        if 200 <= status < 300:
            return Decision("succeeded")
        if status == 410:
            reason = "The receiver answered 410 Gone"
            return Decision("failed", reason=reason, disable_reason=f"{reason}.")
        # 408 and 429 say "try later"; 5xx may clear up. Any other answer (3xx, 4xx) would
        # come back the same, and redirects are never followed (SSRF).
        if not (status in (408, 429) or status >= 500):
            return Decision("failed", reason=f"HTTP {status} is final")
        reason = f"HTTP {status}"
    elif error_kind == "refused":
        return Decision("failed", reason=error)
    else:
        reason = error or "no answer"
    if attempt >= max_attempts:
        return Decision("failed", reason=f"{reason}; gave up after {attempt} attempts")
    delay = backoff(attempt, base=base, rand=rand)
    asked = retry_after_seconds(headers.get("retry-after"), now=now)
    if asked is not None:
        delay = max(delay, asked)
    return Decision("retry", delay=delay, reason=reason)


def next_time(now: datetime, delay: float) -> datetime:
    return now + timedelta(seconds=delay)
