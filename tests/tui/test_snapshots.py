"""Pictures of each screen state, exact because every pane renders a fabricated frame (tests/tui/replay.py).

No live bench, no wall clock, no host names: the scenario is the bundled quickstart opened from an
empty working directory (or beside a copy of config.toml), the seed is the scenario's, the sizes are
explicit. Regenerate deliberately: pytest tests/tui --snapshot-update, then look at the pictures.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import Input

from sinkbench.tui.app import make_app
from sinkbench.tui.form import initial_values, validate
from sinkbench.tui.session import Session, default_scenario
from sinkbench.tui.versus import open_versus

from .replay import crowded, frames, versus

SMALL = (80, 24)
MEDIUM = (120, 36)      # the size a newcomer saw the latency pane run its values together at
LARGE = (160, 48)
WIDE = (140, 42)
HUGE = (200, 60)


def _app(cwd: Path, *, down: bool = False, tuned: dict[str, str] | None = None, busy: bool = False):
    opened = default_scenario(cwd, env={})

    def replay(session: Session):
        if tuned:
            s = session
            initial = initial_values(s.table, s.sink_settings, s.runtime)
            v = validate(s.table, initial, {**initial, **tuned}, s.runtime, env={})
            asyncio.run(s.apply(v))
        return crowded(session) if busy else frames(session, down=down)[-1:]

    return make_app(opened, env={}, cwd=cwd, replay=replay)


def test_running_healthy_small(snap_compare, tmp_path):
    assert snap_compare(_app(tmp_path), terminal_size=SMALL)


def test_running_healthy_large(snap_compare, tmp_path):
    assert snap_compare(_app(tmp_path), terminal_size=LARGE)


def test_during_an_outage_small(snap_compare, tmp_path):
    assert snap_compare(_app(tmp_path, down=True), terminal_size=SMALL)


def test_during_an_outage_large(snap_compare, tmp_path):
    assert snap_compare(_app(tmp_path, down=True), terminal_size=LARGE)


def test_during_an_outage_medium(snap_compare, tmp_path):
    assert snap_compare(_app(tmp_path, down=True), terminal_size=MEDIUM)


def test_during_an_outage_huge(snap_compare, tmp_path):
    assert snap_compare(_app(tmp_path, down=True), terminal_size=HUGE)


def test_a_long_busy_run_medium(snap_compare, tmp_path):
    """Eight-digit counts, latencies from 4.46ms to 16.7s, every break, nine codes, long marks."""
    assert snap_compare(_app(tmp_path, busy=True), terminal_size=MEDIUM)


def test_a_long_busy_run_huge(snap_compare, tmp_path):
    assert snap_compare(_app(tmp_path, busy=True), terminal_size=HUGE)


def test_save_diff_with_runtime_keys_medium(snap_compare, tmp_path, connector):
    app = _app(tmp_path, tuned={"max_retries": "6", "retry_delay": "250ms", "batch_length": "50",
                                "poll_interval": "20ms"})
    assert snap_compare(app, terminal_size=MEDIUM, press=["w", "_"])


def test_settings_form_with_a_validation_error(snap_compare, tmp_path):
    async def type_bad_values(pilot):
        await pilot.press("s")
        await pilot.pause()
        pilot.app.screen.query_one("#field-max_retries", Input).value = "lots"
        pilot.app.screen.query_one("#field-retry_delay", Input).value = "1.5s"
        await pilot.pause()

    assert snap_compare(_app(tmp_path), terminal_size=SMALL, run_before=type_bad_values)


def test_help(snap_compare, tmp_path):
    assert snap_compare(_app(tmp_path), terminal_size=SMALL, press=["question_mark", "_"])


def test_save_diff(snap_compare, tmp_path, connector):
    app = _app(tmp_path, tuned={"max_retries": "6", "retry_delay": "250ms"})
    assert snap_compare(app, terminal_size=SMALL, press=["w", "_"])


def test_light_theme(snap_compare, tmp_path):
    assert snap_compare(_app(tmp_path, down=True), terminal_size=SMALL, press=["ctrl+t", "_"])


def test_during_an_outage_wide(snap_compare, tmp_path):
    assert snap_compare(_app(tmp_path, down=True), terminal_size=WIDE)


# -- side by side (--versus): the quickstart as written (Iggy's at-most-once) against at-least-once ----------
def _versus(cwd: Path):
    opened = open_versus(None, ["runtime.offset_commit=after_consuming", "max_retries=2"], cwd=cwd, env={})
    return make_app(opened, env={}, cwd=cwd, replay=versus)


def test_versus_small(snap_compare, tmp_path):
    """80x24: one side at a time, whole, under the comparison strip and the tabs."""
    assert snap_compare(_versus(tmp_path), terminal_size=SMALL)


def test_versus_small_side_b(snap_compare, tmp_path):
    assert snap_compare(_versus(tmp_path), terminal_size=SMALL, press=["tab", "_"])


def test_versus_medium(snap_compare, tmp_path):
    """120x36: both columns, the values that differ highlighted."""
    assert snap_compare(_versus(tmp_path), terminal_size=MEDIUM)


def test_versus_wide(snap_compare, tmp_path):
    assert snap_compare(_versus(tmp_path), terminal_size=WIDE)


def test_versus_huge(snap_compare, tmp_path):
    assert snap_compare(_versus(tmp_path), terminal_size=HUGE)
