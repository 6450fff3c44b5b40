"""The decision for one request (faults.Policy), without HTTP: every matcher, the order, determinism."""

from __future__ import annotations

import math
import random
import statistics
from typing import Any

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from sinkbench.endpoint.faults import Policy, TokenBucket, sample_latency
from sinkbench.endpoint.settings import (
    BODY_CAP,
    Latency,
    RateLimit,
    RetryAfter,
    parse_endpoint_settings,
)


def policy(doc: dict[str, Any], now: float = 0.0) -> Policy:
    return Policy(parse_endpoint_settings(doc, None, ()), now)


def labels(p: Policy, n: int, t: float = 0.0, size: int = 10) -> list[str]:
    return [p.decide(i, t, t, size).label for i in range(1, n + 1)]


def test_default_answer() -> None:
    d = policy({"status": 204}).decide(1, 0.0, 0.0, 10)
    assert (d.kind, d.status, d.accepted, d.latency, d.fault) == ("answer", 204, True, True, -1)
    d = policy({"status": 503}).decide(1, 0.0, 0.0, 10)
    assert (d.status, d.accepted) == (503, False)


def test_requests_range_is_inclusive_and_one_based() -> None:
    p = policy({"faults": [{"requests": [2, 4], "action": "status", "status": 503}]})
    assert labels(p, 6) == ["200", "503", "503", "503", "200", "200"]


def test_every() -> None:
    p = policy({"faults": [{"every": 3, "action": "reset"}]})
    assert labels(p, 7) == ["200", "200", "reset", "200", "200", "reset", "200"]


def test_time_window_after_inclusive_until_exclusive() -> None:
    p = policy({"faults": [{"after": "5s", "until": "15s", "action": "status", "status": 503}]})
    assert [p.decide(1, t, t, 0).status for t in (0.0, 4.999, 5.0, 14.999, 15.0, 100.0)] == \
        [200, 200, 503, 503, 200, 200]


def test_open_ended_windows() -> None:
    after = policy({"faults": [{"after": "5s", "action": "close"}]})
    until = policy({"faults": [{"until": "5s", "action": "close"}]})
    assert [after.decide(1, t, t, 0).kind for t in (4.0, 5.0, 1e6)] == ["answer", "close", "close"]
    assert [until.decide(1, t, t, 0).kind for t in (0.0, 4.9, 5.0)] == ["close", "close", "answer"]


def test_all_matchers_of_a_fault_must_hold() -> None:
    p = policy({"faults": [{"requests": [1, 10], "every": 2, "after": "1s", "action": "hang"}]})
    assert [p.decide(n, t, t, 0).kind for n, t in ((2, 0.5), (3, 2.0), (4, 2.0), (12, 2.0))] == \
        ["answer", "answer", "hang", "answer"]


def test_first_matching_fault_acts() -> None:
    p = policy({"faults": [
        {"requests": [3, 3], "action": "reset"},
        {"every": 3, "action": "status", "status": 500},
        {"action": "status", "status": 503},
    ]})
    assert labels(p, 6) == ["503", "503", "reset", "503", "503", "500"]
    assert [p.decide(n, 0, 0, 0).fault for n in (1, 3, 6)] == [2, 0, 1]


def test_probability_is_seeded_and_repeatable() -> None:
    doc = {"faults": [{"probability": 0.3, "action": "status", "status": 503}], "seed": 42}
    first, second = labels(policy(doc), 500), labels(policy(doc), 500)
    assert first == second
    assert 100 < first.count("503") < 200
    other = labels(policy({**doc, "seed": 43}), 500)
    assert other != first


def test_probability_draws_only_when_other_matchers_hold() -> None:
    # The same draws decide the same requests whether or not a window hides some of them first.
    plain = policy({"faults": [{"probability": 0.5, "action": "reset"}], "seed": 1})
    windowed = policy({"faults": [{"probability": 0.5, "after": "10s", "action": "reset"}], "seed": 1})
    for n in range(1, 51):
        windowed.decide(n, 0.0, 0.0, 0)  # before the window: must not consume draws
    assert [plain.decide(n, 20.0, 20.0, 0).kind for n in range(1, 101)] == \
        [windowed.decide(n, 20.0, 20.0, 0).kind for n in range(51, 151)]


def test_probability_edges() -> None:
    assert set(labels(policy({"faults": [{"probability": 0.0, "action": "reset"}]}), 100)) == {"200"}
    assert set(labels(policy({"faults": [{"probability": 1.0, "action": "reset"}]}), 100)) == {"reset"}


def test_status_action_fields() -> None:
    p = policy({"faults": [{"action": "status", "status": 429, "retry_after": "date:+2s", "body": "slow down"}]})
    d = p.decide(1, 0, 0, 0)
    assert (d.status, d.body, d.retry_after, d.accepted, d.latency) == (429, b"slow down", RetryAfter(2.0, True),
                                                                         False, False)


def test_accept_true_counts_rejections_as_processed() -> None:
    p = policy({"faults": [{"requests": [1, 1], "action": "status", "status": 500, "accept": True},
                           {"requests": [2, 2], "action": "reset", "accept": True},
                           {"requests": [3, 3], "action": "close"}]})
    assert [p.decide(n, 0, 0, 0).accepted for n in (1, 2, 3, 4)] == [True, True, False, True]


def test_no_answer_actions() -> None:
    for action in ("reset", "hang", "close", "malformed"):
        d = policy({"faults": [{"action": action}]}).decide(1, 0, 0, 0)
        assert (d.kind, d.label, d.status, d.accepted) == (action, action, 0, False)


def test_slow_body_defaults_to_the_endpoint_status() -> None:
    d = policy({"status": 202, "faults": [{"action": "slow_body", "delay": "2s"}]}).decide(1, 0, 0, 0)
    assert (d.kind, d.status, d.wait, d.accepted) == ("slow_body", 202, 2.0, True)
    assert d.body
    d = policy({"faults": [{"action": "slow_body", "delay": "1s", "status": 500, "body": "x"}]}).decide(1, 0, 0, 0)
    assert (d.status, d.body, d.accepted) == (500, b"x", False)


def test_delay_adds_to_the_normal_answer() -> None:
    p = policy({"max_body_bytes": 100, "faults": [{"action": "delay", "delay": "3s"}]})
    d = p.decide(1, 0, 0, 10)
    assert (d.kind, d.status, d.wait, d.latency, d.fault, d.accepted) == ("answer", 200, 3.0, True, 0, True)
    d = p.decide(2, 0, 0, 101)
    assert (d.status, d.wait, d.accepted) == (413, 3.0, False)
    d = policy({"status": 503, "faults": [{"action": "delay", "delay": "1s", "accept": True}]}).decide(1, 0, 0, 0)
    assert (d.status, d.accepted) == (503, True)


def test_max_body_bytes_before_rate_limit() -> None:
    p = policy({"max_body_bytes": 100, "rate_limit": {"requests_per_second": 1, "burst": 1}})
    assert p.decide(1, 0, 0, 101).status == 413  # does not take a token
    assert p.decide(2, 0, 0, 100).status == 200
    assert p.decide(3, 0, 0, 100).status == 429


def test_body_cap_applies_without_a_limit() -> None:
    p = policy({})
    assert p.decide(1, 0, 0, BODY_CAP).status == 200
    assert p.decide(2, 0, 0, BODY_CAP + 1).status == 413


def test_faults_come_before_size_and_rate_limit() -> None:
    p = policy({"max_body_bytes": 10, "faults": [{"action": "status", "status": 202}]})
    assert p.decide(1, 0, 0, 1000).status == 202


def test_rate_limit_token_bucket_on_the_clock() -> None:
    p = policy({"rate_limit": {"requests_per_second": 2, "burst": 3, "retry_after": "date:+1s"}})
    assert [p.decide(n, 0, 0.0, 0).status for n in range(1, 6)] == [200, 200, 200, 429, 429]
    d = p.decide(6, 0, 0.0, 0)
    assert (d.retry_after, d.accepted) == (RetryAfter(1.0, True), False)
    assert p.decide(7, 0.5, 0.5, 0).status == 200  # one token back after 0.5 s at 2/s
    assert p.decide(8, 0.5, 0.5, 0).status == 429
    assert [p.decide(n, 10, 10.0, 0).status for n in range(9, 14)] == [200, 200, 200, 429, 429]  # refilled to burst


def test_token_bucket_caps_at_burst() -> None:
    b = TokenBucket(RateLimit(10.0, 2), now=0.0)
    assert [b.take(100.0) for _ in range(3)] == [True, True, False]


def test_live_change_keeps_generator_and_bucket() -> None:
    doc = {"faults": [{"probability": 0.5, "action": "reset"}], "rate_limit": {"requests_per_second": 1, "burst": 1},
           "seed": 5}
    reference = policy(doc)
    expected = [reference.decide(n, 0, 0, 0).kind for n in range(1, 21)]
    p = policy(doc)
    got = [p.decide(n, 0, 0, 0).kind for n in range(1, 11)]
    p = Policy(parse_endpoint_settings({**doc, "status": 201}, None, ()), 0.0, previous=p)
    got += [p.decide(n, 0, 0, 0).kind for n in range(11, 21)]
    assert got == expected  # the draws continue where they were
    assert p.decide(21, 0, 0, 0).status in (429, 0)  # the bucket is still empty


def test_new_seed_restarts_the_generator() -> None:
    doc = {"faults": [{"probability": 0.5, "action": "reset"}], "seed": 5}
    p = policy(doc)
    [p.decide(n, 0, 0, 0) for n in range(1, 11)]
    p = Policy(parse_endpoint_settings({**doc, "seed": 6}, None, ()), 0.0, previous=p)
    fresh = policy({**doc, "seed": 6})
    assert [p.decide(n, 0, 0, 0).kind for n in range(1, 21)] == [fresh.decide(n, 0, 0, 0).kind for n in range(1, 21)]


def test_latency_sampling() -> None:
    rng = random.Random(1)
    assert sample_latency(Latency("fixed", value=0.002), rng) == 0.002
    u = [sample_latency(Latency("uniform", min=0.001, max=0.005), rng) for _ in range(1000)]
    assert min(u) >= 0.001 and max(u) <= 0.005
    ln = [sample_latency(Latency("lognormal", median=0.005, sigma=0.5), rng) for _ in range(4001)]
    assert math.isclose(statistics.median(ln), 0.005, rel_tol=0.1)
    assert sample_latency(Latency("lognormal", median=0.0, sigma=0.5), rng) == 0.0


def test_latency_draws_are_seeded_and_separate_from_fault_draws() -> None:
    doc = {"latency": {"distribution": "uniform", "min": "1ms", "max": "9ms"}, "seed": 3}
    a, b = policy(doc), policy(doc)
    assert [a.sample_latency() for _ in range(20)] == [b.sample_latency() for _ in range(20)]
    faults = {"faults": [{"probability": 0.5, "action": "reset"}], "seed": 3}
    with_latency = policy({**faults, "latency": doc["latency"]})
    plain = policy(faults)
    seq = []
    for n in range(1, 41):
        with_latency.sample_latency()
        seq.append(with_latency.decide(n, 0, 0, 0).kind)
    assert seq == [plain.decide(n, 0, 0, 0).kind for n in range(1, 41)]


@hsettings(max_examples=200, deadline=None)
@given(
    status=st.integers(100, 599),
    fault_status=st.integers(100, 599),
    action=st.sampled_from(["status", "reset", "hang", "close", "malformed", "slow_body", "delay"]),
    accept=st.booleans(),
    n=st.integers(1, 1000),
    size=st.integers(0, 10**6),
)
def test_accepted_means_2xx_or_accept(status: int, fault_status: int, action: str, accept: bool, n: int,
                                      size: int) -> None:
    fault: dict[str, Any] = {"action": action, "every": 2, "accept": accept}
    if action == "status":
        fault["status"] = fault_status
    if action in ("delay", "slow_body"):
        fault["delay"] = "1ms"
    d = policy({"status": status, "max_body_bytes": 500_000, "faults": [fault]}).decide(n, 0, 0, size)
    answered = d.status if d.kind in ("answer", "slow_body") else None
    assert d.accepted == ((n % 2 == 0 and accept) or (answered is not None and 200 <= answered < 300))
