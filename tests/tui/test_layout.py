"""Layout at the four sizes a user is likely to have: nothing runs together, nothing is cut silently.

Each pane draws what it shows for the room it has; here that is checked on the drawing itself (every line
within the pane's width, no more lines than its height: beyond that the screen would clip without a mark)
and on the screen as shown (no two values touching). The frames are the replayed ones of
tests/tui/replay.py, the crowded one with counts and latencies as wide as a long run makes them.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sweep.conftest import (  # tests/sweep's hand-built results (tests/ is on sys.path)
    fake_result,
    fake_sweep,
)
from textual.widgets import Input
from textual.widgets._toast import Toast

from sinkbench.tui.app import make_app
from sinkbench.tui.form import initial_values, validate
from sinkbench.tui.screens.dashboard import DashboardScreen
from sinkbench.tui.screens.help import HelpScreen
from sinkbench.tui.screens.save import SaveScreen
from sinkbench.tui.screens.sweep import SweepResultView, SweepScreen
from sinkbench.tui.session import default_scenario, open_scenario
from sinkbench.tui.widgets.base import FramePane
from sinkbench.tui.widgets.topbar import TopBar

from .conftest import CONFIG
from .replay import crowded, frames
from .test_sweep_screen import TINY

SIZES = [(80, 24), (120, 36), (140, 42), (200, 60)]
REPLAYS = {
    "healthy": lambda s: frames(s, down=False)[-1:],
    "outage": lambda s: frames(s, down=True)[-1:],
    "crowded": crowded,
}
# Two values run together: "4.93ms5.32ms", "delivery8.63ms", "4,0002,100", "failed2,100".
GLUED = [re.compile(p) for p in (r"\d(?:µs|ms|s)\d", r"[a-z]{2,}\d[\d.,]*(?:µs|ms|s)\b", r"\d,\d{4}",
                                 r"[a-z]{3,}\d{1,3},\d{3}")]


def screen_lines(app) -> list[str]:
    """What the terminal shows now, row by row (every layer: a modal, the toasts over it)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def glued(lines: list[str]) -> list[str]:
    return [line for line in lines if any(p.search(line) for p in GLUED)]


def overflowing(pane: FramePane) -> list[str]:
    """The pane's drawn lines that do not fit its content area (the screen would cut them without a mark)."""
    if pane.data is None:
        return []
    size = pane.content_size
    lines = pane.render().split("\n")
    out = [f"{pane.id}: {line.plain!r} is {line.cell_length} wide, the pane {size.width}"
           for line in lines if line.cell_length > size.width]
    if len(lines) > size.height:
        out.append(f"{pane.id}: {len(lines)} lines, the pane {size.height}")
    return out


def test_the_patterns_catch_what_the_newcomer_saw():
    seen = ["│ request 4.46ms4.93ms5.32ms5.32ms │", "│ delivery8.63ms 16.7s │", "delivered 4,0002,100",
            "│ failed2,100 │"]
    assert glued(seen) == seen
    fine = ["│ p50     4.46ms     8.63ms │", "│ 200      8,123,456 ▁▁▁█ │", "│ ▲ 8s endpoint: take down (503) │",
            "· 503 1s–2s (scenario)", "│ delivered   87.7M  failed      12.3M │"]
    assert glued(fine) == []


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("replay", sorted(REPLAYS))
async def test_no_pane_runs_values_together_or_is_cut_silently(tmp_path, size, replay):
    app = make_app(default_scenario(tmp_path, env={}), env={}, cwd=tmp_path, replay=REPLAYS[replay])
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        lines = screen_lines(app)
        assert glued(lines) == []
        problems = []
        for pane in app.screen.query(FramePane):
            if isinstance(pane, TopBar):   # one line, cut with an ellipsis by its style (text-overflow)
                if pane.render().cell_length > pane.content_size.width:
                    assert lines[0].rstrip().endswith("…"), lines[0]
                continue
            problems += overflowing(pane)
        assert problems == []
        # The units: messages in the delivery pane, requests in the status pane.
        text = "\n".join(lines)
        assert "delivery · messages" in text and "status codes · requests" in text
        assert re.search(r"requests [\d.,]+[kMG]?  retries [\d.,]+", text)


async def _sweep_app(tmp_path: Path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    app = make_app(open_scenario(path, env={}), env={}, cwd=tmp_path, start=False)
    sweep = fake_sweep(path, [fake_result(lost=12, drain=2.4, requests=40, passed=False),
                              fake_result(drain=3.1, requests=260), fake_result(drain=1.2, requests=120)])
    return app, sweep


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_sweep_table_keeps_drain_and_expectations_and_names_what_it_drops(tmp_path, size):
    app, sweep = await _sweep_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await app.push_screen(SweepScreen(sweep.plan, result=sweep))
        await pilot.pause()
        view = app.screen.query_one(SweepResultView)
        width = view.content_size.width
        assert all(len(line) <= width for line in view.lines(width))
        lines = screen_lines(app)
        header = next(line for line in lines if "max_retries" in line and "#" in line)
        for column in ("lost", "drain", "expectations"):
            assert re.search(rf"\b{column}\b", header), header
        text = "\n".join(lines)
        assert "✓ 1/1" in text and "✗ 0/1" in text
        assert glued(lines) == []
        if size == (80, 24):
            assert "bytes" not in header and "no room for bytes" in text


async def test_toasts_wait_while_the_help_is_open(tmp_path):
    app = make_app(default_scenario(tmp_path, env={}), env={}, cwd=tmp_path, replay=REPLAYS["healthy"])
    message = "sink: max_retries 3→6, retry_delay 1s→250ms; runtime: batch_length 100→50"
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        app.notify(message, title="done")
        await pilot.pause()
        assert list(app.screen.query(Toast))
        await pilot.press("question_mark")
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(screen_lines(app))
        assert "retry_delay" not in text and "escape closes this." in text
        app.notify("the run finished", title="quickstart")   # while the help is open: it waits too
        await pilot.pause()
        assert "the run finished" not in "\n".join(screen_lines(app))
        await pilot.press("escape")
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        text = "\n".join(screen_lines(app))
        assert "the run finished" in text and "max_retries 3→6" in text


async def test_toasts_wait_while_the_save_preview_is_open(tmp_path):
    shutil.copy(CONFIG, tmp_path / "config.toml")
    app = make_app(default_scenario(tmp_path, env={}), env={}, cwd=tmp_path, replay=REPLAYS["healthy"])
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        s = app.session
        initial = initial_values(s.table, s.sink_settings, s.runtime)
        await s.apply(validate(s.table, initial, {**initial, "max_retries": "6", "batch_length": "50"}, s.runtime,
                               env={}))
        app.notify("sink: max_retries 3→6; runtime: batch_length 100→50", title="done")
        await pilot.pause()
        await pilot.press("w")
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, SaveScreen)
        lines = screen_lines(app)
        text = "\n".join(lines)
        assert "3→6" not in text
        assert "+batch_length = 50" in text                    # the diff's first change ([[streams]] comes first)
        assert "Write (y)" in text and "Cancel" in text          # the buttons are on screen
        await pilot.press("escape")
        await pilot.pause()
        await pilot.pause()
        assert "3→6" in "\n".join(screen_lines(app))


async def test_a_dialogs_own_answer_shows_at_once(tmp_path):
    """The hold is for the app's toasts: the form's answer to ctrl+s on an error shows over the form."""
    app = make_app(default_scenario(tmp_path, env={}), env={}, cwd=tmp_path, replay=REPLAYS["healthy"])
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await pilot.press("s")
        await pilot.pause()
        app.screen.query_one("#field-max_retries", Input).value = "lots"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.pause()
        assert "fix the fields marked in red first" in "\n".join(screen_lines(app))
