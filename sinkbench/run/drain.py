"""`drain`: how long the consumer took to catch up after the last fault or live break (docs/reports.md).

Drain runs from the end of the last fault window (or live break) until the
consumer lag first returns to its level before that fault — to zero when the
fault began with the run. The lag is what the runtime had available and the
sink had not yet acknowledged; it is sampled each time a batch gets its final
outcomes, as the messages that were available when that batch was polled and
are still unacknowledged then. So a consumer keeping up samples 0 (it polled
everything there was and the sink took it), a backlog samples what is left
of it, and the first sample back at the old level is when the backlog was
gone — whether or not the source is still producing. The level before a
fault is the highest lag sampled in the last whole second before it began.

No drain (None, "–" on screen, null in JSON, with a note in the summary):
no fault ended during the run (there was none, or one lasts to the end, like
a fault without `until` or a live break never lifted), or the lag never
returned within the run.

Overlapping or touching faults and breaks count as one: drain is measured
from the end of the last such stretch, against the level before its start.
Times are seconds from the run's start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Drain:
    seconds: float | None
    note: str | None = None     # why there is none, when there was something to drain from


@dataclass
class _Watch:
    """Looking for the first sample back at the level before a stretch of faults that ended at `end`."""

    end: float
    baseline: int
    found: float | None = None


@dataclass
class LagTrace:
    """The lag samples a drain needs: the highest per second, and the watches for recoveries.

    `faults` are the scenario's windows, known up front; live breaks arrive with `break_started` and
    `break_ended`. Whatever ends is watched from its end on, so nothing but the per-second highs is kept.
    """

    faults: list[tuple[float, float | None]] = field(default_factory=list)   # (start, end or None)
    _peaks: list[int] = field(default_factory=list)                          # per second; -1: no sample
    _watches: dict[float, _Watch] = field(default_factory=dict)
    _open_break: float | None = None

    def break_started(self, t: float) -> None:
        if self._open_break is None:
            self._open_break = t

    def break_ended(self, t: float) -> None:
        if self._open_break is not None:
            self.faults.append((self._open_break, t))
            self._open_break = None

    def sample(self, t: float, lag: int) -> None:
        second = max(0, math.floor(t))
        if second >= len(self._peaks):
            self._peaks.extend([-1] * (second + 1 - len(self._peaks)))
        if lag > self._peaks[second]:
            self._peaks[second] = lag
        for start, end in self._stretches():
            if end is None or t < end:
                continue
            watch = self._watches.get(end)
            if watch is None:
                watch = self._watches[end] = _Watch(end, self._baseline(start))
            if watch.found is None and lag <= watch.baseline:
                watch.found = t

    def _stretches(self) -> list[tuple[float, float | None]]:
        """The faults and breaks merged where they overlap or touch; an end of None lasts to the run's end."""
        spans = sorted(self.faults + ([(self._open_break, None)] if self._open_break is not None else []))
        merged: list[tuple[float, float | None]] = []
        for start, end in spans:
            if merged and (merged[-1][1] is None or start <= merged[-1][1]):
                last_start, last_end = merged[-1]
                merged[-1] = (last_start, None if end is None or last_end is None else max(last_end, end))
            else:
                merged.append((start, end))
        return merged

    def _baseline(self, start: float) -> int:
        second = math.floor(start) - 1     # the last whole second before the fault's
        if second < 0 or second >= len(self._peaks):
            return 0
        return max(0, self._peaks[second])

    def drain(self, waiting: int) -> Drain:
        """The drain of the run that ended with `waiting` messages unacknowledged (call once, at the end)."""
        stretches = self._stretches()
        if not stretches:
            return Drain(None)
        start, end = stretches[-1]
        if end is None:
            what = ("a live break was still in force" if self._open_break is not None
                    else "a fault without `until` lasts")
            return Drain(None, f"no drain: {what} to the end of the run")
        watch = self._watches.get(end)
        if watch is not None and watch.found is not None:
            return Drain(watch.found - end)
        if watch is None and waiting == 0:
            return Drain(0.0)   # no batch settled after the fault, none waiting: nothing was left to drain
        baseline = watch.baseline if watch is not None else self._baseline(start)
        return Drain(None, f"no drain: the consumer lag never came back to its level before the fault "
                           f"({baseline} message(s)) by the end of the run ({waiting} message(s) unacknowledged)")
