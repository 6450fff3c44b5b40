"""plan_write_back removes keys: a key reset to its default goes from the connector file, the comments stay."""

from __future__ import annotations

from pathlib import Path

import pytest

from sinkbench.config import load_connector
from sinkbench.config.writeback import apply_write_back, plan_write_back
from sinkbench.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def test_a_removed_key_goes_and_every_comment_stays(tmp_path):
    path = tmp_path / "config.toml"
    original = (ROOT / "config.toml").read_text().replace('retry_delay = "1s"', 'retry_delay = "250ms"  # tuned')
    path.write_text(original)
    plan = plan_write_back(path, {"max_retries": 5}, removals=["retry_delay"])
    assert '-retry_delay = "250ms"  # tuned' in plan.diff
    apply_write_back(plan, backup=False)
    text = path.read_text()
    gone = [line for line in original.splitlines() if line not in text.splitlines()]
    assert gone == ["max_retries = 3", 'retry_delay = "250ms"  # tuned']     # its own line, trailing comment too
    assert "# Base backoff delay; the wait before retry n is uniform" in text   # the comment above it stays
    settings = load_connector(path, env={}).sink.settings
    assert settings.retry_delay == 1.0 and settings.max_retries == 5            # the default applies again


def test_a_header_is_removed_alone_and_an_absent_key_is_no_change(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[plugin_config]\nurl = "http://x/"\n\n[plugin_config.headers]\n'
                    'X-Team = "sinks"  # who\nX-Keep = "1"\n')
    plan = plan_write_back(path, {}, removals=["headers.X-Team", "timeout", "headers.X-None"])
    assert plan.new_text == '[plugin_config]\nurl = "http://x/"\n\n[plugin_config.headers]\nX-Keep = "1"\n'


@pytest.mark.parametrize(("changes", "removals", "message"), [
    ({}, ["max_retry"], "'max_retry' is not a sink setting"),
    ({"max_retries": 4}, ["max_retries"], "'max_retries' cannot be both set and removed"),
    ({}, ["timeout.x"], "'timeout.x': only headers take a sub-key"),
])
def test_bad_removals_are_refused(tmp_path, changes, removals, message):
    path = tmp_path / "c.toml"
    path.write_text('[plugin_config]\nurl = "http://x/"\nmax_retries = 3\n')
    with pytest.raises(InputError, match=message):
        plan_write_back(path, changes, removals=removals)
