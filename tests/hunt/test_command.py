"""`sinkbench hunt` on the command line: bad input is exit 2 naming the option, the budget and the time bound the
search, and a hunt that finds nothing claims nothing."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from run.conftest import run_cli, synthetic

# 200 messages at full speed and short retries: a candidate run takes a fraction of a second, and "total > 200"
# can never hold.
TINY = synthetic(200, batch_length=50, sink='retry_delay = "10ms"\nmax_retries = 2', expect='lost = "== 0"')


def _scenario(tmp_path: Path, text: str = TINY, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _no_output_files(tmp_path: Path) -> bool:
    return not list(tmp_path.glob("*.found.toml"))


@pytest.mark.parametrize("expr, says", [
    ("lost >", 'missing value after ">"'),
    ("lost", "expected METRIC OP VALUE"),
    ("lots > 0", "did you mean lost"),
    ("latency.delivery > 5s", "missing aggregation"),
    ("lost =< 0", 'did you mean "<="'),
])
def test_a_bad_break_is_exit_2_naming_the_option(tmp_path: Path, expr: str, says: str) -> None:
    r = run_cli(["hunt", str(_scenario(tmp_path)), "--break", expr])
    r.assert_no_traceback()
    assert r.code == 2 and r.err.startswith("error: --break: ") and says in r.err, r.err
    assert _no_output_files(tmp_path)


@pytest.mark.parametrize("args, says", [
    (["--budget", "0"], "--budget: expected a whole number of at least 1, got '0'"),
    (["--budget", "ten"], "--budget: expected a whole number"),
    (["--budget", "-3"], "--budget: expected a whole number"),
    (["--time", "150"], "--time: invalid duration '150'"),
    (["--time", "0s"], "--time: must be longer than 0s"),
    (["--time", "soon"], "--time: invalid duration"),
    (["--seed", "-1"], "--seed: expected a whole number of at least 0"),
    (["--set", "sink.max_retries=lots"], "max_retries"),
])
def test_bad_options_are_exit_2_naming_the_option(tmp_path: Path, args: list[str], says: str) -> None:
    r = run_cli(["hunt", str(_scenario(tmp_path)), "--break", "lost > 0", *args])
    r.assert_no_traceback()
    assert r.code == 2 and says in r.err, r.err


@pytest.mark.parametrize("text, says", [
    (synthetic(10), "the scenario has no [expect]: give --break EXPR"),
    (synthetic(10, url="http://127.0.0.1:9/x", expect='delivered = "== total"'), 'url must be "mock"'),
    ('[source]\nkind = "iggy"\nconnection = "iggy+tcp://u:p@127.0.0.1:1"\nstream = "s"\ntopics = ["t"]\n'
     '[sink]\nurl = "mock"\n[expect]\nlost = "== 0"\n', "not a live Iggy server"),
    ('[source]\ncount = 10\n[sink]\nkind = "external"\ncommand = ["cat"]\n[feed]\nkind = "stdin"\n'
     '[expect]\nlost = "== 0"\n', 'an external sink (kind = "external") is not hunted'),
])
def test_a_scenario_hunt_cannot_vary_is_exit_2(tmp_path: Path, text: str, says: str) -> None:
    r = run_cli(["hunt", str(_scenario(tmp_path, text))])
    r.assert_no_traceback()
    assert r.code == 2 and says in r.err, r.err
    assert "p@" not in r.err and "u:p" not in r.err


def test_out_must_go_to_an_existing_folder_and_not_over_the_scenario(tmp_path: Path) -> None:
    path = _scenario(tmp_path)
    r = run_cli(["hunt", str(path), "--out", str(tmp_path / "nope" / "x.toml")])
    assert r.code == 2 and r.err.startswith("error: --out: folder") and "does not exist" in r.err
    r = run_cli(["hunt", str(path), "--out", str(path)])
    assert r.code == 2 and "refusing to write over the scenario" in r.err


def test_a_break_that_already_holds_without_faults_is_exit_2(tmp_path: Path) -> None:
    r = run_cli(["hunt", str(_scenario(tmp_path)), "--break", "total >= 200"])
    r.assert_no_traceback()
    assert r.code == 2 and '--break: "total >= 200" already holds with a healthy endpoint' in r.err, r.err
    assert _no_output_files(tmp_path)


def _candidates(err: str) -> list[int]:
    return [int(n) for n in re.findall(r"^hunt: #(\d+) ", err, flags=re.M)]


def test_nothing_found_within_the_budget_is_exit_0_and_no_file(tmp_path: Path) -> None:
    r = run_cli(["hunt", str(_scenario(tmp_path)), "--break", "total > 200", "--budget", "3"])
    r.assert_no_traceback()
    assert r.code == 0, r.err
    assert r.out.startswith("no breaking plan in 3 candidate runs (the budget ran out); no file written")
    assert _candidates(r.err) == [1, 2, 3]
    assert "3 runs left" not in r.err and "0 runs left" in r.err
    assert _no_output_files(tmp_path)


def test_the_time_bounds_the_hunt_even_mid_candidate(tmp_path: Path) -> None:
    # A healthy run is quick; a candidate whose plan fails a request waits seconds between retries.
    path = _scenario(tmp_path, synthetic(200, batch_length=50, sink='retry_delay = "3s"\nmax_retries = 3',
                                         expect='lost = "== 0"'))
    started = time.monotonic()
    r = run_cli(["hunt", str(path), "--break", "total > 200", "--time", "5s"])
    took = time.monotonic() - started
    r.assert_no_traceback()
    assert r.code == 0 and "(the time ran out)" in r.out, (r.out, r.err)
    assert 5 <= took < 5 + 2.5, took
    assert _no_output_files(tmp_path)
