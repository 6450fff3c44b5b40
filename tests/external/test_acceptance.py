"""The acceptance cases of an external sink under test: real programs, the embedded endpoint, the ledger."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.external.conftest import FOLLOW_SINK, PYTHON, dropped, scenario, script_sink
from tests.run.conftest import run_cli


def test_a_stdin_fed_sink_that_drops_a_batch_loses_exactly_it(write: Callable[..., Path], tmp_path: Path) -> None:
    # Requests 3 to 5 get 503: the third batch's three attempts (RETRIES=2), after which sink.py drops it.
    command, env = script_sink(BATCH="10", RETRIES="2")
    path = write(scenario(count=60, command=command, env=env, ready='{ log = "^ready$" }',
                          endpoint="""
                              [[endpoint.faults]]
                              requests = [3, 5]
                              action = "status"
                              status = 503
                          """, expect='lost = "== 0"'))
    result = run_cli(["run", str(path)], reports=tmp_path / "out")
    result.assert_no_traceback()
    assert result.code == 1, result.out + result.err
    report = result.report
    assert report is not None
    totals = report["totals"]
    gone = dropped(report)
    assert gone > 0, report["external"]["output"]
    assert totals["lost"] == gone
    assert totals["delivered"] + totals["lost"] == totals["total"] == 60
    assert totals["failed"] is None and totals["skipped"] is None and totals["undelivered"] is None
    assert totals["duplicates"] == 0
    assert report["requests_by_status"]["503"] == 3
    assert report["expectations"][0]["passed"] is False
    assert "n/a" in result.out and "sink under test" in result.out


def test_a_file_fed_sink_without_faults_delivers_everything(write: Callable[..., Path], tmp_path: Path) -> None:
    feed = tmp_path / "in.log"
    path = write(scenario(count=120, rate=400, command=[PYTHON, str(FOLLOW_SINK), str(feed)],
                          env={"SINK_URL": "${SINKBENCH_ENDPOINT_URL}/ingest"}, ready='{ log = "following" }',
                          feed='kind = "file"\npath = "in.log"',
                          expect='lost = "== 0"\ndelivered = "== total"\nduplicates = "== 0"'))
    result = run_cli(["run", str(path)], reports=tmp_path / "out")
    result.assert_no_traceback()
    assert result.code == 0, result.out + result.err
    totals = result.report["totals"]
    assert (totals["total"], totals["delivered"], totals["lost"]) == (120, 120, 0)
    assert len(feed.read_bytes().splitlines()) == 120      # one line per message, appended
    assert result.report["latency"]["delivery"]["count"] == 120


def test_an_answer_later_than_the_sinks_timeout_shows_the_resent_batch_as_duplicates(
        write: Callable[..., Path], tmp_path: Path) -> None:
    # Request 2 is accepted, then answered after 1.2 s; sink.py gives up after 0.4 s and sends the batch again.
    command, env = script_sink(BATCH="10", RETRIES="3", TIMEOUT_S="0.4")
    path = write(scenario(count=60, command=command, env=env, ready='{ log = "^ready$" }',
                          endpoint="""
                              [[endpoint.faults]]
                              requests = [2, 2]
                              action = "delay"
                              delay = "1200ms"
                          """, expect='lost = "== 0"\nduplicates = "== 10"'))
    result = run_cli(["run", str(path)], reports=tmp_path / "out")
    result.assert_no_traceback()
    assert result.code == 0, result.out + result.err
    totals = result.report["totals"]
    assert totals["duplicates"] == 10
    assert totals["lost"] == 0 and totals["delivered"] == 60
    assert totals["retries"] == 1
