"""The default ranking: the Pareto front first, then lost, duplicates and a stated drain/requests compromise;
and what the connector cannot run ranked after what it can."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sinkbench.run.result import RunStatus
from sinkbench.sweep import report
from sinkbench.sweep.objective import (
    DEFAULT_OBJECTIVE,
    front_figures,
    on_front,
    parse_objective,
    ran_to_end,
)
from sinkbench.sweep.pareto import dominates, front, order, trades

from .conftest import SCENARIOS, fake_result, fake_sweep, tiny


def test_dominates_needs_no_worse_everywhere_and_better_somewhere() -> None:
    assert dominates((0, 0, 1.2, 300), (0, 0, 1.2, 301))
    assert not dominates((0, 0, 1.2, 300), (0, 0, 1.2, 300))            # equal: neither
    assert not dominates((0, 0, 1.2, 700), (0, 0, 1.3, 300))            # a trade: neither
    assert dominates((0, 0, 1.2, 300), (0, 0, None, 300))               # unknown is worse than any value
    assert not dominates((0, 0, None, 300), (0, 0, 1.2, 300))
    assert front([(0, 0, 1.2, 700), (0, 0, 1.3, 300), (0, 0, 1.3, 700), None, (5, 0, 0.1, 100)]) == {0, 1, 4}


def test_trades_is_drain_against_requests_at_the_same_counts() -> None:
    assert trades((0, 0, 1.2, 668), (0, 0, 1.3, 309)) and trades((0, 0, 1.3, 309), (0, 0, 1.2, 668))
    assert not trades((0, 0, 1.2, 668), (0, 1, 1.3, 309))               # duplicates differ: not a compromise
    assert not trades((0, 0, 1.2, 300), (0, 0, 1.3, 309))               # one dominates
    assert not trades((0, 0, 1.2, 300), (0, 0, 1.2, 300))


def test_the_compromise_weighs_each_against_the_best() -> None:
    # The case: 0.1 s sooner for twice the requests. +8% drain beats +116% requests.
    figures = [(0, 0, 1.2, 668), (0, 0, 1.3, 309)]
    assert order(figures, [True, True], drain_floor=0.1) == [1, 0]
    # And the other way round when the requests differ by little and the drain by much.
    assert order([(0, 0, 1.0, 310), (0, 0, 3.0, 300)], [True, True], drain_floor=0.1) == [0, 1]
    # A best drain of 0 counts as the resolution (no division by zero); no requests at all counts as 1.
    assert order([(0, 0, 0.1, 60), (0, 0, 0.0, 90)], [True] * 2, drain_floor=0.1) == [1, 0]   # 0 + 1.5 < 1 + 1
    assert order([(0, 0, 0.1, 3), (0, 0, 0.2, 0)], [True] * 2, drain_floor=0.1) == [1, 0]     # 2 + 0 < 1 + 3
    # Unknown drains (no fault window): the requests decide; no result at all: last.
    assert order([(0, 0, None, 9), None, (0, 0, None, 3)], [True, False, True], drain_floor=0.1) == [2, 0, 1]


_drains = st.one_of(st.none(), st.sampled_from([0.0, 0.04, 0.1, 0.26, 1.2, 1.31, 3.0]))
_figures = st.tuples(st.integers(0, 3), st.integers(0, 2), _drains, st.integers(0, 6),
                     st.sampled_from([RunStatus.COMPLETED] * 4 + [RunStatus.TIMEOUT]))


@settings(max_examples=200, deadline=None)
@given(st.lists(_figures, min_size=1, max_size=10))
def test_a_dominated_combination_never_ranks_above_one_that_dominates_it(figures: list) -> None:
    results = [fake_result(lost=lost, duplicates=dups, drain=drain, requests=requests * 50, status=status)
               for lost, dups, drain, requests, status in figures]
    objective = parse_objective(DEFAULT_OBJECTIVE)
    ranked = objective.rank(list(range(len(results))), lambda i: results[i])
    assert sorted(ranked) == list(range(len(results)))
    place = {i: p for p, i in enumerate(ranked)}
    done = [i for i, r in enumerate(results) if ran_to_end(r)]
    for a in done:
        for b in done:
            if dominates(front_figures(results[a]), front_figures(results[b])):
                assert place[a] < place[b], (a, b, figures)
    # The front comes first, then the rest; the first of a sweep that has a run to the end is on the front.
    on = on_front(results)
    assert [i in on for i in ranked] == sorted((i in on for i in ranked), reverse=True)
    if done:
        assert ranked[0] in on
        assert results[ranked[0]].totals["lost"] == min(results[i].totals["lost"] for i in done)


# -- the shipped outage-503, with the figures the issue quotes -----------------------------------------

# The README's sweep of scenarios/outage-503.toml: offset_commit × max_retries, as it ran.
README = {
    ("after_polling", 0): dict(lost=2392, drain=1.27, requests=711, bytes_=2_359_296, passed=False),
    ("after_polling", 3): dict(lost=804, drain=1.18, requests=295, bytes_=3_953_000, passed=False),
    ("after_consuming", 0): dict(lost=0, drain=1.21, requests=668, bytes_=23_488_102),
    ("after_consuming", 3): dict(lost=0, drain=1.31, requests=309, bytes_=4_425_000),
}


def readme_sweep(objective: str = DEFAULT_OBJECTIVE):
    order_ = [(c, r) for c in ("after_polling", "after_consuming") for r in (0, 3)]
    return fake_sweep(SCENARIOS / "outage-503.toml", [fake_result(**README[k], total=4000) for k in order_],
                      varies=["runtime.offset_commit=after_polling,after_consuming", "sink.max_retries=0,3"],
                      objective=objective)


def test_outage_503_ranks_what_the_connector_runs_first() -> None:
    sweep = readme_sweep()
    labels = [row.combination.label for row in sweep.rows]
    assert labels == ["offset_commit=after_polling max_retries=3", "offset_commit=after_polling max_retries=0",
                      "offset_commit=after_consuming max_retries=3", "offset_commit=after_consuming max_retries=0"]
    assert [row.connector_runs for row in sweep.rows] == [True, True, False, False]
    # after_polling: 3 retries lose less, sooner and cheaper: it alone is that part's front. after_consuming:
    # 0 retries drains 0.1 s sooner with twice the requests, so both are on the front and the compromise
    # (+8% drain against +116% requests) puts 3 retries first, not the lexicographic 0 retries.
    assert [row.front for row in sweep.rows] == [True, False, True, True]
    assert sweep.best is sweep.rows[0]
    text = report.sweep_text(sweep)
    assert "best: #1 offset_commit=after_polling max_retries=3 — lost 804" in text
    table = report.table_lines(sweep)
    assert table[3].split()[:4] == ["3", "after_consuming†", "3", "●"]
    assert ("† offset_commit = after_consuming is not what the connector runs: the Iggy runtime commits offsets "
            "when it polls (at-most-once), and no connector-file key changes that. #3 and #4 ran with it: what-if "
            "figures, ranked after the rows the connector can run and never written by --write-best (the "
            "connector runs offset_commit = after_polling).") in text
    chart = "\n".join(report.chart_text(report.trade_off(sweep)))
    assert "(3*)" in chart and "(4*)" in chart and "1*" in chart and "(n) not what the connector runs" in chart


def test_outage_503_lexicographic_ranking_is_still_there_when_asked_for() -> None:
    sweep = readme_sweep("lost,duplicates,drain,requests")
    # Asked for: the 0.1 s wins within after_consuming; the connector's rows still come first.
    assert [row.combination.label for row in sweep.rows][2:] == [
        "offset_commit=after_consuming max_retries=0", "offset_commit=after_consuming max_retries=3"]
    assert [row.front for row in sweep.rows] == [True, False, True, True]     # the front, whatever the order


def test_a_profile_the_connector_does_not_have_is_a_what_if_too(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(tiny())
    sweep = fake_sweep(path, [fake_result(requests=90), fake_result(requests=10)], varies=["profile=iggy,enhanced"])
    assert [row.combination.label for row in sweep.rows] == ["profile=iggy", "profile=enhanced"]
    assert sweep.rows[1].not_connector[0].text == "profile = enhanced"
    assert "the enhanced profile is sinkbench's proposed behaviour" in report.sweep_text(sweep)


def test_every_row_a_what_if_is_warned_and_not_written(tmp_path: Path) -> None:
    """outage-503 as shipped runs after_consuming: a sweep of max_retries alone is all what-if."""
    sweep = fake_sweep(SCENARIOS / "outage-503.toml", [fake_result(**README[("after_consuming", r)], total=4000)
                                                       for r in (0, 3)])
    assert not any(row.connector_runs for row in sweep.rows)
    text = report.sweep_text(sweep)
    assert ("warning: offset_commit = after_consuming is not what the connector runs" in text
            and "Every combination ran with it: what-if figures never written by --write-best (the connector runs "
                "offset_commit = after_polling; --set runtime.offset_commit=after_polling benches that)." in text)
    assert "best of the what-if rows (offset_commit = after_consuming: not what the connector runs): #1" in text


@pytest.mark.parametrize("objective, first", [(DEFAULT_OBJECTIVE, 2), ("lost,duplicates,drain,requests", 1)])
def test_the_best_line_says_when_the_compromise_chose(tmp_path: Path, objective: str, first: int) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(tiny())
    sweep = fake_sweep(path, [fake_result(drain=1.21, requests=668), fake_result(drain=1.31, requests=309)],
                       objective=objective)
    assert sweep.best.combination.index == first
    line = report.best_line(sweep)
    if objective == DEFAULT_OBJECTIVE:
        assert [r.rank for r in sweep.trading_with_best()] == [2]
        assert ("(the compromise chose it: #2 drains in 1.21s with 668 requests against 1.31s and 309; "
                "--objective chooses otherwise)") in line
    else:
        assert "compromise" not in line
