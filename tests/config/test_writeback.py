"""Tuned keys written back into a connector file: comments, order and other sections kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from sinkbench.config import load_connector
from sinkbench.config.writeback import apply_write_back, plan_write_back
from sinkbench.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def test_changes_keep_comments_order_and_other_sections(tmp_path):
    path = tmp_path / "config.toml"
    original = (ROOT / "config.toml").read_text()
    path.write_text(original)
    plan = plan_write_back(path, {"max_retries": 7, "retry_delay": "250ms", "headers.X-Team": "sinks"})
    assert plan.changed and "-max_retries = 3" in plan.diff and "+max_retries = 7" in plan.diff
    backup = apply_write_back(plan)
    assert backup is not None and backup.read_text() == original
    text = path.read_text()
    removed = [line for line in original.splitlines() if line not in text.splitlines()]
    assert removed == ["max_retries = 3", 'retry_delay = "1s"']
    assert "# Retries after the first attempt" in text and "[[streams]]" in text
    settings = load_connector(path, env={}).sink.settings
    assert settings.max_retries == 7 and settings.retry_delay == 0.25 and ("X-Team", "sinks") in settings.headers


def test_trailing_comment_on_a_changed_line_survives(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[plugin_config]\nurl = "http://x/"\nmax_retries = 3  # keep me\n')
    apply_write_back(plan_write_back(path, {"max_retries": 4}), backup=False)
    assert path.read_text() == '[plugin_config]\nurl = "http://x/"\nmax_retries = 4  # keep me\n'


def test_unknown_key_refused(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[plugin_config]\nurl = "http://x/"\n')
    with pytest.raises(InputError):
        plan_write_back(path, {"max_retry": 4})


def test_second_backup_does_not_overwrite_the_first(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[plugin_config]\nurl = "http://x/"\n')
    first = apply_write_back(plan_write_back(path, {"max_retries": 1}))
    second = apply_write_back(plan_write_back(path, {"max_retries": 2}))
    assert first != second and first.read_text() == '[plugin_config]\nurl = "http://x/"\n'
