"""The sweep's progress on stderr: a line per finished combination and, on a terminal, a live bar.

    combination 1/4 done in 2.1s  batch_mode=ndjson max_retries=0 — lost 180, requests 284, ✗ 0/1
    combination 2/4 ▕██████████▌         ▏  53%  batch_mode=ndjson max_retries=3

On a terminal the bar line is redrawn in place (at most 10 times a second,
cut to the terminal's width); otherwise (a CI log) only the finished lines are
written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TextIO

from sinkbench.report import _text as fmt
from sinkbench.sweep.plan import Combination
from sinkbench.sweep.runner import Outcome

_EIGHTHS = " ▏▎▍▌▋▊▉"
BAR_WIDTH = 20
MIN_INTERVAL_S = 0.1


def bar(share: float, width: int = BAR_WIDTH) -> str:
    eighths = round(min(max(share, 0.0), 1.0) * width * 8)
    full, rest = divmod(eighths, 8)
    return "▕" + ("█" * full + (_EIGHTHS[rest] if rest else "")).ljust(width) + "▏"


def finished_text(outcome: Outcome, total: int, elapsed: float | None) -> str:
    c = outcome.combination
    head = f"combination {c.index}/{total}"
    r = outcome.result
    if r is None:
        return f"{head} {outcome.status}  {c.label} — {fmt.one_line(outcome.error or '')}".rstrip(" —")
    took = f" done in {fmt.seconds(elapsed)}" if elapsed is not None else " done"
    held = sum(1 for e in r.expectations if e.passed)
    n = len(r.expectations)
    verdict = ("✓ " if r.passed else "✗ ") + (f"{held}/{n}" if n else "none")
    if not fmt.is_completed(r):
        verdict += f" {fmt.status_text(r)}"
    return (f"{head}{took}  {c.label} — lost {fmt.total_cell(r.totals, 'lost')}, "
            f"requests {fmt.total_cell(r.totals, 'requests')}, {verdict}")


class SweepProgressLine:
    """A `SweepProgress` writing to `stream` (the CLI passes stderr)."""

    def __init__(self, stream: TextIO, total: int, *, tty: bool, now: Callable[[], float] = time.monotonic,
                 width: int | None = None, count: int | None = None) -> None:
        """`total`: the plan's combinations (lines say "combination 5/6"); `count`: how many will run here
        (a --shard slice's; default all), which the bar fills to."""
        self._stream = stream
        self._total = total
        self._count = total if count is None else count
        self._tty = tty
        self._now = now
        self._width = width
        self._running: dict[int, tuple[Combination, float, float]] = {}   # index → (combo, fraction, start)
        self._done = 0
        self._last_draw: float | None = None
        self._open = False

    def started(self, combination: Combination) -> None:
        self._running[combination.index] = (combination, 0.0, self._now())
        self._draw(force=True)

    def update(self, combination: Combination, fraction: float | None) -> None:
        if combination.index in self._running and fraction is not None:
            combo, _, start = self._running[combination.index]
            self._running[combination.index] = (combo, fraction, start)
        self._draw()

    def finished(self, outcome: Outcome) -> None:
        entry = self._running.pop(outcome.combination.index, None)
        self._done += 1
        elapsed = self._now() - entry[2] if entry is not None else None
        self._clear()
        self._stream.write(finished_text(outcome, self._total, elapsed) + "\n")
        self._stream.flush()
        self._draw(force=True)

    def finish(self) -> None:
        """End the live line (idempotent)."""
        self._clear()

    def text(self) -> str:
        share = (self._done + sum(f for _, f, _ in self._running.values())) / max(1, self._count)
        running = sorted(self._running.values(), key=lambda e: e[0].index)
        if running:
            first = running[0][0]
            more = f" (+{len(running) - 1} more)" if len(running) > 1 else ""
            head, tail = f"combination {first.index}/{self._total}", f"{first.label}{more}"
        else:
            head, tail = f"{self._done}/{self._count} combinations", ""
        return f"{head} {bar(share)} {share:4.0%}  {tail}".rstrip()

    def _draw(self, force: bool = False) -> None:
        if not self._tty or (not self._running and self._done >= self._count):
            return
        t = self._now()
        if not force and self._last_draw is not None and t - self._last_draw < MIN_INTERVAL_S:
            return
        self._last_draw = t
        self._stream.write("\r" + self.text()[: max(1, self._columns() - 1)] + "\x1b[K")
        self._stream.flush()
        self._open = True

    def _clear(self) -> None:
        if self._open:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._open = False

    def _columns(self) -> int:
        if self._width is not None:
            return self._width
        try:
            columns = os.get_terminal_size(self._stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            return 80
        return columns if columns > 0 else 80     # a terminal that does not say its size
