"""The session side by side (`sinkbench [SCENARIO] --versus ...`), against real bench runs (endpoints in process):
every break reaches both endpoints, `s` and `w` work on the side with focus, and the shipped outage shows A
losing nothing while B loses, highlighted."""

from __future__ import annotations

import json

from textual.content import Content
from textual.widgets import Input

from sinkbench.errors import InputError
from sinkbench.tui.app import make_app
from sinkbench.tui.command import session_args
from sinkbench.tui.screens.save import SaveScreen
from sinkbench.tui.screens.settings import SettingsScreen
from sinkbench.tui.screens.versus import SideColumn, VersusScreen
from sinkbench.tui.versus import open_versus
from sinkbench.tui.widgets.base import HIGHLIGHT
from sinkbench.tui.widgets.delivery import DeliveryPane
from sinkbench.tui.widgets.versus import ComparePane

from .conftest import ROOT, in_process, live_scenario, until

SIZE = (120, 36)
TAKEN_DOWN = {"action": "status", "status": 503, "body": "taken down by sinkbench"}


async def both_running(app) -> None:
    vs = app.session
    await until(lambda: all(s.bench is not None and s.bench.snapshot() is not None and s.bench.snapshot().delivered > 0
                            for s in vs.sides))
    await until(lambda: all(s._endpoint_doc is not None for s in vs.sides))


async def settle(app, pilot) -> None:
    await pilot.pause()
    controls = [w for w in app.workers if w.group != "bench"]
    if controls:
        await app.workers.wait_for_complete(controls)
    await pilot.pause()


def marks(bench) -> list[str]:
    return [m for row in bench.metrics.timeline.rows() for m in row.get("marks", [])]


def value_after(pane, label: str) -> tuple[str, str]:
    """The value a pane shows after `label` on the same line, with its style ("" when unstyled)."""
    content = pane.render()
    assert isinstance(content, Content)
    start = content.plain.index(label) + len(label)
    end = content.plain.find("\n", start)
    line = content.plain[start:end if end >= 0 else None]
    value = line.split()[0]
    at = start + line.index(value)
    style = next((str(s.style) for s in content.spans if s.start <= at < s.end), "")
    return value, style


async def test_a_break_reaches_both_endpoints_and_s_tunes_the_side_with_focus(tmp_path):
    path = live_scenario(tmp_path)
    app = make_app(open_versus(path, ["sink.max_retries=7"], cwd=tmp_path, env={}), bench_factory=in_process,
                   env={}, cwd=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        vs = app.session
        assert isinstance(app.screen, VersusScreen)
        await both_running(app)
        a, b = (s.bench for s in vs.sides)
        assert a.sink_settings.url != b.sink_settings.url   # each side its own endpoint
        assert (a.sink_settings.max_retries, b.sink_settings.max_retries) == (3, 7)

        await pilot.press("d")
        await settle(app, pilot)
        for bench in (a, b):
            assert (await bench.admin.get_settings())["faults"][0] == TAKEN_DOWN
            assert "endpoint: take down (503)" in marks(bench)
        await until(lambda: all(bench.snapshot().status_codes.get("503", 0) > 0 for bench in (a, b)))
        frame = await vs.frame()
        for side in frame.sides:
            assert [r.text for r in side.log if r.kind == "event"] == ["endpoint: take down (503)"]
            assert side.live_faults == ("down (503)",)
        await pilot.press("d")                            # again: lifted on both
        await settle(app, pilot)
        for bench in (a, b):
            assert (await bench.admin.get_settings())["faults"] == []

        await pilot.press("tab")                          # B has focus: s edits B's settings, not A's
        await pilot.pause()
        assert vs.focus == 1 and app.screen.query_one("#side-b", SideColumn).has_class("-focused")
        await pilot.press("s")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, SettingsScreen)
        assert form.query_one("#field-max_retries", Input).value == "7"
        form.query_one("#field-max_retries", Input).value = "2"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert vs.b.bench.sink_settings.max_retries == 2
        assert vs.a.bench.sink_settings.max_retries == 3
        assert any("max_retries 7→2" in m for m in marks(vs.b.bench))
        assert not any(m.startswith("sink: ") for m in marks(vs.a.bench))
        await app.action_quit()
    assert all(s.result is not None for s in vs.sides)


async def test_w_saves_the_side_with_focus_and_b_starts_with_its_changes(tmp_path, connector):
    path = live_scenario(tmp_path, 'connector = "config.toml"\nurl = "mock"')
    app = make_app(open_versus(path, ["max_retries=6"], cwd=tmp_path, env={}), bench_factory=in_process, env={},
                   cwd=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await both_running(app)
        await pilot.press("w")                            # A as written: nothing to save
        await pilot.pause()
        assert isinstance(app.screen, VersusScreen)
        await pilot.press("tab", "w")
        await pilot.pause()
        assert isinstance(app.screen, SaveScreen)
        assert "-max_retries = 3\n+max_retries = 6" in app.screen.plan.diff
        await pilot.press("y")
        await pilot.pause()
        await app.action_quit()
    assert "max_retries = 6" in connector.read_text()


async def test_the_shipped_outage_left_loses_nothing_right_loses_highlighted(tmp_path):
    """The issue's acceptance: outage-503 --versus runtime.offset_commit=after_polling."""
    opened = open_versus(ROOT / "scenarios" / "outage-503.toml", ["runtime.offset_commit=after_polling"],
                         cwd=tmp_path, env={})
    app = make_app(opened, bench_factory=in_process, env={}, cwd=tmp_path, refresh_interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        vs = app.session
        lost_seen = []

        def both_lost() -> bool:
            lost_seen.append(tuple(s._ledger()[0] for s in vs.sides))
            return vs.b.bench is not None and (vs.b._ledger()[0] or 0) > 0

        await until(both_lost, timeout=15)                # live, during the run: B has lost messages
        assert vs.a.running and vs.b.running
        await until(lambda: all(s.result is not None for s in vs.sides), timeout=20)
        await app.refresh_now()
        await pilot.pause()
        a, b = (s.result for s in vs.sides)
        assert a.totals["lost"] == 0 and b.totals["lost"] > 0
        assert all(lost_a in (0, None) for lost_a, _ in lost_seen)
        left, right = (app.screen.query_one(f"#side-{x}", SideColumn).query_one(DeliveryPane) for x in "ab")
        lost_b = f"{b.totals['lost']:,}"
        assert value_after(left, "lost") == ("0", HIGHLIGHT)
        assert value_after(right, "lost") == (lost_b, f"{HIGHLIGHT} $text-error")
        assert value_after(left, "duplicates") == ("0", "")             # the same on both: not highlighted
        strip = app.screen.query_one(ComparePane).render().plain
        assert f"lost 0 | {lost_b}" in strip
        assert (await vs.frame()).comparison.row("lost").differs
        # x exports both reports and the comparison
        written = await vs.export("out/report.json")
        assert [p.name for p in written] == ["report.json", "report.b.json", "report.versus.md"]
        rep_a, rep_b = (json.loads(p.read_text()) for p in written[:2])
        assert (rep_a["versus"]["side"], rep_b["versus"]["side"]) == ("A", "B")
        assert "| **lost** | **0** |" in written[2].read_text()
        await app.action_quit()


def test_session_arguments():
    assert session_args([]) == (None, [])
    assert session_args(["s.toml"]) == ("s.toml", [])
    assert session_args(["s.toml", "--versus", "a=1", "b=2"]) == ("s.toml", ["a=1", "b=2"])
    assert session_args(["--versus", "a=1"]) == (None, ["a=1"])
    for bad in (["s.toml", "x"], ["s.toml", "--versus"], ["--versus", "a=1", "--set", "b=2"]):
        try:
            session_args(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


def test_a_bad_versus_item_names_versus(tmp_path):
    path = live_scenario(tmp_path)
    try:
        open_versus(path, ["sink.max_retries=lots"], cwd=tmp_path, env={})
    except InputError as exc:
        assert str(exc).startswith("--versus: key 'sink.max_retries'"), str(exc)
    else:
        raise AssertionError("no error")


def test_sinkbench_versus_with_a_bad_item_is_exit_2_before_the_screen_opens(tmp_path, capsys):
    from sinkbench.cli import main

    path = live_scenario(tmp_path)
    assert main([str(path), "--versus", "source.rate=5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --versus: key 'source.rate': only [sink] and [runtime] keys"), err
    assert main(["--versus", "runtime.offset_commit=after_polling"]) == 2   # the quickstart already is
    assert "B's settings are the same as A's" in capsys.readouterr().err
    try:
        main([str(path), "--versus"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "--versus takes KEY=VALUE items" in capsys.readouterr().err


def test_the_top_bar_gives_both_outcomes_and_runs_while_either_side_runs():
    from sinkbench.tui.frames import Frame
    from sinkbench.tui.versus import VersusFrame, bar_frame

    a = Frame("outage-503", "finished", detail="completed after 5.2s, 4/4 expectations held", sink="a sink")
    b = Frame("outage-503", "running", sink="b sink")
    bar = bar_frame(VersusFrame(a, b, ("A · as written", "B · x=1"), 0, None))
    assert (bar.state, bar.detail) == ("running", "A: completed after 5.2s, 4/4 expectations held")
    b = Frame("outage-503", "finished", detail="completed after 5.3s, 3/4 expectations held")
    bar = bar_frame(VersusFrame(a, b, ("A · as written", "B · x=1"), 0, None))
    assert bar.state == "finished" and bar.detail == ("A: completed after 5.2s, 4/4 expectations held │ "
                                                      "B: completed after 5.3s, 3/4 expectations held")
    assert bar.sink.startswith("A vs B: every break goes to both endpoints")
