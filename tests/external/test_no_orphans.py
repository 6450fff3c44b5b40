"""However an external run ends — Ctrl-C, its timeout, the sink crashing — no process it started survives."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.external.conftest import PYTHON, scenario, wait_for
from tests.run.conftest import ROOT, is_alive, run_cli

# A sink that starts a grandchild (which ignores SIGTERM), writes both pids, says it is up and then reads its
# input, delivering nothing; it exits with code 3 after `CRASH_AFTER` lines when that is set.
SINK = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"])
open(sys.argv[1], "w").write(f"{os.getpid()} {child.pid}")
print("up", flush=True)
crash = int(os.environ.get("CRASH_AFTER", "0"))
for n, line in enumerate(sys.stdin, 1):
    if crash and n >= crash:
        print(f"crashing after {n} lines", flush=True)
        sys.exit(3)
time.sleep(300)      # delivers nothing, and stays: only the bench stops it
"""


def _sink(tmp_path: Path) -> tuple[list[str], Path]:
    script = tmp_path / "sink.py"
    script.write_text(SINK)
    pids = tmp_path / "pids"
    return [PYTHON, str(script), str(pids)], pids


def _pids(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()]


def _all_gone(pids: list[int]) -> bool:
    return bool(wait_for(lambda: not any(is_alive(p) for p in pids), 10))


def test_ctrl_c_stops_the_sink_and_what_it_started(write: Callable[..., Path], tmp_path: Path) -> None:
    command, pids_file = _sink(tmp_path)
    path = write(scenario(count=100_000, rate=100, command=command, ready='{ log = "^up$" }',
                          expect='lost = "== 0"'))
    report = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "sinkbench.cli", "run", str(path), "--report", str(report)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: pids_file.exists() and pids_file.read_text(), 20), "the sink did not start"
        time.sleep(0.5)
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, (out, err)
    assert "Traceback" not in err
    data = json.loads(report.read_text())
    assert data["status"] == "interrupted"
    totals = data["totals"]
    assert totals["total"] == 100_000 and totals["delivered"] + totals["lost"] == 100_000
    assert data["external"]["stopped_by_bench"] is True
    assert _all_gone(_pids(pids_file))


def test_the_timeout_stops_a_sink_that_never_delivers(write: Callable[..., Path], tmp_path: Path) -> None:
    command, pids_file = _sink(tmp_path)
    path = write(scenario(count=50, command=command, ready='{ log = "^up$" }', settle="30s", timeout="3s"))
    result = run_cli(["run", str(path)], reports=tmp_path / "out")
    result.assert_no_traceback()
    assert result.code == 1
    data = result.report
    assert data["status"] == "timeout"
    assert data["totals"]["lost"] == 50 and data["totals"]["delivered"] == 0
    assert any("timeout" in note for note in data["notes"])
    assert _all_gone(_pids(pids_file))


def test_a_crashing_sink_ends_the_run_and_its_children_are_stopped(write: Callable[..., Path],
                                                                   tmp_path: Path) -> None:
    command, pids_file = _sink(tmp_path)
    path = write(scenario(count=2000, rate=500, command=command, env={"CRASH_AFTER": "100"},
                          ready='{ log = "^up$" }', settle="30s", expect='lost = "== 0"'))
    began = time.monotonic()
    result = run_cli(["run", str(path)], reports=tmp_path / "out")
    result.assert_no_traceback()
    assert time.monotonic() - began < 15       # neither the feed nor `settle` waits for a dead sink
    assert result.code == 1
    data = result.report
    assert data["external"]["exit_code"] == 3 and data["external"]["stopped_by_bench"] is False
    assert "crashing after 100 lines" in data["external"]["output"]
    assert data["totals"]["lost"] == 2000
    assert any("exited with code 3" in note for note in data["notes"]), data["notes"]
    assert "exited by itself (exit code 3)" in result.out and "crashing after 100 lines" in result.out
    assert _all_gone(_pids(pids_file))


def test_a_sink_that_exits_before_it_is_ready_is_reported_not_ready(write: Callable[..., Path],
                                                                    tmp_path: Path) -> None:
    path = write(scenario(count=10, command=[PYTHON, "-c", "import sys; print('bad config'); sys.exit(2)"],
                          ready='{ log = "^up$" }', expect='lost = "== 0"'))
    result = run_cli(["run", str(path)], reports=tmp_path / "out")
    result.assert_no_traceback()
    assert result.code == 1
    data = result.report
    assert data["status"] == "sink_not_opened"
    assert any("exited with code 2 before it was ready" in note for note in data["notes"]), data["notes"]
    assert data["totals"]["lost"] == 10
    assert "bad config" in result.out


def test_an_endpoint_that_dies_mid_run_ends_it_with_exit_3_and_stops_the_sink(write: Callable[..., Path],
                                                                              tmp_path: Path) -> None:
    from tests.run.conftest import endpoint_pids, parent_pid
    command, pids_file = _sink(tmp_path)
    path = write(scenario(count=100_000, rate=100, command=command, ready='{ log = "^up$" }'))
    proc = subprocess.Popen([sys.executable, "-m", "sinkbench.cli", "run", str(path)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: pids_file.exists() and pids_file.read_text(), 20), "the sink did not start"
        endpoints = [p for p in endpoint_pids() if parent_pid(p) == proc.pid]
        assert len(endpoints) == 1
        os.kill(endpoints[0], signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 3, (out, err)
    assert "stopped answering" in err and "Traceback" not in err
    assert _all_gone(_pids(pids_file))
