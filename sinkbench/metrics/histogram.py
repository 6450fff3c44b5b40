"""A latency histogram with bounded memory and about 0.5% relative error.

Values are milliseconds. Bucket boundaries grow by a fixed factor e^(1/100)
(about 1.01), so a bucket spans [e^(k/100), e^((k+1)/100)) ms and a
percentile is reported as its bucket's geometric midpoint: within 0.502% of the
recorded value at that rank. The range 1 µs .. 4 h takes 2,340 buckets; below
it one underflow bucket holds [0, 1 µs), above it one overflow bucket holds
the rest. `min`, `max`, `count` and `mean` are exact whatever the range.

Memory is one fixed list of 2,342 counts (about 19 KB of slots) whatever the
number of values recorded, so a run of any length costs the same.

`record` is on the hot path (one call per delivered message), hence its
unusual style, each measured on CPython 3.11 (`bench/histogram_speed.py`):
`math.floor` rather than `int()` on a float (several times cheaper), the
common case tested first with one chained comparison, and the module's
constants bound as locals through default arguments (about a third faster).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from math import exp, floor, log
from operator import add

_PER_E = 100.0  # buckets per e-fold: growth factor e^(1/100) ≈ 1.01005
LOWEST_MS = 0.001  # 1 µs: the smallest value with the relative error bound
HIGHEST_MS = 4 * 3600 * 1000.0  # 4 h: larger values share the overflow bucket

# Index of a value v in range: floor(log(v) * _PER_E) + _OFFSET; index 0 is the
# underflow bucket, _TOP the overflow bucket.
_OFFSET = 1 - floor(log(LOWEST_MS) * _PER_E)
_TOP = floor(log(HIGHEST_MS) * _PER_E) + _OFFSET + 1
_SIZE = _TOP + 1

_SUMMARY_PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0))


def _representative(index: int) -> float:
    """The value a bucket stands for: its geometric midpoint (ms)."""
    if index == 0:
        return LOWEST_MS / 2
    return exp((index - _OFFSET + 0.5) / _PER_E)


class Histogram:
    """Latency distribution in milliseconds.

    Empty histograms answer None for `min`, `max`, `mean` and `percentile`:
    "no data" is not the same as a latency of zero.

    Negative values (a clock stepping back between two readings) are recorded
    as 0; NaN and infinities raise ValueError because they can only come from
    a bug upstream.
    """

    __slots__ = ("_counts", "_count", "_sum", "_min", "_max")

    def __init__(self) -> None:
        self._counts: list[int] = [0] * _SIZE
        self._count = 0
        self._sum = 0.0
        self._min = math.inf
        self._max = -math.inf

    # -- recording -----------------------------------------------------------

    def record(self, ms: float, _floor=floor, _log=log, _lo=LOWEST_MS, _hi=HIGHEST_MS,
               _k=_PER_E, _off=_OFFSET) -> None:
        """Record one value in milliseconds.

        (The underscored parameters are not for callers: binding the
        constants as locals saves about a third of the call's time.)
        """
        if _lo <= ms < _hi:
            self._counts[_floor(_log(ms) * _k) + _off] += 1
            self._count += 1
            self._sum += ms
            if ms < self._min:
                self._min = ms
            if ms > self._max:
                self._max = ms
        else:
            self._record_outside(ms, 1)

    def record_many(self, ms: float, count: int) -> None:
        """Record `count` occurrences of the same value."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        if count == 0:
            return
        if LOWEST_MS <= ms < HIGHEST_MS:
            self._counts[floor(log(ms) * _PER_E) + _OFFSET] += count
            self._count += count
            self._sum += ms * count
            if ms < self._min:
                self._min = ms
            if ms > self._max:
                self._max = ms
        else:
            self._record_outside(ms, count)

    def extend(self, values: Iterable[float]) -> None:
        """Record every value of `values` (a batch acknowledged at once).

        Same result as calling `record` for each, with the per-call overhead
        paid once: the loop keeps everything in locals.
        """
        counts = self._counts
        n = 0
        total = 0.0
        lo = self._min
        hi = self._max
        _floor, _log, _lo, _hi, _k, _off = floor, log, LOWEST_MS, HIGHEST_MS, _PER_E, _OFFSET
        outside: list[float] = []
        for ms in values:
            if _lo <= ms < _hi:
                counts[_floor(_log(ms) * _k) + _off] += 1
                n += 1
                total += ms
                if ms < lo:
                    lo = ms
                if ms > hi:
                    hi = ms
            else:
                outside.append(ms)
        self._count += n
        self._sum += total
        self._min = lo
        self._max = hi
        for ms in outside:
            self._record_outside(ms, 1)

    def _record_outside(self, ms: float, count: int) -> None:
        if not math.isfinite(ms):
            raise ValueError(f"latency must be a finite number of milliseconds, got {ms!r}")
        if ms < LOWEST_MS:
            ms = max(ms, 0.0)
            index = 0
        else:
            index = _TOP
        self._counts[index] += count
        self._count += count
        self._sum += ms * count
        if ms < self._min:
            self._min = ms
        if ms > self._max:
            self._max = ms

    def merge(self, other: Histogram) -> None:
        """Add every value recorded in `other` to this histogram."""
        if other._count == 0:
            return
        self._counts = list(map(add, self._counts, other._counts))
        self._count += other._count
        self._sum += other._sum
        self._min = min(self._min, other._min)
        self._max = max(self._max, other._max)

    def copy(self) -> Histogram:
        """An independent snapshot (the TUI reads copies while the engine records)."""
        clone = Histogram.__new__(Histogram)
        clone._counts = self._counts.copy()
        clone._count = self._count
        clone._sum = self._sum
        clone._min = self._min
        clone._max = self._max
        return clone

    # -- reading -------------------------------------------------------------

    @property
    def count(self) -> int:
        return self._count

    @property
    def min(self) -> float | None:
        return self._min if self._count else None

    @property
    def max(self) -> float | None:
        return self._max if self._count else None

    @property
    def mean(self) -> float | None:
        return self._sum / self._count if self._count else None

    def percentile(self, p: float) -> float | None:
        """The nearest-rank p-th percentile (p in 0..100) in ms; None when empty.

        p(0) is the exact minimum and p(100) the exact maximum; anything in
        between is within about 0.5% of the recorded sample's value at that rank.
        """
        return self._percentiles((p,))[0]

    def summary(self) -> dict[str, float | int | None]:
        """The report's latency block: count, min, p50, p90, p95, p99, max, avg (ms, 3 decimals)."""
        values = self._percentiles(tuple(p for _, p in _SUMMARY_PERCENTILES))
        out: dict[str, float | int | None] = {"count": self._count, "min": _round(self.min)}
        for (name, _), value in zip(_SUMMARY_PERCENTILES, values):
            out[name] = _round(value)
        out["max"] = _round(self.max)
        out["avg"] = _round(self.mean)
        return out

    def buckets(self) -> list[tuple[float, float, int]]:
        """The distribution's shape: each non-empty bucket as (low ms, high ms, count), lowest first.

        The underflow bucket is (0, 1 µs); the overflow bucket ends at the largest value seen.
        """
        out = []
        for index, c in enumerate(self._counts):
            if not c:
                continue
            if index == 0:
                low, high = 0.0, LOWEST_MS
            elif index == _TOP:
                low, high = HIGHEST_MS, max(self._max, HIGHEST_MS)
            else:
                low, high = exp((index - _OFFSET) / _PER_E), exp((index - _OFFSET + 1) / _PER_E)
            out.append((low, high, c))
        return out

    def _percentiles(self, ps: tuple[float, ...]) -> list[float | None]:
        """Several percentiles in one walk over the buckets."""
        for p in ps:
            if not 0.0 <= p <= 100.0:  # also rejects NaN
                raise ValueError(f"percentile must be within 0..100, got {p!r}")
        if self._count == 0:
            return [None] * len(ps)
        # Nearest rank: the smallest value with at least p% of the sample at or
        # below it. p * n / 100 (not p / 100 * n) keeps p(95) of 100 values exact.
        ranks = [max(1, math.ceil(p * self._count / 100.0)) for p in ps]
        order = sorted(range(len(ps)), key=ranks.__getitem__)
        results: list[float | None] = [None] * len(ps)
        cumulative = 0
        k = 0
        for index, c in enumerate(self._counts):
            if not c:
                continue
            cumulative += c
            while k < len(order) and ranks[order[k]] <= cumulative:
                results[order[k]] = self._value_of(index, ranks[order[k]])
                k += 1
            if k == len(order):
                break
        return results

    def _value_of(self, index: int, rank: int) -> float:
        # The extremes are known exactly; and the overflow bucket has no upper
        # bound, so the best it can say is the largest value seen.
        if rank == 1:
            return self._min
        if rank == self._count or index == _TOP:
            return self._max
        return min(max(_representative(index), self._min), self._max)

    def __repr__(self) -> str:
        if not self._count:
            return "Histogram(count=0)"
        return (f"Histogram(count={self._count}, min={self._min:.3f}, "
                f"p50={self.percentile(50):.3f}, max={self._max:.3f})")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
