"""Accounting fed messages against the ledger, and the sink's process: output kept, group stopped for sure."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

from sinkbench.endpoint.client import LedgerAnswer
from sinkbench.endpoint.ledger import Recognizer
from sinkbench.endpoint.settings import EndpointSettings
from sinkbench.feed.base import Fed
from sinkbench.run.arrivals import Arrivals, Identify
from sinkbench.run.sinkprocess import SinkProcess
from tests.run.conftest import is_alive


def test_first_acceptances_date_latency_and_settle_counts_duplicates_as_a_multiset() -> None:
    a = Arrivals()
    for identity, at in ((1, 0.0), (2, 0.0), (1, 1.0), (3, 1.0)):   # identity 1 fed twice (equal payloads)
        a.fed(identity, at)
    a.fed(None, 1.0)                                               # one the endpoint cannot recognise
    assert a.fed_count == 5 and a.waiting == 5 and a.unidentified == 1
    assert sorted(a.question()) == [1, 2, 3]
    learned = a.learn([1, 2, 3], [1, 0, 0], at=2.0)
    assert learned.delivered == 1 and learned.latencies_ms == [2000.0]   # the first fed of identity 1
    assert sorted(a.question()) == [1, 2, 3]
    learned = a.learn([1, 2, 3], [3, 1, 0], at=2.5)            # identity 1 once more than fed: a duplicate
    assert learned.delivered == 2 and sorted(learned.latencies_ms) == [1500.0, 2500.0]
    assert a.question() == [3] and a.delivered == 3 and a.waiting == 2
    ids = a.final_question()
    delivered, duplicates = a.settle(ids, LedgerAnswer(0, [{1: 3, 2: 1, 3: 0}[i] for i in ids], 0))
    assert (delivered, duplicates) == (3, 1)
    # Envelopes known by their address: the ledger counts their duplicates itself.
    assert a.settle(ids, LedgerAnswer(0, [{1: 2, 2: 1, 3: 1}[i] for i in ids], 4)) == (4, 4)


def test_identities_are_the_endpoints_own() -> None:
    line = b'{"seq":1,"data":"x"}'
    hashed = Identify(EndpointSettings())
    assert hashed(Fed(line)) == Recognizer().identities("application/x-ndjson", line + b"\n")[0]
    # With the Iggy feed's address, an envelope is known by it.
    assert hashed(Fed(line, ("s", "t", 2, 7))) == Recognizer().address("s", "t", 2, 7)
    # With identify = "hash" the address does not count: the bytes do.
    only_hash = Identify(EndpointSettings(identify="hash"))
    assert only_hash(Fed(line, ("s", "t", 2, 7))) == hashed(Fed(line))
    tokens = Identify(EndpointSettings(identify="token"))
    token = b"sb-0123456789abcdef"
    assert tokens(Fed(b"<13>host app: " + token + b" rest")) == tokens(Fed(b'{"t":"' + token + b'"}'))
    assert tokens(Fed(b"no token here")) is None


def _script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "sink.py"
    path.write_text(body)
    return [sys.executable, str(path)]


def test_output_is_kept_redacted_and_watched(tmp_path: Path) -> None:
    argv = _script(tmp_path, "import sys\nprint('starting with s3cr3t-value', flush=True)\n"
                             "print('listening on 1234', flush=True)\nsys.stdin.read()\n")

    async def run() -> tuple[bool, str, list[str]]:
        lines: list[str] = []
        p = SinkProcess(argv, dict(os.environ), tmp_path, stdin=True, secrets=["s3cr3t-value"], on_line=lines.append)
        await p.start()
        ok = await asyncio.wait_for(p.wait_log(r"listening on \d+"), 10)
        await p.stop(grace=2)
        return ok, p.text(), lines

    ok, text, lines = asyncio.run(run())
    assert ok
    assert "s3cr3t-value" not in text and "[redacted]" in text and "listening on 1234" in text
    assert lines[0] == "starting with [redacted]"


def test_wait_log_is_false_when_the_output_ends_without_a_match(tmp_path: Path) -> None:
    argv = _script(tmp_path, "print('nothing useful')\n")

    async def run() -> bool:
        p = SinkProcess(argv, dict(os.environ), tmp_path, stdin=False)
        await p.start()
        try:
            return await asyncio.wait_for(p.wait_log("ready"), 10)
        finally:
            await p.stop()

    assert asyncio.run(run()) is False


def test_stop_kills_a_sink_that_ignores_sigterm_and_everything_it_started(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    argv = _script(tmp_path, f"""
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"])
open({str(pids)!r}, "w").write(f"{{os.getpid()}} {{child.pid}}")
print("up", flush=True)
time.sleep(300)
""")

    async def run() -> float:
        p = SinkProcess(argv, dict(os.environ), tmp_path, stdin=False)
        await p.start()
        assert await asyncio.wait_for(p.wait_log("up"), 10)
        began = time.monotonic()
        await p.stop(grace=0.5)
        return time.monotonic() - began

    took = asyncio.run(run())
    assert took < 3.0
    sink, child = (int(x) for x in pids.read_text().split())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (is_alive(sink) or is_alive(child)):
        time.sleep(0.05)
    assert not is_alive(sink) and not is_alive(child)
