"""Issue 12, items 3, 10 and 13, through real runs: live lost/duplicates never go down and end as the report's,
bare payloads are accounted as a multiset, and drain ends when the backlog is gone, not when the source stops."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sinkbench.run.bench import BenchRun
from sinkbench.run.metrics import Snapshot
from sinkbench.run.result import RunResult, RunStatus
from sinkbench.scenario.load import scenario_from_text

from .conftest import check_accounting, run_cli, synthetic


async def _sampled_run(text: str, interval: float = 0.05) -> tuple[RunResult, list[tuple[float, int, int]], BenchRun]:
    """Runs a scenario with its endpoint in-process, sampling (elapsed, lost, duplicates) from the progress."""
    bench = BenchRun(scenario_from_text(text), endpoint_in_process=True)
    samples: list[tuple[float, int, int]] = []

    def progress(snap: Snapshot) -> None:
        p = snap.progress()
        samples.append((snap.elapsed, p["lost"], p["duplicates"]))

    result = await bench.run(progress=progress, progress_interval=interval)
    return result, samples, bench


def _never_down(samples: list[tuple[float, int, int]]) -> None:
    for (t0, lost0, dup0), (t1, lost1, dup1) in zip(samples, samples[1:]):
        assert lost1 >= lost0 and dup1 >= dup0, f"went down between {t0:.2f}s and {t1:.2f}s: {samples}"


async def test_live_lost_and_duplicates_never_go_down_and_end_as_the_report() -> None:
    # at-most-once commits (Iggy today) through a 503 window: every batch whose retries run out is lost for good,
    # while the source keeps feeding. Request 3 is accepted but answered after the sink's timeout, so its
    # retry makes duplicates.
    text = synthetic(900, rate=450, batch_length=15, timeout="20s",
                     sink='timeout = "150ms"\nmax_retries = 1\nretry_delay = "40ms"',
                     endpoint="""\
                     [endpoint]
                     [[endpoint.faults]]
                     requests = [3, 3]
                     action = "delay"
                     delay = "400ms"
                     [[endpoint.faults]]
                     after = "500ms"
                     until = "1200ms"
                     action = "status"
                     status = 503""")
    result, samples, bench = await _sampled_run(text)
    t = result.totals
    assert result.status is RunStatus.COMPLETED and t["failed"] > 0 and t["duplicates"] > 0, t
    _never_down(samples)
    during = [lost for elapsed, lost, _ in samples if elapsed < 1.6]
    assert max(during) > 0, samples          # loss shows while the run goes on, not only at the end
    assert max(during) <= t["lost"]
    # The end: the live figures are the report's, and the report's are the ledger's.
    after = bench.snapshot()
    assert after is not None and (after.lost, after.duplicates) == (t["lost"], t["duplicates"])
    assert samples[-1][1:] <= (t["lost"], t["duplicates"])
    check_accounting(result.to_json())
    assert t["lost"] == t["failed"]          # after_polling: failed means lost, no more, no less


async def test_live_figures_with_bare_payloads_and_a_retried_body_end_as_the_report() -> None:
    # Request 5 comes early (each message is a request) and is retried well before the 503 window.
    text = synthetic(450, rate=300, batch_length=10, batch_mode="individual", timeout="20s",
                     sink='include_metadata = false\ntimeout = "250ms"\nmax_retries = 1\nretry_delay = "20ms"',
                     endpoint="""\
                     [endpoint]
                     [[endpoint.faults]]
                     requests = [5, 5]
                     action = "delay"
                     delay = "600ms"
                     [[endpoint.faults]]
                     after = "700ms"
                     until = "1000ms"
                     action = "status"
                     status = 503""")
    result, samples, bench = await _sampled_run(text)
    _never_down(samples)
    t = result.totals
    # Request 5 makes one duplicate; on a loaded machine another answer can also outlast the timeout
    # and make one more, so the count is at least one, and live and final agree whatever it is.
    assert t["duplicates"] >= 1 and t["lost"] == t["failed"] > 0, t
    snap = bench.snapshot()
    assert snap is not None and (snap.lost, snap.duplicates) == (t["lost"], t["duplicates"])


# -- item 13: bare payloads --------------------------------------------------------------------------------------


def _stream(path: Path, payloads: list[Any], schema: str = "json") -> Path:
    lines = [{"sinkbench_stream": 1, "stream": "s", "topic": "beats", "schema": schema}]
    lines += [{"offset": i, "timestamp": 1_710_064_800_000_000 + i, "payload": p} for i, p in enumerate(payloads)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _recorded(stream: Path, sink: str, endpoint: str = "") -> str:
    return f"""
[scenario]
seed = 1
timeout = "20s"
[source]
kind = "recorded"
path = "{stream}"
[runtime]
batch_length = 50
poll_interval = "2ms"
[sink]
url = "mock"
{sink}
{endpoint}
"""


@pytest.mark.parametrize("mode", ["raw", "individual", "ndjson", "json_array"])
def test_repeated_bare_payloads_all_delivered_are_neither_lost_nor_duplicated(
        mode: str, scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    stream = _stream(tmp_path / "beats.jsonl", [{"beat": True}] * 40 + [{"other": 1}] * 3)
    path = scenario_file(_recorded(stream, f'batch_mode = "{mode}"\ninclude_metadata = false'))
    r = run_cli(["run", str(path), "--quiet"], reports=tmp_path / "out")
    assert r.report is not None, r.err
    t = r.report["totals"]
    assert (t["total"], t["delivered"], t["lost"], t["duplicates"]) == (43, 43, 0, 0), t
    # The endpoint alone sees two identities; it is the bench that knows 43 messages were sent.
    assert r.report["endpoint"]["unique_messages"] == 2


def test_a_repeated_bare_payload_sent_twice_is_one_duplicate(scenario_file: Callable[..., Path],
                                                              tmp_path: Path) -> None:
    # The third request is accepted, but answered after the sink's timeout: the sink sends it again.
    stream = _stream(tmp_path / "beats.jsonl", ["heartbeat"] * 20, schema="text")
    path = scenario_file(_recorded(stream, 'batch_mode = "raw"\ntimeout = "200ms"\nmax_retries = 2\n'
                                           'retry_delay = "10ms"',
                                   '[endpoint]\n[[endpoint.faults]]\nrequests = [3, 3]\naction = "delay"\n'
                                   'delay = "500ms"'))
    r = run_cli(["run", str(path), "--quiet"], reports=tmp_path / "out")
    assert r.report is not None, r.err
    t = r.report["totals"]
    assert (t["delivered"], t["lost"], t["duplicates"]) == (20, 0, 1), t
    assert r.report["endpoint"]["messages"] == 21


def test_an_accepted_empty_payload_is_delivered_not_lost(scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    stream = _stream(tmp_path / "empty.jsonl", ["", "x", ""], schema="text")
    path = scenario_file(_recorded(stream, 'batch_mode = "raw"'))
    r = run_cli(["run", str(path), "--quiet"], reports=tmp_path / "out")
    assert r.report is not None, r.err
    t = r.report["totals"]
    assert (t["total"], t["delivered"], t["lost"], t["duplicates"]) == (3, 3, 0, 0), t


def test_a_lost_repeated_payload_is_counted_once_per_message(scenario_file: Callable[..., Path],
                                                            tmp_path: Path) -> None:
    # Two of ten identical heartbeats refused (400: not retried), after_polling: two lost, none duplicated.
    stream = _stream(tmp_path / "beats.jsonl", ["beat"] * 10, schema="text")
    path = scenario_file(_recorded(stream, 'batch_mode = "raw"\nmax_retries = 0',
                                   '[endpoint]\n[[endpoint.faults]]\nrequests = [4, 5]\naction = "status"\n'
                                   'status = 400'))
    r = run_cli(["run", str(path), "--quiet"], reports=tmp_path / "out")
    assert r.report is not None, r.err
    t = r.report["totals"]
    assert (t["delivered"], t["failed"], t["lost"], t["duplicates"]) == (8, 2, 2, 0), t


# -- item 10: drain --------------------------------------------------------------------------------------------------


def _backlog_cleared(bench: BenchRun, fault_end: float) -> float:
    """When the backlog was gone, seen from outside: the first second after the fault whose deliveries are back
    to the source's pace (its start, in run seconds)."""
    assert bench.metrics is not None
    rows = bench.metrics.timeline.rows()
    after = [r for r in rows if r["t"] >= fault_end]
    peak = max(after, key=lambda r: r["delivered"])
    return float(peak["t"])


async def test_drain_ends_when_the_backlog_clears_not_when_the_source_stops() -> None:
    # The 3 s–13 s outage of the issue, scaled down: a 503 window 0.4–1.4 s, a source still going until 4 s,
    # at-least-once commits so the backlog builds during the outage and is then delivered at full speed.
    text = synthetic(1600, rate=400, batch_length=100, timeout="20s",
                     sink='max_retries = 1\nretry_delay = "50ms"',
                     runtime='offset_commit = "after_consuming"',
                     endpoint="""\
                     [endpoint]
                     [[endpoint.faults]]
                     after = "400ms"
                     until = "1400ms"
                     action = "status"
                     status = 503""")
    result, _, bench = await _sampled_run(text, interval=0.5)
    assert result.status is RunStatus.COMPLETED and result.totals["lost"] == 0
    assert result.drain is not None
    # The old definition (last delivery − fault end) would give ~2.6 s: the source's end, not the backlog's.
    assert 0.0 < result.drain < 0.8, result.drain
    # Seen from outside: the backlog was gone by the end of the second in which the catch-up peaked.
    assert result.drain + 1.4 <= _backlog_cleared(bench, 1.4) + 1.0
    assert not [n for n in result.notes if "drain" in n]


async def test_no_drain_when_the_lag_never_comes_back() -> None:
    # The sink keeps up before the outage (45 messages a second, one 20 ms request each, five a batch) but
    # only just: the backlog of the outage (at-least-once, so it is kept) shrinks by at most 5 a second after
    # it, and the run's timeout comes first.
    text = synthetic(10_000, rate=45, batch_length=5, batch_mode="individual", timeout="3s",
                     sink='max_retries = 0', runtime='offset_commit = "after_consuming"',
                     endpoint="""\
                     [endpoint]
                     latency = "20ms"
                     [[endpoint.faults]]
                     after = "1000ms"
                     until = "1600ms"
                     action = "status"
                     status = 503""")
    result, _, _ = await _sampled_run(text, interval=0.5)
    assert result.status is RunStatus.TIMEOUT
    assert result.drain is None and result.to_json()["drain_s"] is None
    assert any("no drain: the consumer lag never came back" in n for n in result.notes), result.notes


async def test_drain_without_any_fault_is_none_and_says_nothing() -> None:
    result, _, _ = await _sampled_run(synthetic(200, rate=0), interval=0.5)
    assert result.drain is None and not [n for n in result.notes if "drain" in n]


async def test_a_fault_without_until_has_no_drain_and_the_summary_says_why() -> None:
    text = synthetic(200, rate=0, endpoint='[endpoint]\n[[endpoint.faults]]\nevery = 7\naction = "status"\n'
                                           'status = 500')
    result, _, _ = await _sampled_run(text, interval=0.5)
    assert result.drain is None
    assert "no drain: a fault without `until` lasts to the end of the run" in result.notes


def test_live_breaks_bound_the_drain(monkeypatch: pytest.MonkeyPatch) -> None:
    # A break put and lifted through the bench's admin client (as the session does) is a fault window.
    async def scenario() -> RunResult:
        bench = BenchRun(scenario_from_text(synthetic(900, rate=300, batch_length=30, timeout="20s",
                                                      sink='max_retries = 1\nretry_delay = "30ms"',
                                                      runtime='offset_commit = "after_consuming"')),
                         endpoint_in_process=True)
        run = asyncio.create_task(bench.run())
        while bench.metrics is None or bench.admin is None:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)
        await bench.admin.patch_settings({"status": 503})
        await asyncio.sleep(0.6)
        await bench.admin.reset()                       # back to the scenario's settings: the break ends
        return await run

    result = asyncio.run(scenario())
    assert result.drain is not None and result.drain < 1.0, (result.drain, result.notes)
