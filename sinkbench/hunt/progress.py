"""A hunt's progress and outcome as lines of text: one per candidate run, its notes, how it ended.

The CLI writes them to stderr; the interactive session shows the same lines
in its hunt screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from sinkbench.hunt.describe import describe_plan
from sinkbench.hunt.hunter import HuntResult
from sinkbench.hunt.search import Tried
from sinkbench.hunt.target import as_text
from sinkbench.metrics.expect import format_seconds

_WHY_NONE = {
    "budget": "the budget ran out",
    "time": "the time ran out",
    "exhausted": "hypothesis found no new plan to try",
    "shrunk": "what broke it scaled down did not break it at the scenario's scale every time",
}


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


def outcome_lines(result: HuntResult, out: Path | str) -> list[str]:
    """How a hunt ended, for stdout or a screen: found (and written to `out`), interrupted, or nothing."""
    runs = f"{result.tried} candidate run{'s' if result.tried != 1 else ''}"
    if result.status == "found":
        expect = "; ".join(as_text(e) for e in result.expectations)
        return [f"found after {runs}: {result.description}",
                f"wrote {out}: `sinkbench run {out}` fails its [expect] ({expect})"]
    if result.status == "interrupted":
        if result.text is None:
            return [f"interrupted after {runs}: no breaking plan so far, no file written"]
        return [f"interrupted after {runs}; the best plan so far: {result.description}",
                f"wrote {out} (NOT CONFIRMED at the scenario's scale: run `sinkbench run {out}` to check)"]
    why = _WHY_NONE.get(result.stopped)
    return [f"no breaking plan in {runs}" + (f" ({why})" if why else "") + "; no file written",
            *(f"note: {note}" for note in result.notes)]
