"""Engine-independent measurements of a bench run: latency histograms, the
per-second timeline, and the `[expect]` expectations judged against them."""

from sinkbench.metrics.expect import (
    AGGREGATIONS,
    COUNT_METRICS,
    DISTRIBUTION_METRICS,
    DURATION_METRICS,
    OPERATORS,
    DistributionView,
    Expectation,
    MetricsView,
    Outcome,
    check_known,
    evaluate,
    format_count,
    format_ms,
    format_seconds,
    metric_kind,
    parse_expectations,
)
from sinkbench.metrics.histogram import HIGHEST_MS, LOWEST_MS, Histogram
from sinkbench.metrics.timeline import Timeline

__all__ = [
    "AGGREGATIONS",
    "COUNT_METRICS",
    "DISTRIBUTION_METRICS",
    "DURATION_METRICS",
    "HIGHEST_MS",
    "LOWEST_MS",
    "OPERATORS",
    "DistributionView",
    "Expectation",
    "Histogram",
    "MetricsView",
    "Outcome",
    "Timeline",
    "check_known",
    "evaluate",
    "format_count",
    "format_ms",
    "format_seconds",
    "metric_kind",
    "parse_expectations",
]
