"""Smaller CLI repairs: warnings once, --set's short keys, validate listing every error in line order,
a directory as a stream path, clean usage lines, and `mock --config SCENARIO` keeping the scenario's seed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from .conftest import ROOT, run_cli, synthetic


def test_a_warning_is_printed_once_with_its_location_once(scenario_file: Callable[..., Path]) -> None:
    path = scenario_file(synthetic(20, sink="tls_danger_accept_invalid_certs = true"))
    r = run_cli(["run", str(path), "--quiet"])
    assert r.code == 0, r.err
    both = r.out + r.err
    lines = [line for line in both.splitlines() if "TLS certificate validation is DISABLED" in line]
    assert len(lines) == 1, both
    assert lines[0].count(str(path)) == 1, lines[0]
    assert f"{path}:" in lines[0]


def test_the_ignored_endpoint_warning_says_where(scenario_file: Callable[..., Path]) -> None:
    path = scenario_file(synthetic(20, url="http://127.0.0.1:1/ingest", endpoint='[endpoint]\nlatency = "1ms"'))
    r = run_cli(["validate", str(path)])
    assert r.code == 0, r.err
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if text == "[endpoint]")
    assert f"warning: {path}:{line}: [endpoint] is ignored" in r.err


def test_set_takes_the_short_form_vary_takes(scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    path = scenario_file(synthetic(20))
    r = run_cli(["run", str(path), "--quiet", "--set", "max_retries=2", "--set", "batch_length=7",
                 "--set", "retry_delay=20ms"], reports=tmp_path / "out")
    assert r.code == 0, r.err
    assert r.report is not None
    assert r.report["settings"]["sink"]["max_retries"] == 2
    assert r.report["settings"]["sink"]["retry_delay"] == 0.02
    assert r.report["settings"]["runtime"]["batch_length"] == 7


@pytest.mark.parametrize("item, words", [
    ("timeout=5s", ["'timeout' is ambiguous", "scenario.timeout", "sink.timeout"]),
    ("headers.X-Team=a", ["'headers.X-Team' is ambiguous", "source.headers.X-Team", "sink.headers.X-Team"]),
    ("count=5", ["'count' is a [source] key: write source.count"]),
])
def test_a_short_key_two_sections_share_is_an_error_naming_both(scenario_file: Callable[..., Path], item: str,
                                                                words: list[str]) -> None:
    r = run_cli(["run", str(scenario_file(synthetic(20))), "--quiet", "--set", item])
    assert r.code == 2 and r.out == ""
    r.assert_no_traceback()
    for word in words:
        assert word in r.err, r.err


def test_sweep_and_set_read_short_keys_alike(scenario_file: Callable[..., Path]) -> None:
    # A fixed --set max_retries and a varied sink.max_retries are the same key: the sweep refuses both.
    path = scenario_file(synthetic(20))
    r = run_cli(["sweep", str(path), "--quiet", "--vary", "sink.max_retries=1,2", "--set", "max_retries=3"])
    assert r.code == 2
    assert "both varied and set" in r.err


def test_validate_lists_every_bad_source_key_in_line_order(scenario_file: Callable[..., Path]) -> None:
    path = scenario_file('[sink]\nurl = "mock"\nmax_retries = -1\n'
                         '[source]\nkind = "synthetic"\ncount = "3000"\nrate = -5\n'
                         '[scenario]\nseed = "x"\n')
    r = run_cli(["validate", str(path)])
    assert r.code == 2
    assert f"{path}: invalid (4 errors)" in r.out
    lines = [int(m.group(1)) for m in re.finditer(rf"^error: {re.escape(str(path))}:(\d+):", r.err, re.M)]
    assert lines == [3, 6, 7, 9], r.err
    assert "source.count" in r.err and "source.rate" in r.err


def test_a_directory_as_the_stream_path_is_named_a_directory(scenario_file: Callable[..., Path],
                                                             tmp_path: Path) -> None:
    (tmp_path / "streams").mkdir()
    path = scenario_file('[source]\nkind = "recorded"\npath = "streams"\n[sink]\nurl = "mock"\n')
    for command in ("validate", "run"):
        r = run_cli([command, str(path)])
        assert r.code == 2
        assert f"{path}:3: key 'source.path': is a directory, not a stream file" in r.err
        assert "not found" not in r.err


def test_usage_lines_are_clean(capsys: pytest.CaptureFixture[str]) -> None:
    from sinkbench.cli import main

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: sinkbench run [-h]"), out[:200]
    assert "COMMAND" not in out.split("\n\n")[0] and "|" not in out.split("\n\n")[0]
    with pytest.raises(SystemExit):
        main(["--help"])
    usage = capsys.readouterr().out.split("\n\n")[0]
    assert usage == ("usage: sinkbench [SCENARIO] [--versus KEY=VALUE...]\n"
                     "       sinkbench --web [SCENARIO] [--port P] [--host H] [--allow-remote]\n"
                     "       sinkbench COMMAND [OPTIONS] ..."), usage


@pytest.mark.parametrize("endpoint, seed", [("", 7), ("[endpoint]\nlatency = \"1ms\"\n", 7),
                                            ("[endpoint]\nseed = 3\n", 3)])
def test_mock_config_scenario_keeps_the_scenario_seed(tmp_path: Path, endpoint: str, seed: int) -> None:
    config = tmp_path / "scenario.toml"
    config.write_text(f'[scenario]\nname = "x"\nseed = 7\n[source]\ncount = 1\n[sink]\nurl = "mock"\n{endpoint}')
    proc = subprocess.Popen([sys.executable, "-m", "sinkbench.cli", "mock", "--port", "0", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("mock endpoint: "), (first, proc.stderr.read() if proc.poll() is not None else "")
        url = first.split(": ", 1)[1].strip()
        doc = httpx.get(f"{url}__sinkbench/endpoint", timeout=10).json()
        assert doc["seed"] == seed, doc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=20)
        finally:
            proc.kill()


def test_mock_config_with_a_bad_scenario_seed_names_its_line(tmp_path: Path) -> None:
    config = tmp_path / "scenario.toml"
    config.write_text('[scenario]\nseed = "seven"\n[endpoint]\nlatency = "1ms"\n')
    r = subprocess.run([sys.executable, "-m", "sinkbench.cli", "mock", "--port", "0", "--config", str(config)],
                       capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                       timeout=60)
    assert r.returncode == 2
    assert f"{config}:2: key 'scenario.seed': expected an integer" in r.stderr
