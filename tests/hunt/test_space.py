"""The search space: every rule kind is reachable, every plan is valid endpoint settings, shrinking goes small."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from sinkbench.endpoint.settings import EndpointSettings, parse_endpoint_settings, settings_to_dict
from sinkbench.hunt.plan import ENDPOINT_WIDE, KINDS, TIMEOUT_KINDS, Plan, fault_kind
from sinkbench.hunt.search import hunt_settings
from sinkbench.hunt.space import kinds, plans

from .conftest import scale


def _find(strategy, condition, seed: int = 1, max_examples: int = 3000, shrink: bool = True):
    from hypothesis import Phase, find

    phases = [Phase.generate, Phase.shrink] if shrink else [Phase.generate]
    return find(strategy, condition, settings=settings(hunt_settings(), max_examples=max_examples, phases=phases),
                random=random.Random(seed))


@pytest.mark.parametrize("kind", KINDS)
def test_every_rule_kind_is_reachable_and_shrinks_to_that_one_rule(kind: str) -> None:
    s = scale()
    plan = _find(plans(s), lambda p: kind in p.kinds(s.sink_timeout))
    assert plan.kinds(s.sink_timeout) == [kind]


def test_every_status_both_retry_after_forms_and_every_matcher_are_drawn() -> None:
    s = scale()
    wanted = {
        **{f"status {n}": (lambda f, n=n: f.status == n) for n in (500, 502, 503, 504, 429)},
        "Retry-After in seconds": lambda f: f.retry_after is not None and not f.retry_after.as_date,
        "Retry-After as an HTTP-date": lambda f: f.retry_after is not None and f.retry_after.as_date,
        "a request range": lambda f: f.requests is not None,
        "every Nth": lambda f: f.every is not None,
        "a probability": lambda f: f.probability is not None,
        "accept = true": lambda f: f.accept,
    }
    for what, check in wanted.items():
        plan = _find(plans(s), lambda p, check=check: any(check(f) for f in p.faults), shrink=False)
        assert any(check(f) for f in plan.faults), what


def test_latency_beyond_the_timeout_is_past_it_and_plain_latency_below_it() -> None:
    s = scale(sink_timeout=0.5)
    beyond = _find(plans(s), lambda p: "latency_beyond_timeout" in p.kinds(s.sink_timeout))
    assert beyond.faults[0].delay > 0.5
    def close_below(f) -> bool:
        return f.action == "delay" and 0.4 < f.delay < 0.5

    below = _find(plans(s), lambda p: any(close_below(f) for f in p.faults), shrink=False)
    assert [fault_kind(f, s.sink_timeout) for f in below.faults if close_below(f)][0] == "latency"
    # The variant that would cross the timeout is held just below it.
    most = _find(plans(s), lambda p: any(f.action == "delay" and f.delay >= 0.499 for f in p.faults
                                          if fault_kind(f, s.sink_timeout) == "latency"), shrink=False)
    assert max(f.delay for f in most.faults if fault_kind(f, s.sink_timeout) == "latency") == 0.499


def test_a_long_sink_timeout_leaves_hangs_out_and_says_why() -> None:
    s = scale(sink_timeout=30.0, slow_kinds=False)
    assert not TIMEOUT_KINDS & set(kinds(s))
    with pytest.raises(NoSuchExample):
        _find(plans(s), lambda p: bool(TIMEOUT_KINDS & set(p.kinds(s.sink_timeout))), max_examples=200,
              shrink=False)
    assert "30s" in s.slow_kinds_note() and "hang" in s.slow_kinds_note()
    assert scale().slow_kinds_note() is None


def test_the_outage_tier_has_no_endpoint_wide_limits() -> None:
    s = scale()
    outage = kinds(s, endpoint_wide=False)
    assert not ENDPOINT_WIDE & set(outage) and set(outage) | ENDPOINT_WIDE == set(KINDS)
    with pytest.raises(NoSuchExample):
        _find(plans(s, choices=outage), lambda p: p.rate_limit is not None or p.max_body_bytes > 0,
              max_examples=200, shrink=False)


@settings(max_examples=150, deadline=None, database=None)
@given(st.data())
def test_every_plan_drawn_is_valid_endpoint_settings_and_survives_a_round_trip(data) -> None:
    s = scale()
    plan: Plan = data.draw(plans(s))
    endpoint = EndpointSettings(faults=plan.faults, rate_limit=plan.rate_limit, max_body_bytes=plan.max_body_bytes)
    assert parse_endpoint_settings(settings_to_dict(endpoint), path=()) == endpoint
    assert plan.rules <= 4
    for f in plan.faults:
        if f.after is not None:
            assert 0 <= f.after < f.until <= 3 * s.horizon
        if f.requests is not None:
            assert 1 <= f.requests[0] <= f.requests[1] <= 2 * s.requests
