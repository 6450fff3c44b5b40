"""`--write-best`, planned without running: the chosen keys, [[streams]], comments kept, notes."""

from __future__ import annotations

from pathlib import Path

import pytest

from sinkbench.config import load_connector
from sinkbench.config.writeback import apply_write_back, set_stream_keys
from sinkbench.errors import InputError
from sinkbench.sweep.bestconfig import check_config, chosen_keys, plan_best
from sinkbench.sweep.plan import plan_sweep, validate_plan

from .conftest import ROOT, tiny


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(tiny())
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text((ROOT / "config.toml").read_text())
    return path


def test_chosen_keys_are_the_varied_and_the_fixed_ones(scenario: Path) -> None:
    plan = plan_sweep(scenario, ["batch_mode=ndjson", "runtime.batch_length=50", "offset_commit=after_consuming",
                                 "retry_delay=250ms"],
                      ["sink.max_retries=6", "endpoint.latency=\"5ms\"", "runtime.poll_interval=10ms", "sink.url=mock"])
    sink, streams, notes = chosen_keys(plan, plan.combinations[0])
    assert sink == {"max_retries": 6, "batch_mode": "ndjson", "retry_delay": "250ms"}    # durations stay strings
    assert streams == {"poll_interval": "10ms", "batch_length": 50}
    assert len(notes) == 1 and "offset_commit" in notes[0] and "not written" in notes[0]


def test_only_the_changed_lines_differ_and_every_comment_stays(scenario: Path, config: Path) -> None:
    plan = validate_plan(plan_sweep(scenario, ["max_retries=0,7", "runtime.batch_length=10,250",
                                               "headers.X-Team=\"sinks\""]))
    best = plan.combinations[3]           # max_retries=7 batch_length=250
    before = config.read_text()
    write = plan_best(config, plan, best, env={})
    assert write.changed and write.sink == {"max_retries": 7, "headers.X-Team": "sinks"}
    assert write.streams == {"batch_length": 250}
    assert "-max_retries = 3" in write.plan.diff and "+max_retries = 7" in write.plan.diff
    assert config.read_text() == before          # planned, not written
    backup = apply_write_back(write.plan)
    after = config.read_text()
    assert backup is not None and backup.read_text() == before
    old = before.splitlines()
    new = after.splitlines()
    added = [line for line in new if line not in old]
    removed = [line for line in old if line not in new]
    assert removed == ["batch_length = 100           # messages per poll (runtime default 1000)", "max_retries = 3"]
    assert added == ["batch_length = 250           # messages per poll (runtime default 1000)", "max_retries = 7",
                     'X-Team = "sinks"']
    comments = [line for line in old if line.lstrip().startswith("#")]
    assert comments and all(c in new for c in comments)
    loaded = load_connector(config, env={})
    assert loaded.sink.settings.max_retries == 7 and loaded.streams[0].batch_length == 250
    assert ("X-Team", "sinks") in loaded.sink.settings.headers


def test_settings_the_run_used_but_not_varied_are_noted(scenario: Path, config: Path) -> None:
    plan = validate_plan(plan_sweep(scenario, ["max_retries=5"]))
    write = plan_best(config, plan, plan.combinations[0], env={})
    notes = "\n".join(write.notes)
    # tiny(): batch_mode individual and batch_length 10, poll 2ms, where config.toml says ndjson, 100 and 5ms.
    assert "batch_mode = individual (from the scenario)" in notes and "has ndjson" in notes
    assert "batch_length = 10" in notes and "poll_interval = 2ms" in notes
    assert "max_retries" not in notes


def test_a_file_already_holding_the_winner_is_unchanged(scenario: Path, config: Path) -> None:
    plan = validate_plan(plan_sweep(scenario, ["max_retries=3", "batch_mode=ndjson"]))
    write = plan_best(config, plan, plan.combinations[0], env={})
    assert not write.changed and write.plan.diff == ""


def test_bare_plugin_config_gets_the_sink_keys_and_a_note_for_the_runtime(scenario: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bare.toml"
    bare.write_text('# just the sink\nurl = "http://127.0.0.1:9/x"  # where\nmax_retries = 1\n')
    plan = validate_plan(plan_sweep(scenario, ["max_retries=4", "batch_length=20"]))
    write = plan_best(bare, plan, plan.combinations[0], env={})
    assert write.plan.new_text == '# just the sink\nurl = "http://127.0.0.1:9/x"  # where\nmax_retries = 4\n'
    assert write.streams == {} and any("no [[streams]] entry" in n for n in write.notes)


def test_set_stream_keys_keeps_a_trailing_comment() -> None:
    import tomlkit

    doc = tomlkit.parse('[[streams]]\nstream = "a"\npoll_interval = "5ms"  # keep\n\n[[streams]]\nstream = "b"\n')
    assert set_stream_keys(doc, {"poll_interval": "20ms", "batch_length": 10})
    text = tomlkit.dumps(doc)
    assert 'poll_interval = "20ms"  # keep' in text and "batch_length = 10" in text
    assert text.count("batch_length") == 1           # the first entry only
    assert not set_stream_keys(tomlkit.parse("x = 1\n"), {"batch_length": 1})


def test_config_is_checked_before_the_sweep(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        check_config(tmp_path / "missing.toml")
    other = tmp_path / "scenario.toml"
    other.write_text("[scenario]\nseed = 1\n")
    with pytest.raises(InputError, match="plugin_config"):
        check_config(other)
