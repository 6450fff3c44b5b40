"""The shipped examples of external sinks run as written (docs/external.md)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.external.conftest import ROOT
from tests.run.conftest import run_cli

EXAMPLES = ROOT / "examples"


def test_the_script_sink_example_runs_as_written(tmp_path: Path) -> None:
    result = run_cli(["run", str(EXAMPLES / "script-sink" / "scenario.toml")], reports=tmp_path / "out")
    result.assert_no_traceback()
    assert result.code == 0, result.out + result.err
    totals = result.report["totals"]
    assert (totals["delivered"], totals["lost"], totals["duplicates"]) == (600, 0, 0)
    assert result.report["requests_by_status"].get("503", 0) >= 1     # the 503 window was met and retried
    assert totals["retries"] >= 1


def test_every_example_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.real_iggy.stack import built_dir
    scenarios = {p.parent.name: p for p in EXAMPLES.glob("*/scenario.toml")}
    assert set(scenarios) >= {"script-sink", "syslog-ng", "iggy-connector"}
    checked = ["script-sink"]
    if shutil.which("syslog-ng") is not None:     # the command's program is checked: it must be installed
        checked.append("syslog-ng")
    bin_dir, _ = built_dir()
    if bin_dir is not None:
        for name, value in (("IGGY_BIN_DIR", str(bin_dir)), ("IGGY_ADDRESS", "127.0.0.1:8090"),
                            ("IGGY_HTTP", "http://127.0.0.1:3000"), ("IGGY_USERNAME", "u"), ("IGGY_PASSWORD", "p")):
            monkeypatch.setenv(name, value)
        checked.append("iggy-connector")
    for name in checked:
        result = run_cli(["validate", str(scenarios[name])])
        assert result.code == 0, (name, result.err)
        assert "external sink" in result.out


@pytest.mark.skipif(shutil.which("syslog-ng") is None,
                    reason="syslog-ng is not installed (Debian: apt-get install syslog-ng-core syslog-ng-mod-http)")
def test_the_syslog_ng_example_runs_as_written(tmp_path: Path) -> None:
    example = tmp_path / "syslog-ng"
    shutil.copytree(EXAMPLES / "syslog-ng", example, ignore=shutil.ignore_patterns("run", "in.log"))
    result = run_cli(["run", str(example / "scenario.toml")], reports=tmp_path / "out")
    result.assert_no_traceback()
    assert result.code == 0, result.out + result.err
    totals = result.report["totals"]
    assert (totals["delivered"], totals["lost"], totals["duplicates"]) == (300, 0, 0)
    assert result.report["requests_by_status"]["503"] >= 1      # it met the outage and retried through it
    assert "syslog-ng starting up" in result.report["external"]["output"]
    assert len((example / "in.log").read_bytes().splitlines()) == 300
    # Its private files, nothing of the system's.
    assert (example / "run" / "syslog-ng.persist").exists()


def test_every_report_shows_what_an_external_sink_keeps_as_na(tmp_path: Path) -> None:
    html = tmp_path / "r.html"
    result = run_cli(["run", str(EXAMPLES / "script-sink" / "scenario.toml"), "--html", str(html)],
                     reports=tmp_path / "out")
    assert result.code == 0, result.out + result.err
    totals = result.report["totals"]
    assert [totals[k] for k in ("failed", "skipped", "undelivered", "message_attempts")] == [None] * 4
    summary = result.summary.read_text()
    junit = result.junit.read_text()
    for text in (result.out, summary, html.read_text()):
        assert "n/a" in text
    assert "| 600 | 600 | n/a | n/a | n/a | 0 | 0 |" in summary
    assert "<system-err>output of the sink's command" in junit and "ready" in junit
    assert "failed message-attempts" not in result.out and "latency.request" not in result.out
    # The progress line's last figures carry nothing about failures the bench cannot know.
    assert "failed or skipped" not in result.err


@pytest.mark.skipif(shutil.which("syslog-ng") is None,
                    reason="syslog-ng is not installed (Debian: apt-get install syslog-ng-core syslog-ng-mod-http)")
def test_what_syslog_ng_drops_after_its_retries_is_counted_lost(tmp_path: Path) -> None:
    """retries(2): a batch refused twice is dropped; the bench counts exactly what never arrived."""
    example = tmp_path / "syslog-ng"
    shutil.copytree(EXAMPLES / "syslog-ng", example, ignore=shutil.ignore_patterns("run", "in.log"))
    conf = example / "syslog-ng.conf"
    conf.write_text(conf.read_text().replace("retries(10)", "retries(2)"))
    result = run_cli(["run", str(example / "scenario.toml"), "--set", 'endpoint.faults=[{after = "1s", '
                      'until = "5s", action = "status", status = 503}]', "--set", 'sink.settle="3s"'],
                     reports=tmp_path / "out")
    result.assert_no_traceback()
    assert result.code == 1, result.out + result.err      # lost == 0 does not hold
    totals = result.report["totals"]
    assert totals["lost"] > 0 and totals["delivered"] > 0
    assert totals["delivered"] + totals["lost"] == totals["total"] == 300
    assert totals["duplicates"] == 0
