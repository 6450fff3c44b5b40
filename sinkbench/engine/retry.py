"""Retry decisions: classification of an attempt and the wait before the next (docs/sink.md)."""

from __future__ import annotations

import random
from email.utils import parsedate_to_datetime
from enum import Enum

from sinkbench.config.settings import Jitter, SinkSettings

U32_MAX = 2**32 - 1


class Verdict(Enum):
    SUCCESS = "success"
    RETRY = "retry"
    FAIL = "fail"


def classify_status(status: int, success: frozenset[int], transient: frozenset[int]) -> Verdict:
    if status in success:
        return Verdict.SUCCESS
    if status in transient:
        return Verdict.RETRY
    return Verdict.FAIL


def backoff_cap(n: int, retry_delay: float, multiplier: int, max_retry_delay: float) -> float:
    """min(max_retry_delay, retry_delay × multiplier^n); the power saturates at u32::MAX as retry-policies does."""
    power = multiplier**n if n < 64 else U32_MAX
    power = min(power, U32_MAX)
    return min(max_retry_delay, retry_delay * power)


def jittered(cap: float, jitter: Jitter, rng: random.Random) -> float:
    if jitter is Jitter.FULL:
        return rng.random() * cap
    if jitter is Jitter.EQUAL:
        return cap / 2 + rng.random() * (cap / 2)
    return cap


def parse_retry_after(value: str | None, now_wall: float) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None if absent or unusable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now_wall)


class RetryPolicy:
    def __init__(self, settings: SinkSettings, rng: random.Random) -> None:
        self.max_retries = settings.max_retries
        self.retry_delay = settings.retry_delay
        self.multiplier = settings.retry_backoff_multiplier
        self.max_retry_delay = settings.max_retry_delay
        self.jitter = settings.effective_jitter
        self.honor_retry_after = settings.honors_retry_after
        self.success = settings.success_status_codes
        self.transient = settings.transient_statuses
        self.rng = rng

    def classify(self, status: int) -> Verdict:
        return classify_status(status, self.success, self.transient)

    def delay(self, n: int, retry_after: float | None = None) -> float:
        """The wait before retry n (0-based). Retry-After counts only when honoured (enhanced)."""
        wait = jittered(backoff_cap(n, self.retry_delay, self.multiplier, self.max_retry_delay), self.jitter, self.rng)
        wait = min(wait, self.max_retry_delay)
        if self.honor_retry_after and retry_after is not None:
            wait = min(max(wait, retry_after), self.max_retry_delay)
        return wait
