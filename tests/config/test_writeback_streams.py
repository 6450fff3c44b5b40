"""The runtime's keys written back into a connector file's first [[streams]] entry (the session's `w`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sinkbench.config import load_connector
from sinkbench.config.writeback import apply_write_back, has_stream_entry, plan_write_back
from sinkbench.errors import InputError
from sinkbench.tomlsrc import load_toml

ROOT = Path(__file__).resolve().parents[2]


def test_stream_keys_go_to_the_first_entry_with_their_comments(tmp_path):
    path = tmp_path / "config.toml"
    original = (ROOT / "config.toml").read_text()
    path.write_text(original)
    plan = plan_write_back(path, {"max_retries": 6}, {"batch_length": 50, "poll_interval": "20ms"})
    apply_write_back(plan, backup=False)
    text = path.read_text()
    removed = [line for line in original.splitlines() if line not in text.splitlines()]
    assert removed == ["batch_length = 100           # messages per poll (runtime default 1000)",
                       'poll_interval = "5ms"        # how often the runtime polls each topic', "max_retries = 3"]
    assert "batch_length = 50           # messages per poll (runtime default 1000)" in text
    connector = load_connector(path, env={})
    assert (connector.streams[0].batch_length, connector.streams[0].poll_interval) == (50, 0.02)
    assert connector.sink.settings.max_retries == 6


def test_only_the_first_entry_changes_and_a_missing_key_is_added(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('type = "sink"\nkey = "http"\n\n[[streams]]\nstream = "a"\ntopics = ["t"]\n\n'
                    '[[streams]]\nstream = "b"\ntopics = ["t"]\nbatch_length = 9\n\n'
                    '[plugin_config]\nurl = "http://127.0.0.1:1/"\n')
    apply_write_back(plan_write_back(path, {}, {"batch_length": 50}), backup=False)
    connector = load_connector(path, env={})
    assert [s.batch_length for s in connector.streams] == [50, 9]


def test_a_file_without_streams_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "bare.toml"
    path.write_text('url = "http://127.0.0.1:1/"\nmax_retries = 3\n')
    assert not has_stream_entry(load_toml(path).data)
    with pytest.raises(InputError, match=r"bare\.toml: no \[\[streams\]\] entry to write batch_length into"):
        plan_write_back(path, {"max_retries": 4}, {"batch_length": 50})
    with pytest.raises(InputError, match="'timeout' is not a \\[\\[streams\\]\\] key"):
        plan_write_back(path, {}, {"timeout": "1s"})
    assert path.read_text() == 'url = "http://127.0.0.1:1/"\nmax_retries = 3\n'
