"""What a run shows when the endpoint misbehaves: commit semantics, timeouts, health checks, dead letters."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from sinkbench.sources.recorded import read_stream

from .conftest import CliResult, check_accounting, run_cli, synthetic

# An outage from 0.3 s to 1.0 s while 300 messages arrive over 1.5 s, and no retries.
OUTAGE = synthetic(300, rate=200, batch_length=20, batch_mode="individual", sink="max_retries = 0",
                   endpoint='''
                   [[endpoint.faults]]
                   after = "300ms"
                   until = "1s"
                   action = "status"
                   status = 503
                   ''')


@pytest.fixture(scope="module")
def outage_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], CliResult]:
    """outage_run(offset_commit) -> the OUTAGE scenario's run with that commit mode (each run once)."""
    runs: dict[str, CliResult] = {}
    folder = tmp_path_factory.mktemp("outage")
    path = folder / "outage.toml"
    path.write_text(OUTAGE)

    def run(commit: str) -> CliResult:
        if commit not in runs:
            runs[commit] = run_cli(["run", str(path), "--quiet", "--set", f"runtime.offset_commit={commit}"],
                                   reports=folder / "out", name=commit)
        return runs[commit]

    return run


def test_after_polling_is_at_most_once(outage_run: Callable[[str], CliResult]) -> None:
    r = outage_run("after_polling")
    assert r.code == 0, r.err
    rep = r.report
    assert rep is not None
    t = rep["totals"]
    assert rep["status"] == "completed"
    assert t["lost"] > 0                       # what failed in the outage is gone
    assert t["duplicates"] == 0                # nothing is ever sent twice
    assert t["failed"] == t["lost"]            # every failed message is a lost one, and only those
    assert t["delivered"] == t["total"] - t["lost"]
    assert t["undelivered"] == 0
    assert t["message_attempts"] == t["total"]           # each message handed to the sink exactly once
    # individual, no retries: one request per message, except those abandoned after 3 consecutive
    # failures, which are never sent (how many depends on where the batches fall in the outage)
    abandoned = rep["failed_message_attempts_by_reason"].get("abandoned after 3 consecutive failures", 0)
    assert t["requests"] == t["total"] - abandoned
    assert rep["requests_by_status"].get("503", 0) > 0
    check_accounting(rep)


def test_after_consuming_is_at_least_once(outage_run: Callable[[str], CliResult]) -> None:
    r = outage_run("after_consuming")
    assert r.code == 0, r.err
    rep = r.report
    assert rep is not None
    t = rep["totals"]
    assert rep["status"] == "completed"
    assert t["lost"] == 0                      # a failed batch is polled again until it goes through
    assert t["failed"] == 0
    assert t["delivered"] == t["total"]
    assert t["duplicates"] >= 0                # delivered messages of a re-polled batch may arrive twice
    assert t["message_attempts"] > t["total"]            # the batches that failed in the outage were handed again
    assert t["requests"] > t["total"]
    assert rep["requests_by_status"].get("503", 0) > 0
    check_accounting(rep)


def test_after_consuming_resends_count_as_retries(outage_run: Callable[[str], CliResult]) -> None:
    rep = outage_run("after_consuming").report
    assert rep is not None
    t = rep["totals"]
    # individual mode: one body per message, so every request after a message's first repeats a body
    assert t["retries"] == t["requests"] - t["total"]


TIMEOUT = synthetic(200, batch_length=50, timeout="1s", sink='timeout = "10s"\nmax_retries = 0',
                    endpoint='[[endpoint.faults]]\naction = "hang"', expect='delivered = ">= 0"')
HEALTH = synthetic(200, sink="health_check_enabled = true\nmax_retries = 0", endpoint="[endpoint]\nstatus = 503",
                   expect='delivered = "== 0"')


def _run_once(tmp_path_factory: pytest.TempPathFactory, text: str, name: str) -> CliResult:
    folder = tmp_path_factory.mktemp(name)
    path = folder / f"{name}.toml"
    path.write_text(text)
    return run_cli(["run", str(path), "--quiet"], reports=folder / "out")


@pytest.fixture(scope="module")
def timeout_run(tmp_path_factory: pytest.TempPathFactory) -> CliResult:
    """An endpoint that never answers and a 1 s timeout (run once, shared by the tests below)."""
    return _run_once(tmp_path_factory, TIMEOUT, "timeout")


@pytest.fixture(scope="module")
def health_run(tmp_path_factory: pytest.TempPathFactory) -> CliResult:
    """A health check that gets 503 (run once, shared by the tests below)."""
    return _run_once(tmp_path_factory, HEALTH, "health")


def test_timeout_stops_the_run_and_counts_undelivered(timeout_run: CliResult) -> None:
    r = timeout_run
    assert r.code == 1, (r.out, r.err)          # a run that timed out proved nothing
    r.assert_no_traceback()
    rep = r.report
    assert rep is not None and r.junit is not None and r.summary is not None
    assert rep["status"] == "timeout"
    assert rep["passed"] is False
    assert rep["expectations"][0]["passed"] is True
    t = rep["totals"]
    assert t["delivered"] == 0 and t["undelivered"] == 200 and t["total"] == 200
    assert t["lost"] == 200
    assert 1.0 <= rep["duration_s"] < 5.0
    assert any("timeout" in note for note in rep["notes"])
    check_accounting(rep)
    case = next(c for c in ET.parse(r.junit).getroot().iter("testcase") if c.get("name") == "run status")
    assert case.find("failure") is not None and case.find("failure").get("type") == "timeout"
    assert "timed out" in r.summary.read_text() or "timeout" in r.summary.read_text()


def test_timeout_counts_the_request_that_was_sent(timeout_run: CliResult) -> None:
    rep = timeout_run.report
    assert rep is not None and rep["status"] == "timeout"
    assert rep["endpoint"]["requests"] == 1
    assert rep["totals"]["requests"] == rep["endpoint"]["requests"]
    assert rep["totals"]["bytes"] == rep["endpoint"]["bytes"]


def test_failing_health_check_delivers_nothing_and_is_judged_by_expectations(health_run: CliResult) -> None:
    r = health_run
    assert r.code == 0, (r.out, r.err)           # not exit 3: the scenario's expectations judge it
    r.assert_no_traceback()
    rep = r.report
    assert rep is not None
    assert rep["status"] == "sink_not_opened"
    assert rep["passed"] is True
    t = rep["totals"]
    assert t["delivered"] == 0 and t["message_attempts"] == 0 and t["total"] == 200
    assert t["lost"] == 200
    assert t["requests"] == 1                     # the health check itself
    assert rep["requests_by_status"] == {"503": 1}
    assert rep["endpoint"]["requests"] == 1 and rep["endpoint"]["messages"] == 0
    assert any("503" in note for note in rep["notes"])
    case = next(c for c in ET.parse(r.junit).getroot().iter("testcase") if c.get("name") == "run status")
    assert case.find("failure") is None and case.find("error") is None


def test_failing_health_check_still_accounts_for_every_message(health_run: CliResult) -> None:
    assert health_run.report is not None and health_run.report["status"] == "sink_not_opened"
    check_accounting(health_run.report)


@pytest.mark.parametrize("mode, batch_length", [("individual", 100), ("ndjson", 10)])
def test_dead_letters_hold_every_finally_failed_message(scenario_file: Callable[..., Path], tmp_path: Path,
                                                        mode: str, batch_length: int) -> None:
    dead = tmp_path / "dead" / "letters.jsonl"
    dead.parent.mkdir()
    path = scenario_file(synthetic(100, batch_length=batch_length, batch_mode=mode,
                                   sink=f'profile = "enhanced"\nmax_retries = 0\ndead_letter_path = "{dead}"',
                                   endpoint='[[endpoint.faults]]\nevery = 3\naction = "status"\nstatus = 400'))
    r = run_cli(["run", str(path), "--quiet"], reports=tmp_path / "out")
    assert r.code == 0, r.err
    rep = r.report
    assert rep is not None
    t = rep["totals"]
    assert t["failed"] > 0
    assert t["lost"] == t["failed"]
    check_accounting(rep)
    assert rep["settings"]["sink"]["dead_letter_path"] == str(dead)
    letters = list(read_stream(dead))            # valid stream lines (§5), read back by the replayer
    assert len(letters) == t["failed"]
    assert len({sm.message.offset for sm in letters}) == len(letters)
    assert {(sm.topic.stream, sm.topic.topic) for sm in letters} == {("bench", "events")}
    assert all(sm.message.offset < 100 for sm in letters)


def test_no_dead_letter_file_without_failures(scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    dead = tmp_path / "letters.jsonl"
    path = scenario_file(synthetic(50, sink=f'profile = "enhanced"\ndead_letter_path = "{dead}"'))
    r = run_cli(["run", str(path), "--quiet"], reports=tmp_path / "out")
    assert r.code == 0 and r.report is not None and r.report["totals"]["failed"] == 0
    assert not dead.exists()


def _failed_offsets(scenario_file: Callable[..., Path], tmp_path: Path, seed: int) -> list[int]:
    dead = tmp_path / f"dead-{seed}.jsonl"
    path = scenario_file(synthetic(40, seed=seed, batch_length=40, batch_mode="individual",
                                   sink=f'profile = "enhanced"\nmax_retries = 0\ndead_letter_path = "{dead}"',
                                   endpoint='[[endpoint.faults]]\nprobability = 0.5\naction = "status"\nstatus = 400'),
                         f"seed-{seed}.toml")
    r = run_cli(["run", str(path), "--quiet"])
    assert r.code == 0, r.err
    return [sm.message.offset for sm in read_stream(dead)] if dead.exists() else []


def test_scenario_seed_drives_the_endpoint_faults(scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    one = _failed_offsets(scenario_file, tmp_path, 1)
    two = _failed_offsets(scenario_file, tmp_path, 2)
    assert one and two
    assert one != two


def test_a_batch_cut_off_by_the_timeout_keeps_what_was_already_decided(scenario_file: Callable[..., Path],
                                                                        tmp_path: Path) -> None:
    # Regression: one batch of 100 individual requests, 30 ms each, stopped by a 1 s timeout part-way. The
    # messages answered before the stop counted undelivered (delivered 0 against dozens of 200s), and the
    # ones failed before it never reached the dead-letter file.
    dead = tmp_path / "dead.jsonl"
    path = scenario_file(synthetic(100, batch_length=100, batch_mode="individual", timeout="1s",
                                   sink=f'profile = "enhanced"\nmax_retries = 0\ndead_letter_path = "{dead}"',
                                   endpoint='[endpoint]\nlatency = "30ms"\n'
                                            '[[endpoint.faults]]\nevery = 4\naction = "status"\nstatus = 400'))
    r = run_cli(["run", str(path), "--quiet"], reports=tmp_path / "out")
    rep = r.report
    assert rep is not None and rep["status"] == "timeout", r.err
    check_accounting(rep)
    t = rep["totals"]
    assert t["delivered"] == rep["requests_by_status"]["200"] > 0
    assert t["failed"] == rep["requests_by_status"]["400"] > 0
    assert t["undelivered"] == t["total"] - t["delivered"] - t["failed"] > 0
    assert len(list(read_stream(dead))) == t["failed"]
