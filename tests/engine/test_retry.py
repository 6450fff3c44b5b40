"""Retry classification and backoff (DESIGN.md §3.3), incl. the tests Iggy removed in its refactor."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from sinkbench.config.settings import Jitter, Profile, RetryAfter, SinkSettings
from sinkbench.engine.retry import (
    RetryPolicy,
    Verdict,
    backoff_cap,
    classify_status,
    jittered,
    parse_retry_after,
)

SUCCESS = frozenset({200, 201, 202, 204})
TRANSIENT = frozenset({429, 500, 502, 503, 504})


def test_compute_delay_caps():
    assert backoff_cap(0, 1.0, 2, 30.0) == 1.0
    assert [backoff_cap(n, 1.0, 2, 30.0) for n in range(3)] == [1.0, 2.0, 4.0]
    assert backoff_cap(10, 1.0, 2, 30.0) == 30.0


def test_extreme_backoff_saturates_without_error():
    assert backoff_cap(199, 1.0, 1000, 30.0) == 30.0
    assert backoff_cap(10**6, 0.001, 2**31, 5.0) == 5.0


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses_retry(status):
    assert classify_status(status, SUCCESS, TRANSIENT) is Verdict.RETRY


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_success_statuses(status):
    assert classify_status(status, SUCCESS, TRANSIENT) is Verdict.SUCCESS


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 408, 501, 505, 301])
def test_other_statuses_fail_at_once(status):
    assert classify_status(status, SUCCESS, TRANSIENT) is Verdict.FAIL


def test_listed_success_wins_over_transient():
    assert classify_status(503, SUCCESS | {503}, TRANSIENT) is Verdict.SUCCESS


def test_jitter_modes_ranges():
    rng = random.Random(1)
    full = [jittered(4.0, Jitter.FULL, rng) for _ in range(500)]
    equal = [jittered(4.0, Jitter.EQUAL, rng) for _ in range(500)]
    assert all(0 <= d < 4.0 for d in full) and min(full) < 1.0
    assert all(2.0 <= d < 4.0 for d in equal)
    assert jittered(4.0, Jitter.NONE, rng) == 4.0


def test_same_seed_same_delays():
    s = SinkSettings(url="http://x/")
    a = RetryPolicy(s, random.Random(7))
    b = RetryPolicy(s, random.Random(7))
    assert [a.delay(n) for n in range(5)] == [b.delay(n) for n in range(5)]


def test_retry_after_seconds_and_http_date():
    now = 1_700_000_000.0
    assert parse_retry_after("5", now) == 5.0
    date = format_datetime(datetime.fromtimestamp(now + 7, tz=UTC), usegmt=True)
    assert parse_retry_after(date, now) == pytest.approx(7.0)
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_retry_after_honoured_only_in_enhanced_and_capped():
    enhanced = SinkSettings(url="http://x/", profile=Profile.ENHANCED, jitter=Jitter.NONE, retry_delay=0.1,
                            max_retry_delay=10.0)
    p = RetryPolicy(enhanced, random.Random(0))
    assert p.delay(0, retry_after=3.0) == 3.0
    assert p.delay(0, retry_after=60.0) == 10.0
    assert p.delay(0, retry_after=None) == pytest.approx(0.1)
    ignoring = SinkSettings(url="http://x/", profile=Profile.ENHANCED, jitter=Jitter.NONE, retry_delay=0.1,
                            retry_after=RetryAfter.IGNORE)
    assert RetryPolicy(ignoring, random.Random(0)).delay(0, retry_after=3.0) == pytest.approx(0.1)
    iggy = SinkSettings(url="http://x/", retry_delay=0.1)
    assert RetryPolicy(iggy, random.Random(0)).delay(0, retry_after=3.0) < 0.1
