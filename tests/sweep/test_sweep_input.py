"""A sweep judges its input as `run` does: an unreadable stream is exit 2, report paths are checked first,
warnings are printed once with their location once."""

from __future__ import annotations

import json
from pathlib import Path

from sinkbench.model import Message
from sinkbench.sources.recorded import StreamWriter

from .conftest import sweep_cli


def _corrupt_scenario(tmp_path: Path) -> Path:
    stream = tmp_path / "data.jsonl"
    with StreamWriter(stream, stream="shop", topic="orders", schema="json") as w:
        for i in range(5):
            w.write(None, Message(id=i + 1, offset=i, timestamp=1_790_000_000_000_000 + i, payload={"n": i}))
    lines = stream.read_text().splitlines(keepends=True)
    lines[2] = '{"partition": 0, "offset": 1, broken\n'
    stream.write_text("".join(lines))
    scenario = tmp_path / "bad.toml"
    scenario.write_text('[scenario]\nname = "bad"\ntimeout = "20s"\n[source]\nkind = "recorded"\n'
                        'path = "data.jsonl"\n[runtime]\nbatch_length = 10\npoll_interval = "1ms"\n'
                        '[sink]\nurl = "mock"\nbatch_mode = "ndjson"\n')
    return scenario


def test_a_combination_whose_stream_breaks_is_invalid_input_never_a_pass(tmp_path):
    report = tmp_path / "sweep.json"
    out = sweep_cli([str(_corrupt_scenario(tmp_path)), "--vary", "max_retries=1,2", "--report", str(report),
                     "--quiet"])
    out.assert_no_traceback()
    assert out.code == 2, out.err
    assert "data.jsonl:3" in out.out + out.err
    doc = json.loads(report.read_text())
    statuses = [row["status"] for row in doc["rows"]]
    assert statuses == ["invalid_input", "invalid_input"], statuses
    assert all(not row["passed"] for row in doc["rows"])


def test_report_paths_are_checked_before_any_run(tmp_path):
    scenario = _corrupt_scenario(tmp_path)
    out = sweep_cli([str(scenario), "--vary", "max_retries=1,2", "--report", "/proc/version"])
    out.assert_no_traceback()
    assert out.code == 2
    assert "--report /proc/version" in out.err
    assert "invalid_input" not in out.out + out.err  # nothing ran


def test_a_warning_names_its_file_once(tmp_path):
    scenario = tmp_path / "warn.toml"
    scenario.write_text('[scenario]\nname = "w"\ntimeout = "20s"\n[source]\nkind = "synthetic"\ncount = 20\n'
                        '[sink]\nurl = "mock"\ntls_danger_accept_invalid_certs = true\n')
    out = sweep_cli([str(scenario), "--vary", "max_retries=1,2", "--quiet"])
    out.assert_no_traceback()
    warnings = [line for line in out.err.splitlines() if line.startswith("warning:")]
    assert warnings, out.err
    for line in warnings:
        assert line.count(str(scenario)) <= 1, line


def test_a_literal_credential_is_refused_a_var_reference_is_not(tmp_path, monkeypatch):
    scenario = tmp_path / "s.toml"
    scenario.write_text('[scenario]\nname = "s"\ntimeout = "20s"\n[source]\nkind = "synthetic"\ncount = 20\n'
                        '[sink]\nurl = "mock"\n')
    for args in (["--vary", 'headers.Authorization="Bearer s3cr3t-a","Bearer s3cr3t-b"'],
                 ["--vary", "max_retries=1,2", "--set", 'sink.headers.Authorization="Bearer s3cr3t-a"']):
        out = sweep_cli([str(scenario), *args, "--quiet"])
        out.assert_no_traceback()
        assert out.code == 2 and "${VAR}" in out.err and "Authorization" in out.err, out.err
        assert "s3cr3t" not in out.out + out.err
    monkeypatch.setenv("API_TOKEN", "s3cr3t-env")
    report = tmp_path / "r.json"
    out = sweep_cli([str(scenario), "--vary", "max_retries=1,2", "--set",
                     'sink.headers.Authorization="Bearer ${API_TOKEN}"', "--report", str(report), "--quiet"])
    assert out.code == 0, out.err
    assert "s3cr3t-env" not in out.out + out.err + report.read_text()
