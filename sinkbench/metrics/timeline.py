"""A per-second timeline of a run: what the report's `timeline` and the TUI's
sparklines show.

One row per second since the run's start, each a handful of integers, so a run
of hours stays small (10 h = 36,000 rows, a few MB at most). Seconds nobody
reported are filled in when the rows are read, not stored.
"""

from __future__ import annotations

import math
from typing import Any

_COUNTERS = ("delivered", "requests", "retries", "errors")
_DEFAULT_MAX_SECONDS = 7 * 86400


class Timeline:
    """Counters per one-second bucket since `start` (seconds on the run's clock).

    `now` is always on the same clock as `start` (the monotonic clock the
    engine is given). A time before `start` counts in second 0. A time more
    than `max_seconds` after it raises ValueError: that is a wall-clock value
    passed where a monotonic one was expected, and silently growing a row per
    second of the epoch would exhaust memory instead.
    """

    __slots__ = ("start", "max_seconds", "_delivered", "_requests", "_retries",
                 "_errors", "_in_flight", "_marks")

    def __init__(self, start: float, *, max_seconds: int = _DEFAULT_MAX_SECONDS) -> None:
        self.start = start
        self.max_seconds = max_seconds
        self._delivered: list[int] = []
        self._requests: list[int] = []
        self._retries: list[int] = []
        self._errors: list[int] = []
        # None: no sample in that second; rows() carries the previous value.
        self._in_flight: list[int | None] = []
        self._marks: dict[int, list[str]] = {}

    def _second(self, now: float) -> int:
        second = max(0, math.floor(now - self.start))
        if second > self.max_seconds:
            raise ValueError(
                f"time {now!r} is {second} s after the timeline's start {self.start!r}; "
                f"more than max_seconds={self.max_seconds} (a wall-clock time on a monotonic timeline?)")
        missing = second + 1 - len(self._delivered)
        if missing > 0:
            self._delivered.extend([0] * missing)
            self._requests.extend([0] * missing)
            self._retries.extend([0] * missing)
            self._errors.extend([0] * missing)
            self._in_flight.extend([None] * missing)
        return second

    def add(self, now: float, *, delivered: int = 0, requests: int = 0, retries: int = 0,
            errors: int = 0, in_flight: int | None = None) -> None:
        """Add counts to the second that `now` falls in; `in_flight` replaces that second's sample."""
        s = self._second(now)
        if delivered:
            self._delivered[s] += delivered
        if requests:
            self._requests[s] += requests
        if retries:
            self._retries[s] += retries
        if errors:
            self._errors[s] += errors
        if in_flight is not None:
            self._in_flight[s] = in_flight

    def sample_in_flight(self, now: float, in_flight: int) -> None:
        """Record the number of requests in flight at `now` (the last sample of a second wins)."""
        self._in_flight[self._second(now)] = in_flight

    def mark(self, now: float, label: str) -> None:
        """An event to show on the timeline ("settings changed", "fault window start")."""
        self._marks.setdefault(self._second(now), []).append(label)

    @property
    def seconds(self) -> int:
        """Number of rows: seconds from 0 to the last second seen, inclusive."""
        return len(self._delivered)

    def rows(self, last: int | None = None) -> list[dict[str, Any]]:
        """One dict per second: t, delivered, requests, retries, errors, in_flight, and
        `marks` (a list of labels) only where there are some.

        `last` limits the result to the final `last` seconds (the TUI's
        sparklines need a window, not the whole run).
        """
        n = len(self._delivered)
        first = 0 if last is None else max(0, n - last)
        carried = 0
        for s in range(first - 1, -1, -1):  # in_flight carried into the window
            sample = self._in_flight[s]
            if sample is not None:
                carried = sample
                break
        out: list[dict[str, Any]] = []
        for s in range(first, n):
            sample = self._in_flight[s]
            if sample is not None:
                carried = sample
            row: dict[str, Any] = {
                "t": s,
                "delivered": self._delivered[s],
                "requests": self._requests[s],
                "retries": self._retries[s],
                "errors": self._errors[s],
                "in_flight": carried,
            }
            marks = self._marks.get(s)
            if marks:
                row["marks"] = list(marks)
            out.append(row)
        return out

    def totals(self) -> dict[str, int]:
        """Sum of each counter over the whole run."""
        return {name: sum(getattr(self, "_" + name)) for name in _COUNTERS}
