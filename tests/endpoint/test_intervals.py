"""The ledger's run store against a plain set, on every kind of insertion."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sinkbench.endpoint.intervals import IntervalSet


@settings(max_examples=300, derandomize=True)
@given(st.lists(st.tuples(st.integers(-50, 200), st.integers(0, 40)), max_size=60))
def test_interval_set_is_a_set(ranges: list[tuple[int, int]]) -> None:
    runs, plain = IntervalSet(), set[int]()
    for a, n in ranges:
        present = runs.add_range(a, a + n)
        assert present == len(plain & set(range(a, a + n)))
        plain |= set(range(a, a + n))
        assert len(runs) == len(plain)
    assert [x for x in range(-60, 260) if x in runs] == sorted(plain)
    # Runs never overlap or touch: as many runs as maximal stretches of consecutive members.
    assert runs.runs == sum(1 for x in plain if x - 1 not in plain)


def test_empty_and_reversed_ranges_add_nothing() -> None:
    runs = IntervalSet()
    assert (runs.add_range(5, 5), runs.add_range(9, 3), len(runs), runs.runs, 5 in runs) == (0, 0, 0, 0, False)


def test_big_integers() -> None:
    runs = IntervalSet()
    base = (12345 << 64) | (1 << 63)
    runs.add_range(base, base + 1000)
    runs.add_range(base + 1000, base + 2000)
    assert (len(runs), runs.runs, base + 1999 in runs, base + 2000 in runs) == (2000, 1, True, False)


@settings(max_examples=200, derandomize=True)
@given(st.lists(st.tuples(st.integers(0, 200), st.integers(0, 30)), max_size=40),
       st.integers(-10, 250), st.integers(0, 120))
def test_count_is_the_size_of_the_intersection(ranges: list[tuple[int, int]], a: int, n: int) -> None:
    runs, plain = IntervalSet(), set[int]()
    for start, size in ranges:
        runs.add_range(start, start + size)
        plain |= set(range(start, start + size))
    assert runs.count(a, a + n) == len(plain & set(range(a, a + n)))
    assert runs.count(a + n, a) == 0
