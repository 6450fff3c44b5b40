"""Latency percentiles and status codes per second (metrics/series.py), and the histogram's buckets they draw."""

from __future__ import annotations

import math

import pytest

from sinkbench.metrics.histogram import HIGHEST_MS, LOWEST_MS, Histogram
from sinkbench.metrics.series import LatencySeries


def test_each_second_gets_its_own_percentiles_and_statuses() -> None:
    s = LatencySeries(100.0)
    for ms in (1.0, 2.0, 3.0, 4.0):
        s.request(100.2, ms, "200")
    s.request(101.5, 500.0, "503")
    s.delivery(101.6, [10.0, 20.0])
    s.request(103.1, 7.0, "timeout")
    rows = s.rows()
    assert [r["t"] for r in rows] == [0, 1, 2, 3]
    assert rows[0]["request"]["count"] == 4 and rows[0]["request"]["max"] == 4.0
    assert rows[0]["status"] == {"200": 4} and "delivery" not in rows[0]
    # The outage second is its own: its 500 ms does not leak into second 0's percentiles.
    assert rows[1]["request"]["p50"] == pytest.approx(500.0, rel=0.01) and rows[1]["status"] == {"503": 1}
    assert rows[1]["delivery"]["count"] == 2 and rows[1]["delivery"]["max"] == 20.0
    assert rows[2] == {"t": 2}              # a second with nothing in it
    assert rows[3]["status"] == {"timeout": 1}


def test_a_late_value_counts_in_the_current_second() -> None:
    s = LatencySeries(0.0)
    s.request(2.5, 1.0, "200")
    s.request(1.2, 9.0, "200")     # ended before a request already recorded in second 2
    rows = s.rows()
    assert rows[1] == {"t": 1} and rows[2]["request"]["count"] == 2


def test_rows_until_closes_the_seconds_up_to_then() -> None:
    s = LatencySeries(10.0)
    s.request(10.1, 1.0, "200")
    assert [r["t"] for r in s.rows(until=13.4)] == [0, 1, 2, 3]
    assert [r["t"] for r in s.rows()] == [0, 1, 2, 3]       # reading again changes nothing


def test_a_wall_clock_time_is_refused() -> None:
    s = LatencySeries(5.0)
    with pytest.raises(ValueError, match="wall-clock"):
        s.request(1.7e9, 1.0, "200")


def test_buckets_hold_every_value_in_order_within_their_bounds() -> None:
    h = Histogram()
    values = [0.0, 0.5, 1.0, 1.004, 2.0, 250.0, 250.0, HIGHEST_MS * 2]
    h.extend(values)
    buckets = h.buckets()
    assert sum(c for _, _, c in buckets) == len(values)
    assert [b[0] for b in buckets] == sorted(b[0] for b in buckets)
    assert buckets[0] == (0.0, LOWEST_MS, 1)
    assert buckets[-1] == (HIGHEST_MS, HIGHEST_MS * 2, 1)
    for value in values[1:-1]:
        assert any(low <= value < high for low, high, _ in buckets), value
    middle = [b for b in buckets if b[0] <= 250.0 < b[1]]
    assert len(middle) == 1 and middle[0][2] == 2
    assert all(math.isclose(high / low, math.exp(0.01)) for low, high, _ in buckets[1:-1])


def test_an_empty_histogram_has_no_buckets() -> None:
    assert Histogram().buckets() == []


def test_a_big_batch_is_sampled_with_its_count_exact() -> None:
    from sinkbench.metrics.series import SAMPLES

    s = LatencySeries(0.0)
    values = [float(i) for i in range(1, 1001)]      # 1..1000 ms, one batch of 1000 messages
    s.delivery(0.5, values)
    row = s.rows()[0]["delivery"]
    assert row["count"] == 1000 and SAMPLES < 1000
    assert row["p50"] == pytest.approx(500, rel=0.03) and row["p90"] == pytest.approx(900, rel=0.03)
    assert row["max"] <= 1000.0
