"""The interactive session on an external sink: the endpoint broken live while the real sink runs, its settings
shown read-only, its output and requests in the request log, and nothing left running once it closes."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from sinkbench.tui.app import make_app
from sinkbench.tui.screens.external import ExternalSinkScreen
from sinkbench.tui.session import open_scenario
from tests.external.conftest import scenario, script_sink
from tests.run.conftest import is_alive
from tests.tui.conftest import in_process, until

SIZE = (110, 32)


def _live(tmp_path: Path) -> Path:
    command, env = script_sink(BATCH="5", RETRIES="50", RETRY_DELAY_MS="50", API_TOKEN="not-for-the-screen")
    path = tmp_path / "external.toml"
    path.write_text(scenario(count=1_000_000, rate=40, command=command, env=env, ready='{ log = "^ready$" }',
                             timeout="120s"))
    return path


async def _settle(app, pilot) -> None:
    await pilot.pause()
    controls = [w for w in app.workers if w.group != "bench"]
    if controls:
        await app.workers.wait_for_complete(controls)
    await pilot.pause()


async def test_the_session_breaks_the_endpoint_under_a_real_sink_and_shows_it_read_only(tmp_path: Path) -> None:
    app = make_app(open_scenario(_live(tmp_path), env={"PATH": "/usr/bin:/bin"}), bench_factory=in_process,
                   env={}, cwd=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        s = app.session
        await until(lambda: s.bench is not None and s.bench.snapshot() is not None
                    and s.bench.snapshot().delivered > 10, timeout=20)
        bench = s.bench
        pid = bench.external.process.pid

        await pilot.press("d")                                  # take the endpoint down under the real sink
        await _settle(app, pilot)
        assert (await bench.admin.get_settings())["faults"][0]["status"] == 503
        await until(lambda: bench.snapshot().status_codes.get("503", 0) >= 2, timeout=15)
        await pilot.press("d")                                  # and back up: the sink's retries get through
        await _settle(app, pilot)
        delivered = bench.snapshot().delivered
        await until(lambda: bench.snapshot().delivered > delivered + 5, timeout=15)
        assert bench.snapshot().retries >= 1                    # its retries, seen at the endpoint

        frame = await s.frame()
        events = [r.text for r in frame.log if r.kind == "event"]
        assert "sink: ready" in events and "endpoint: take down (503)" in events
        requests = [r for r in frame.log if r.kind == "request"]
        assert requests and {r.outcome for r in requests} >= {"200", "503"}
        assert all(r.latency < 0 and r.attempt < 0 for r in requests)      # not known at the endpoint
        assert "external: python" in frame.sink

        await pilot.press("s")                                  # the settings form: read-only, redacted
        await pilot.pause()
        assert isinstance(app.screen, ExternalSinkScreen)
        text = "\n".join(str(w.render()) for w in app.screen.query(Static))
        assert "sink.py" in text and "API_TOKEN=[redacted]" in text and "not-for-the-screen" not in text
        assert "SINK_URL=http://127.0.0.1:" in text and "identify iggy" in text
        await pilot.press("escape")
        await pilot.pause()

        notes: list[str] = []
        app.notify = lambda message, **kw: notes.append(str(message))   # type: ignore[method-assign]
        await pilot.press("w")
        await pilot.pause()
        assert any("external sink's settings are its own" in n for n in notes), notes
        report = tmp_path / "so-far.json"
        await s.export(report)
        assert '"external"' in report.read_text() and "not-for-the-screen" not in report.read_text()
        assert is_alive(pid)
    # The app closed: the run was stopped, and the sink with it.
    await until(lambda: not is_alive(pid), timeout=10)
