"""Ctrl-C during `sinkbench run`: a prompt, clean stop, reports marked interrupted, no orphan endpoint."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from .conftest import (
    ROOT,
    check_accounting,
    endpoint_pids,
    is_alive,
    listening_ports,
    parent_pid,
    synthetic,
)


def _wait_for(predicate: Callable[[], object], timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


def _accepted(pids: set[int]) -> int:
    """Messages the endpoint (one of `pids`) has accepted so far, 0 while it is not answering yet."""
    for pid in pids:
        for port in listening_ports(pid):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/__sinkbench/stats", timeout=1) as answer:
                    return int(json.loads(answer.read()).get("messages", 0))
            except (OSError, ValueError):
                continue
    return 0


def test_sigint_stops_the_run_and_writes_interrupted_reports(scenario_file: Callable[..., Path],
                                                             tmp_path: Path) -> None:
    # 100,000 messages at 200/s: far longer than the test waits.
    path = scenario_file(synthetic(100_000, rate=200, batch_length=10, timeout="120s",
                                   expect='delivered = "== total"'))
    report, junit, summary = tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "r.md"
    proc = subprocess.Popen([sys.executable, "-m", "sinkbench.cli", "run", str(path), "--report", str(report),
                             "--junit", str(junit), "--summary", str(summary)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The endpoint is a child process of the run; wait until it is up, then let the run deliver a while.
        children = _wait_for(lambda: {pid for pid in endpoint_pids() if parent_pid(pid) == proc.pid}, 20)
        assert children, "the mock endpoint did not start"
        # Wait until the endpoint has accepted messages (its admin API says so), then a little more.
        assert _wait_for(lambda: _accepted(children) > 0, 20), "nothing was delivered"
        time.sleep(0.5)
        assert proc.poll() is None, proc.communicate()
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert took < 5.0, took
    assert proc.returncode == 1, (proc.returncode, out, err)
    assert "Traceback" not in out and "Traceback" not in err, err
    assert "KeyboardInterrupt" not in err

    rep = json.loads(report.read_text())
    assert rep["status"] == "interrupted"
    assert rep["passed"] is False
    assert 0 < rep["totals"]["delivered"] < 100_000
    assert rep["totals"]["undelivered"] > 0
    assert rep["endpoint"] is not None            # its stats were read before it was stopped
    check_accounting(rep)
    assert any("interrupted" in note for note in rep["notes"])
    case = next(c for c in ET.parse(junit).getroot().iter("testcase") if c.get("name") == "run status")
    assert case.find("error") is not None
    assert summary.read_text()
    assert "interrupted" in out

    # No orphan: the endpoint the run started is gone.
    assert _wait_for(lambda: not any(is_alive(pid) for pid in children), 5), children
