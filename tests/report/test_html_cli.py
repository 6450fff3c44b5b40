"""`--html` where users ask for it: `sinkbench run`, `sinkbench sweep`, an interrupted run, the session's `x`;
and no secret in any of them."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from reliability.test_secrets import HEADERS, SECRETS, TOKEN
from run.conftest import ROOT, run_cli, synthetic
from sweep.conftest import sweep_cli, tiny
from textual.widgets import Input
from tui.conftest import in_process, live_scenario, until

from sinkbench.tui.app import make_app
from sinkbench.tui.session import open_scenario

from .htmlcheck import assert_self_contained
from .test_html import OUTAGE


def test_run_writes_the_html_report_with_the_fault_window(tmp_path: Path) -> None:
    path = tmp_path / "outage.toml"
    path.write_text(textwrap.dedent(OUTAGE))
    out = tmp_path / "out" / "outage.html"          # a missing folder is created, as for every report
    r = run_cli(["run", str(path), "--html", str(out), "--quiet"])
    r.assert_no_traceback()
    assert r.code == 0, (r.out, r.err)
    html = out.read_text("utf-8")
    assert_self_contained(html)
    assert '<rect class="band fault"' in html and "PASSED" in html


def test_an_unwritable_html_path_stops_the_run_before_it_starts(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(synthetic(10))
    r = run_cli(["run", str(path), "--html", "/proc/no/such.html"])
    assert r.code == 2
    assert "--html /proc/no/such.html" in r.err
    assert "PASSED" not in r.out and "FAILED" not in r.out        # nothing ran


def test_sigint_writes_the_html_report_marked_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "long.toml"
    path.write_text(synthetic(100_000, rate=200, batch_length=10, timeout="120s"))
    out = tmp_path / "r.html"
    proc = subprocess.Popen([sys.executable, "-m", "sinkbench.cli", "run", str(path), "--html", str(out)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3)                                  # the endpoint up, some messages delivered
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    html = out.read_text("utf-8")
    assert_self_contained(html)
    assert "<title>[interrupted] " in html and "Interrupted: the run was stopped before its end" in html


def test_sweep_writes_the_html_report(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(tiny())
    out = tmp_path / "sweep.html"
    r = sweep_cli([str(path), "--vary", "max_retries=0,2", "--html", str(out), "--quiet"])
    r.assert_no_traceback()
    assert r.code == 0, r.err
    html = out.read_text("utf-8")
    assert_self_contained(html)
    assert html.count('<svg class="chart mini"') == 2 and '<div class="tradeoff"><svg' in html


def test_sweep_checks_the_html_path_before_running(tmp_path: Path) -> None:
    path = tmp_path / "tiny.toml"
    path.write_text(tiny())
    r = sweep_cli([str(path), "--vary", "max_retries=0,2", "--html", "/proc/no/such.html", "--quiet"])
    assert r.code == 2 and "--html /proc/no/such.html" in r.err


def test_a_mock_run_s_html_report_holds_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The headers of tests/reliability/test_secrets.py (Authorization from ${SB_TOKEN}, X-Api-Key, Cookie,
    Proxy-Authorization, a ${VAR} secret under a harmless name), sent through a 503 and a retry."""
    from reliability.test_secrets import CUSTOM

    monkeypatch.setenv("SB_TOKEN", TOKEN)
    monkeypatch.setenv("SB_CUSTOM", CUSTOM)
    endpoint = '''
        [[endpoint.faults]]
        requests = [1, 2]
        action = "status"
        status = 503
        body = "down"
    '''
    path = tmp_path / "s.toml"
    path.write_text(synthetic(40, batch_length=20, sink=HEADERS, endpoint=endpoint, expect='delivered = ">= 0"'))
    out = tmp_path / "r.html"
    r = run_cli(["run", str(path), "--html", str(out), "--quiet"])
    assert r.code == 0, (r.out, r.err)
    html = out.read_text("utf-8")
    assert_self_contained(html)
    assert "X-Tenant" in html and "[redacted]" in html            # the headers are shown, redacted
    for secret in SECRETS:
        assert secret not in html, secret


async def test_x_exports_the_html_page_while_the_run_goes_on(tmp_path: Path) -> None:
    app = make_app(open_scenario(live_scenario(tmp_path)), bench_factory=in_process, cwd=tmp_path,
                   refresh_interval=0.3)
    async with app.run_test(size=(160, 48)) as pilot:
        s = app.session
        await until(lambda: s.bench is not None and s.bench.snapshot() is not None and s.bench.snapshot().delivered > 0)
        await pilot.press("x")
        await pilot.pause()
        field = app.screen.query_one("#value", Input)
        assert field.value.endswith(".json")           # JSON unless asked otherwise
        field.value = "out/live.html"
        await pilot.press("enter")
        await until(lambda: (tmp_path / "out" / "live.html").exists())
        await pilot.press("x")
        await pilot.pause()
        app.screen.query_one("#value", Input).value = "out/live.json"
        await pilot.press("enter")
        await until(lambda: (tmp_path / "out" / "live.json").exists())
    html = (tmp_path / "out" / "live.html").read_text("utf-8")
    assert_self_contained(html)
    assert "<title>[interrupted] sinkbench: live" in html          # exported while it ran
    assert (tmp_path / "out" / "live.json").read_text("utf-8").lstrip().startswith("{")
