"""The search space of a hunt: hypothesis strategies that draw fault plans.

Hypothesis shrinks what it draws toward the shortest, then smallest, sequence
of choices: fewer draws, the first branch of a `one_of` or `sampled_from`,
`None` before a value, `False` before `True`, the low end of an integer range. The strategies are arranged so that this
simplest is the smallest plan a person would want to read:

* fewer rules: a count, then that many rules (shrinks by dropping rules);
* simpler kinds: a 5xx status first, then resets, closes, 429s, ... hangs,
  and the endpoint-wide rate limit and body threshold last (`plan.KINDS`);
* shorter windows, then earlier ones: a window is a length and a start in
  whole grid steps (`Scale.step`), drawn in that order and shrinking toward
  one step / zero; a time window comes before a request range;
* fewer matcher keys: `every` and `probability` are `None` first;
* milder endpoint-wide limits: the body threshold shrinks toward twice the
  average body, the rate limit toward 90 % of the healthy request rate.

Every value is a multiple of a step, so a plan prints as short durations and
two draws of the same choices are equal plans (the hunt caches verdicts by
plan).
"""

from __future__ import annotations

from hypothesis import strategies as st

from sinkbench.endpoint.settings import Fault, RateLimit, RetryAfter
from sinkbench.hunt.plan import ENDPOINT_WIDE, KINDS, TIMEOUT_KINDS, Plan
from sinkbench.hunt.scale import GRID_STEPS, Scale

MAX_RULES = 4
STATUSES_5XX = (503, 500, 502, 504)


def _ms(steps: int, step: float) -> float:
    # Whole milliseconds, so "0.15000000000000002" never reaches a scenario file.
    return round(steps * round(step * 1000)) / 1000


@st.composite
def matchers(draw: st.DrawFn, scale: Scale) -> dict:
    """When a rule acts: a time window or a request range, maybe every Nth, maybe with a probability."""
    out: dict = {}
    if draw(st.booleans()):
        first = draw(st.integers(1, scale.requests))
        span = draw(st.integers(1, scale.requests))
        out["requests"] = (first, first + span - 1)
    else:
        # The length first: shrinking minimises the earlier draw first, so windows get short before early.
        length = draw(st.integers(1, 2 * GRID_STEPS))
        start = draw(st.integers(0, GRID_STEPS))
        out["after"] = _ms(start, scale.step)
        out["until"] = _ms(start + length, scale.step)
    every = draw(st.none() | st.integers(2, 10))
    if every is not None:
        out["every"] = every
    tenths = draw(st.none() | st.integers(1, 9))
    if tenths is not None:
        out["probability"] = tenths / 10
    return out


def _retry_after(k: int) -> RetryAfter:
    # k in 0..9: 1..5 whole seconds (as the header carries them), then the same as an HTTP-date.
    return RetryAfter(float(k % 5 + 1), as_date=k >= 5)


# What one more integer means for each kind, and how many values it takes. Every rule draws the
# same choices (kind, variant, matchers), so hypothesis's shortlex order ranks rules by kind first:
# with a variable number of draws, the rule with the fewest parameters would always win (a reset over
# a 503, a body threshold over any fault). The endpoint-wide kinds ignore their matchers.
VARIANTS: dict[str, int] = {
    "status_5xx": 2 * len(STATUSES_5XX),   # the status, then with accept = true (a server that stored it)
    "status_429": 10,                      # the Retry-After, _retry_after
    "slow_body": GRID_STEPS,               # the time to dribble the body over, in steps
    "latency": GRID_STEPS,                 # the added latency, in steps (kept below the sink's timeout)
    "latency_beyond_timeout": GRID_STEPS,  # the sink's timeout plus this many steps
    "rate_limit": 900,                     # rate, burst and Retry-After: _rate_limit
    "max_body": 19,                        # the threshold: _max_body
}

Rule = Fault | RateLimit | int      # a fault rule, the rate limit, or the body threshold (max_body_bytes)


def _rate_limit(scale: Scale, v: int) -> RateLimit:
    # Each digit shrinks toward 0, the mildest limit: 90 % of the healthy request rate, a burst of 10,
    # then down to 10 % and a burst of 1.
    k, b, ra = v // 100, v // 10 % 10, v % 10
    return RateLimit(max(0.1, round(scale.request_rate * (9 - k) / 10, 1)), 10 - b, _retry_after(ra))


def _max_body(scale: Scale, v: int) -> int:
    # Shrinks toward twice the average body (the mildest), down to a fifth of it.
    return max(1, scale.body_bytes * (20 - v) // 10)


def _rule(scale: Scale, kind: str, v: int, m: dict) -> Rule:
    step_ms = max(1, round(scale.step * 1000))
    timeout_ms = round(scale.sink_timeout * 1000)
    if kind == "rate_limit":
        return _rate_limit(scale, v)
    if kind == "max_body":
        return _max_body(scale, v)
    if kind == "status_5xx":
        return Fault("status", status=STATUSES_5XX[v % len(STATUSES_5XX)], accept=v >= len(STATUSES_5XX), **m)
    if kind == "status_429":
        return Fault("status", status=429, retry_after=_retry_after(v), **m)
    if kind == "slow_body":
        return Fault("slow_body", delay=(v + 1) * step_ms / 1000, **m)
    if kind == "latency":
        # Below the sink's timeout: the answer is late, not lost.
        return Fault("delay", delay=min((v + 1) * step_ms, max(1, timeout_ms - 1)) / 1000, **m)
    if kind == "latency_beyond_timeout":
        # The endpoint processes the request while the sink has given up on it: how duplicates arise.
        return Fault("delay", delay=(timeout_ms + (v + 1) * step_ms) / 1000, **m)
    return Fault(kind, **m)   # type: ignore[arg-type]  # reset, close, malformed, hang


def kinds(scale: Scale, endpoint_wide: bool = True) -> tuple[str, ...]:
    """The rule kinds this scale can afford, in the order the search prefers them; with `endpoint_wide`
    False, only the fault rules (no rate limit, no body threshold)."""
    return tuple(k for k in KINDS if (scale.slow_kinds or k not in TIMEOUT_KINDS)
                 and (endpoint_wide or k not in ENDPOINT_WIDE))


def rules(scale: Scale, choices: tuple[str, ...]) -> st.SearchStrategy[Rule]:
    """One rule of one of the kinds `choices`."""

    @st.composite
    def draw_rule(draw: st.DrawFn) -> Rule:
        kind = draw(st.sampled_from(choices))
        v = draw(st.integers(0, VARIANTS.get(kind, 1) - 1))
        return _rule(scale, kind, v, draw(matchers(scale)))

    return draw_rule()


def to_plan(drawn: list[Rule]) -> Plan:
    """The plan of the rules drawn, in order; a second rate limit or body threshold is ignored."""
    faults = tuple(r for r in drawn if isinstance(r, Fault))
    limit = next((r for r in drawn if isinstance(r, RateLimit)), None)
    threshold = next((r for r in drawn if isinstance(r, int)), 0)
    return Plan(faults, limit, threshold)


def plans(scale: Scale, max_rules: int = MAX_RULES, choices: tuple[str, ...] | None = None
          ) -> st.SearchStrategy[Plan]:
    """Fault plans of up to `max_rules` rules of the kinds `choices` (default: all this scale affords; a
    rate limit and a body threshold are rules too).

    The number of rules is drawn first and the rules after it, rather than
    with `st.lists`: hypothesis's shrinker then drops a rule that does not
    matter far more reliably (measured with a planted failure, a reset
    covering 0.5 s: 10 seeds of 10 shrank to that one rule, against 6 of 10
    with `st.lists`).
    """
    rule = rules(scale, kinds(scale) if choices is None else choices)

    @st.composite
    def draw_plan(draw: st.DrawFn) -> Plan:
        n = draw(st.integers(0, max_rules))
        return to_plan([draw(rule) for _ in range(n)])

    return draw_plan()
