"""The `[expect]` grammar of a scenario (docs/scenario.md), k6-thresholds style.

    delivered = "== total"
    "latency.delivery" = ["p(95) < 2s", "max < 15s"]

Units: a latency is compared in milliseconds, `duration` and `drain` in
seconds, counts as plain numbers. A bare number takes the metric's unit; a
duration literal (`2s`, `150ms`, `1.5s`, `1m 30s`) is converted to it.
Fractions are allowed here though not in connector settings: a threshold is
the user's bar, not a value the real connector must accept.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sinkbench.durations import DurationError, parse_duration
from sinkbench.errors import InputError, InputErrors, Where

Kind = Literal["count", "duration", "distribution"]

COUNT_METRICS = frozenset({
    "total", "delivered", "failed", "skipped", "lost", "duplicates", "requests", "retries", "bytes",
})
DURATION_METRICS = frozenset({"duration", "drain"})
DISTRIBUTION_METRICS = frozenset({"latency.request", "latency.delivery"})
AGGREGATIONS = ("min", "max", "avg", "med", "p(N)")
OPERATORS = ("<", "<=", ">", ">=", "==", "!=")

_COMPARE: Mapping[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt,
    ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
}
_OP_CHARS = "<>=!"
_OP_HINTS: Mapping[str, str] = {"=": "==", "=<": "<=", "=>": ">=", "<>": "!=", "!": "!=", "===": "=="}
_STATUS = re.compile(r"status\.(\d+)\Z")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z")
_DURATION_PART = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*([^\d\s.]+)")
_PERCENTILE = re.compile(r"p\((.*)\)\Z")
_METRIC_ALIASES: Mapping[str, str] = {"errors": "failed", "error": "failed", "dropped": "lost", "latency": "latency.delivery"}
_AGG_ALIASES: Mapping[str, str] = {"mean": "avg", "average": "avg", "median": "med", "minimum": "min", "maximum": "max"}
_EXAMPLES: Mapping[Kind, str] = {"count": '"== 0"', "duration": '"< 60s"', "distribution": '"p(95) < 2s"'}


def metric_kind(name: str) -> Kind | None:
    """What kind of metric `name` is, or None when there is no such metric."""
    if name in COUNT_METRICS:
        return "count"
    if name in DURATION_METRICS:
        return "duration"
    if name in DISTRIBUTION_METRICS:
        return "distribution"
    m = _STATUS.match(name)
    if m and len(m.group(1)) == 3 and 100 <= int(m.group(1)) <= 599:
        return "count"
    return None


@dataclass(frozen=True)
class Expectation:
    metric: str                 # "latency.delivery"
    expression: str             # "p(95) < 2s", exactly as written
    aggregation: str | None     # "p(95)", "max"; None for counts and durations
    op: str                     # one of OPERATORS
    value: float | str          # in the metric's unit (ms for latencies, s for durations), or "total"
    # Where it was written, so later checks (check_known) can point at it too.
    where: Where = field(default=Where(), compare=False, repr=False)

    @property
    def kind(self) -> Kind:
        kind = metric_kind(self.metric)
        assert kind is not None, self.metric  # parse_expectations admits known metrics only
        return kind

    @property
    def percentile(self) -> float | None:
        """The aggregation as a percentile: p(N) → N, med → 50; None for min/max/avg."""
        if self.aggregation == "med":
            return 50.0
        if self.aggregation and self.aggregation.startswith("p("):
            return float(self.aggregation[2:-1])
        return None


class DistributionView(Protocol):
    """What `evaluate` reads from a latency distribution (a `Histogram` fits)."""

    @property
    def count(self) -> int: ...
    @property
    def min(self) -> float | None: ...
    @property
    def max(self) -> float | None: ...
    @property
    def mean(self) -> float | None: ...
    def percentile(self, p: float) -> float | None: ...


class MetricsView(Protocol):
    """A finished (or running) bench run's metrics, as `evaluate` needs them.

    None means the run cannot know that metric (e.g. `lost` when the sink's
    url is not the embedded mock); a known metric that never happened is 0.
    """

    def count(self, name: str) -> float | None:
        """`total`, `delivered`, ... and `status.<code>`."""
        ...

    def duration(self, name: str) -> float | None:
        """`duration` or `drain`, in seconds."""
        ...

    def distribution(self, name: str) -> DistributionView | None:
        """`latency.request` or `latency.delivery`, values in milliseconds."""
        ...


@dataclass(frozen=True)
class Outcome:
    expectation: Expectation
    observed: float | None      # in the metric's unit; None when unknown or no data
    passed: bool
    detail: str                 # "p(95) = 812ms (expected < 2s)"


# -- parsing -------------------------------------------------------------------

def parse_expectations(table: Mapping[str, Any], *,
                       where: Callable[[str, int | None], Where]) -> list[Expectation]:
    """Every expectation of an `[expect]` table, in the order written.

    Raises InputErrors listing every bad entry. `where(metric, index)` locates
    an entry (index is its position in a list, None for a lone string).
    Unquoted dotted keys (`latency.delivery = ...` parses as a nested table)
    are flattened back to their dotted name.
    """
    expectations: list[Expectation] = []
    errors: list[InputError] = []
    for metric, spec in _flatten(table):
        kind = metric_kind(metric)
        if kind is None:
            errors.append(InputError(_unknown_metric(metric), where(metric, None)))
            continue
        if isinstance(spec, str):
            items: list[tuple[int | None, Any]] = [(None, spec)]
        elif isinstance(spec, list):
            if not spec:
                errors.append(InputError(
                    f"{metric}: empty list; give at least one expression such as {_EXAMPLES[kind]}",
                    where(metric, None)))
                continue
            items = list(enumerate(spec))
        else:
            errors.append(InputError(_not_a_string(metric, kind, spec, in_list=False), where(metric, None)))
            continue
        for index, item in items:
            at = where(metric, index)
            label = metric if index is None else f"{metric}[{index}]"
            if not isinstance(item, str):
                errors.append(InputError(_not_a_string(label, kind, item, in_list=True), at))
                continue
            try:
                expectations.append(_parse_one(metric, kind, item, at))
            except _Bad as bad:
                errors.append(InputError(f'{label} "{item}": {bad}', at))
    if errors:
        raise InputErrors(errors)
    return expectations


class _Bad(ValueError):
    """One expression's problem; parse_expectations adds which metric and where."""


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, name + ".")
        else:
            yield name, value


def _parse_one(metric: str, kind: Kind, expression: str, where: Where) -> Expectation:
    left, op, right = _split(expression, kind)
    aggregation = _parse_aggregation(metric, kind, left)
    value = _parse_value(metric, kind, right, op)
    return Expectation(metric, expression, aggregation, op, value, where)


def _split(expression: str, kind: Kind) -> tuple[str, str, str]:
    """(text before the operator, operator, text after it), or _Bad."""
    text = expression.strip()
    if not text:
        raise _Bad(f"empty expression; write e.g. {_EXAMPLES[kind]}")
    start = next((i for i, ch in enumerate(text) if ch in _OP_CHARS), None)
    if start is None:
        raise _Bad(f"missing operator (one of {' '.join(OPERATORS)}); write e.g. {_EXAMPLES[kind]}")
    end = start
    while end < len(text) and text[end] in _OP_CHARS:
        end += 1
    op = text[start:end]
    if op not in _COMPARE:
        hint = f'; did you mean "{_OP_HINTS[op]}"?' if op in _OP_HINTS else ""
        raise _Bad(f'bad operator "{op}" (use one of {" ".join(OPERATORS)}){hint}')
    return text[:start].strip(), op, text[end:].strip()


def _parse_aggregation(metric: str, kind: Kind, text: str) -> str | None:
    if kind != "distribution":
        if not text:
            return None
        if _looks_like_aggregation(text):
            raise _Bad(f'{metric} is a {kind}: it takes no aggregation ("{text}"); '
                       f"write \"<op> <value>\" such as {_EXAMPLES[kind]}")
        if text == metric:
            raise _Bad(f'leave out the metric name: write "<op> <value>" such as {_EXAMPLES[kind]}')
        raise _Bad(f'unexpected "{text}" before the operator; write "<op> <value>" such as {_EXAMPLES[kind]}')
    if not text:
        raise _Bad("missing aggregation: a distribution needs one of min, max, avg, med, p(N) "
                   'before the operator, e.g. "p(95) < 2s"')
    if text in ("min", "max", "avg", "med"):
        return text
    m = _PERCENTILE.match(text)
    if m:
        n_text = m.group(1).strip()
        n = float(n_text) if _NUMBER.match(n_text) else math.nan
        if not 0.0 < n <= 100.0:  # NaN fails this too
            raise _Bad(f'bad percentile "{text}": write p(N) with a number 0 < N <= 100, e.g. p(95) or p(99.9)')
        return f"p({n_text})"
    raise _Bad(f'unknown aggregation "{text}" (use min, max, avg, med or p(N)){_aggregation_hint(text)}')


def _looks_like_aggregation(text: str) -> bool:
    t = text.lower()
    return t in ("min", "max", "avg", "med") or t in _AGG_ALIASES or bool(re.match(r"p\s*\(?\s*[\d.]", t))


def _aggregation_hint(text: str) -> str:
    t = text.lower().replace(" ", "")
    if t in ("min", "max", "avg", "med"):
        return f'; did you mean "{t}"?'
    if t in _AGG_ALIASES:
        return f'; did you mean "{_AGG_ALIASES[t]}"?'
    m = re.fullmatch(r"p\(?([\d.]+)\)?", t)
    if m:
        return f'; did you mean "p({m.group(1)})"?'
    return ""


def _parse_value(metric: str, kind: Kind, text: str, op: str) -> float | str:
    if not text:
        raise _Bad(f'missing value after "{op}"; write e.g. {_EXAMPLES[kind]}')
    if text == "total":
        if kind != "count":
            raise _Bad(f'"total" only compares with counts (delivered, failed, lost, ...), not with the {kind} {metric}')
        return "total"
    if _NUMBER.match(text):
        return float(text)
    seconds = _duration_seconds(text)
    if seconds is not None:
        if kind == "count":
            raise _Bad(f'{metric} is a count, but "{text}" is a duration; write a number such as "<= 200"')
        return seconds * 1000.0 if kind == "distribution" else seconds
    what = {
        "count": 'a number or "total"',
        "duration": 'a duration such as "60s" or a number of seconds',
        "distribution": 'a duration such as "2s" or "150ms" or a number of milliseconds',
    }[kind]
    raise _Bad(f'cannot read the value "{text}": expected {what}')


def _duration_seconds(text: str) -> float | None:
    """Seconds in a duration literal that may have fractions ("1.5s", "1m 30s"); None if it is not one."""
    total = 0.0
    pos = 0
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if not m:
            return None
        try:
            unit_seconds = parse_duration("1" + m.group(2))
        except DurationError:
            raise _Bad(f'unknown unit "{m.group(2)}" in "{text}" (use e.g. ms, s, m, h)') from None
        total += float(m.group(1)) * unit_seconds
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return total


def _unknown_metric(metric: str) -> str:
    m = _STATUS.match(metric)
    if m or metric.startswith("status."):
        return (f'unknown metric "{metric}": a status metric is "status.<code>" '
                f"with a three-digit code 100..599, e.g. status.503")
    candidates = sorted(COUNT_METRICS | DURATION_METRICS | DISTRIBUTION_METRICS)
    code = re.search(r"\d{3}", metric)
    if code:
        candidates.append(f"status.{code.group(0)}")
    close = difflib.get_close_matches(metric, candidates, n=3, cutoff=0.6)
    alias = _METRIC_ALIASES.get(metric)
    if alias and alias not in close:
        close.insert(0, alias)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return f'unknown metric "{metric}"{hint} (known: {", ".join(sorted(COUNT_METRICS))}, status.<code>, ' \
           f'{", ".join(sorted(DURATION_METRICS))}, {", ".join(sorted(DISTRIBUTION_METRICS))})'


def _not_a_string(label: str, kind: Kind, value: Any, *, in_list: bool) -> str:
    if isinstance(value, bool):
        got = f"the boolean {str(value).lower()}"
    elif isinstance(value, (int, float)):
        got = f"the number {value}"
        if kind == "count":
            return f'{label}: expected a string such as "== {value}", got {got} (the operator is part of the string)'
    elif isinstance(value, list) and in_list:
        got = "a nested list"
    else:
        got = f"{type(value).__name__} {value!r}"
    shape = "a string" if in_list or kind != "distribution" else "a string or a list of strings"
    return f"{label}: expected {shape} such as {_EXAMPLES[kind]}, got {got}"


# -- checking and evaluating ---------------------------------------------------------

def check_known(expectations: Iterable[Expectation],
                unknown_metrics: Mapping[str, str] | Collection[str]) -> list[InputError]:
    """Errors for expectations on metrics this run cannot measure (exit 2, before running).

    `unknown_metrics` names them; a mapping also gives the reason
    ({"lost": "the sink's url is not the embedded mock"}). A count compared
    with "total" needs `total` to be known as well.
    """
    reasons: Mapping[str, str] = (unknown_metrics if isinstance(unknown_metrics, Mapping)
                                  else dict.fromkeys(unknown_metrics, ""))
    errors: list[InputError] = []
    for e in expectations:
        for name in (e.metric, "total") if e.value == "total" else (e.metric,):
            if name in reasons:
                why = f": {reasons[name]}" if reasons[name] else ""
                errors.append(InputError(
                    f'{e.metric} "{e.expression}": {name} cannot be measured in this run{why}', e.where))
                break
    return errors


def evaluate(expectations: Iterable[Expectation], metrics: MetricsView, *,
             unknown_reasons: Mapping[str, str] | None = None) -> list[Outcome]:
    """Judge each expectation against the run's metrics.

    An unknown metric (None from `metrics`) or an aggregation over no data
    fails: an expectation that could not be checked did not hold.
    `unknown_reasons` explains unknown metrics in the detail.
    """
    reasons = unknown_reasons or {}
    return [_evaluate_one(e, metrics, reasons) for e in expectations]


def _evaluate_one(e: Expectation, metrics: MetricsView, reasons: Mapping[str, str]) -> Outcome:
    kind = e.kind
    expected_text = _split(e.expression, kind)[2]
    subject = e.aggregation or e.metric

    if kind != "count" and _NUMBER.match(expected_text):
        expected_text += "ms" if kind == "distribution" else "s"  # a bare number is in the metric's unit

    def unknown(name: str) -> Outcome:
        why = reasons.get(name) or "not measured in this run"
        return Outcome(e, None, False, f"{name} is unknown: {why}")

    if kind == "count":
        observed = metrics.count(e.metric)
        if observed is None:
            return unknown(e.metric)
        if e.value == "total":
            total = metrics.count("total")
            if total is None:
                return unknown("total")
            target = total
            expected = f"{e.op} total = {format_count(total)}"
        else:
            target = float(e.value)
            expected = f"{e.op} {expected_text}"
        shown = format_count(observed)
    elif kind == "duration":
        observed = metrics.duration(e.metric)
        if observed is None:
            return unknown(e.metric)
        target = float(e.value)
        expected = f"{e.op} {expected_text}"
        shown = format_seconds(observed)
    else:
        dist = metrics.distribution(e.metric)
        if dist is None:
            return unknown(e.metric)
        expected = f"{e.op} {expected_text}"
        observed = _aggregate(dist, e) if dist.count else None
        if observed is None:
            return Outcome(e, None, False, f"{subject}: no data ({e.metric} recorded nothing; expected {expected})")
        target = float(e.value)
        shown = format_ms(observed)
    passed = _COMPARE[e.op](observed, target)
    return Outcome(e, observed, passed, f"{subject} = {shown} (expected {expected})")


def _aggregate(dist: DistributionView, e: Expectation) -> float | None:
    if e.aggregation == "min":
        return dist.min
    if e.aggregation == "max":
        return dist.max
    if e.aggregation == "avg":
        return dist.mean
    p = e.percentile
    assert p is not None, e.aggregation
    return dist.percentile(p)


# -- formatting for people -----------------------------------------------------------

def format_count(value: float) -> str:
    """A count as an int ("5000"); a fractional value as written ("2.5")."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def format_ms(ms: float) -> str:
    """A latency with three significant digits: "412µs", "4.12ms", "812ms", "1.5s", "75.3s"."""
    if ms < 0:
        return "-" + format_ms(-ms)
    if ms == 0:
        return "0ms"
    # 999.7 would round to "1000ms": switch units where the rounding does.
    if ms < 0.9995:
        return _three_digits(ms * 1000.0) + "µs"
    if ms < 999.5:
        return _three_digits(ms) + "ms"
    return _three_digits(ms / 1000.0) + "s"


def format_seconds(seconds: float) -> str:
    """A duration the way format_ms writes it ("12.4s", "850ms")."""
    return "0s" if seconds == 0 else format_ms(seconds * 1000.0)


def format_metric(metric: str, value: float) -> str:
    """A metric's value in its own unit: a latency in ms ("4.12ms"), a duration ("1.5s"), a count ("5000")."""
    kind = metric_kind(metric)
    if kind == "distribution":
        return format_ms(value)
    if kind == "duration":
        return format_seconds(value)
    return format_count(value)


def _three_digits(x: float) -> str:
    decimals = 2 if x < 10 else 1 if x < 100 else 0
    text = f"{x:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
