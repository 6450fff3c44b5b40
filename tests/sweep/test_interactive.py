"""The session's sweep: it starts from the settings as tuned live, and `w` offers a row it may write."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sinkbench.sweep.interactive import (
    plan_in_session,
    row_problem,
    tuned_keys,
    tuned_overrides,
    write_prompt,
)
from sinkbench.tui.form import initial_values, validate
from sinkbench.tui.session import open_scenario

from .conftest import fake_result, fake_sweep, tiny
from .test_pareto import readme_sweep

SINK = """\
url = "mock"
batch_mode = "individual"
retry_delay = "50ms"
headers = { "X-Team" = "a" }
"""


def _tuned(tmp_path: Path, **values: str):
    path = tmp_path / "tiny.toml"
    path.write_text(tiny().replace('url = "mock"\nbatch_mode = "individual"\n', SINK))
    sc = open_scenario(path, env={}).scenario
    initial = initial_values(sc.sink_table, sc.sink.settings, sc.runtime)
    v = validate(sc.sink_table, initial, {**initial, **values}, sc.runtime, env={})
    assert v.ok, v.errors
    runtime = dataclasses.replace(sc.runtime, batch_length=v.batch_length, poll_interval=v.poll_interval)
    return path, sc, v, tuned_overrides(sc, v.table, v.loaded.settings, runtime)


def test_what_was_tuned_becomes_the_sweeps_fixed_settings(tmp_path: Path) -> None:
    path, sc, v, tuned = _tuned(tmp_path, max_retries="6", retry_delay="", batch_length="7")
    assert "sink.max_retries=6" in tuned and "runtime.batch_length=7" in tuned
    assert any(item.startswith("sink.retry_delay=") for item in tuned)       # cleared: its default, said
    assert not any("batch_mode" in item or "headers" in item for item in tuned)   # untouched: the file's
    plan = plan_in_session(path, "batch_mode=ndjson,json_array", tuned=tuned)
    assert tuned_keys(plan) == [item.split("=")[0].split(".", 1)[1] for item in tuned]
    for scenario in plan.scenarios:
        assert scenario.sink.settings.max_retries == 6
        assert scenario.sink.settings.retry_delay == v.loaded.settings.retry_delay != sc.sink.settings.retry_delay
        assert scenario.runtime.batch_length == 7
    assert [str(s.sink.settings.batch_mode) for s in plan.scenarios] == ["ndjson", "json_array"]


def test_a_varied_key_is_swept_over_its_values_whatever_it_was_tuned_to(tmp_path: Path) -> None:
    path, _, _, tuned = _tuned(tmp_path, max_retries="6")
    plan = plan_in_session(path, "sink.max_retries=0,3", tuned=tuned)
    assert [s.sink.settings.max_retries for s in plan.scenarios] == [0, 3]
    assert "max_retries" not in tuned_keys(plan)


def test_w_offers_the_best_unless_the_ranking_cannot_choose(tmp_path: Path) -> None:
    sweep = readme_sweep()
    assert write_prompt(sweep) == ("1", "Rank of the row to write (#1 is the best: offset_commit=after_polling "
                                        "max_retries=3)")
    assert row_problem(sweep, "1") is None and row_problem(sweep, "#2") is None
    assert row_problem(sweep, "3").startswith("#3 ran with offset_commit = after_consuming, which the connector "
                                              "does not run")
    assert row_problem(sweep, "5") == "give a rank from 1 to 4"
    assert row_problem(sweep, "two") == "give a rank from 1 to 4"
    path = tmp_path / "tiny.toml"
    path.write_text(tiny())
    trading = fake_sweep(path, [fake_result(drain=1.21, requests=668), fake_result(drain=1.31, requests=309)])
    rank, words = write_prompt(trading)
    assert rank == "" and words.startswith("The best row cannot be written as it is: #1 and #2 are on the Pareto "
                                           "front with the same lost and duplicates, and trade drain for requests")
    assert row_problem(trading, "2") is None             # chosen by the user: fine
