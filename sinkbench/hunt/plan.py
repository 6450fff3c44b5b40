"""A fault plan: what `sinkbench hunt` varies, and nothing else.

A plan is the endpoint's failure behaviour, in the endpoint's own vocabulary
(docs/endpoint.md): an ordered list of `[[endpoint.faults]]` rules, plus the
two endpoint-wide ways to refuse (a token-bucket rate limit answering 429, a
body-size threshold answering 413). Everything else about the scenario — its stream, runtime and sink
settings, the endpoint's default status, latency, TLS and seed — stays as the
scenario has it. A plan *replaces* the scenario's own faults, rate limit and
body limit: the hunt asks which endpoint breaks the setting, not which
additions to the scenario's outage do.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from sinkbench.endpoint.settings import Fault, RateLimit
from sinkbench.scenario.model import Scenario

# Rule kinds, in the order the search prefers them (the simplest first).
KINDS: tuple[str, ...] = (
    "status_5xx", "reset", "close", "status_429", "malformed", "slow_body", "latency",
    "latency_beyond_timeout", "hang", "rate_limit", "max_body",
)
# Kinds whose every hit costs the sink's whole timeout (see space.SpaceBounds.slow_kinds).
TIMEOUT_KINDS = frozenset({"latency_beyond_timeout", "hang"})
# Kinds that are not `[[endpoint.faults]]` rules but endpoint-wide settings, with no window.
ENDPOINT_WIDE = frozenset({"rate_limit", "max_body"})


@dataclass(frozen=True)
class Plan:
    faults: tuple[Fault, ...] = ()
    rate_limit: RateLimit | None = None
    max_body_bytes: int = 0          # 0: no threshold

    @property
    def rules(self) -> int:
        """How many rules the plan has: each fault, the rate limit and the body threshold count one."""
        return len(self.faults) + (self.rate_limit is not None) + (self.max_body_bytes > 0)

    @property
    def empty(self) -> bool:
        return self.rules == 0

    def kinds(self, sink_timeout: float) -> list[str]:
        out = [fault_kind(f, sink_timeout) for f in self.faults]
        if self.rate_limit is not None:
            out.append("rate_limit")
        if self.max_body_bytes > 0:
            out.append("max_body")
        return out

    def simplicity(self, horizon: float = 1.0, requests: int = 1) -> tuple[float, ...]:
        """A sort key: fewer rules first, then shorter windows (a request range counts as the time its
        requests take), then fewer matcher keys, then simpler kinds (the order of KINDS). Used to pick the
        best plan when a hunt stops mid-shrink, and the order plans are confirmed in."""
        span = 0.0
        keys = 0
        for f in self.faults:
            if f.requests is not None:
                span += (f.requests[1] - f.requests[0] + 1) * horizon / max(1, requests)
            else:
                lo = f.after if f.after is not None else 0.0
                hi = f.until if f.until is not None else 2 * horizon
                span += max(0.0, hi - lo)
            keys += sum(x is not None for x in (f.after, f.until, f.requests, f.every, f.probability))
        kinds = sorted(KINDS.index(k) for k in self.kinds(math.inf))
        return (float(self.rules), round(span, 6), float(keys), *kinds)


def fault_kind(fault: Fault, sink_timeout: float) -> str:
    """Which of KINDS a fault rule is (a `delay` at or past the sink's timeout is its own kind)."""
    if fault.action == "status":
        return "status_429" if fault.status == 429 else "status_5xx"
    if fault.action == "delay":
        return "latency_beyond_timeout" if (fault.delay or 0.0) >= sink_timeout else "latency"
    return fault.action


def apply_plan(scenario: Scenario, plan: Plan) -> Scenario:
    """The scenario with the plan as its endpoint's faults, rate limit and body threshold."""
    endpoint = dataclasses.replace(scenario.endpoint, faults=plan.faults, rate_limit=plan.rate_limit,
                                   max_body_bytes=plan.max_body_bytes)
    return dataclasses.replace(scenario, endpoint=endpoint)
