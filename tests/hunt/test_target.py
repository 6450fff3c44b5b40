"""--break expressions, their negation, and judging a run against a goal."""

from __future__ import annotations

import pytest

from sinkbench.errors import InputError
from sinkbench.hunt.target import Goal, NothingToBreak, judge, narrow, negate, parse_break
from sinkbench.metrics.expect import parse_expectations
from sinkbench.run.result import ExpectationResult, RunResult, RunStatus


@pytest.mark.parametrize("text, metric, expression", [
    ("lost > 0", "lost", "> 0"),
    ("lost>0", "lost", ">0"),
    ("  duplicates   >=  1 ", "duplicates", ">=  1"),
    ("latency.delivery p(99) > 5s", "latency.delivery", "p(99) > 5s"),
    ("status.503 > 10", "status.503", "> 10"),
    ("delivered < total", "delivered", "< total"),
    ("drain > 2s", "drain", "> 2s"),
])
def test_a_break_expression_is_a_metric_and_an_expect_expression(text: str, metric: str, expression: str) -> None:
    e = parse_break(text)
    assert (e.metric, e.expression) == (metric, expression)


@pytest.mark.parametrize("text, says", [
    ("", "expected METRIC OP VALUE"),
    ("lost", "expected METRIC OP VALUE"),
    ("> 0", "expected METRIC OP VALUE"),
    ("lost >", 'missing value after ">"'),
    ("lost => 0", 'did you mean ">="'),
    ("lots > 0", "did you mean lost"),
    ("latency.delivery > 5s", "missing aggregation"),
    ("lost > 5s", "is a count"),
    ("latency.delivery p(150) > 1s", "bad percentile"),
])
def test_a_bad_break_expression_is_an_input_error_naming_the_option(text: str, says: str) -> None:
    with pytest.raises(InputError) as info:
        parse_break(text)
    assert str(info.value).startswith("--break: ") and says in str(info.value), str(info.value)


@pytest.mark.parametrize("text, negated", [
    ("lost > 0", "<= 0"), ("lost >= 1", "< 1"), ("lost < 5", ">= 5"), ("lost <= 5", "> 5"),
    ("lost == 0", "!= 0"), ("lost != 0", "== 0"),
    ("latency.delivery p(99) > 5s", "p(99) <= 5s"), ("delivered < total", ">= total"),
])
def test_the_found_scenario_expects_the_negation(text: str, negated: str) -> None:
    e = negate(parse_break(text))
    assert e.expression == negated and e.metric == parse_break(text).metric


def _result(expectations, observed, passed, status=RunStatus.COMPLETED, total=100) -> RunResult:
    return RunResult(
        scenario="s", description="", file=None, status=status, passed=all(passed), started_at="", duration=1.0,
        drain=None, settings={}, totals={"total": total, "lost": observed[0]}, latency={}, status_codes={},
        errors={}, timeline=[],
        expectations=[ExpectationResult(e.metric, e.expression, o, str(o), p, f"{e.metric} = {o}")
                      for e, o, p in zip(expectations, observed, passed)],
        endpoint=None)


def _expect(**table) -> tuple:
    return tuple(parse_expectations(table, where=lambda m, i: None))


def test_a_break_goal_breaks_when_its_expression_holds_in_a_completed_run() -> None:
    goal = Goal((parse_break("lost > 0"),), True)
    broken = judge(goal, _result(goal.judged, [37.0], [True]))
    assert broken.broken and broken.broke == (0,) and broken.score == 37.0 and broken.observed == (37.0,)
    held = judge(goal, _result(goal.judged, [0.0], [False]))
    assert not held.broken and held.score == 0.0
    timed_out = judge(goal, _result(goal.judged, [50.0], [True], status=RunStatus.TIMEOUT))
    assert not timed_out.broken and timed_out.status == "timeout"


def test_the_scenarios_own_expectations_break_when_one_fails() -> None:
    goal = Goal(_expect(lost="== 0", duplicates="== 0"), False)
    v = judge(goal, _result(goal.judged, [3.0, 0.0], [False, True]))
    assert v.broken and v.broke == (0,) and v.details == ("lost = 3.0",)
    assert not judge(goal, _result(goal.judged, [0.0, 0.0], [True, True])).broken


def test_targeting_scores_grow_toward_breaking() -> None:
    goal = Goal(_expect(delivered="== total"), False)
    near = judge(goal, _result(goal.judged, [99.0], [False]))
    far = judge(goal, _result(goal.judged, [100.0], [True]))
    assert near.score > far.score
    p99 = Goal((parse_break("latency.delivery p(99) > 5s"),), True)
    assert judge(p99, _result(p99.judged, [4000.0], [False])).score < \
        judge(p99, _result(p99.judged, [4900.0], [False])).score


def test_narrow_leaves_out_what_a_healthy_endpoint_already_breaks() -> None:
    goal = Goal(_expect(lost="== 0", **{"status.503": "> 0"}), False)
    healthy = judge(goal, _result(goal.judged, [0.0, 0.0], [True, False]))
    kept, notes = narrow(goal, [healthy])
    assert [e.metric for e in kept.judged] == ["lost"]
    assert notes == ["status.503 > 0 fails with a healthy endpoint already; hunting the others"]
    with pytest.raises(NothingToBreak, match="every expectation"):
        narrow(Goal(goal.judged[1:], False), [judge(Goal(goal.judged[1:], False),
                                                   _result(goal.judged[1:], [0.0], [False]))])


def test_a_break_that_already_holds_with_a_healthy_endpoint_is_refused() -> None:
    goal = Goal((parse_break("lost >= 0"),), True)
    with pytest.raises(NothingToBreak) as info:
        narrow(goal, [judge(goal, _result(goal.judged, [0.0], [True]))])
    assert str(info.value).startswith("--break: ") and "already holds" in str(info.value)


def test_the_written_expectations() -> None:
    assert [e.expression for e in Goal((parse_break("lost > 0"),), True).written([0])] == ["<= 0"]
    own = Goal(_expect(lost="== 0", duplicates="== 0"), False)
    assert [e.metric for e in own.written([1])] == ["duplicates"]
