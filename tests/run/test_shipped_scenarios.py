"""Every scenario in scenarios/ run end to end through `sinkbench run`, once, with all three reports.

Each run is cached per module so the checks below (exit code and accounting,
the JSON report's shape, JUnit and Markdown) share one run per scenario.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sinkbench.scenario.load import load_scenario

from .conftest import (
    EXPECTATION_KEYS,
    LATENCY_KEYS,
    REPORT_KEYS,
    ROOT,
    SCENARIOS,
    TIMELINE_KEYS,
    TOTAL_KEYS,
    CliResult,
    check_accounting,
    run_cli,
)

SHIPPED = sorted(p.stem for p in SCENARIOS.glob("*.toml"))

_runs: dict[str, CliResult] = {}


@pytest.fixture(scope="module")
def shipped_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shipped")


def shipped_run(name: str, reports: Path) -> CliResult:
    if name not in _runs:
        _runs[name] = run_cli(["run", str(SCENARIOS / f"{name}.toml"), "--quiet"], reports=reports, name=name)
    return _runs[name]


def test_every_shipped_scenario_is_covered() -> None:
    assert len(SHIPPED) >= 8, SHIPPED
    assert "quickstart" in SHIPPED and "outage-503" in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_passes_and_accounts_for_every_message(name: str, shipped_reports: Path) -> None:
    r = shipped_run(name, shipped_reports)
    assert r.code == 0, (r.out, r.err)
    r.assert_no_traceback()
    assert r.report is not None and r.junit is not None and r.summary is not None
    rep = r.report
    assert rep["passed"] is True
    assert rep["status"] == "completed"
    assert rep["totals"]["total"] > 0
    assert rep["totals"]["undelivered"] == 0
    check_accounting(rep)
    # --quiet: no progress line; the summary is on stdout.
    assert name in r.out and "PASSED" in r.out
    assert all(e["passed"] for e in rep["expectations"]), rep["expectations"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_json_report_has_the_documented_keys(name: str, shipped_reports: Path) -> None:
    rep = shipped_run(name, shipped_reports).report
    assert rep is not None
    scenario = load_scenario(SCENARIOS / f"{name}.toml")
    for key in REPORT_KEYS:
        assert key in rep, key
    assert rep["scenario"] == scenario.name
    assert isinstance(rep["passed"], bool)

    settings = rep["settings"]
    assert {"sink", "runtime", "source"} <= set(settings)
    assert settings["sink"]["batch_mode"] == str(scenario.sink.settings.batch_mode)
    assert settings["runtime"]["batch_length"] == scenario.runtime.batch_length
    assert settings["source"]["kind"] == scenario.source.kind

    for key in TOTAL_KEYS:
        assert key in rep["totals"], key
        assert isinstance(rep["totals"][key], int), (key, rep["totals"][key])   # the mock: all known

    for kind in ("request", "delivery"):
        summary = rep["latency"][kind]
        for key in LATENCY_KEYS:
            assert key in summary, (kind, key)
        assert summary["count"] > 0
        values = [summary[k] for k in ("min", "p50", "p90", "p95", "p99", "max")]
        assert all(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0 for v in values), summary
        assert values == sorted(values), summary   # min ≤ p50 ≤ … ≤ max (ms)
    assert rep["latency"]["delivery"]["count"] == rep["totals"]["delivered"]

    assert rep["requests_by_status"] and all(isinstance(n, int) for n in rep["requests_by_status"].values())
    assert sum(rep["requests_by_status"].values()) <= rep["totals"]["requests"]
    assert isinstance(rep["failed_message_attempts_by_reason"], dict)

    timeline = rep["timeline"]
    assert timeline, "one row per second"
    for row in timeline:
        for key in TIMELINE_KEYS:
            assert key in row, (key, row)
    assert [row["t"] for row in timeline] == list(range(len(timeline)))
    assert sum(row["delivered_message_attempts"] for row in timeline) == rep["totals"]["delivered"]
    assert sum(row["requests"] for row in timeline) == rep["totals"]["requests"]
    assert sum(row["retries"] for row in timeline) == rep["totals"]["retries"]

    assert len(rep["expectations"]) == len(scenario.expectations)
    for got, want in zip(rep["expectations"], scenario.expectations):
        for key in EXPECTATION_KEYS:
            assert key in got, key
        assert (got["metric"], got["expression"]) == (want.metric, want.expression)
        assert got["observed"] is not None

    endpoint = rep["endpoint"]
    assert endpoint is not None
    for key in ("requests", "by_status", "messages", "unique_messages", "duplicates", "bytes"):
        assert key in endpoint, key
    assert endpoint["unique_messages"] == rep["totals"]["total"] - rep["totals"]["lost"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenario_junit_and_markdown(name: str, shipped_reports: Path) -> None:
    r = shipped_run(name, shipped_reports)
    assert r.junit is not None and r.summary is not None and r.report is not None
    root = ET.parse(r.junit).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    suite = suites[0]
    assert suite.get("name") == r.report["scenario"]
    cases = suite.findall("testcase")
    names = [c.get("name") for c in cases]
    expected = ["run status"] + [f"{e['metric']} {e['expression']}" for e in r.report["expectations"]]
    assert names == expected
    assert int(suite.get("tests")) == len(cases) == int(root.get("tests"))
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    assert all(c.find("failure") is None and c.find("error") is None for c in cases)
    assert all(c.get("classname") == f"sinkbench.{r.report['scenario']}" for c in cases)
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["status"] == "completed"

    md = r.summary.read_text()
    assert r.report["scenario"] in md
    assert "### Messages" in md and "### Failed message-attempts" in md and "### Expectations" in md


@pytest.mark.parametrize("path", [*(f"scenarios/{n}.toml" for n in SHIPPED), "config.toml",
                                  "scenarios/streams/orders.jsonl"])
def test_validate_shipped_files(path: str) -> None:
    r = run_cli(["validate", str(ROOT / path)])
    assert r.code == 0, (r.out, r.err)
    assert "error" not in r.err
    assert f"{ROOT / path}: ok" in r.out
    r.assert_no_traceback()


def test_validate_all_shipped_files_at_once() -> None:
    files = [str(p) for p in sorted(SCENARIOS.glob("*.toml"))] + [str(ROOT / "config.toml")]
    r = run_cli(["validate", *files])
    assert r.code == 0, r.err
    assert r.out.count(": ok (") == len(files)
