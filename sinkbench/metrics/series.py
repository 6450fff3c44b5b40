"""Latency percentiles and status codes per second of a run: what the HTML report draws over time.

The per-second `Timeline` holds counts; this holds what counts cannot say:
how slow each second was (request and delivery latency: count, p50, p90,
p99, max) and how the endpoint answered in it (status → requests). Each
second's latencies go into a fresh `Histogram`, summarised when the next
second starts, so memory is one histogram per kind plus a few numbers per
second, whatever the rate (a 10-hour run keeps 36,000 small rows).

A value for a second already summarised (a request that started earlier but
ended after a later one was recorded) counts in the current second: rows are
closed in order and never reopened, and at one-second resolution the
difference does not show.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sinkbench.metrics.histogram import Histogram

KINDS = ("request", "delivery")
PERCENTILES = ("p50", "p90", "p99")
SAMPLES = 64             # values recorded per delivered batch, at most (see delivery)
_DEFAULT_MAX_SECONDS = 7 * 86400


class LatencySeries:
    """Per-second latency summaries and status counts since `start` (seconds on the run's clock)."""

    __slots__ = ("start", "max_seconds", "_second", "_open", "_status", "_rows")

    def __init__(self, start: float, *, max_seconds: int = _DEFAULT_MAX_SECONDS) -> None:
        self.start = start
        self.max_seconds = max_seconds
        self._second = 0                                          # the second being filled
        self._open = {kind: Histogram() for kind in KINDS}
        self._status: Counter[str] = Counter()
        self._rows: list[dict[str, Any]] = []                     # the seconds before `_second`

    def _at(self, now: float) -> None:
        """Close the seconds before the one `now` falls in."""
        second = max(0, math.floor(now - self.start))
        if second > self.max_seconds:
            raise ValueError(f"time {now!r} is {second} s after the series' start {self.start!r}; more than "
                             f"max_seconds={self.max_seconds} (a wall-clock time on a monotonic clock?)")
        while self._second < second:
            self._rows.append(self._row(self._second))
            self._open = {kind: Histogram() for kind in KINDS}
            self._status = Counter()
            self._second += 1

    def request(self, now: float, ms: float, status: str) -> None:
        """One request answered at `now`, after `ms`, with `status` ("200", "timeout", ...)."""
        self._at(now)
        self._open["request"].record(ms)
        self._status[status] += 1

    def delivery(self, now: float, ms: Sequence[float]) -> None:
        """Delivery latencies of messages acknowledged at `now`.

        A big batch is recorded as SAMPLES evenly spaced values, each weighted by the values it stands
        for: the count stays exact, and recording every value of a 1000-message batch a second time
        (the run's own histogram has them all) cost about 3% of a core at 150,000 messages/s, for a
        picture whose percentiles a sample draws just as well.
        """
        self._at(now)
        h = self._open["delivery"]
        n = len(ms)
        if n <= SAMPLES:
            h.extend(ms)
            return
        step = -(-n // SAMPLES)
        for i in range(0, n, step):
            h.record_many(ms[i], min(step, n - i))

    def delivery_weighted(self, now: float, weighted: Sequence[tuple[float, int]]) -> None:
        """Delivery latencies acknowledged at `now`, as (milliseconds, messages) pairs."""
        self._at(now)
        record = self._open["delivery"].record_many
        for ms, count in weighted:
            record(ms, count)

    def _row(self, second: int) -> dict[str, Any]:
        row: dict[str, Any] = {"t": second}
        for kind in KINDS:
            h = self._open[kind]
            if h.count:
                summary = h.summary()
                row[kind] = {"count": h.count, **{p: summary[p] for p in PERCENTILES}, "max": summary["max"]}
        if self._status:
            row["status"] = dict(self._status)
        return row

    def rows(self, until: float | None = None) -> list[dict[str, Any]]:
        """One dict per second from 0 to the last second seen (or to `until`): t, and where there
        were any, request and delivery (count, p50, p90, p99, max in ms) and status (code → requests)."""
        if until is not None:
            self._at(until)
        return [*self._rows, self._row(self._second)]
