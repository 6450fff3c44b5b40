import math
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sinkbench.metrics import HIGHEST_MS, LOWEST_MS, Histogram

in_range = st.floats(min_value=LOWEST_MS, max_value=3_600_000.0, allow_nan=False)
samples = st.lists(in_range, min_size=1, max_size=300)
percents = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)


def nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(1, math.ceil(p * len(ordered) / 100.0))
    return ordered[rank - 1]


def filled(values) -> Histogram:
    h = Histogram()
    for v in values:
        h.record(v)
    return h


def test_empty_histogram_has_no_data():
    h = Histogram()
    assert h.count == 0
    assert (h.min, h.max, h.mean) == (None, None, None)
    assert h.percentile(50) is None
    assert h.summary() == {"count": 0, "min": None, "p50": None, "p90": None,
                           "p95": None, "p99": None, "max": None, "avg": None}
    assert repr(h) == "Histogram(count=0)"


def test_single_value_is_every_percentile():
    h = filled([42.5])
    assert [h.percentile(p) for p in (0, 1, 50, 99.9, 100)] == [42.5] * 5
    assert (h.count, h.min, h.max, h.mean) == (1, 42.5, 42.5, 42.5)


def test_nearest_rank_on_a_small_sample():
    h = filled([1.0, 2.0, 3.0, 4.0])
    assert h.percentile(25) == 1.0  # rank 1: the exact minimum
    assert h.percentile(50) == pytest.approx(2.0, rel=0.005)
    assert h.percentile(75) == pytest.approx(3.0, rel=0.005)
    assert h.percentile(76) == 4.0  # rank 4: the exact maximum
    assert h.percentile(0) == 1.0


def test_p95_of_a_hundred_values_is_the_95th():
    h = filled(float(v) for v in range(1, 101))
    assert h.percentile(95) == pytest.approx(95.0, rel=0.005)
    assert h.percentile(99) == pytest.approx(99.0, rel=0.005)


@settings(max_examples=300, deadline=None)
@given(samples, percents)
def test_percentile_within_one_percent_of_exact(values, p):
    h = filled(values)
    exact = nearest_rank(values, p)
    assert h.percentile(p) == pytest.approx(exact, rel=0.01)


@settings(max_examples=200, deadline=None)
@given(samples)
def test_min_max_count_exact_mean_close(values):
    h = filled(values)
    assert h.count == len(values)
    assert h.min == min(values)
    assert h.max == max(values)
    assert h.mean == pytest.approx(statistics.fmean(values), rel=1e-9)
    assert h.percentile(0) == min(values)
    assert h.percentile(100) == max(values)


@settings(max_examples=200, deadline=None)
@given(samples, samples)
def test_merge_equals_recording_both(a, b):
    merged = filled(a)
    merged.merge(filled(b))
    both = filled(a + b)
    assert (merged.count, merged.min, merged.max) == (both.count, both.min, both.max)
    assert merged.mean == pytest.approx(both.mean, rel=1e-9)
    for p in (0, 10, 25, 50, 75, 90, 95, 99, 99.9, 100):
        assert merged.percentile(p) == both.percentile(p)


def test_merge_into_empty_and_of_empty():
    h = Histogram()
    h.merge(filled([3.0, 9.0]))
    assert (h.count, h.min, h.max) == (2, 3.0, 9.0)
    h.merge(Histogram())
    assert (h.count, h.min, h.max) == (2, 3.0, 9.0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(in_range, st.integers(min_value=0, max_value=50)), min_size=1, max_size=30))
def test_record_many_equals_repeated_record(pairs):
    many = Histogram()
    one_by_one = Histogram()
    for value, n in pairs:
        many.record_many(value, n)
        for _ in range(n):
            one_by_one.record(value)
    assert many.count == one_by_one.count
    for p in (0, 50, 90, 100):
        assert many.percentile(p) == one_by_one.percentile(p)


def test_record_many_rejects_negative_count():
    with pytest.raises(ValueError, match="count"):
        Histogram().record_many(1.0, -1)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=-5.0, max_value=HIGHEST_MS * 3, allow_nan=False), max_size=100))
def test_extend_equals_record(values):
    a = filled(values)
    b = Histogram()
    b.extend(values)
    assert (a.count, a.min, a.max) == (b.count, b.min, b.max)
    assert a.summary() == b.summary()


def test_values_above_the_range_clamp_but_max_stays_exact():
    h = filled([10.0, HIGHEST_MS * 2, HIGHEST_MS * 5])
    assert h.max == HIGHEST_MS * 5
    assert h.percentile(100) == HIGHEST_MS * 5
    assert h.percentile(60) == HIGHEST_MS * 5  # the overflow bucket can only say "the largest seen"
    assert h.percentile(10) == 10.0


def test_values_below_the_range_keep_exact_min():
    h = filled([0.0, 0.0004, 5.0])
    assert h.min == 0.0
    assert h.percentile(0) == 0.0
    assert h.percentile(50) == pytest.approx(0.0005, abs=0.0005)
    assert h.summary()["p50"] in (0.0, 0.001)


def test_an_hour_is_in_range():
    hour = 3_600_000.0
    h = filled([hour, hour * 1.001, 1.0])
    assert h.percentile(50) == pytest.approx(hour, rel=0.01)


def test_negative_values_count_as_zero():
    h = filled([-3.0, 2.0])
    assert h.min == 0.0
    assert h.count == 2


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_rejected(bad):
    h = Histogram()
    with pytest.raises(ValueError, match="finite"):
        h.record(bad)
    assert h.count == 0


@pytest.mark.parametrize("p", [-0.1, 100.1, math.nan])
def test_percentile_outside_0_100_is_an_error(p):
    with pytest.raises(ValueError, match="0..100"):
        filled([1.0]).percentile(p)


def test_copy_is_independent():
    h = filled([1.0, 2.0])
    snapshot = h.copy()
    h.record(500.0)
    assert (snapshot.count, snapshot.max) == (2, 2.0)
    assert (h.count, h.max) == (3, 500.0)


def test_summary_rounds_to_three_decimals_in_ms():
    h = filled([1.23456, 2.34567, 3.45678])
    s = h.summary()
    assert list(s) == ["count", "min", "p50", "p90", "p95", "p99", "max", "avg"]
    assert s["count"] == 3
    assert s["min"] == 1.235 and s["max"] == 3.457
    assert s["avg"] == round((1.23456 + 2.34567 + 3.45678) / 3, 3)
    assert s["p50"] == pytest.approx(2.346, rel=0.005)
    for key in ("p50", "p90", "p95", "p99"):
        assert s[key] == round(s[key], 3)


def test_memory_does_not_grow_with_the_count():
    h = Histogram()
    size = len(h._counts)
    for i in range(20_000):
        h.record(i * 0.37 + 0.001)
    h.record_many(7.0, 10**12)
    assert len(h._counts) == size
    assert size < 3000
