"""Breaking the endpoint on purpose, live: the session's breaks as `[endpoint]` documents.

The session keeps its breaks in a `LiveFaults` value; each change makes a
new document — the scenario's own `[endpoint]` settings with the breaks laid
over them (break rules first, so they win) — that the session PUTs through
the endpoint's admin API. "Back to normal" is the scenario's settings again.

The values a user types (an error rate, a Retry-After, a latency, a rate) are
parsed here, each with a message a person can act on. No Textual here.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sinkbench.durations import DurationError, format_duration, parse_duration
from sinkbench.endpoint.settings import EndpointSettings, Fault, parse_endpoint_settings
from sinkbench.errors import InputError
from sinkbench.metrics.expect import format_seconds

DOWN_KINDS = {"503": "every request answered 503", "reset": "every connection reset",
              "hang": "every request left hanging"}


class ValueProblem(ValueError):
    """A value typed into a prompt that cannot be used; the message says why."""


@dataclass(frozen=True)
class LiveFaults:
    down: str | None = None           # "503" | "reset" | "hang"
    error_rate: float | None = None   # share of requests answered 500, 0 < p <= 1
    too_many: int | None = None       # every request answered 429 with Retry-After of this many seconds
    latency: float | None = None      # seconds added to every answer (replaces the scenario's latency)
    rate_limit: float | None = None   # requests per second, over it 429

    @property
    def rules(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.down == "503":
            out.append({"action": "status", "status": 503, "body": "taken down by sinkbench"})
        elif self.down in ("reset", "hang"):
            out.append({"action": self.down})
        if self.too_many is not None:
            out.append({"action": "status", "status": 429, "retry_after": f"{self.too_many}s"})
        if self.error_rate is not None:
            out.append({"action": "status", "status": 500, "probability": self.error_rate})
        return out

    def labels(self) -> tuple[str, ...]:
        """Short names of the breaks in force, for the top bar."""
        out = []
        if self.down is not None:
            out.append(f"down ({self.down})")
        if self.too_many is not None:
            out.append(f"429 Retry-After {self.too_many}s")
        if self.error_rate is not None:
            out.append(f"{_percent(self.error_rate)} errors")
        if self.latency is not None:
            out.append(f"+{format_duration(self.latency)} latency")
        if self.rate_limit is not None:
            out.append(f"limit {_number(self.rate_limit)}/s")
        return tuple(out)


def endpoint_document(base: Mapping[str, Any], live: LiveFaults) -> dict[str, Any]:
    """The admin-API document: `base` (a `settings_to_dict` of the scenario's endpoint) with `live` over it."""
    doc = copy.deepcopy(dict(base))
    doc["faults"] = live.rules + list(doc.get("faults", []))
    if live.latency is not None:
        doc["latency"] = format_duration(live.latency) if live.latency >= 0.001 else f"{round(live.latency * 1e6)}us"
    if live.rate_limit is not None:
        rps = int(live.rate_limit) if float(live.rate_limit).is_integer() else live.rate_limit
        doc["rate_limit"] = {"requests_per_second": rps, "retry_after": "1s"}
    return doc


# -- what the user types ---------------------------------------------------------
def parse_error_rate(text: str) -> float | None:
    """"30", "30%" or "2.5" (percent of requests answered 500); empty or 0 lifts it."""
    t = text.strip().removesuffix("%").strip()
    if not t:
        return None
    try:
        value = float(t)
    except ValueError:
        raise ValueProblem(f"expected a percentage such as 30 or 2.5, got {text.strip()!r}") from None
    if not math.isfinite(value) or not 0 <= value <= 100:
        raise ValueProblem(f"a percentage is between 0 and 100, got {text.strip()!r}")
    return value / 100.0 if value else None


def parse_retry_after(text: str) -> int | None:
    """Whole seconds for the 429's Retry-After ("5"); empty lifts it."""
    t = text.strip().removesuffix("s").strip()
    if not t:
        return None
    if not t.isdigit():
        raise ValueProblem(f"expected whole seconds such as 5, got {text.strip()!r}")
    return int(t)


def parse_latency(text: str) -> float | None:
    """A duration such as "200ms" or "2s"; empty or 0 lifts it."""
    t = text.strip()
    if not t or t == "0":
        return None
    try:
        value = parse_duration(t)
    except DurationError as exc:
        raise ValueProblem(str(exc)) from None
    return value or None


def parse_rate_limit(text: str) -> float | None:
    """Requests per second ("100", "2.5"); empty or 0 lifts it."""
    t = text.strip().removesuffix("/s").strip()
    if not t:
        return None
    try:
        value = float(t)
    except ValueError:
        raise ValueProblem(f"expected requests per second such as 100, got {text.strip()!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueProblem(f"requests per second must be a number above 0, got {text.strip()!r}")
    return value or None


def check(parse, text: str) -> str | None:
    """The parser's complaint about `text`, or None when it is fine (for inline validation)."""
    try:
        parse(text)
    except ValueProblem as exc:
        return str(exc)
    return None


# -- describing the endpoint ----------------------------------------------------------
def describe_endpoint(doc: Mapping[str, Any] | None, live_rules: int = 0) -> tuple[tuple[str, str], ...]:
    """Lines for the endpoint pane, each (style, text): what it answers now, its rate limit, its faults.

    `doc` is what the admin API says the endpoint holds; its first
    `live_rules` faults are the session's own breaks.
    """
    if doc is None:
        return (("muted", "no embedded endpoint (the sink sends to a real URL)"),)
    try:
        s = parse_endpoint_settings(dict(doc), None, ())
    except InputError as exc:
        return (("error", f"unreadable settings: {exc}"),)
    lines: list[tuple[str, str]] = []
    latency = _latency(s)
    lines.append(("", f"answers {s.status}" + (f" after {latency}" if latency else "")
                  + (f", 413 over {s.max_body_bytes:,} B" if s.max_body_bytes else "")))
    if s.rate_limit is not None:
        rl = s.rate_limit
        lines.append(("warning", f"rate limit {_number(rl.requests_per_second)}/s, burst {rl.burst}, "
                                 f"Retry-After {format_seconds(rl.retry_after.seconds)}"))
    if not s.faults:
        lines.append(("muted", "no faults"))
    for i, f in enumerate(s.faults):
        live = i < live_rules
        lines.append(("error" if live else "muted", f"{'▼ ' if live else '· '}{describe_fault(f)}"
                                                     + ("" if live else " (scenario)")))
    return tuple(lines)


def describe_fault(f: Fault) -> str:
    what = {"status": f"{f.status}", "delay": f"+{format_seconds(f.delay or 0)}", "reset": "reset",
            "hang": "hang", "close": "close", "malformed": "malformed answer",
            "slow_body": f"slow body over {format_seconds(f.delay or 0)}"}[f.action]
    if f.retry_after is not None:
        what += f" Retry-After {format_seconds(f.retry_after.seconds)}" + (" (date)" if f.retry_after.as_date else "")
    if f.accept:
        what += " (kept)"
    when = []
    if f.after is not None and f.until is not None:
        when.append(f"{format_seconds(f.after)}–{format_seconds(f.until)}")
    elif f.after is not None:
        when.append(f"after {format_seconds(f.after)}")
    elif f.until is not None:
        when.append(f"until {format_seconds(f.until)}")
    if f.requests is not None:
        when.append(f"requests {f.requests[0]}–{f.requests[1]}")
    if f.every is not None:
        when.append(f"1 in {f.every} requests")
    if f.probability is not None:
        when.append(_percent(f.probability))
    return f"{what} {', '.join(when) if when else 'always'}"


def _latency(s: EndpointSettings) -> str:
    lat = s.latency
    if lat.is_zero:
        return ""
    if lat.distribution == "uniform":
        return f"{format_seconds(lat.min)}–{format_seconds(lat.max)}"
    if lat.distribution == "lognormal":
        return f"~{format_seconds(lat.median)}"
    return format_seconds(lat.value)


def _percent(p: float) -> str:
    return f"{p * 100:g}%"


def _number(x: float) -> str:
    return f"{x:g}"

