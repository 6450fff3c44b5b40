"""Issue 8, "Shutdown": what tests/reliability/test_shutdown.py leaves out. SIGTERM and Ctrl-C to
`sinkbench sweep --parallel 2` (two endpoints at once), SIGTERM and SIGINT to `sinkbench record` as a real process
(a fake Iggy server inside it, answering or stalled), and SIGTERM, SIGINT, a typed Ctrl-C and Ctrl-Q to the
interactive session under a pseudo-terminal. Each must exit promptly, without a traceback, with valid files (and a
restored terminal), and leave no process of its tree behind: every process started here carries a token in its
environment, so a survivor is found even after it was re-parented.

Covered elsewhere: SIGINT/SIGTERM to a sequential sweep, SIGTERM to `run` and a recording cancelled in-process
(tests/reliability/test_shutdown.py); SIGINT to `run` (tests/run/test_interrupt.py); SIGINT/SIGTERM to
`sinkbench mock` (tests/endpoint/test_command.py); Ctrl-C to `record` in-process (tests/test_record.py)."""

from __future__ import annotations

import contextlib
import csv
import fcntl
import json
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from run.conftest import ROOT, check_accounting, endpoint_pids, is_alive, parent_pid, synthetic
from run.test_interrupt import _accepted, _wait_for

from sinkbench.sources.recorded import read_stream, validate_stream

TOKEN = "SINKBENCH_SHUTDOWN_TEST"   # the environment variable that marks a test's process tree
DEADLINE = 20.0                      # liveness, not performance: a busy 2-core machine stays well inside it


# -- processes ----------------------------------------------------------------------------

def _env(token: str, **extra: str) -> dict[str, str]:
    return {**os.environ, TOKEN: token, **extra}


def _tree(token: str) -> set[int]:
    """Living processes started with `token` in their environment: a command, its children, theirs."""
    mark = f"{TOKEN}={token}".encode()
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = (Path("/proc") / entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if mark in environ and is_alive(int(entry)):
            pids.add(int(entry))
    return pids


def _kill_tree(token: str) -> None:
    """A failing test leaves nothing running: every process of its tree, by id."""
    for pid in _tree(token):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _endpoints_of(pid: int) -> set[int]:
    return {p for p in endpoint_pids() if parent_pid(p) == pid}


def _two_endpoints(pid: int) -> set[int]:
    """The endpoint children of `pid` once there are two of them (two combinations under way), else none."""
    found = _endpoints_of(pid)
    return found if len(found) == 2 else set()


def _no_survivor(token: str, endpoints: set[int]) -> None:
    assert _wait_for(lambda: not any(is_alive(p) for p in endpoints), DEADLINE), endpoints
    assert _wait_for(lambda: not _tree(token), DEADLINE), _tree(token)


def _assert_clean(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text, text
        assert "KeyboardInterrupt" not in text, text


# -- sweep --parallel 2 -------------------------------------------------------------------

@pytest.mark.parametrize("how", ["sigterm", "ctrl-c"])
def test_a_parallel_sweep_stops_cleanly(tmp_path: Path, how: str) -> None:
    # 3 combinations, 2 at a time, of 20,000 messages at 200/s: far longer than the test waits.
    scenario = tmp_path / "s.toml"
    scenario.write_text(synthetic(20_000, rate=200, batch_length=10, timeout="120s", expect='lost = "== 0"'))
    out = tmp_path / "out"
    report, table, md, svg = out / "sweep.json", out / "sweep.csv", out / "sweep.md", out / "sweep.svg"
    token = uuid.uuid4().hex
    # Its own process group, as a shell gives a foreground job: Ctrl-C at a terminal signals the whole group.
    proc = subprocess.Popen(
        [sys.executable, "-m", "sinkbench.cli", "sweep", str(scenario), "--vary", "sink.max_retries=0,3,6",
         "--parallel", "2", "--report", str(report), "--csv", str(table), "--markdown", str(md), "--chart", str(svg)],
        cwd=ROOT, env=_env(token), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    try:
        endpoints = _wait_for(lambda: _two_endpoints(proc.pid), DEADLINE)
        assert endpoints, ("two combinations did not start at once", _endpoints_of(proc.pid), proc.poll())
        # Several batches of 10 each, so the sink has seen answers too: both runs are mid-stream.
        assert _wait_for(lambda: all(_accepted({p}) > 20 for p in endpoints), DEADLINE), "nothing was delivered"
        assert proc.poll() is None, proc.communicate()
        assert {proc.pid, *endpoints} <= _tree(token)   # the survivor check below sees them
        if how == "sigterm":
            proc.send_signal(signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=DEADLINE)
        _no_survivor(token, endpoints)   # before the clean-up below, which would hide a survivor
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        _kill_tree(token)
    assert proc.returncode == 1, (proc.returncode, stdout, stderr)      # interrupted
    _assert_clean(stdout, stderr)
    assert "the sweep was interrupted" in stdout

    data = json.loads(report.read_text())
    assert data["sweep"]["interrupted"] is True
    assert (data["sweep"]["combinations"], data["sweep"]["parallel"], data["sweep"]["best"]) == (3, 2, None)
    ran = [run["result"] for run in data["runs"] if run["result"] is not None]
    assert len(ran) == 2, data["runs"]          # both under way were stopped; the third never started
    for result in ran:
        assert result["status"] == "interrupted"
        assert 0 < result["totals"]["delivered"] < 20_000
        assert result["endpoint"] is not None   # each endpoint's stats were read before it was stopped
        check_accounting(result)
    rows = list(csv.DictReader(table.read_text().splitlines()))
    assert sorted(row["status"] for row in rows) == ["interrupted", "interrupted", "not run"]
    assert "The sweep was interrupted." in md.read_text()
    assert svg.read_text().lstrip().startswith("<")


# -- record ---------------------------------------------------------------------------------

# `sinkbench record` as its own process, the SDK client replaced by the fake server of tests/iggy_fake.py.
# argv: the tests folder, the file to create once the stream flows, "answering" or "stalls", then the command.
RECORDER = """
import asyncio
import sys
from pathlib import Path

tests, ready, mode = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
sys.path.insert(0, tests)
from iggy_fake import FakeServer
import sinkbench.sources.iggy
from sinkbench.cli import main

server = FakeServer(users={"iggy": "pw"})
server.create_topic("orders", "events")
partition = server.streams["orders"]["events"][0]


def produce(client, n):
    # A live topic: every poll finds 10 new messages, so the recording has no end of its own.
    for _ in range(10):
        i = len(partition.messages)
        server.produce("orders", "events", {"n": i, "text": "\\u00e9" * (i % 5)})
    if n == 30:
        ready.write_text("streaming")


server.on_poll = produce


def client(connection):
    fake = server.client(connection)
    poll = fake.poll_messages

    async def networked_poll(*args, **kwargs):
        await asyncio.sleep(0.005)   # a real poll goes over the network, where a signal lands
        if mode == "stalls" and len(server.polls) > 30:
            await asyncio.Event().wait()   # the server stops answering
        return await poll(*args, **kwargs)

    fake.poll_messages = networked_poll
    return fake


sinkbench.sources.iggy.sdk_client = client
sys.exit(main(sys.argv[4:]))
"""


def _record_until(tmp_path: Path, name: str, mode: str, sig: signal.Signals) -> tuple[int, str, str, Path]:
    """Run the recorder until its stream flows, send `sig`, return (exit code, stdout, stderr, the file)."""
    out, ready, token = tmp_path / name, tmp_path / "ready", uuid.uuid4().hex
    proc = subprocess.Popen(
        [sys.executable, "-c", RECORDER, str(ROOT / "tests"), str(ready), mode, "record",
         "--connection", "iggy+tcp://iggy:pw@127.0.0.1:8090", "--stream", "orders", "--topic", "events",
         "--out", str(out)],
        cwd=ROOT, env=_env(token), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert _wait_for(lambda: ready.exists() or proc.poll() is not None, DEADLINE), "the stream never flowed"
        assert proc.poll() is None, proc.communicate()
        assert proc.pid in _tree(token)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=DEADLINE)
        _no_survivor(token, set())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        _kill_tree(token)
    return proc.returncode, stdout, stderr, out


def _check_recording(code: int, stdout: str, stderr: str, out: Path) -> None:
    """Exit 0 (stopped with Ctrl-C is still recorded), and the file holds exactly what the command says."""
    assert code == 0, (code, stdout, stderr)
    _assert_clean(stdout, stderr)
    assert "interrupted" in stdout, stdout
    assert not [line for line in stderr.splitlines() if line.startswith("error")], stderr
    said = re.search(r"([\d,]+) messages? (?:recorded )?into .*partition 0: offsets (\d+)\.\.(\d+)", stdout)
    assert said, stdout
    count, first, last = int(said[1].replace(",", "")), int(said[2]), int(said[3])
    assert validate_stream(out) == (count, [])
    messages = [sm.message for sm in read_stream(out)]
    assert [m.offset for m in messages] == list(range(first, last + 1))
    assert first == 0 and len(messages) == count
    assert all(m.partition == 0 and m.payload["n"] == m.offset for m in messages)
    # Every message of the 31 polls answered before the signal was sent is in the file.
    assert count >= 310, count
    if out.name.endswith(".gz"):
        assert out.read_bytes()[:2] == b"\x1f\x8b"


# Each signal and each format once: the signal handling does not depend on the format, nor the writing on the signal.
@pytest.mark.parametrize("sig,name", [(signal.SIGTERM, "s.jsonl"), (signal.SIGINT, "s.jsonl.gz")])
def test_a_signal_stops_a_recording_mid_stream(tmp_path: Path, sig: signal.Signals, name: str) -> None:
    _check_recording(*_record_until(tmp_path, name, "answering", sig))


def test_sigterm_stops_a_recording_whose_server_stopped_answering(tmp_path: Path) -> None:
    # The first signal lets the current poll finish; one the server never answers must not hold the stop for its
    # timeouts and retries (it did: about 33 s, then exit 3 "connection lost").
    code, stdout, stderr, out = _record_until(tmp_path, "s.jsonl.gz", "stalls", signal.SIGTERM)
    _check_recording(code, stdout, stderr, out)


# -- the interactive session ----------------------------------------------------------------

ANSI = re.compile(r"\x1b(?:\[[0-9;?<>=]*[ -/]*[@-~]|[@-_])")
LEAVE_ALTERNATE_SCREEN = b"\x1b[?1049l"   # what Textual writes when it gives the terminal back


class Terminal:
    """`sinkbench` on a pseudo-terminal of 100x30 in an empty folder (the bundled quickstart, continuous)."""

    def __init__(self, cwd: Path, token: str) -> None:
        env = _env(token, TERM="xterm-256color", COLUMNS="100", LINES="30")
        argv = [sys.executable, "-m", "sinkbench.cli"]
        self.pid, self.fd = pty.fork()   # the child gets the pty as its controlling terminal, like a shell's job
        if self.pid == 0:
            try:
                os.chdir(cwd)    # no ./config.toml, no ./scenarios: the packaged quickstart
                os.execve(sys.executable, argv, env)
            finally:
                os._exit(127)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.output = bytearray()
        self.status: int | None = None
        # The screen must be read all along, or the app blocks writing to it.
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:     # EIO: the session exited and the terminal closed
                return
            if not data:
                return
            self.output += data

    def text(self, since: int = 0) -> str:
        return ANSI.sub("", bytes(self.output[since:]).decode("utf-8", "replace"))

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def exited(self) -> bool:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status is not None

    def drain(self) -> None:
        """Once the session exited: wait until its last output (the terminal's restoration) has been read."""
        self._reader.join(DEADLINE)

    def close(self) -> None:
        if not self.exited():
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)
        self._reader.join(5)


@contextlib.contextmanager
def _session(tmp_path: Path) -> Iterator[tuple[Terminal, set[int], str]]:
    """The session, once its run delivers into its endpoint: (terminal, the endpoint process, the token)."""
    token = uuid.uuid4().hex
    term = Terminal(tmp_path, token)
    try:
        endpoints = _wait_for(lambda: _endpoints_of(term.pid), DEADLINE)
        assert endpoints, ("the session's endpoint did not start", term.exited(), term.text()[-2000:])
        assert _wait_for(lambda: _accepted(endpoints) > 0, DEADLINE), "the session delivered nothing"
        assert {term.pid, *endpoints} <= _tree(token)
        yield term, endpoints, token
    finally:
        term.close()
        _kill_tree(token)


def _quits_cleanly(term: Terminal, since: int, endpoints: set[int], token: str) -> None:
    """Exit 0 ("you quit"), the terminal given back, no traceback on it, nothing of the session left."""
    assert _wait_for(term.exited, DEADLINE), ("the session did not exit", term.text(since)[-2000:])
    term.drain()
    assert term.status == 0, (term.status, term.text(since)[-2000:])
    assert LEAVE_ALTERNATE_SCREEN in term.output[since:], "the terminal was not restored"
    _assert_clean(term.text())
    _no_survivor(token, endpoints)


@pytest.mark.parametrize("sigs", [(signal.SIGTERM,), (signal.SIGINT,), (signal.SIGTERM, signal.SIGINT)],
                         ids=["sigterm", "sigint", "sigterm-then-sigint"])
def test_a_signal_quits_the_session_like_ctrl_q(tmp_path: Path, sigs: tuple[signal.Signals, ...]) -> None:
    # The second signal (another kind, so the kernel cannot merge the two) quits without waiting for the run.
    with _session(tmp_path) as (term, endpoints, token):
        since = len(term.output)
        for sig in sigs:
            os.kill(term.pid, sig)
        _quits_cleanly(term, since, endpoints, token)


def test_ctrl_c_only_says_how_to_quit_and_ctrl_q_quits(tmp_path: Path) -> None:
    # The screen takes the terminal raw: Ctrl-C is a key, not SIGINT. Textual's binding for it says how to quit
    # (README: the session "delivers until you quit with Ctrl-Q"); the run goes on.
    with _session(tmp_path) as (term, endpoints, token):
        since = len(term.output)
        term.type(b"\x03")
        assert _wait_for(lambda: "Press ctrl+q to quit the app" in term.text(since), DEADLINE), \
            term.text(since)[-2000:]
        delivered = _accepted(endpoints)
        assert _wait_for(lambda: _accepted(endpoints) > delivered, DEADLINE), "delivery stopped after Ctrl-C"
        assert not term.exited() and all(is_alive(p) for p in endpoints)
        since = len(term.output)
        term.type(b"\x11")   # Ctrl-Q
        _quits_cleanly(term, since, endpoints, token)
