"""A plan in words."""

from __future__ import annotations

import pytest

from sinkbench.endpoint.settings import Fault, RateLimit, RetryAfter
from sinkbench.hunt.describe import describe, describe_plan, describe_rule
from sinkbench.hunt.plan import Plan
from sinkbench.hunt.target import Goal, Verdict, parse_break
from sinkbench.scenario.load import scenario_from_text

QUICK = """
[scenario]
seed = 1
[source]
count = 100
[sink]
url = "mock"
max_retries = 1
timeout = "1s"
"""


@pytest.mark.parametrize("fault, words", [
    (Fault("status", after=0.4, until=2.5, status=503), "a 503 window of 2.1s from 400ms"),
    (Fault("status", requests=(10, 20), status=500, accept=True),
     "500 answers (the data stored all the same) on requests 10 to 20"),
    (Fault("status", after=0.0, until=1.0, status=429, retry_after=RetryAfter(2.0)),
     "a 429 window of 1s from 0s (Retry-After 2s)"),
    (Fault("status", requests=(3, 3), status=429, retry_after=RetryAfter(2.0, as_date=True)),
     "429 answers (Retry-After as an HTTP-date 2s ahead) on request 3"),
    (Fault("reset", after=0.1, until=0.3, every=3, probability=0.3),
     "connection resets for 200ms from 100ms (every 3rd request, 30% of the time)"),
    (Fault("close", requests=(1, 4)), "connections closed without an answer on requests 1 to 4"),
    (Fault("malformed", after=1.0), "answers that are not HTTP from 1s on"),
    (Fault("hang", until=2.0), "requests never answered (hang) until 2s"),
    (Fault("slow_body", delay=0.8), "answers dribbled over 800ms throughout"),
    (Fault("delay", delay=0.3, every=2), "answers delayed by 300ms throughout (every 2nd request)"),
    (Fault("delay", delay=1.5, after=0.0, until=0.5),
     "answers delayed by 1.5s, past the sink's 1s timeout, for 500ms from 0s"),
])
def test_each_rule_in_words(fault: Fault, words: str) -> None:
    assert describe_rule(fault, sink_timeout=1.0) == words


def test_endpoint_wide_rules_and_several_rules() -> None:
    plan = Plan((Fault("status", after=0.0, until=0.5, status=502), Fault("reset", requests=(2, 9))),
                RateLimit(12.5, 3, RetryAfter(1.0)), 4096)
    assert describe_plan(plan, 1.0) == (
        "a 502 window of 500ms from 0s, connection resets on requests 2 to 9, a rate limit of 12.5 requests/s "
        "(burst 3, Retry-After 1s) and a 413 for every body over 4096 bytes")
    assert describe_plan(Plan(), 1.0) == "a healthy endpoint"


def test_the_whole_sentence_names_what_broke_and_the_settings_that_let_it() -> None:
    scenario = scenario_from_text(QUICK)
    plan = Plan((Fault("status", after=0.4, until=2.5, status=503),))
    lost = Goal((parse_break("lost > 0"),), True)
    verdicts = [Verdict(True, "completed", broke=(0,), observed=(n,)) for n in (37.0, 41.0, 37.0)]
    assert describe(plan, lost, verdicts, scenario) == (
        "a 503 window of 2.1s from 400ms loses 37 to 41 messages with max_retries = 1 and after_polling commits")
    one = [Verdict(True, "completed", broke=(0,), observed=(1.0,))]
    assert "loses 1 message with" in describe(plan, lost, one, scenario)
    p99 = Goal((parse_break("latency.delivery p(99) > 5s"),), True)
    hang = Plan((Fault("hang", requests=(5, 5)),))
    assert describe(hang, p99, [Verdict(True, "completed", broke=(0,), observed=(6200.0,))], scenario) == (
        "requests never answered (hang) on request 5 brings latency.delivery p(99) to 6.2s "
        "with max_retries = 1, timeout = 1s and after_polling commits")
