"""The search driver with a fast fake evaluator: shrinking, reproducibility, budget, time, stopping."""

from __future__ import annotations

import pytest

from sinkbench.hunt.plan import Plan
from sinkbench.hunt.search import StopHunt, search
from sinkbench.hunt.space import plans

from .conftest import FakeClock, scale, verdict


def covers_one_second_with_503(plan: Plan) -> bool:
    """The rule that matters: a 503 window holding t = 1.0 s. Any other rule is noise."""
    return any(f.status == 503 and f.after is not None and f.after <= 1.0 < f.until for f in plan.faults)


def evaluator(breaks, log: list[Plan] | None = None, clock: FakeClock | None = None, seconds: float = 1.0):
    def evaluate(plan: Plan):
        if log is not None:
            log.append(plan)
        if clock is not None:
            clock.t += seconds
        return verdict(breaks(plan))
    return evaluate


def never(n: int, broke: bool) -> str | None:
    return None


def test_a_planted_two_rule_failure_shrinks_to_the_rule_that_matters() -> None:
    # Hypothesis's generation also draws constants from the project's own modules as loaded, so which seed first
    # breaks it among other rules depends on what the test run imported: take the first seed that does.
    for seed in range(8):
        log: list[Plan] = []
        out = search(plans(scale()), evaluator(covers_one_second_with_503, log), seed=seed, stop=never)
        first = next(p for p in log if covers_one_second_with_503(p))
        if first.rules >= 2:
            break
    else:
        raise AssertionError("no seed of 8 planted the failure among other rules")
    assert out.stopped == "shrunk"
    assert out.found is not None and out.found.rules == 1
    (rule,) = out.found.faults
    assert rule.status == 503 and rule.after <= 1.0 < rule.until
    assert rule.every is None and rule.probability is None and rule.requests is None and not rule.accept
    # Shrunk to the shortest window there is: one grid step.
    assert rule.until - rule.after == pytest.approx(scale().step)


def test_a_two_rule_condition_keeps_both_rules_and_drops_the_rest() -> None:
    def both(plan: Plan) -> bool:
        return covers_one_second_with_503(plan) and any(f.action == "reset" for f in plan.faults)

    out = search(plans(scale()), evaluator(both), seed=1, stop=never)
    assert out.found is not None and out.found.rules == 2
    assert {f.action for f in out.found.faults} == {"status", "reset"}


def test_the_same_seed_tries_the_same_plans_in_the_same_order() -> None:
    runs = []
    for seed in (0, 0, 1):
        log: list[Plan] = []
        out = search(plans(scale()), evaluator(covers_one_second_with_503, log), seed=seed, stop=never)
        runs.append((log, out.found))
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[2][0]


def test_the_budget_caps_the_candidate_runs() -> None:
    log: list[Plan] = []
    out = search(plans(scale()), evaluator(lambda p: False, log), seed=0,
                 stop=lambda n, broke: "budget" if n >= 7 else None)
    assert (out.stopped, len(log), len(out.tried), out.found) == ("budget", 7, 7, None)
    assert [t.number for t in out.tried] == list(range(1, 8))


def test_the_budget_stops_a_shrink_with_the_simplest_breaking_plan_so_far() -> None:
    log: list[Plan] = []

    def stop(n: int, broke: bool) -> str | None:
        return "budget" if sum(covers_one_second_with_503(p) for p in log) >= 3 else None

    out = search(plans(scale()), evaluator(covers_one_second_with_503, log), seed=0, stop=stop)
    assert out.stopped == "budget" and len(out.tried) == len(log)
    breaking = out.breaking(Plan.simplicity)
    assert len(breaking) == 3 and out.found == breaking[0].plan
    assert all(Plan.simplicity(out.found) <= Plan.simplicity(t.plan) for t in breaking)


def test_the_time_limit_is_checked_before_every_run(clock: FakeClock) -> None:
    log: list[Plan] = []
    out = search(plans(scale()), evaluator(lambda p: False, log, clock, seconds=1.5), seed=0,
                 stop=lambda n, broke: "time" if clock() >= 6.0 else None)
    assert out.stopped == "time" and len(log) == 4 and clock() == 6.0


def test_verdicts_are_cached_so_a_plan_runs_once() -> None:
    log: list[Plan] = []
    search(plans(scale()), evaluator(covers_one_second_with_503, log), seed=0, stop=never)
    assert len(log) == len(set(log))


def test_the_empty_plan_known_healthy_is_never_run() -> None:
    log: list[Plan] = []
    cache = {Plan(): verdict(False)}
    search(plans(scale()), evaluator(lambda p: False, log), seed=0, cache=cache,
           stop=lambda n, broke: "budget" if n >= 10 else None)
    assert Plan() not in log and len(cache) == 11


def test_an_error_in_a_candidate_stops_the_search_at_once() -> None:
    calls = []

    def broken(plan: Plan):
        calls.append(plan)
        raise RuntimeError("the endpoint could not start")

    out = search(plans(scale()), broken, seed=0, stop=never)
    assert out.stopped == "error" and isinstance(out.error, RuntimeError) and len(calls) == 1


@pytest.mark.parametrize("reason", ["interrupted", "time"])
def test_a_stop_raised_by_the_evaluator_mid_run_ends_the_search(reason: str) -> None:
    count = []

    def evaluate(plan: Plan):
        count.append(plan)
        if len(count) == 3:
            raise StopHunt(reason)
        return verdict(False)

    out = search(plans(scale()), evaluate, seed=0, stop=never)
    assert out.stopped == reason and len(out.tried) == 2


def test_progress_is_told_every_run_with_the_best_so_far() -> None:
    seen = []
    search(plans(scale()), evaluator(covers_one_second_with_503), seed=0, stop=never,
           on_tried=lambda tried, best: seen.append((tried.number, tried.verdict.broken, best)))
    assert [n for n, _, _ in seen] == list(range(1, len(seen) + 1))
    first_break = next(i for i, (_, broken, _) in enumerate(seen) if broken)
    assert all(best is None for _, _, best in seen[:first_break])
    assert all(best is not None and best.verdict.broken for _, _, best in seen[first_break:])
