import dataclasses
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from sinkbench.report import junit_xml, write_junit
from sinkbench.run.result import ExpectationResult

from .results import (
    ALL_RUNS,
    failing_run,
    interrupted_run,
    no_expectations_run,
    passing_run,
    real_url_run,
    sink_not_opened_run,
    skipping_run,
    timeout_run,
)


def parse(results):
    return ET.fromstring(junit_xml(results).encode("utf-8"))


def cases(suite):
    return {c.get("name"): c for c in suite.iter("testcase")}


@pytest.mark.parametrize("name", sorted(ALL_RUNS))
def test_every_shape_parses_and_counts_add_up(name):
    result = ALL_RUNS[name]()
    root = parse([result])
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    testcases = suite.findall("testcase")
    assert int(suite.get("tests")) == len(testcases) == len(result.expectations) + 1
    assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in testcases)
    assert int(suite.get("errors")) == sum(c.find("error") is not None for c in testcases)
    for attr in ("tests", "failures", "errors"):
        assert root.get(attr) == suite.get(attr)
    assert float(suite.get("time")) == pytest.approx(result.duration, abs=0.001)
    assert suite.get("name") == result.scenario
    assert all(c.get("classname") == f"sinkbench.{result.scenario}" for c in testcases)


def test_failing_run_shows_expected_and_observed():
    (suite,) = parse([failing_run()]).findall("testsuite")
    assert suite.get("tests") == "7"
    assert suite.get("failures") == "3"
    assert suite.get("errors") == "0"
    assert suite.get("timestamp") == "2026-11-26T12:00:00+00:00"
    by_name = cases(suite)
    assert list(by_name) == ["run status", "delivered == total", "lost == 0", "duplicates == 0",
                             "retries <= 200", "latency.delivery p(95) < 2s", "latency.delivery max < 15s"]
    failure = by_name["latency.delivery p(95) < 2s"].find("failure")
    assert failure.get("message") == "expected latency.delivery p(95) < 2s, observed 2.41s"
    assert failure.get("type") == "expectation"
    assert failure.text == "p(95) = 2.41s (expected < 2s)"
    failure = by_name["delivered == total"].find("failure")
    assert failure.get("message") == "expected delivered == total, observed 4812"
    assert "5000" in failure.text
    assert by_name["duplicates == 0"].find("failure") is None
    assert by_name["run status"].find("failure") is None


def test_run_status_case_carries_the_summary():
    (suite,) = parse([failing_run()]).findall("testsuite")
    out = cases(suite)["run status"].find("system-out").text
    assert "delivered    4,812" in out
    assert "FAILED  outage-503: 3 of 6 expectations failed" in out
    assert "\x1b[" not in out


def test_the_summary_in_the_run_status_case_says_each_counts_unit():
    (suite,) = parse([skipping_run()]).findall("testsuite")
    out = cases(suite)["run status"].find("system-out").text
    assert "requests by status       200 × 4,990, 503 × 39" in out
    assert "failed message-attempts  804  status 503" in out
    assert "skipped messages          10  oversize (skipped on 3,430 message-attempts)" in out


def test_passing_run_has_no_failures():
    root = parse([passing_run()])
    assert root.get("failures") == "0" and root.get("errors") == "0"


def test_no_expectations_still_has_a_passing_test():
    (suite,) = parse([no_expectations_run()]).findall("testsuite")
    (case,) = suite.findall("testcase")
    assert case.get("name") == "run status"
    assert case.find("failure") is None and case.find("error") is None


def test_timeout_fails_the_run_status_case_even_when_expectations_held():
    (suite,) = parse([timeout_run()]).findall("testsuite")
    status = cases(suite)["run status"]
    failure = status.find("failure")
    assert failure.get("type") == "timeout"
    assert failure.get("message").startswith("run timed out: timeout after 30s")
    assert cases(suite)["lost == 0"].find("failure") is None
    assert suite.get("failures") == "1"


def test_sink_not_opened_is_judged_by_its_expectations():
    # DESIGN §7: a failing health check is what the scenario shows, judged by its expectations.
    (suite,) = parse([sink_not_opened_run()]).findall("testsuite")
    assert cases(suite)["run status"].find("failure") is None
    (suite,) = parse([dataclasses.replace(sink_not_opened_run(), passed=False)]).findall("testsuite")
    failure = cases(suite)["run status"].find("failure")
    assert failure.get("type") == "sink_not_opened"
    assert "health check failed" in failure.get("message")


def test_interrupted_is_an_error():
    root = parse([interrupted_run()])
    (suite,) = root.findall("testsuite")
    error = cases(suite)["run status"].find("error")
    assert error.get("type") == "interrupted"
    assert "SIGINT" in error.text
    assert (root.get("errors"), root.get("failures")) == ("1", "0")


def test_unknown_observed_value():
    (suite,) = parse([real_url_run()]).findall("testsuite")
    failure = cases(suite)["lost == 0"].find("failure")
    assert failure.get("message") == "expected lost == 0, observed unknown"
    assert "not the embedded mock" in failure.text


def test_several_scenarios_one_suite_each_with_totals():
    runs = [failing_run(), passing_run(), timeout_run()]
    root = parse(runs)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["outage-503", "steady", "slow-drain"]
    assert root.get("tests") == str(7 + 3 + 2)
    assert root.get("failures") == str(3 + 0 + 1)
    assert float(root.get("time")) == pytest.approx(sum(r.duration for r in runs), abs=0.002)


def test_hostile_text_is_escaped_and_still_parses():
    nasty = 'a <b> & "c" \x1b[31mred\x00\x07 \ud800 \ufffe'
    r = replace(failing_run(), scenario="x<y>&z", description=nasty, notes=[nasty],
                errors={nasty: 1},
                expectations=[ExpectationResult("lost", "<= 0 ]]>", 3, nasty, False, nasty)])
    text = junit_xml([r])
    text.encode("utf-8")  # no lone surrogates left
    root = ET.fromstring(text)
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "x<y>&z"
    (case,) = [c for c in suite.findall("testcase") if c.get("name") != "run status"]
    assert case.get("name") == "lost <= 0 ]]>"
    failure = case.find("failure")
    assert "\\x1b[31mred\\x00\\x07" in failure.text
    assert "\x1b" not in text and "\x00" not in text


def test_timestamp_forms():
    def stamp(value):
        return parse([replace(failing_run(), started_at=value)]).find("testsuite").get("timestamp")
    assert stamp("2026-11-26T12:00:00.123456+00:00") == "2026-11-26T12:00:00+00:00"
    assert stamp("2026-11-26T13:00:00+01:00") == "2026-11-26T12:00:00+00:00"
    assert stamp("2026-11-26T12:00:00") == "2026-11-26T12:00:00+00:00"
    assert stamp("not a date") == "not a date"


def test_write_junit(tmp_path):
    path = tmp_path / "junit" / "sinkbench.xml"
    write_junit([failing_run()], path)
    data = path.read_bytes()
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites')
    assert ET.parse(path).getroot().get("failures") == "3"
