"""`sinkbench run` exit codes (DESIGN §7): 0 all held, 1 an expectation failed, 2 invalid input, 3 no bench."""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from sinkbench.endpoint.process import EndpointProcess
from sinkbench.errors import BenchError

from .conftest import SCENARIOS, check_accounting, run_cli, synthetic

# -- 0 and 1 ------------------------------------------------------------------------------


def test_exit_0_when_every_expectation_holds(scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    path = scenario_file(synthetic(200, expect='delivered = "== total"\nlost = "== 0"\nrequests = "== 2"'))
    r = run_cli(["run", str(path), "--quiet"], reports=tmp_path / "out")
    assert r.code == 0, r.err
    r.assert_no_traceback()
    assert r.report is not None and r.report["passed"] is True
    assert r.report["totals"]["delivered"] == 200
    check_accounting(r.report)
    assert r.err == ""   # --quiet: no progress, and this scenario has no warnings


def test_exit_0_without_expectations(scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    r = run_cli(["run", str(scenario_file(synthetic(50))), "--quiet"], reports=tmp_path / "out")
    assert r.code == 0, r.err
    assert r.report is not None and r.report["expectations"] == [] and r.report["passed"] is True
    cases = ET.parse(r.junit).getroot().findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == ["run status"]


def test_exit_1_when_an_expectation_fails(scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    path = scenario_file(synthetic(200, expect='delivered = "== total"\nrequests = "> 100"'))
    r = run_cli(["run", str(path), "--quiet"], reports=tmp_path / "out")
    assert r.code == 1, r.err
    r.assert_no_traceback()
    rep = r.report
    assert rep is not None and rep["passed"] is False and rep["status"] == "completed"
    assert [e["passed"] for e in rep["expectations"]] == [True, False]
    assert rep["expectations"][1]["observed"] == 2
    assert "FAILED" in r.out
    suite = ET.parse(r.junit).getroot().find("testsuite")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert cases["run status"].find("failure") is None
    assert cases["delivered == total"].find("failure") is None
    failure = cases["requests > 100"].find("failure")
    assert failure is not None and "observed 2" in failure.get("message")
    assert suite.get("failures") == "1"
    assert r.summary is not None and "requests" in r.summary.read_text()


def test_outage_503_at_most_once_loses_messages_and_exits_1(tmp_path: Path) -> None:
    """The shipped outage with Iggy's default commit: every batch whose retries ran out is lost."""
    r = run_cli(["run", str(SCENARIOS / "outage-503.toml"), "--quiet", "--set", "runtime.offset_commit=after_polling"],
                reports=tmp_path / "out")
    assert r.code == 1, (r.out, r.err)
    r.assert_no_traceback()
    rep = r.report
    assert rep is not None
    assert rep["settings"]["runtime"]["offset_commit"] == "after_polling"
    assert rep["totals"]["lost"] > 0
    assert rep["totals"]["failed"] == rep["totals"]["lost"]      # a failed batch is never re-sent
    assert rep["totals"]["duplicates"] == 0
    lost = next(e for e in rep["expectations"] if e["metric"] == "lost")
    assert lost["passed"] is False and lost["observed"] == rep["totals"]["lost"]
    check_accounting(rep)


def test_several_scenarios_exit_with_the_worst_code(scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    good = scenario_file(synthetic(50, expect='delivered = "== total"'), "good.toml")
    bad = scenario_file(synthetic(50, expect='delivered = "== 0"'), "bad.toml")
    r = run_cli(["run", str(good), str(bad), "--quiet"], reports=tmp_path / "out")
    assert r.code == 1
    rep = r.report
    assert rep is not None and rep["passed"] is False
    assert [run["scenario"] for run in rep["runs"]] == ["good", "bad"]
    assert [run["passed"] for run in rep["runs"]] == [True, False]
    suites = ET.parse(r.junit).getroot().findall("testsuite")
    assert [s.get("name") for s in suites] == ["good", "bad"]


# -- 2: invalid input -----------------------------------------------------------------------


def _invalid(args: list[str]) -> list[str]:
    r = run_cli(args)
    assert r.code == 2, (r.out, r.err)
    r.assert_no_traceback()
    lines = [line for line in r.err.splitlines() if line.startswith("error: ")]
    assert lines, r.err
    return lines


def test_exit_2_unknown_key_names_file_line_and_key(scenario_file: Callable[..., Path]) -> None:
    path = scenario_file(synthetic(10, sink="max_retry = 3"))
    lines = _invalid(["run", str(path)])
    line_no = path.read_text().splitlines().index("max_retry = 3") + 1
    assert any(f"{path}:{line_no}" in line and "sink.max_retry" in line and "max_retries" in line
               for line in lines), lines


def test_exit_2_unknown_section(scenario_file: Callable[..., Path]) -> None:
    path = scenario_file(synthetic(10) + "\n[expectations]\nlost = \"== 0\"\n")
    lines = _invalid(["run", str(path)])
    line_no = path.read_text().splitlines().index("[expectations]") + 1
    assert any(f"{path}:{line_no}" in line and "[expectations]" in line and "expect" in line for line in lines), lines


def test_exit_2_lists_every_error(scenario_file: Callable[..., Path]) -> None:
    path = scenario_file(synthetic(10, scenario="seeed = 3", sink="batch_mod = \"ndjson\"",
                                   expect='frobs = "> 1"'))
    lines = _invalid(["run", str(path)])
    text = "\n".join(lines)
    for key in ("scenario.seeed", "sink.batch_mod", "expect.frobs"):
        assert key in text, text


def test_exit_2_missing_stream_file(scenario_file: Callable[..., Path]) -> None:
    path = scenario_file('[source]\nkind = "recorded"\npath = "streams/missing.jsonl"\n[sink]\nurl = "mock"\n')
    lines = _invalid(["run", str(path)])
    assert any(f"{path}:3" in line and "source.path" in line and "missing.jsonl" in line for line in lines), lines


def test_exit_2_missing_scenario_file(tmp_path: Path) -> None:
    lines = _invalid(["run", str(tmp_path / "nope.toml")])
    assert any("nope.toml" in line and "not found" in line for line in lines), lines


def test_exit_2_invalid_toml_names_the_line(scenario_file: Callable[..., Path]) -> None:
    path = scenario_file('[scenario]\nname = "x"\nseed = = 3\n')
    lines = _invalid(["run", str(path)])
    assert any(f"{path}:3" in line and "TOML" in line for line in lines), lines


def test_exit_2_lost_and_duplicates_with_a_real_url(scenario_file: Callable[..., Path]) -> None:
    path = scenario_file(synthetic(10, url="http://127.0.0.1:9/ingest",
                                   expect='delivered = "== total"\nlost = "== 0"\nduplicates = "== 0"'))
    lines = _invalid(["run", str(path)])
    text = path.read_text().splitlines()
    for metric in ("lost", "duplicates"):
        line_no = next(i for i, line in enumerate(text, 1) if line.startswith(f"{metric} ="))
        assert any(f"{path}:{line_no}" in line and f"expect.{metric}" in line and "real URL" in line
                   for line in lines), lines
    assert not any("expect.delivered" in line for line in lines)


@pytest.mark.parametrize("override, words", [
    ("sink.batch_mode", ["--set", "expected KEY=VALUE"]),
    ("bogus.key=1", ["--set", "bogus", "unknown section"]),
    ("sink.batch_mode=nope", ["--set", "sink.batch_mode", "nope"]),
    ("sink.max_retries=-1", ["--set", "sink.max_retries"]),
    ("runtime.batch_length=abc", ["--set", "runtime.batch_length", "integer"]),
    ("sink.nope=1", ["--set", "sink.nope", "unknown key"]),
    ("endpoint.status=99", ["--set", "endpoint.status"]),
    ("expect.delivered=== lots", ["--set", "expect.delivered", "lots"]),
    ("runtime.offset_commit=after_lunch", ["--set", "runtime.offset_commit", "after_lunch"]),
])
def test_exit_2_bad_set(scenario_file: Callable[..., Path], override: str, words: list[str]) -> None:
    path = scenario_file(synthetic(10, expect='delivered = "== total"'))
    lines = _invalid(["run", str(path), "--set", override])
    assert any(all(w in line for w in words) for line in lines), lines


@pytest.mark.parametrize("override", ["expect.lots=1", "expect.lost=<> 3"])
def test_exit_2_bad_new_expectation_from_set_names_set(scenario_file: Callable[..., Path], override: str) -> None:
    path = scenario_file(synthetic(10, expect='delivered = "== total"'))
    lines = _invalid(["run", str(path), "--set", override])
    key = override.split("=", 1)[0]
    assert any(line.startswith("error: --set") and key in line for line in lines), lines
    assert not any(str(path) in line for line in lines), lines


def test_exit_2_before_anything_runs(scenario_file: Callable[..., Path], tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Every scenario is validated before the first one runs: a bad second file means no run at all."""
    started: list[object] = []
    monkeypatch.setattr(EndpointProcess, "start", lambda self: started.append(self))
    good = scenario_file(synthetic(10), "good.toml")
    bad = scenario_file(synthetic(10, sink="retries = 1"), "bad.toml")
    r = run_cli(["run", str(good), str(bad)], reports=tmp_path / "out")
    assert r.code == 2
    assert started == []
    assert r.report is None and r.junit is None and r.summary is None
    assert "bad.toml" in r.err and "good.toml" not in r.err


def test_exit_2_unreachable_iggy_server_is_one_clear_error(scenario_file: Callable[..., Path],
                                                            tmp_path: Path) -> None:
    with socket.socket() as s:          # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = scenario_file(f'[source]\nkind = "iggy"\nconnection = "iggy+tcp://iggy:s3cr3t-pw@127.0.0.1:{port}"\n'
                         'stream = "s"\ntopics = ["t"]\n[sink]\nurl = "mock"\n')
    r = run_cli(["run", str(path), "--quiet"], reports=tmp_path / "out")
    assert r.code == 2
    r.assert_no_traceback()
    assert f"cannot reach the Iggy server at iggy+tcp://127.0.0.1:{port}" in r.err
    assert "s3cr3t-pw" not in r.err + r.out


# -- 3: the bench could not run ---------------------------------------------------------------


def test_exit_3_when_the_endpoint_cannot_start(scenario_file: Callable[..., Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: EndpointProcess) -> None:
        raise BenchError("port in use")

    monkeypatch.setattr(EndpointProcess, "start", refuse)
    path = scenario_file(synthetic(10, expect='delivered = "== total"'))
    r = run_cli(["run", str(path), "--quiet"], reports=tmp_path / "out")
    assert r.code == 3, (r.out, r.err)
    r.assert_no_traceback()
    assert re.search(r"^error: .*could not run.*port in use", r.err, re.M), r.err


def test_exit_3_on_an_internal_error(scenario_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from sinkbench.run.bench import BenchRun

    async def boom(self: BenchRun, *args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(BenchRun, "run", boom)
    r = run_cli(["run", str(scenario_file(synthetic(10))), "--quiet"])
    assert r.code == 3
    assert "Traceback" not in r.err and "kaboom" in r.err
