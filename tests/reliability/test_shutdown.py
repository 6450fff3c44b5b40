"""Issue 8, "clean shutdown": SIGINT and SIGTERM to `sinkbench sweep` mid-run, SIGTERM to `sinkbench run`, and a
recording cancelled mid-stream — each stops promptly, without a traceback, with valid reports and no orphan
endpoint process.

Covered elsewhere: SIGINT to `sinkbench run` (tests/run/test_interrupt.py), SIGINT/SIGTERM to `sinkbench mock`
(tests/endpoint/test_command.py), a recording stopped through its stop event or Ctrl-C (tests/test_record.py)."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from iggy_fake import FakeServer
from run.conftest import ROOT, check_accounting, endpoint_pids, is_alive, parent_pid, synthetic
from run.test_interrupt import _accepted, _wait_for

from sinkbench.commands.record import Recorder, RecordPlan
from sinkbench.sources.iggy import Timeouts, parse_connection
from sinkbench.sources.recorded import read_stream, validate_stream


def _children(pid: int) -> set[int]:
    return {p for p in endpoint_pids() if parent_pid(p) == pid}


def _stop_mid_run(args: list[str], sig: signal.Signals) -> tuple[subprocess.Popen[str], str, str, float, set[int]]:
    """Start `sinkbench ARGS`, wait until its endpoint child has accepted messages, send `sig`; wait for the exit."""
    proc = subprocess.Popen([sys.executable, "-m", "sinkbench.cli", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        children = _wait_for(lambda: _children(proc.pid), 20)
        assert children, ("the mock endpoint did not start", proc.poll())
        assert _wait_for(lambda: _accepted(children) > 0, 20), "nothing was delivered"
        time.sleep(0.3)
        assert proc.poll() is None, proc.communicate()
        sent = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=15)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc, out, err, took, children


def _no_orphan(children: set[int]) -> None:
    """The endpoint processes the command started are gone (not left running, re-parented, after it exited)."""
    assert _wait_for(lambda: not any(is_alive(pid) for pid in children), 5), children


def _assert_clean(out: str, err: str) -> None:
    for text in (out, err):
        assert "Traceback" not in text, text
        assert "KeyboardInterrupt" not in text, text


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_a_sweep_mid_run(tmp_path: Path, sig: signal.Signals) -> None:
    # 2 combinations of 20,000 messages at 200/s each: far longer than the test waits.
    scenario = tmp_path / "s.toml"
    scenario.write_text(synthetic(20_000, rate=200, batch_length=10, timeout="120s", expect='lost = "== 0"'))
    out_dir = tmp_path / "out"
    report, csv, md, svg = (out_dir / "sweep.json", out_dir / "sweep.csv", out_dir / "sweep.md", out_dir / "sweep.svg")
    proc, out, err, took, children = _stop_mid_run(
        ["sweep", str(scenario), "--vary", "sink.max_retries=0,3", "--report", str(report), "--csv", str(csv),
         "--markdown", str(md), "--chart", str(svg)], sig)
    assert took < 5.0, took
    assert proc.returncode == 1, (proc.returncode, out, err)      # interrupted
    _assert_clean(out, err)

    data = json.loads(report.read_text())
    assert data["sweep"]["interrupted"] is True
    assert data["sweep"]["combinations"] == 2
    assert data["sweep"]["best"] is None                         # no run went to the end
    results = [run["result"] for run in data["runs"] if run["result"] is not None]
    assert len(results) == 1, data["runs"]                       # the second combination never started
    assert results[0]["status"] == "interrupted"
    assert 0 < results[0]["totals"]["delivered"] < 20_000
    check_accounting(results[0])
    assert csv.read_text().count("\n") == 3                      # header + a row per combination
    assert md.read_text() and svg.read_text().lstrip().startswith("<")
    _no_orphan(children)


def test_sigterm_stops_a_run_and_writes_interrupted_reports(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text(synthetic(100_000, rate=200, batch_length=10, timeout="120s",
                                  expect='delivered = "== total"'))
    report = tmp_path / "r.json"
    proc, out, err, took, children = _stop_mid_run(["run", str(scenario), "--report", str(report)],
                                                   signal.SIGTERM)
    assert took < 5.0, took
    assert proc.returncode == 1, (proc.returncode, out, err)
    _assert_clean(out, err)
    rep = json.loads(report.read_text())
    assert rep["status"] == "interrupted" and rep["passed"] is False
    assert 0 < rep["totals"]["delivered"] < 100_000
    assert rep["endpoint"] is not None
    check_accounting(rep)
    assert "interrupted" in out
    _no_orphan(children)


# -- a recording cancelled mid-stream -----------------------------------------------------

CONN = parse_connection("iggy+tcp://iggy:pw@127.0.0.1:8090", check_with_sdk=False)
FAST = Timeouts(connect=2.0, request=2.0, retries=1, retry_wait=0.01)


@pytest.mark.parametrize("name", ["s.jsonl", "s.jsonl.gz"])
async def test_a_recording_cancelled_mid_stream_leaves_a_readable_file(tmp_path: Path, name: str) -> None:
    server = FakeServer(users={"iggy": "pw"})
    server.create_topic("orders", "events")
    for i in range(1000):
        server.produce("orders", "events", {"order": i, "text": "é" * (i % 7)})
    out = tmp_path / name

    def client_factory(connection: Any) -> Any:
        # The fake answers without suspending; a real poll goes over the network, where a cancellation lands.
        client = server.client(connection)
        poll = client.poll_messages

        async def networked_poll(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(0.001)
            return await poll(*args, **kwargs)

        client.poll_messages = networked_poll
        return client

    recorder = Recorder(RecordPlan(connection=CONN, stream="orders", topic="events", out=out, batch_length=10,
                                   flush_every=0.0), client_factory=client_factory, timeouts=FAST)
    task: asyncio.Task[Any] = asyncio.create_task(recorder.run())
    cancel_at = 7
    server.on_poll = lambda client, n: task.cancel() if n == cancel_at else None
    with pytest.raises(asyncio.CancelledError):
        await task
    assert recorder.summary.stopped == "interrupted"
    n, errors = validate_stream(out)
    assert errors == []
    assert n == recorder.summary.written == 10 * (cancel_at + 1)   # polls 0..cancel_at, each batch whole
    offsets = [sm.message.offset for sm in read_stream(out)]
    assert offsets == list(range(n))
