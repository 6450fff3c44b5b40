"""What the endpoint does with one request: the decision docs/endpoint.md describes.

`Policy` is compiled once from the settings (each time they change) so the
per-request path is a short loop over tuples with no parsing and, for the
common answers, no allocation: decisions are built ahead and shared.

Order: faults in order, the first whose every given matcher holds acts (a
`probability` draws from the seeded generator only when the other matchers of
its fault hold, so adding a time window does not shift later draws); a request
no fault takes gets 413 if over `max_body_bytes`, else 429 if over the rate
limit, else the answer of the first route that matches it, else the default
answer.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

from sinkbench.endpoint.matching import Matcher, RequestLike, compile_match
from sinkbench.endpoint.settings import (
    BODY_CAP,
    EndpointSettings,
    Fault,
    Latency,
    RateLimit,
    RetryAfter,
    Route,
)

# Journal/stats label of the actions that never produce an HTTP answer.
NO_ANSWER_ACTIONS = frozenset({"reset", "hang", "close", "malformed"})
SLOW_BODY_DEFAULT = b"sinkbench slow body\n"


@dataclass(frozen=True, slots=True)
class Decision:
    """How to answer one request.

    `kind` is "answer" (an HTTP answer), "slow_body", or one of the actions
    that send no answer. `wait` is the extra delay before answering (the
    `delay` action) or the time to dribble the body over (`slow_body`);
    `latency` says whether the endpoint's configured latency applies.
    `label` is what stats and the journal record: the status, or the action.
    `route` is the index of the route that answered, or -1.
    """

    kind: str
    status: int = 200
    body: bytes = b""
    retry_after: RetryAfter | None = None
    wait: float = 0.0
    latency: bool = False
    fault: int = -1
    accepted: bool = False
    label: str = "200"
    route: int = -1
    content_type: str | None = None


def _answer(status: int, *, body: bytes = b"", retry_after: RetryAfter | None = None,
            latency: bool = False, fault: int = -1, accept: bool = False) -> Decision:
    return Decision("answer", status, body, retry_after, 0.0, latency, fault,
                    accept or 200 <= status < 300, str(status))


def _route_decision(index: int, route: Route) -> Decision:
    body = route.body.encode() if route.body is not None else b""
    return Decision("answer", route.status, body, None, 0.0, True, -1, 200 <= route.status < 300,
                    str(route.status), index, route.content_type)


class TokenBucket:
    """`burst` tokens, refilled continuously at `rate` per second of the endpoint's clock."""

    __slots__ = ("rate", "burst", "tokens", "last")

    def __init__(self, limit: RateLimit, now: float) -> None:
        self.rate = limit.requests_per_second
        self.burst = float(limit.burst)
        self.tokens = self.burst
        self.last = now

    def take(self, now: float) -> bool:
        tokens = self.tokens + (now - self.last) * self.rate
        self.tokens = tokens if tokens < self.burst else self.burst
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def sample_latency(latency: Latency, rng: random.Random) -> float:
    if latency.distribution == "fixed":
        return latency.value
    if latency.distribution == "uniform":
        return rng.uniform(latency.min, latency.max)
    if latency.median <= 0.0:
        return 0.0
    return rng.lognormvariate(math.log(latency.median), latency.sigma)


def _fault_decision(index: int, fault: Fault, default_status: int) -> Decision | None:
    """The prebuilt decision of a fault; None for `delay`, whose answer depends on the request."""
    accept = fault.accept
    if fault.action == "status":
        assert fault.status is not None
        body = fault.body.encode() if fault.body is not None else b""
        return _answer(fault.status, body=body, retry_after=fault.retry_after, fault=index, accept=accept)
    if fault.action == "slow_body":
        status = fault.status if fault.status is not None else default_status
        body = fault.body.encode() if fault.body is not None else SLOW_BODY_DEFAULT
        return Decision("slow_body", status, body, fault.retry_after, fault.delay or 0.0, False, index,
                        accept or 200 <= status < 300, str(status))
    if fault.action == "delay":
        return None
    return Decision(fault.action, 0, b"", None, 0.0, False, index, accept, fault.action)


# A compiled fault: (after, until, first, last, every, match, probability, decision, index, delay, accept).
# Absent matchers become bounds that always hold, so the check is one chained comparison; `match` (method,
# path, headers) is None unless the rule names one, and then is checked after the cheap ones.
_Rule = tuple[float, float, int, float, int, "Matcher | None", "float | None", "Decision | None", int, float, bool]


class Policy:
    """The settings compiled for the request path, with the generator and bucket they use.

    `rng` drives `probability` and is used for nothing else, so the same seed
    gives the same sequence of faults whatever the latency settings are;
    latency draws come from `latency_rng`.
    """

    def __init__(self, settings: EndpointSettings, now: float, previous: Policy | None = None) -> None:
        self.settings = settings
        # Keep the generators' positions and the bucket's fill across a live change
        # that does not touch them, so changing one fault does not replay old draws.
        if previous is not None and previous.settings.seed == settings.seed:
            self.rng, self.latency_rng = previous.rng, previous.latency_rng
        else:
            self.rng = random.Random(settings.seed)
            self.latency_rng = random.Random(f"latency:{settings.seed}")
        rl = settings.rate_limit
        if rl is not None and previous is not None and previous.bucket is not None \
                and previous.settings.rate_limit == rl:
            self.bucket: TokenBucket | None = previous.bucket
        else:
            self.bucket = TokenBucket(rl, now) if rl is not None else None
        self.rate_limited = _answer(429, retry_after=rl.retry_after) if rl is not None else None
        self.too_large = _answer(413)
        self.default = _answer(settings.status, latency=True)
        # With no limit set, the buffering cap still applies: the endpoint never holds more.
        self.max_body = settings.max_body_bytes or BODY_CAP
        self.latency = settings.latency
        self.fixed_latency = settings.latency.value if settings.latency.distribution == "fixed" else None
        self.rules: tuple[_Rule, ...] = tuple(
            (
                f.after if f.after is not None else -math.inf,
                f.until if f.until is not None else math.inf,
                f.requests[0] if f.requests is not None else 1,
                f.requests[1] if f.requests is not None else math.inf,
                f.every if f.every is not None else 1,
                compile_match(f.match),
                f.probability,
                _fault_decision(i, f, settings.status),
                i,
                f.delay or 0.0,
                f.accept,
            )
            for i, f in enumerate(settings.faults)
        )
        self.routes: tuple[tuple[Matcher, Decision], ...] = tuple(
            (Matcher(r.match), _route_decision(i, r)) for i, r in enumerate(settings.routes))

    def decide(self, number: int, t: float, now: float, size: int, request: RequestLike | None = None) -> Decision:
        """The decision for request `number` (1-based) arriving at `t` s on the run's clock.

        `now` is the clock's raw reading (for the rate limit); `size` the body length; `request` what
        rules and routes with method, path or header matchers look at (needed only when some have them).
        """
        for after, until, first, last, every, match, probability, decision, index, delay, accept in self.rules:
            if after <= t < until and first <= number <= last and number % every == 0 and (
                match is None or match(request)  # type: ignore[arg-type]
            ) and (probability is None or self.rng.random() < probability):
                if decision is not None:
                    return decision
                normal = self._normal(now, size, request)
                return replace(normal, wait=delay, fault=index, accepted=normal.accepted or accept)
        return self._normal(now, size, request)

    def _normal(self, now: float, size: int, request: RequestLike | None) -> Decision:
        if size > self.max_body:
            return self.too_large
        bucket = self.bucket
        if bucket is not None and not bucket.take(now):
            assert self.rate_limited is not None
            return self.rate_limited
        for match, decision in self.routes:
            if match(request):  # type: ignore[arg-type]
                return decision
        return self.default

    def sample_latency(self) -> float:
        if self.fixed_latency is not None:
            return self.fixed_latency
        return sample_latency(self.latency, self.latency_rng)
