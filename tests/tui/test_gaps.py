"""The interactive gaps of issue 18: the help shows each pane's help, the picker opens any path, the request
log scrolls and filters."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Markdown

from sinkbench.tui.app import make_app
from sinkbench.tui.screens.help import HelpScreen
from sinkbench.tui.session import default_scenario
from sinkbench.tui.versus import open_versus

from .replay import frames, versus

PANES = ["## Delivery", "## Latency", "## Endpoint", "## Status codes", "## Request log"]


def _single(cwd: Path):
    return make_app(default_scenario(cwd, env={}), env={}, cwd=cwd,
                    replay=lambda s: frames(s, down=True)[-1:])


def _headings(app) -> list[str]:
    return [m.source.splitlines()[0] for m in app.screen.query(Markdown)]


async def test_the_help_shows_each_panes_help(tmp_path):
    app = _single(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert _headings(app) == PANES


async def test_side_by_side_the_help_has_the_comparison_and_the_tab_key(tmp_path):
    opened = open_versus(None, ["runtime.offset_commit=after_consuming"], cwd=tmp_path, env={})
    app = make_app(opened, env={}, cwd=tmp_path, replay=versus)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert _headings(app) == ["## A vs B", "## Delivery", "## Latency", "## Endpoint", "## Status codes",
                                  "## Request log"]
        assert any(key == "tab" and command == "view: switch side" for key, command, _ in app.key_rows())
