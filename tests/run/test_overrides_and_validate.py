"""`--set` end to end, and `sinkbench validate` on bad files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import ROOT, check_accounting, run_cli, synthetic


def test_set_overrides_every_section_end_to_end(scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    path = scenario_file(synthetic(200, batch_length=100, batch_mode="ndjson", expect='requests = "== 2"'))
    r = run_cli(["run", str(path), "--quiet",
                 "--set", "sink.batch_mode=individual",               # bare word: a string
                 "--set", "sink.max_retries=0",                       # TOML integer
                 "--set", "sink.success_status_codes=[200, 202]",     # TOML list
                 "--set", 'sink.timeout="5s"',                        # TOML string ...
                 "--set", "sink.retry_delay=20ms",                    # ... or a bare one
                 "--set", "sink.include_checksum=true",               # TOML boolean
                 "--set", "sink.headers.X-Tenant=acme",               # a nested key
                 "--set", "runtime.batch_length=50",
                 "--set", "runtime.offset_commit=after_consuming",
                 "--set", "endpoint.latency=1ms",
                 "--set", "endpoint.status=202",
                 "--set", "expect.requests=== 200",                   # replaces the file's expectation
                 "--set", "expect.delivered=== total",                # adds one
                 "--set", "scenario.name=renamed",
                 "--set", "scenario.seed=9"],
                reports=tmp_path / "out")
    assert r.code == 0, (r.out, r.err)
    rep = r.report
    assert rep is not None
    assert rep["scenario"] == "renamed"
    sink = rep["settings"]["sink"]
    assert sink["batch_mode"] == "individual"
    assert sink["max_retries"] == 0
    assert sink["success_status_codes"] == [200, 202]
    assert sink["timeout"] == 5.0 and sink["retry_delay"] == 0.02
    assert sink["include_checksum"] is True
    assert sink["headers"] == {"X-Tenant": "acme"}
    assert rep["settings"]["runtime"]["batch_length"] == 50
    assert rep["settings"]["runtime"]["offset_commit"] == "after_consuming"
    assert rep["settings"]["endpoint"]["latency"] == "1ms"
    assert rep["settings"]["endpoint"]["status"] == 202
    assert rep["settings"]["seed"] == 9
    assert rep["totals"]["requests"] == 200                        # individual: one request per message
    assert rep["requests_by_status"] == {"202": 200}
    assert [(e["metric"], e["expression"], e["passed"]) for e in rep["expectations"]] == [
        ("requests", "== 200", True), ("delivered", "== total", True)]
    check_accounting(rep)


def test_set_quoted_number_stays_a_string_and_the_error_names_set(scenario_file: Callable[..., Path]) -> None:
    r = run_cli(["run", str(scenario_file(synthetic(10))), "--set", 'sink.max_retries="5"'])
    assert r.code == 2
    r.assert_no_traceback()
    assert "--set" in r.err and "sink.max_retries" in r.err and "integer" in r.err


# -- validate -------------------------------------------------------------------------------------


def test_validate_bad_scenario_lists_every_error(scenario_file: Callable[..., Path]) -> None:
    path = scenario_file('''\
        [scenario]
        seeed = 3
        timeout = "forever"

        [source]
        kind = "synthetic"
        count = 10
        rate = -1

        [runtime]
        batch_length = 0

        [sink]
        url = "mock"
        batch_mod = "ndjson"
        retry_after = "honor"

        [expect]
        frobs = "> 1"

        [extra]
        a = 1
        ''', "broken.toml")
    r = run_cli(["validate", str(path)])
    assert r.code == 2
    r.assert_no_traceback()
    errors = [line for line in r.err.splitlines() if line.startswith("error: ")]
    expected = {"scenario.seeed": 2, "scenario.timeout": 3, "source.rate": 8, "runtime.batch_length": 11,
                "sink.batch_mod": 15, "sink.retry_after": 16, "expect.frobs": 19, "extra": 21}
    for key, line in expected.items():
        assert any(f"{path}:{line}: key '{key}'" in e for e in errors), (key, errors)
    assert len(errors) == len(expected), errors
    assert f"{path}: invalid ({len(expected)} errors)" in r.out


def test_validate_several_files_reports_each(scenario_file: Callable[..., Path]) -> None:
    good = ROOT / "scenarios" / "quickstart.toml"
    bad = scenario_file('[sink]\nurl = "ftp://example.com/x"\n[source]\ncount = 1\n', "bad.toml")
    r = run_cli(["validate", str(good), str(bad)])
    assert r.code == 2
    assert f"{good}: ok" in r.out and f"{bad}: invalid (1 error)" in r.out
    assert any(f"{bad}:2: key 'sink.url'" in line and "not allowed" in line for line in r.err.splitlines())


def test_validate_bad_stream_names_lines(tmp_path: Path) -> None:
    stream = tmp_path / "bad.jsonl"
    stream.write_text('{"sinkbench_stream": 1, "stream": "s", "topic": "t", "schema": "json"}\n'
                      '{"offset": 0, "timestamp": 1, "payload": {}}\n'
                      '{"offset": 1, "payload": {}}\n'
                      'not json\n')
    r = run_cli(["validate", str(stream)])
    assert r.code == 2
    r.assert_no_traceback()
    assert f"{stream}:3" in r.err and f"{stream}:4" in r.err
    assert f"{stream}: invalid (2 errors)" in r.out


def test_validate_scenario_checks_its_recorded_stream(tmp_path: Path) -> None:
    stream = tmp_path / "s.jsonl"
    stream.write_text('{"sinkbench_stream": 1, "stream": "s", "topic": "t", "schema": "json"}\n{"offset": 0}\n')
    scenario = tmp_path / "sc.toml"
    scenario.write_text('[source]\nkind = "recorded"\npath = "s.jsonl"\n[sink]\nurl = "mock"\n')
    r = run_cli(["validate", str(scenario)])
    assert r.code == 2
    assert f"{stream}:2" in r.err


@pytest.mark.parametrize("command", ["run", "validate"])
def test_duplicate_key_is_invalid_input(command: str, scenario_file: Callable[..., Path]) -> None:
    path = scenario_file('[source]\ncount = 5\ncount = 6\n[sink]\nurl = "mock"\n')
    r = run_cli([command, str(path)])
    assert r.code == 2, r.err
    assert f"{path}:3" in r.err and "count" in r.err
    r.assert_no_traceback()


def test_validate_lists_every_endpoint_error(scenario_file: Callable[..., Path]) -> None:
    path = scenario_file('[source]\ncount = 5\n[sink]\nurl = "mock"\n'
                         '[endpoint]\nstatus = 200\nfoo = 1\n[[endpoint.faults]]\naction = "explode"\n')
    r = run_cli(["validate", str(path)])
    assert r.code == 2
    assert f"{path}:7: key 'endpoint.foo'" in r.err
    assert f"{path}:9: key 'endpoint.faults[0].action'" in r.err
