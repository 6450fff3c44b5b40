"""The keys, pressed against a real bench run (embedded endpoint in process): what they change is
asserted where it lands — the endpoint's settings through its admin API, the running sink's settings,
the runtime's, the timeline's marks, the connector file on disk.
"""

from __future__ import annotations

import json

import pytest
from textual.widgets import Input, Select, Static

from sinkbench.config.connector import load_connector
from sinkbench.config.load import resolve_sink
from sinkbench.errors import BenchError, InputErrors, Where
from sinkbench.run.bench import BenchRun
from sinkbench.tui.app import make_app
from sinkbench.tui.screens.dashboard import DashboardScreen
from sinkbench.tui.screens.save import SaveScreen
from sinkbench.tui.screens.settings import SettingsScreen
from sinkbench.tui.session import open_scenario

from .conftest import in_process, live_scenario, until

SIZE = (100, 30)


async def running(app) -> BenchRun:
    """Waits until the bench delivers and the session has read the endpoint once."""
    s = app.session
    await until(lambda: s.bench is not None and s.bench.snapshot() is not None and s.bench.snapshot().delivered > 0)
    await until(lambda: s._endpoint_doc is not None)
    return s.bench


async def settle(app, pilot) -> None:
    """Lets the controls started by the keys finish (not the bench: it runs on)."""
    await pilot.pause()
    controls = [w for w in app.workers if w.group != "bench"]
    if controls:   # (an empty list would mean every worker, the bench's too)
        await app.workers.wait_for_complete(controls)
    await pilot.pause()


def marks(bench: BenchRun) -> list[str]:
    return [m for row in bench.metrics.timeline.rows() for m in row.get("marks", [])]


async def test_endpoint_keys_change_the_endpoint_through_its_admin_api(opened_live, tmp_path):
    app = make_app(opened_live(), bench_factory=in_process, env={}, cwd=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        bench = await running(app)
        scenario_faults = (await bench.admin.get_settings())["faults"]

        await pilot.press("d")
        await settle(app, pilot)
        doc = await bench.admin.get_settings()
        assert doc["faults"][0] == {"action": "status", "status": 503, "body": "taken down by sinkbench"}
        assert "endpoint: take down (503)" in marks(bench)
        frame = await app.session.frame()
        assert [r.text for r in frame.log if r.kind == "event"] == ["endpoint: take down (503)"]
        assert any("503 always" in text for _, text in frame.endpoint)
        await until(lambda: app.session.bench.snapshot().status_codes.get("503", 0) > 0)

        await pilot.press("d")                       # again: lifted
        await settle(app, pilot)
        assert (await bench.admin.get_settings())["faults"] == scenario_faults

        await pilot.press("r")
        await settle(app, pilot)
        assert (await bench.admin.get_settings())["faults"][0] == {"action": "reset"}
        await pilot.press("h")                       # another way down replaces it
        await settle(app, pilot)
        assert (await bench.admin.get_settings())["faults"][0] == {"action": "hang"}
        await pilot.press("n")
        await settle(app, pilot)

        await pilot.press("e")
        await pilot.pause()
        app.screen.query_one("#value", Input).value = "25"
        await pilot.press("enter")
        await settle(app, pilot)
        assert (await bench.admin.get_settings())["faults"][0] == {"action": "status", "status": 500,
                                                                   "probability": 0.25}

        await pilot.press("t")
        await pilot.pause()
        app.screen.query_one("#value", Input).value = "3"
        await pilot.press("enter")
        await settle(app, pilot)
        faults = (await bench.admin.get_settings())["faults"]
        assert {"action": "status", "status": 429, "retry_after": "3s"} in faults

        await pilot.press("l")
        await pilot.pause()
        app.screen.query_one("#value", Input).value = "150ms"
        await pilot.press("enter")
        await settle(app, pilot)
        assert (await bench.admin.get_settings())["latency"] == "150ms"

        await pilot.press("m")
        await pilot.pause()
        app.screen.query_one("#value", Input).value = "40"
        await pilot.press("enter")
        await settle(app, pilot)
        limit = (await bench.admin.get_settings())["rate_limit"]
        assert limit["requests_per_second"] == 40

        await pilot.press("n")                       # back to the scenario's settings
        await settle(app, pilot)
        doc = await bench.admin.get_settings()
        assert doc["faults"] == scenario_faults and doc["latency"] == "1ms" and "rate_limit" not in doc
        assert app.session.live.labels() == ()
        await app.action_quit()


async def test_a_bad_value_keeps_the_prompt_open(opened_live, tmp_path):
    app = make_app(opened_live(), bench_factory=in_process, env={}, cwd=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await running(app)
        await pilot.press("e")
        await pilot.pause()
        app.screen.query_one("#value", Input).value = "150"
        await pilot.press("enter")
        await pilot.pause()
        assert str(app.screen.query_one("#error", Static).content) == "a percentage is between 0 and 100, got '150'"
        assert not isinstance(app.screen, DashboardScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await app.action_quit()


async def test_the_settings_form_tunes_the_running_sink(opened_live, tmp_path):
    app = make_app(opened_live(), bench_factory=in_process, env={}, cwd=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        bench = await running(app)
        sink_before = bench.sink
        await pilot.press("s")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, SettingsScreen)
        form.query_one("#field-max_retries", Input).value = "7"
        form.query_one("#field-retry_delay", Input).value = "120ms"
        form.query_one("#field-batch_mode", Select).value = "json_array"
        form.query_one("#field-batch_length", Input).value = "50"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, DashboardScreen)
        s = bench.sink_settings
        assert (s.max_retries, s.retry_delay, str(s.batch_mode)) == (7, 0.12, "json_array")
        assert bench.sink is not sink_before           # a new sink took over between batches
        assert bench.sink.settings.url == sink_before.settings.url
        assert bench.runtime.settings.batch_length == 50
        labels = marks(bench)
        assert any(m.startswith("sink: ") and "max_retries 3→7" in m for m in labels), labels
        assert "runtime: batch_length 20→50" in labels
        delivered = bench.snapshot().delivered
        await until(lambda: bench.snapshot().delivered > delivered + 5)   # still delivering, same accounting
        snap = bench.snapshot()
        assert snap.delivered + snap.failed + snap.skipped <= snap.fed
        await app.action_quit()
    result = app.session.result
    assert result is not None and result.settings["sink"]["batch_mode"] == "json_array"
    t = result.totals
    assert t["delivered"] + t["failed"] + t["skipped"] + t["undelivered"] == t["total"]


async def test_the_form_shows_the_loader_errors_and_never_closes_on_one(opened_live, tmp_path):
    app = make_app(opened_live(), bench_factory=in_process, env={}, cwd=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        bench = await running(app)
        await pilot.press("s")
        await pilot.pause()
        form = app.screen
        form.query_one("#field-max_retries", Input).value = "abc"
        form.query_one("#field-retry_delay", Input).value = "1.5s"
        form.query_one("#field-success_status_codes", Input).value = "200, 700"
        await pilot.pause()
        expected = {}
        for key, value in (("max_retries", "abc"), ("retry_delay", "1.5s"), ("success_status_codes", [200, 700])):
            with pytest.raises(InputErrors) as caught:
                resolve_sink({"url": "http://x/", key: value}, lambda k: Where(key=k))
            expected[key] = caught.value.errors[0].message
        for key, message in expected.items():
            assert str(form.query_one(f"#error-{key}", Static).content) == message
        assert expected["max_retries"] == "expected an integer, got a string 'abc'"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form                      # never closes on an error
        form.query_one("#field-max_retries", Input).value = "4"
        form.query_one("#field-retry_delay", Input).value = "100ms"
        form.query_one("#field-success_status_codes", Input).value = "200, 202"
        await pilot.pause()
        assert not form.query_one("#error-max_retries", Static).display
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert bench.sink_settings.success_status_codes == frozenset({200, 202})
        await app.action_quit()


async def test_enhanced_keys_follow_the_profile(opened_live, tmp_path):
    app = make_app(opened_live(), bench_factory=in_process, env={}, cwd=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        bench = await running(app)
        await pilot.press("s")
        await pilot.pause()
        form = app.screen
        assert form.query_one("#field-jitter", Select).disabled
        form.query_one("#field-profile", Select).value = "enhanced"
        await pilot.pause()
        assert not form.query_one("#field-jitter", Select).disabled
        form.query_one("#field-jitter", Select).value = "none"
        form.query_one("#field-max_in_flight", Input).value = "0"
        await pilot.pause()
        assert str(form.query_one("#error-max_in_flight", Static).content) == "must be at least 1, got 0"
        form.query_one("#field-max_in_flight", Input).value = "2"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        s = bench.sink_settings
        assert (str(s.profile), str(s.jitter), s.max_in_flight) == ("enhanced", "none", 2)
        await app.action_quit()


async def test_save_rewrites_the_connector_file_with_its_comments(tmp_path, connector):
    original = connector.read_text()
    path = live_scenario(tmp_path, 'connector = "config.toml"\nurl = "mock"')
    app = make_app(open_scenario(path, env={}), bench_factory=in_process, env={}, cwd=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await running(app)
        await pilot.press("w")                         # nothing changed yet: nothing to save
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("s")
        await pilot.pause()
        app.screen.query_one("#field-max_retries", Input).value = "6"
        app.screen.query_one("#field-retry_delay", Input).value = "250ms"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, SaveScreen)
        assert "-max_retries = 3\n+max_retries = 6" in app.screen.plan.diff
        assert connector.read_text() == original      # nothing written before the confirmation
        await pilot.press("y")
        await pilot.pause()
        await app.action_quit()
    text = connector.read_text()
    assert "max_retries = 6" in text and 'retry_delay = "250ms"' in text
    assert 'url = "http://127.0.0.1:8080/ingest"' in text        # not the embedded endpoint's address
    for line in original.splitlines():                            # every comment, section and other key kept
        if not line.startswith(("max_retries", "retry_delay")):
            assert line in text.splitlines(), line
    assert (tmp_path / "config.toml.bak").read_text() == original


async def test_save_writes_the_runtime_keys_into_streams_too(tmp_path, connector):
    """Batch length and poll interval go to the first [[streams]] entry, the sink keys to [plugin_config]:
    `w` used to say "save 2 setting(s)" and drop the runtime's two."""
    original = connector.read_text()
    path = live_scenario(tmp_path, 'connector = "config.toml"\nurl = "mock"')
    app = make_app(open_scenario(path, env={}), bench_factory=in_process, env={}, cwd=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await running(app)
        await pilot.press("s")
        await pilot.pause()
        form = app.screen
        form.query_one("#field-batch_length", Input).value = "50"
        form.query_one("#field-poll_interval", Input).value = "20ms"
        form.query_one("#field-max_retries", Input).value = "6"
        form.query_one("#field-retry_delay", Input).value = "250ms"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, SaveScreen)
        assert app.screen.plan.changes == {"batch_length": 50, "poll_interval": "20ms", "max_retries": 6,
                                           "retry_delay": "250ms"}
        assert "save 4 settings into config.toml" in str(app.screen.query_one(".title", Static).content)
        await pilot.press("y")
        await pilot.pause()
        await app.action_quit()
    text = connector.read_text()
    assert "batch_length = 50           # messages per poll (runtime default 1000)" in text
    assert 'poll_interval = "20ms"        # how often the runtime polls each topic' in text
    assert "max_retries = 6" in text and 'retry_delay = "250ms"' in text
    changed = ("batch_length", "poll_interval", "max_retries", "retry_delay")
    for line in original.splitlines():                            # every comment, section and other key kept
        if not line.startswith(changed):
            assert line in text.splitlines(), line
    loaded = load_connector(connector, env={})
    assert (loaded.streams[0].batch_length, loaded.streams[0].poll_interval) == (50, 0.02)
    assert (loaded.sink.settings.max_retries, loaded.sink.settings.retry_delay) == (6, 0.25)


async def test_the_form_focuses_its_first_field_and_a_cleared_field_names_its_default(opened_live, tmp_path):
    app = make_app(opened_live(), bench_factory=in_process, env={}, cwd=tmp_path)
    notes: list[str] = []
    show = app.notify

    def notify(message: str, **kw) -> None:
        notes.append(str(message))
        show(message, **kw)

    app.notify = notify   # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        bench = await running(app)
        await pilot.press("s")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, SettingsScreen)
        assert app.focused is form.query_one("#field-batch_mode", Select)
        form.query_one("#field-max_retries", Input).value = "7"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("s")
        await pilot.pause()
        app.screen.query_one("#field-max_retries", Input).value = ""      # back to the default
        app.screen.query_one("#field-poll_interval", Input).value = ""
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert bench.sink_settings.max_retries == 3
        assert any("max_retries 7→3 (default)" in n and "poll_interval 50ms→5ms (default)" in n for n in notes), notes
        assert not any("(default)" in n and "→(default)" in n for n in notes)
        await app.action_quit()


async def test_pause_export_and_restart(opened_live, tmp_path):
    app = make_app(opened_live(), bench_factory=in_process, env={}, cwd=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        bench = await running(app)
        await pilot.press("p")
        await pilot.pause()
        assert bench.snapshot().paused
        await pilot.press("p")
        await pilot.pause()
        assert not bench.snapshot().paused
        assert "paused" in marks(bench) and "resumed" in marks(bench)

        await pilot.press("x")
        await pilot.pause()
        app.screen.query_one("#value", Input).value = "out/report.json"
        await pilot.press("enter")
        await settle(app, pilot)
        report = json.loads((tmp_path / "out" / "report.json").read_text())
        # (The report's full shape is tests/report's business; these keys are the export's own.)
        for key in ("scenario", "passed", "settings", "totals", "latency", "timeline", "expectations", "endpoint"):
            assert key in report
        assert report["scenario"] == "live" and report["totals"]["delivered"] > 0

        await pilot.press("ctrl+r")
        await settle(app, pilot)
        await until(lambda: app.session.bench is not bench and app.session.running)
        assert bench.snapshot() is not None and app.session.bench is not bench
        await running(app)
        await app.action_quit()


async def test_open_another_scenario_and_a_bad_one(tmp_path):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    first = live_scenario(folder, name="a-first.toml")
    live_scenario(folder, 'url = "mock"\nbatch_mode = "individual"', name="b-second.toml")
    (folder / "c-broken.toml").write_text('[scenario]\nname = "broken"\n[sink]\nurl = "mock"\nmax_retry = 3\n')
    app = make_app(open_scenario(first, env={}), bench_factory=in_process, env={}, cwd=tmp_path)
    notes: list[str] = []
    app.notify = lambda message, **kw: notes.append(str(message))   # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        bench = await running(app)
        await pilot.press("o")
        await pilot.pause()
        await pilot.press("end", "enter")               # the broken one: a notification, the run goes on
        await pilot.pause()
        assert any("c-broken.toml:5: key 'sink.max_retry'" in n and "did you mean 'max_retries'" in n
                   for n in notes), notes
        assert app.session.bench is bench and app.session.running

        await pilot.press("o")
        await pilot.pause()
        await pilot.press("down", "enter")
        await settle(app, pilot)
        await until(lambda: app.session.bench is not bench)
        await running(app)
        assert str(app.session.bench.sink_settings.batch_mode) == "individual"
        await app.action_quit()


async def test_a_bench_that_cannot_start_is_a_notification_and_exit_code_3(opened_live, tmp_path):
    class PortTaken(BenchRun):
        async def run(self, *a, **kw):
            raise BenchError("the mock endpoint could not start: [Errno 98] address already in use")

    app = make_app(opened_live(), bench_factory=lambda sc: PortTaken(sc), env={}, cwd=tmp_path)
    notes: list[str] = []
    app.notify = lambda message, **kw: notes.append(str(message))   # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: app.session.state == "failed")
        await settle(app, pilot)
        assert any("address already in use" in n for n in notes), notes
        await pilot.press("d")                          # nothing to break: told so, no crash
        await settle(app, pilot)
        assert any("ctrl+r" in n for n in notes), notes
        await app.action_quit()
    assert app.return_code == 3


async def test_an_unreachable_url_is_one_notification(tmp_path):
    path = live_scenario(tmp_path, 'url = "http://127.0.0.1:1/ingest"\nbatch_mode = "ndjson"\nretry_delay = "10ms"\n'
                                   'max_retry_delay = "20ms"')
    text = path.read_text().split("[endpoint]")[0]
    path.write_text(text)
    app = make_app(open_scenario(path, env={}), env={}, cwd=tmp_path)
    notes: list[str] = []
    app.notify = lambda message, **kw: notes.append(str(message))   # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await until(lambda: any("cannot reach" in n for n in notes))
        await pilot.pause(0.5)
        assert sum("cannot reach" in n for n in notes) == 1, notes
        assert "http://127.0.0.1:1/ingest" in next(n for n in notes if "cannot reach" in n)
        await pilot.press("d")
        await settle(app, pilot)
        assert any("real URL" in n for n in notes), notes
        await app.action_quit()
    assert app.return_code == 0


async def test_the_palette_and_the_help_offer_every_key(opened_live, tmp_path):
    from sinkbench.tui.screens.dashboard import ACTIONS
    from sinkbench.tui.screens.help import HelpScreen

    app = make_app(opened_live(), bench_factory=in_process, env={}, cwd=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        bench = await running(app)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for a in ACTIONS:
            assert a.command in titles
            assert a.command.split(": ")[0] in ("endpoint", "sink", "run", "sweep", "view")
        keys = {b.key for b in DashboardScreen.BINDINGS} | {k for b in app.BINDINGS for k in b.key.split(",")}
        listed = " ".join(k for k, _, _ in app.key_rows())
        for key in keys:
            assert key.replace("question_mark", "?") in listed, key
        for binding in [*DashboardScreen.BINDINGS, *app.BINDINGS]:
            assert binding.id and binding.tooltip, binding

        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("ctrl+p")                    # the palette runs the same action as the key
        await pilot.pause()
        await pilot.press(*"take down", "enter")
        await settle(app, pilot)
        await until(lambda: app.session.live.down == "503")
        assert (await bench.admin.get_settings())["faults"][0]["status"] == 503
        await app.action_quit()
