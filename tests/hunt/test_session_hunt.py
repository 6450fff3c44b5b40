"""The interactive session's hunt: the palette command runs a short hunt of the current scenario with the settings
as tuned, shows its progress, and `o` opens the scenario it wrote; escape stops a hunt under way."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from run.conftest import endpoint_pids, is_alive, parent_pid
from textual.widgets import Static
from tui.conftest import in_process, live_scenario, until

from sinkbench.hunt import interactive
from sinkbench.hunt.hunter import HuntOptions
from sinkbench.hunt.interactive import hunt_in_session
from sinkbench.tui.app import make_app
from sinkbench.tui.form import initial_values, validate
from sinkbench.tui.screens.dashboard import DashboardScreen
from sinkbench.tui.screens.hunt import HuntScreen
from sinkbench.tui.session import open_scenario

SIZE = (120, 40)

# No retry at all: the first failed request loses its batch, so the first plans tried break it.
BRITTLE = """\
[scenario]
name = "brittle"
seed = 7
timeout = "30s"

[source]
kind = "synthetic"
count = 200
rate = 400
payload_bytes = 64

[runtime]
batch_length = 20
poll_interval = "5ms"

[sink]
url = "mock"
batch_mode = "ndjson"
max_retries = 2

[expect]
lost = "== 0"
"""


async def _palette(app, pilot, words: str) -> None:
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*words)
    await pilot.pause(0.3)
    await pilot.press("enter")
    await pilot.pause()


async def test_the_palette_hunts_the_settings_as_tuned_and_opens_what_it_found(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(interactive, "SESSION_OPTIONS", HuntOptions(budget=6, confirm_runs=1))
    path = tmp_path / "brittle.toml"
    path.write_text(BRITTLE)
    app = make_app(open_scenario(path, env={}), bench_factory=in_process, env={}, cwd=tmp_path, start=False)
    async with app.run_test(size=SIZE) as pilot:
        # Tuned live to no retry at all: the hunt must hunt that, not the file's max_retries = 2.
        s = app.session
        initial = initial_values(s.table, s.sink_settings, s.runtime)
        await s.apply(validate(s.table, initial, {**initial, "max_retries": "0"}, s.runtime, env={}))
        await _palette(app, pilot, "hunt: find a breaking")
        screen = app.screen
        assert isinstance(screen, HuntScreen), type(screen)
        assert "sink.max_retries=0" in screen.hunt.found.overrides
        await until(lambda: screen.hunt.result is not None, timeout=40)
        await pilot.pause(0.5)
        lines = str(screen.query_one("#hunt-lines", Static).content)
        assert "hunt: " not in lines and "#1 " in lines and "searching: candidates of 200 messages" in lines
        outcome = str(screen.query_one("#hunt-outcome", Static).content)
        found = tmp_path / "brittle.found.toml"
        assert outcome.startswith("found after ") and f"wrote {found}" in outcome, outcome
        assert str(screen.query_one("#hunt-status", Static).content).startswith("o: open the found scenario")
        assert "max_retries = 0" in found.read_text()
        await pilot.press("o")
        await until(lambda: isinstance(app.screen, DashboardScreen) and app.session.scenario.name == "brittle-found")
        assert app.session.scenario.file == str(found)
        await app.stop_bench()


async def test_escape_stops_a_hunt_under_way_and_the_live_run_goes_on(tmp_path: Path) -> None:
    app = make_app(open_scenario(live_scenario(tmp_path), env={}), bench_factory=in_process, env={}, cwd=tmp_path)
    mine = os.getpid()
    async with app.run_test(size=SIZE) as pilot:
        s = app.session
        await until(lambda: s.bench is not None and s.bench.snapshot() is not None and s.bench.snapshot().delivered > 0)
        await _palette(app, pilot, "hunt: find a breaking")
        screen = app.screen
        assert isinstance(screen, HuntScreen)
        assert s.bench.snapshot().paused
        # The live scenario's 10 million messages: the hunt's healthy run at full scale never ends by itself.
        children: set[int] = set()

        def endpoint_started() -> bool:
            children.update(p for p in endpoint_pids() if parent_pid(p) == mine)
            return bool(children)

        await until(endpoint_started, timeout=20)
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, DashboardScreen), timeout=20)
        assert not s.bench.snapshot().paused and s.running
        assert screen.hunt.result is not None and screen.hunt.result.status == "interrupted"
        assert screen.hunt.written is None and not list(tmp_path.glob("*.found.toml"))
        await until(lambda: not any(is_alive(p) for p in children), timeout=10)
        await app.stop_bench()


def test_a_scenario_the_session_cannot_hunt_says_why(tmp_path: Path) -> None:
    from sinkbench.errors import InputError

    with pytest.raises(InputError, match="no scenario file to hunt"):
        hunt_in_session(None, [], tmp_path)
    path = tmp_path / "real.toml"
    path.write_text('[source]\ncount = 10\n[sink]\nurl = "http://127.0.0.1:9/x"\n')
    with pytest.raises(InputError, match='url must be "mock"'):
        hunt_in_session(str(path), [], tmp_path)
    # The bundled quickstart's found scenario goes into the session's folder, not into the package.
    from sinkbench.tui.session import packaged_quickstart

    hunt = hunt_in_session(str(packaged_quickstart()), [], tmp_path)
    assert hunt.out == tmp_path / "quickstart.found.toml"
    assert hunt.goal.breaks_when_held is False and "lost" in hunt.goal.text
