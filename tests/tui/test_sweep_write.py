"""The sweep screen sweeps the settings as tuned live, and `w` writes a chosen row into the connector file."""

from __future__ import annotations

import shutil
from pathlib import Path

from textual.widgets import Input, Static

from sinkbench.tui.app import make_app
from sinkbench.tui.form import initial_values, validate
from sinkbench.tui.screens.prompt import ValuePrompt
from sinkbench.tui.screens.save import SaveScreen
from sinkbench.tui.screens.sweep import SweepScreen
from sinkbench.tui.session import open_scenario

from .conftest import CONFIG, in_process, until
from .test_sweep_screen import SIZE, TINY, _ask


async def test_the_sweep_starts_from_the_tuned_settings_and_w_writes_the_chosen_row(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    config = tmp_path / "config.toml"          # the save target: ./config.toml (the scenario names none)
    shutil.copy(CONFIG, config)
    app = make_app(open_scenario(path, env={}), bench_factory=in_process, env={}, cwd=tmp_path, start=False,
                   sweep_in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        s = app.session
        initial = initial_values(s.table, s.sink_settings, s.runtime)
        await s.apply(validate(s.table, initial, {**initial, "max_retries": "7"}, s.runtime, env={}))
        await _ask(app, pilot, "sink.batch_mode=ndjson,json_array")
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        title = str(screen.query_one("#sweep-title", Static).content)
        assert title == "sweep: 2 combinations of sink.batch_mode, from the settings as tuned (max_retries)"
        await until(lambda: screen.result is not None, timeout=15)
        # Each combination ran with max_retries as tuned (7), not the file's (the default, 3).
        assert [o.result.settings["sink"]["max_retries"] for o in screen.result.outcomes] == [7, 7]

        await pilot.press("w")
        await pilot.pause()
        prompt = app.screen
        assert isinstance(prompt, ValuePrompt)
        field = prompt.query_one("#value", Input)
        assert field.value == "1"                       # the best row, offered
        field.value = "9"
        await pilot.pause()
        assert "give a rank from 1 to 2" in str(prompt.query_one("#error", Static).content)
        field.value = "2"
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        assert isinstance(app.screen, SaveScreen)
        # Both send 5 requests for 100 messages in batches of 20: a tie, kept in run order.
        row = screen.result.rows[1].combination.values["sink.batch_mode"]
        assert row == "json_array"
        assert app.screen.plan.changes == {"batch_mode": "json_array", "max_retries": 7}
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, SweepScreen)
        text = config.read_text()
        assert "max_retries = 7" in text.splitlines() and f'batch_mode = "{row}"' in text.splitlines()
        assert Path(f"{config}.bak").read_text() == CONFIG.read_text()
        await pilot.press("escape")
        await pilot.pause()
