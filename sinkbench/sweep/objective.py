"""Ranking a sweep's combinations by a stated objective.

`--objective lost,duplicates,drain,requests` (the default) sorts by fewest
lost, then fewest duplicates, then shortest drain, then fewest requests. Each
metric sorts in its natural direction (smaller is better; `delivered`: more is
better); `-metric` sorts descending and `+metric` ascending. A value that is
unknown (a drain with no fault window, lost with a real URL, a combination
that did not run) sorts last whatever the direction; ties keep the order the
combinations ran in.

Times are compared at a resolution — drain and duration to 100 ms, the
latency percentiles to 1 ms — because two runs of the same settings differ by
tens of milliseconds (poll ticks, seeded jitter meeting real timing): without
it a 40 ms drain difference would decide every ranking and the request count
after it never would. `drain~1s` sets another resolution, `drain~0` compares
exactly. Counts are always exact.

The default, `pareto`, is not one order of metrics: it marks the Pareto front
over lost, duplicates, drain and requests, ranks the front first and chooses
inside it by a stated compromise between drain and requests (pareto.py). A
list of metrics says how to choose instead, and is ranked as written.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sinkbench.durations import DurationError, parse_duration
from sinkbench.errors import InputError, Where
from sinkbench.metrics.expect import format_seconds
from sinkbench.run.result import RunResult
from sinkbench.sweep import pareto

PARETO = "pareto"
DEFAULT_OBJECTIVE = PARETO
FRONT_SPEC = "lost,duplicates,drain,requests"      # the front's figures, at their default resolutions


def _total(name: str) -> Callable[[RunResult], float | None]:
    return lambda r: r.totals.get(name)


def _delivery(p: str) -> Callable[[RunResult], float | None]:
    return lambda r: (r.latency.get("delivery") or {}).get(p)


@dataclass(frozen=True)
class Metric:
    name: str
    read: Callable[[RunResult], float | None]
    descending: bool          # the natural direction: True when more is better
    less: str                 # "fewest lost"
    more: str                 # "most lost"
    unit: str = "count"       # count | seconds | ms | bytes
    resolution: float = 0.0   # values compared after rounding to a multiple of this (in the metric's unit)


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("lost", _total("lost"), False, "fewest lost", "most lost"),
    Metric("duplicates", _total("duplicates"), False, "fewest duplicates", "most duplicates"),
    Metric("drain", lambda r: r.drain, False, "shortest drain", "longest drain", "seconds", 0.1),
    Metric("requests", _total("requests"), False, "fewest requests", "most requests"),
    Metric("retries", _total("retries"), False, "fewest retries", "most retries"),
    Metric("bytes", _total("bytes"), False, "fewest bytes", "most bytes", "bytes"),
    Metric("duration", lambda r: r.duration, False, "shortest run", "longest run", "seconds", 0.1),
    Metric("delivered", _total("delivered"), True, "fewest delivered", "most delivered"),
    Metric("p95", _delivery("p95"), False, "lowest p95 delivery latency", "highest p95 delivery latency", "ms", 1.0),
    Metric("p99", _delivery("p99"), False, "lowest p99 delivery latency", "highest p99 delivery latency", "ms", 1.0),
    Metric("failed", _total("failed"), False, "fewest failed", "most failed"),
    Metric("skipped", _total("skipped"), False, "fewest skipped", "most skipped"),
    Metric("undelivered", _total("undelivered"), False, "fewest undelivered", "most undelivered"),
)}


@dataclass(frozen=True)
class Criterion:
    metric: Metric
    descending: bool
    resolution: float = 0.0       # in the metric's unit (seconds, ms); 0: exact

    @property
    def text(self) -> str:
        words = self.metric.more if self.descending else self.metric.less
        return f"{words} (to {self.resolution_text})" if self.resolution else words

    @property
    def resolution_text(self) -> str:
        if not self.resolution:
            return "0"
        seconds = self.resolution / 1000.0 if self.metric.unit == "ms" else self.resolution
        return format_seconds(seconds)

    @property
    def spec(self) -> str:
        """The criterion as `--objective` takes it back."""
        natural = self.descending == self.metric.descending
        text = self.metric.name if natural else ("-" if self.descending else "+") + self.metric.name
        if self.resolution != self.metric.resolution:
            text += f"~{self.resolution_text}"
        return text

    def value(self, result: RunResult) -> float | None:
        """The figure compared: the metric, rounded to the resolution."""
        value = self.metric.read(result)
        if value is None:
            return None
        value = float(value)
        return round(value / self.resolution) * self.resolution if self.resolution else value


# Runs that stopped before the end: their figures (few requests, nothing lost yet) recommend nothing.
_UNFINISHED = frozenset({"interrupted", "timeout", "invalid_input"})


def ran_to_end(result: RunResult | None) -> bool:
    """A result that can be recommended or be on the front: not interrupted, not stopped by the timeout or by
    input the source could not read."""
    return result is not None and str(result.status) not in _UNFINISHED


@dataclass(frozen=True)
class Objective:
    criteria: tuple[Criterion, ...]
    pareto: bool = False        # the default: the front first, then the compromise (criteria: the front's four)

    @property
    def text(self) -> str:
        """"fewest lost, then fewest duplicates, then shortest drain, then fewest requests"."""
        if self.pareto:
            return (f"the Pareto front first (●), then fewest lost, then fewest duplicates, then the smallest "
                    f"{pareto.BALANCE_TEXT} (drain to {self.criteria[2].resolution_text})")
        return ", then ".join(c.text for c in self.criteria)

    @property
    def spec(self) -> str:
        if self.pareto:
            return PARETO
        return ",".join(c.spec for c in self.criteria)

    @property
    def chooses_between_drain_and_requests(self) -> bool:
        """Whether the user said how to choose between drain and requests (a list of metrics does)."""
        return not self.pareto

    def key(self, result: RunResult | None) -> tuple[Any, ...]:
        """The sort key of one combination's result (None: the combination did not run)."""
        out: list[Any] = []
        for c in self.criteria:
            value = None if result is None else c.value(result)
            if value is None:
                out.append((1, 0.0))
            else:
                out.append((0, -value if c.descending else value))
        return tuple(out)

    def rank(self, items: Sequence[Any], result: Callable[[Any], RunResult | None]) -> list[Any]:
        """`items` sorted best first; `result(item)` gives each one's RunResult. Stable."""
        if self.pareto:
            results = [result(item) for item in items]
            positions = pareto.order([front_figures(r) for r in results], [ran_to_end(r) for r in results],
                                     drain_floor=FRONT.criteria[2].resolution)
            return [items[i] for i in positions]
        return sorted(items, key=lambda item: self.key(result(item)))


def front_figures(result: RunResult | None) -> pareto.Figures | None:
    """Lost, duplicates, drain (at its resolution) and requests: what the Pareto front compares."""
    if result is None:
        return None
    lost, dups, drain, requests = (c.value(result) for c in FRONT.criteria)
    return lost, dups, drain, requests


def on_front(results: Sequence[RunResult | None]) -> set[int]:
    """Positions of the results on the Pareto front (only runs that ran to the end can be)."""
    return pareto.front([front_figures(r) if ran_to_end(r) else None for r in results])


def parse_objective(text: str, flag: str = "--objective") -> Objective:
    """`lost,-delivered,+p95` (or `pareto`) → an Objective. Raises InputError naming the flag and the metric."""
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise InputError(f"expected a comma-separated list of metrics, got {text!r} "
                         f"(metrics: {', '.join(METRICS)}; or {PARETO}, the default)", Where(file=flag))
    if PARETO in items:
        if len(items) > 1:
            raise InputError(f"'{PARETO}' stands alone: it is the default ranking (the front first, then a "
                             "compromise); a list of metrics ranks by them in order instead", Where(file=flag))
        return Objective(_lexicographic(FRONT_SPEC, flag).criteria, pareto=True)
    return _lexicographic(text, flag)


def _lexicographic(text: str, flag: str) -> Objective:
    criteria: list[Criterion] = []
    seen: set[str] = set()
    for item in (item.strip() for item in text.split(",")):
        sign, name = (item[0], item[1:].strip()) if item[0] in "+-" else ("", item)
        name, tilde, raw_resolution = (part.strip() for part in name.partition("~"))
        metric = METRICS.get(name)
        if metric is None:
            close = difflib.get_close_matches(name, [*METRICS, PARETO], n=1)
            hint = f" — did you mean '{close[0]}'?" if close else ""
            raise InputError(f"unknown metric '{name}'{hint} (metrics: {', '.join(METRICS)}; or {PARETO}, "
                             "the default)", Where(file=flag, key=name))
        if name in seen:
            raise InputError(f"'{name}' is given twice", Where(file=flag, key=name))
        seen.add(name)
        descending = {"-": True, "+": False}.get(sign, metric.descending)
        resolution = metric.resolution
        if tilde:
            resolution = _resolution(metric, raw_resolution, flag)
        criteria.append(Criterion(metric, descending, resolution))
    return Objective(tuple(criteria))


def _resolution(metric: Metric, text: str, flag: str) -> float:
    """`drain~250ms` → 0.25 (seconds); `p95~5ms` → 5.0 (ms); `~0` → exact."""
    where = Where(file=flag, key=metric.name)
    if metric.unit not in ("seconds", "ms"):
        raise InputError(f"'{metric.name}' is a count, compared exactly: a resolution (~{text}) is for times "
                         "(drain, duration, p95, p99)", where)
    if text == "0":
        return 0.0
    try:
        seconds = parse_duration(text)
    except DurationError as exc:
        raise InputError(f"resolution: {exc}", where) from exc
    return seconds * 1000.0 if metric.unit == "ms" else seconds


# The front's four criteria at their default resolutions, whatever the objective ranks by.
FRONT = _lexicographic(FRONT_SPEC, "--objective")
