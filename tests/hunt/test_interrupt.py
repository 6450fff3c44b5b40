"""Ctrl-C during a hunt: it stops promptly, writes what it has (only if something broke the setting), leaves no
endpoint process behind and shows no traceback."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from run.conftest import ROOT, endpoint_pids, is_alive, parent_pid, synthetic
from run.test_interrupt import _wait_for

from sinkbench.scenario.load import load_scenario

from .test_end_to_end import FRAGILE


class Hunt:
    """`sinkbench hunt ARGS` as a child process, its stderr read line by line as it comes."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "sinkbench.cli", "hunt", *args], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.endpoints: set[int] = set()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def children(self) -> set[int]:
        found = {p for p in endpoint_pids() if parent_pid(p) == self.proc.pid}
        self.endpoints |= found
        return found

    def interrupt(self) -> tuple[str, float]:
        sent = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=15)
        self._reader.join(5)
        return out, time.monotonic() - sent

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def test_sigint_during_the_healthy_run_stops_it_writes_nothing_and_leaves_no_endpoint(tmp_path: Path) -> None:
    path = tmp_path / "slow.toml"
    path.write_text(synthetic(20_000, rate=2000, timeout="60s", expect='lost = "== 0"'))
    hunt = Hunt(str(path))
    try:
        assert _wait_for(hunt.children, 20), "the healthy run's endpoint did not start"
        time.sleep(0.5)
        out, took = hunt.interrupt()
    finally:
        hunt.kill()
    err = "".join(hunt.lines)
    assert hunt.proc.returncode == 1, (out, err)
    assert took < 5, took
    assert out.strip() == "interrupted after 0 candidate runs: no breaking plan so far, no file written"
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert not list(tmp_path.glob("*.found.toml"))
    assert hunt.endpoints and not any(is_alive(pid) for pid in hunt.endpoints)


def test_sigint_after_a_plan_broke_it_writes_that_plan_marked_not_confirmed(tmp_path: Path) -> None:
    path = tmp_path / "fragile.toml"
    path.write_text(FRAGILE)
    hunt = Hunt(str(path), "--time", "60s")
    try:
        assert _wait_for(hunt.children, 20), "the healthy run's endpoint did not start"
        assert _wait_for(lambda: any(re.match(r"hunt: #\d+ breaks it", line) for line in hunt.lines), 40), \
            "".join(hunt.lines)
        out, took = hunt.interrupt()
    finally:
        hunt.kill()
    err = "".join(hunt.lines)
    assert hunt.proc.returncode == 1, (out, err)
    assert took < 5, took
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    found = tmp_path / "fragile.found.toml"
    assert out.startswith("interrupted after ") and f"wrote {found} (NOT CONFIRMED" in out, out
    text = found.read_text()
    assert "# NOT CONFIRMED: the hunt was interrupted. The plan broke the setting in a scaled-down candidate" in text
    scenario = load_scenario(found)
    assert scenario.endpoint.faults or scenario.endpoint.rate_limit or scenario.endpoint.max_body_bytes
    assert [(e.metric, e.expression) for e in scenario.expectations] == [("lost", "== 0")]
    assert not any(is_alive(pid) for pid in hunt.endpoints)
    assert not {p for p in endpoint_pids() if parent_pid(p) == hunt.proc.pid}
