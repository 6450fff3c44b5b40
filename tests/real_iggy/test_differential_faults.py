"""Under the same faults, the real connector and the engine send the same requests and lose the same
messages (docs/fidelity.md).

Each side delivers to its own sinkbench endpoint process with the same fault
plan. Faults are keyed to request numbers, not to the clock, so both sides
meet them at the same point of the stream whatever their start-up times.
Compared: per request, in order, the method, the status or fault action, the
body size and the messages it held; the endpoint's message counts (accepted,
distinct, duplicates), hence the loss under Iggy's at-most-once commits; and
every retry gap against the connector's full-jitter bound.
"""

from __future__ import annotations

import pytest

from sinkbench.model import Message, Schema
from tests.real_iggy.differential import Case, Journal, both_faulted

pytestmark = pytest.mark.real_iggy

SINK = {"batch_mode": "ndjson", "max_retries": 2, "retry_delay": "100ms", "max_retry_delay": "400ms",
        "retry_backoff_multiplier": 2, "timeout": "1s"}
RETRYABLE = {429, 500, 502, 503, 504, "reset", "close", "timeout", "hang"}
SLACK = 0.35  # one request's own time on a loaded 2-core machine


def _case(name: str, count: int = 30, batch: int = 10, **sink) -> Case:
    messages = [Message(id=1000 + i, offset=i, timestamp=0, payload={"n": i, "pad": "x" * 40}) for i in range(count)]
    return Case(name, Schema.JSON, messages, {**SINK, **sink}, batch_length=batch)


def _retry_gaps_within_bounds(side: Journal, sink: dict) -> None:
    """Each retry waited at most min(max_retry_delay, retry_delay × multiplier^n) (+ the request's own time)."""
    base = float(sink["retry_delay"].removesuffix("ms")) / 1000
    cap = float(sink["max_retry_delay"].removesuffix("ms")) / 1000
    mult = sink["retry_backoff_multiplier"]
    requests, gaps = side.requests, side.gaps()
    n = 0
    for i, gap in enumerate(gaps):
        prev, this = requests[i], requests[i + 1]
        is_retry = prev["status"] in RETRYABLE and prev["body_bytes"] == this["body_bytes"]
        n = n + 1 if is_retry else 0
        if is_retry:
            bound = min(cap, base * mult ** (n - 1))
            assert -0.001 <= gap <= bound + SLACK, f"retry {n} after {gap:.3f}s, bound {bound:.3f}s: {requests[i:i + 2]}"


def _same(real: Journal, engine: Journal, sink: dict) -> None:
    assert real.requests, "the real connector sent nothing"
    assert real.shape() == engine.shape(), f"real {real.shape()}\nengine {engine.shape()}"
    for key in ("messages", "unique_messages", "duplicates"):
        assert real.stats[key] == engine.stats[key], (key, real.stats, engine.stats)
    _retry_gaps_within_bounds(real, sink)
    _retry_gaps_within_bounds(engine, sink)


PLANS = {
    "503_shorter_than_retries": ({"faults": [{"requests": [1, 2], "action": "status", "status": 503}]}, {}),
    "503_longer_than_retries": ({"faults": [{"requests": [1, 3], "action": "status", "status": 503}]}, {}),
    "429_retry_after_seconds": ({"faults": [{"requests": [2, 3], "action": "status", "status": 429,
                                             "retry_after": "1s"}]}, {}),
    "429_retry_after_http_date": ({"faults": [{"requests": [2, 4], "action": "status", "status": 429,
                                               "retry_after": "date:+1s"}]}, {}),
    "connection_resets": ({"faults": [{"requests": [1, 2], "action": "reset"}]}, {}),
    "answer_later_than_timeout": ({"faults": [{"requests": [2, 2], "action": "delay", "delay": "1500ms"}]}, {}),
    "413_for_big_bodies": ({"max_body_bytes": 600}, {}),
    "fatal_400_is_not_retried": ({"faults": [{"requests": [2, 2], "action": "status", "status": 400}]}, {}),
}


@pytest.mark.parametrize("plan", PLANS, ids=list(PLANS))
def test_fault_plan_matches_the_real_connector(plan, iggy_server, connectors, tmp_path):
    endpoint, extra = PLANS[plan]
    case = _case(plan, **extra)
    real, engine = both_faulted(iggy_server, connectors, case, endpoint, tmp_path)
    _same(real, engine, case.plugin_config)
    # The engine's own verdict agrees with what the endpoint holds: under at-most-once a failed
    # message is lost, and nothing else is.
    totals = engine.report["totals"]
    assert totals["delivered"] == engine.stats["unique_messages"]
    assert totals["failed"] + totals["skipped"] == len(case.messages) - engine.stats["unique_messages"]


def test_three_consecutive_failures_abort_the_batch(iggy_server, connectors, tmp_path):
    """Individual mode: after three messages in a row fail, the rest of the batch is not sent."""
    case = _case("abort_after_three", count=20, batch=10, batch_mode="individual")
    endpoint = {"faults": [{"requests": [1, 3], "action": "status", "status": 400}]}
    real, engine = both_faulted(iggy_server, connectors, case, endpoint, tmp_path)
    _same(real, engine, case.plugin_config)
    assert real.stats["unique_messages"] == 10  # the first batch aborted, the second delivered


def test_a_failing_health_check_keeps_the_sink_closed(iggy_server, connectors, tmp_path):
    case = _case("health_check", health_check_enabled=True)
    endpoint = {"faults": [{"action": "status", "status": 503}]}
    real, engine = both_faulted(iggy_server, connectors, case, endpoint, tmp_path)
    _same(real, engine, case.plugin_config)
    assert {r["method"] for r in real.requests} == {"HEAD"}
