"""A found plan in words: what the endpoint did, what it broke, under which settings.

"a 503 window of 550ms from 0s loses 36 to 41 messages with max_retries = 1
and after_polling commits" — the sentence goes into the found scenario's
description and the hunt's last line, so it names durations the way the
reports do and never a secret (only counts, durations and setting names).
"""

from __future__ import annotations

from collections.abc import Sequence

from sinkbench.endpoint.settings import Fault, RateLimit, RetryAfter
from sinkbench.hunt.plan import Plan, fault_kind
from sinkbench.hunt.target import Goal, Verdict
from sinkbench.metrics.expect import (
    Expectation,
    format_metric,
    format_seconds,
)
from sinkbench.scenario.model import Scenario

_NOUNS = {
    "reset": "connection resets",
    "close": "connections closed without an answer",
    "malformed": "answers that are not HTTP",
    "hang": "requests never answered (hang)",
}


def _s(seconds: float) -> str:
    return format_seconds(seconds)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _retry_after(ra: RetryAfter) -> str:
    return f"Retry-After as an HTTP-date {_s(ra.seconds)} ahead" if ra.as_date else f"Retry-After {_s(ra.seconds)}"


def _requests(f: Fault) -> str:
    assert f.requests is not None
    a, b = f.requests
    return f"request {a}" if a == b else f"requests {a} to {b}"


def _when(f: Fault) -> str:
    """Where a rule acts, for any rule but a status window (which reads "a 503 window of ... from ...")."""
    if f.requests is not None:
        return f"on {_requests(f)}"
    if f.after is not None and f.until is not None:
        return f"for {_s(f.until - f.after)} from {_s(f.after)}"
    if f.after is not None:
        return f"from {_s(f.after)} on"
    if f.until is not None:
        return f"until {_s(f.until)}"
    return "throughout"


def _also(f: Fault) -> str:
    parts = []
    if f.every is not None:
        parts.append(f"every {_ordinal(f.every)} request")
    if f.probability is not None:
        parts.append(f"{f.probability:.0%} of the time")
    return f" ({', '.join(parts)})" if parts else ""


def describe_rule(f: Fault, sink_timeout: float) -> str:
    kind = fault_kind(f, sink_timeout)
    if kind in ("status_5xx", "status_429"):
        extra = [_retry_after(f.retry_after)] if f.retry_after is not None else []
        if f.accept:
            extra.append("the data stored all the same")
        said = f" ({', '.join(extra)})" if extra else ""
        if f.requests is None and f.after is not None and f.until is not None:
            text = f"a {f.status} window of {_s(f.until - f.after)} from {_s(f.after)}{said}"
        else:
            text = f"{f.status} answers{said} {_when(f)}"
        return text + _also(f)
    if kind == "slow_body":
        text = f"answers dribbled over {_s(f.delay or 0.0)}"
    elif kind == "latency":
        text = f"answers delayed by {_s(f.delay or 0.0)}"
    elif kind == "latency_beyond_timeout":
        text = f"answers delayed by {_s(f.delay or 0.0)}, past the sink's {_s(sink_timeout)} timeout,"
    else:
        text = _NOUNS[kind]
    return f"{text} {_when(f)}{_also(f)}"


def describe_rate_limit(rl: RateLimit) -> str:
    return f"a rate limit of {rl.requests_per_second:g} requests/s (burst {rl.burst}, {_retry_after(rl.retry_after)})"


def describe_plan(plan: Plan, sink_timeout: float) -> str:
    parts = [describe_rule(f, sink_timeout) for f in plan.faults]
    if plan.rate_limit is not None:
        parts.append(describe_rate_limit(plan.rate_limit))
    if plan.max_body_bytes > 0:
        parts.append(f"a 413 for every body over {plan.max_body_bytes} bytes")
    return _join(parts) if parts else "a healthy endpoint"


def _join(parts: Sequence[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _shown(metric: str, value: float) -> str:
    return format_metric(metric, value)


def _range(metric: str, values: Sequence[float]) -> str:
    lo, hi = min(values), max(values)
    return _shown(metric, lo) if lo == hi else f"{_shown(metric, lo)} to {_shown(metric, hi)}"


def _effect(e: Expectation, values: Sequence[float], held: bool) -> str:
    seen = _range(e.metric, values)
    plural = "" if max(values) == 1 else "s"
    if e.metric == "lost":
        return f"loses {seen} message{plural}"
    if e.metric == "duplicates":
        return f"duplicates {seen} message{plural}"
    subject = f"{e.metric} {e.aggregation}" if e.aggregation else e.metric
    if held:
        return f"brings {subject} to {seen}"
    return f"breaks {e.metric} \"{e.expression}\" ({subject} = {seen})"


def describe_effect(goal: Goal, verdicts: Sequence[Verdict]) -> str:
    """What the plan did in the runs that confirmed it, e.g. "loses 36 to 41 messages"."""
    broke = sorted(set.intersection(*(set(v.broke) for v in verdicts))) if verdicts else []
    effects = []
    for i in broke:
        values = [v.observed[i] for v in verdicts if i < len(v.observed) and v.observed[i] is not None]
        if values:
            effects.append(_effect(goal.judged[i], values, goal.breaks_when_held))
        else:
            effects.append(f"breaks {goal.judged[i].metric} \"{goal.judged[i].expression}\"")
    return _join(effects) if effects else "breaks the setting"


def describe_setting(scenario: Scenario, plan: Plan) -> str:
    s = scenario.sink.settings
    parts = [f"max_retries = {s.max_retries}"]
    if any(k in ("hang", "latency_beyond_timeout", "slow_body") for k in plan.kinds(s.timeout)):
        parts.append(f"timeout = {_s(s.timeout)}")
    parts.append(f"{scenario.runtime.offset_commit.value} commits")
    text = f"with {_join(parts)}"
    return text + (" (enhanced profile)" if s.enhanced else "")


def describe(plan: Plan, goal: Goal, verdicts: Sequence[Verdict], scenario: Scenario) -> str:
    """The whole sentence: plan, effect, settings."""
    return f"{describe_plan(plan, scenario.sink.settings.timeout)} {describe_effect(goal, verdicts)} " \
           f"{describe_setting(scenario, plan)}"
