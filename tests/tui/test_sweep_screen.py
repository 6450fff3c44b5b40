"""The sweep screen (`v`): a real two-combination sweep of a tiny scenario, and a spec that is refused."""

from __future__ import annotations

from pathlib import Path

from sweep.conftest import (  # tests/sweep's hand-built results (tests/ is on sys.path)
    fake_result,
    fake_sweep,
)
from textual.widgets import Input, Static

from sinkbench.sweep.interactive import check_in_session, split_items
from sinkbench.tui.app import make_app
from sinkbench.tui.screens.dashboard import DashboardScreen
from sinkbench.tui.screens.prompt import ValuePrompt
from sinkbench.tui.screens.sweep import SweepResultView, SweepScreen
from sinkbench.tui.session import open_scenario

from .conftest import in_process, until

SIZE = (120, 40)

TINY = """\
[scenario]
name = "tiny"
seed = 7
timeout = "30s"

[source]
kind = "synthetic"
count = 100
rate = 0
payload_bytes = 64

[runtime]
batch_length = 20
poll_interval = "10ms"

[sink]
url = "mock"
batch_mode = "ndjson"
retry_delay = "10ms"
"""


def _app(tmp_path: Path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return make_app(open_scenario(path, env={}), bench_factory=in_process, env={}, cwd=tmp_path, start=False,
                    sweep_in_process=True)


async def _ask(app, pilot, spec: str) -> None:
    await pilot.press("v")
    await pilot.pause()
    assert isinstance(app.screen, ValuePrompt)
    app.screen.query_one("#value", Input).value = spec
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


async def test_a_two_combination_sweep_is_ranked_and_charted(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await _ask(app, pilot, "sink.batch_mode=ndjson,json_array")
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        await until(lambda: screen.result is not None, timeout=15)
        await pilot.pause()
        status = str(screen.query_one("#sweep-status", Static).content)
        assert status.startswith("2/2 done")
        text = screen.query_one("#sweep-result", SweepResultView).text
        lines = text.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith("#  "))
        table = [line.split()[:2] for line in lines[start:start + 3]]
        assert table == [["#", "batch_mode"], ["1", "ndjson"], ["2", "json_array"]]
        assert "requests" in text and "┤" in text and "└" in text          # the trade-off chart's axes
        assert {o.result.totals["delivered"] for o in screen.result.outcomes} == {100}
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_the_live_run_pauses_while_the_screen_is_open_and_escape_stops_the_sweep(opened_live, tmp_path):
    app = make_app(opened_live(), bench_factory=in_process, env={}, cwd=tmp_path, sweep_in_process=True)
    async with app.run_test(size=SIZE) as pilot:
        s = app.session
        await until(lambda: s.bench is not None and s.bench.snapshot() is not None and s.bench.snapshot().delivered > 0)
        await _ask(app, pilot, "sink.max_retries=0,3")     # the live scenario's 10 million messages: never ends
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        assert s.bench.snapshot().paused
        await until(lambda: "combination 1/2" in str(screen.query_one("#sweep-status", Static).content))
        await pilot.press("escape")
        await until(lambda: isinstance(app.screen, DashboardScreen))
        assert not s.bench.snapshot().paused and s.running
        assert screen.sweep.status.status.done <= 1     # the second combination never started
        await app.stop_bench()


async def test_an_invalid_spec_shows_the_error_and_runs_nothing(tmp_path):
    app = _app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await _ask(app, pilot, "sink.max_retrys=0,3")
        assert isinstance(app.screen, ValuePrompt)            # enter did not close it
        error = app.screen.query_one("#error", Static)
        assert error.display and "did you mean 'max_retries'" in str(error.content)
        await _type(app, pilot, "sink.max_retries=0,1,2 sink.batch_mode=ndjson,json_array")
        assert "6 combinations" not in str(error.content) and "at most 8" not in str(error.content)
        await _type(app, pilot, "sink.max_retries=0,1,2 sink.batch_mode=ndjson,json_array retry_delay=1ms,2ms")
        assert "12 combinations: the session runs at most 8" in str(error.content)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        assert not [w for w in app.workers if w.group == "sweep"]


async def _type(app, pilot, spec: str) -> None:
    app.screen.query_one("#value", Input).value = spec
    await pilot.pause()


def test_items_split_on_spaces_outside_brackets(tmp_path):
    assert split_items(" a=1,2  b=[200, 202],[200] c='x y' ") == ["a=1,2", "b=[200, 202],[200]", "c='x y'"]
    assert "no file to sweep" in check_in_session(None, "max_retries=0,3")


def test_snapshot_of_a_finished_sweep(snap_compare, tmp_path):
    """A fabricated result (no run, no clock): the ranked table and the chart as the screen lays them out."""
    app = _app(tmp_path)
    sweep = fake_sweep(tmp_path / "tiny.toml", [
        fake_result(lost=12, drain=2.4, requests=40, passed=False),
        fake_result(drain=3.1, requests=260),
        fake_result(drain=1.2, requests=120),
    ])

    async def open_it(pilot) -> None:
        await pilot.app.push_screen(SweepScreen(sweep.plan, result=sweep))
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 34), run_before=open_it)
