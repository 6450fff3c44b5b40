"""A hunt's progress as lines of text: one per candidate run, and its notes.

The CLI writes them to stderr; the interactive session shows the same lines
in its hunt screen.
"""

from __future__ import annotations

from typing import TextIO

from sinkbench.hunt.describe import describe_plan
from sinkbench.hunt.search import Tried
from sinkbench.metrics.expect import format_seconds


def _left(time_left: float | None, budget: int | None) -> str:
    parts = []
    if time_left is not None:
        parts.append(f"{format_seconds(round(time_left))} left")
    if budget is not None:
        parts.append(f"{budget} run{'s' if budget != 1 else ''} left")
    return " · ".join(parts)


def tried_text(tried: Tried, best: Tried | None, time_left: float | None, budget: int | None,
               sink_timeout: float) -> str:
    """"#3 breaks it (lost = 37 (expected > 0)): a 503 window of 550ms from 0s · best: 1 rule · 51s left"."""
    v = tried.verdict
    if v.broken:
        what = f"breaks it ({'; '.join(v.details)})" if v.details else "breaks it"
    elif v.status != "completed":
        what = f"proves nothing ({v.status})"
    else:
        what = "holds"
    parts = [f"#{tried.number} {what}: {describe_plan(tried.plan, sink_timeout)}"]
    if best is not None:
        parts.append(f"best so far: #{best.number}, {best.plan.rules} rule{'s' if best.plan.rules != 1 else ''}")
    else:
        parts.append("nothing breaks it yet")
    left = _left(time_left, budget)
    if left:
        parts.append(left)
    return " · ".join(parts)


class StreamProgress:
    """HuntProgress that writes `hunt: ...` lines to a stream (stderr for the CLI)."""

    def __init__(self, stream: TextIO, sink_timeout: float) -> None:
        self.stream = stream
        self.sink_timeout = sink_timeout

    def note(self, text: str) -> None:
        self._line(text)

    def tried(self, tried: Tried, best: Tried | None, time_left: float | None, budget: int | None) -> None:
        self._line(tried_text(tried, best, time_left, budget, self.sink_timeout))

    def _line(self, text: str) -> None:
        self.stream.write(f"hunt: {text}\n")
        self.stream.flush()
