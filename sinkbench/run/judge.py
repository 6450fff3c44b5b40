"""Judging a finished run's `[expect]`: the metrics view expectations read, and their results.

Shared by the engine's run and an external sink's, which measure different
things (an external sink has no failed or skipped counts) but judge them alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sinkbench.metrics.expect import (
    Expectation,
    evaluate,
    format_metric,
)
from sinkbench.run.metrics import RunMetrics
from sinkbench.run.result import ExpectationResult


class MetricsView:
    """The MetricsView expectations are judged against."""

    def __init__(self, counts: Mapping[str, int | None], durations: Mapping[str, float | None], metrics: RunMetrics,
                 status_codes: Mapping[str, int]) -> None:
        self._counts = counts
        self._durations = durations
        self._m = metrics
        self._status = status_codes

    def count(self, name: str) -> float | None:
        if name.startswith("status."):
            return float(self._status.get(name.split(".", 1)[1], 0))
        v = self._counts.get(name)
        return None if v is None else float(v)

    def duration(self, name: str) -> float | None:
        return self._durations.get(name)

    def distribution(self, name: str):
        return {"latency.request": self._m.request_latency, "latency.delivery": self._m.delivery_latency}.get(name)


def judge(expectations: Sequence[Expectation], view: MetricsView,
          unknown: Mapping[str, str]) -> list[ExpectationResult]:
    outcomes = evaluate(list(expectations), view, unknown_reasons=unknown)
    return [ExpectationResult(o.expectation.metric, o.expectation.expression, o.observed,
                              observed_text(o.expectation.metric, o.observed), o.passed, o.detail)
            for o in outcomes]


def observed_text(metric: str, value: float | None) -> str:
    return "unknown" if value is None else format_metric(metric, value)
