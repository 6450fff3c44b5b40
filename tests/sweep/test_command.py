"""`sinkbench sweep` end to end: real bench runs against the embedded endpoint, every output, --write-best."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .conftest import ROOT, SCENARIOS, SweepCli, outage, sweep_cli, tiny

# -- one sweep over a short outage, shared by the checks below ------------------------------

_cache: dict[str, tuple[SweepCli, Path]] = {}


@pytest.fixture(scope="module")
def outage_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[SweepCli, Path]:
    """batch_mode × max_retries over a 300 ms outage; Iggy's at-most-once commit, so no retries loses messages."""
    if "run" not in _cache:
        folder = tmp_path_factory.mktemp("sweep")
        scenario = folder / "short-outage.toml"
        scenario.write_text(outage())
        out = folder / "out"
        r = sweep_cli([str(scenario), "--vary", "sink.batch_mode=ndjson,json_array", "--vary", "max_retries=0,20",
                       "--parallel", "2", "--report", str(out / "sweep.json"), "--csv", str(out / "sweep.csv"),
                       "--markdown", str(out / "sweep.md"), "--chart", str(out / "sweep.svg")])
        _cache["run"] = (r, out)
    return _cache["run"]


def test_sweep_runs_every_combination_and_exits_0(outage_sweep) -> None:
    r, out = outage_sweep
    assert r.code == 0, r.err
    r.assert_no_traceback()
    rows = json.loads((out / "sweep.json").read_text())["rows"]
    assert sorted(row["label"] for row in rows) == [
        "batch_mode=json_array max_retries=0", "batch_mode=json_array max_retries=20",
        "batch_mode=ndjson max_retries=0", "batch_mode=ndjson max_retries=20"]
    # Progress on stderr (not a terminal here): one line per finished combination.
    assert sorted(line.split(" done")[0] for line in r.err.splitlines() if " done in " in line) == [
        f"combination {i}/4" for i in range(1, 5)]


def test_the_front_ranks_first_and_the_best_loses_nothing(outage_sweep) -> None:
    r, out = outage_sweep
    rows = json.loads((out / "sweep.json").read_text())["rows"]
    lost = {row["label"]: row["lost"] for row in rows}
    # The outage never outlasts twenty retries (20 waits uniform in [0, 100ms) against 300 ms of 503s).
    assert lost["batch_mode=ndjson max_retries=20"] == 0 and lost["batch_mode=json_array max_retries=20"] == 0
    assert [row["rank"] for row in rows] == [1, 2, 3, 4]
    fronts = [row["front"] for row in rows]
    assert fronts == sorted(fronts, reverse=True) and fronts[0], rows
    assert rows[0]["lost"] == 0 and rows[0]["values"]["sink.max_retries"] == 20
    # Within the front, lost first: a front row that loses never ranks above one that does not.
    front = [row["lost"] > 0 for row in rows if row["front"]]
    assert front == sorted(front)
    assert all(row["passed"] == (row["lost"] == 0) for row in rows)


def test_every_combination_ran_with_the_scenario_seed(outage_sweep) -> None:
    _, out = outage_sweep
    runs = json.loads((out / "sweep.json").read_text())["runs"]
    assert len(runs) == 4
    assert {run["result"]["settings"]["seed"] for run in runs} == {11}
    for run in runs:
        sink = run["result"]["settings"]["sink"]
        assert (sink["batch_mode"], sink["max_retries"]) == (run["values"]["sink.batch_mode"],
                                                             run["values"]["sink.max_retries"])


def test_the_table_is_printed(outage_sweep) -> None:
    r, out = outage_sweep
    lines = r.out.splitlines()
    assert lines[0].startswith("sweep short-outage — 4 combinations, seed 11, 2 at a time")
    assert lines[1].startswith("sorted by: the Pareto front first (●), then fewest lost, then fewest duplicates")
    header = next(line for line in lines if line.strip().startswith("#  batch_mode"))
    assert header.split() == ["#", "batch_mode", "max_retries", "front", "delivered", "lost", "dups", "requests",
                              "retries", "drain", "p95", "p99", "bytes", "expectations"]
    start = lines.index(header)
    rows = lines[start + 1:start + 5]
    assert [row.split()[0] for row in rows] == ["1", "2", "3", "4"]
    assert rows[0].split()[2:4] == ["20", "●"]
    assert lines[start + 5].strip().startswith("● Pareto front: no other combination")
    assert "  requests" in lines and any(line.rstrip().endswith("  drain") for line in lines)   # the chart
    assert any(line.startswith("best: #1 batch_mode=") and "max_retries=20" in line for line in lines)
    passed = sum(row["passed"] for row in json.loads((out / "sweep.json").read_text())["rows"])
    assert lines[-1] == f"{passed} of 4 combinations passed the scenario's expectations"


def test_csv_json_markdown_and_svg_are_written_and_parse(outage_sweep) -> None:
    _, out = outage_sweep
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    report = json.loads((out / "sweep.json").read_text())
    assert [int(row["rank"]) for row in rows] == [1, 2, 3, 4]
    assert [int(row["lost"]) for row in rows] == [row["lost"] for row in report["rows"]]
    assert {row["sink.max_retries"] for row in rows} == {"0", "20"}
    md = (out / "sweep.md").read_text()
    assert md.startswith("# sinkbench sweep: short-outage")
    assert len([line for line in md.splitlines() if line.startswith("| ")]) == 6
    assert "```text\nrequests\n" in md and "![short-outage: drain vs requests](sweep.svg)" in md
    root = ET.parse(out / "sweep.svg").getroot()
    ns = "{http://www.w3.org/2000/svg}"
    points = [g for g in root.iter(f"{ns}g") if (g.get("class") or "").startswith("point ")]
    assert len(points) == 4
    classes = {g.get("data-rank"): g.get("class") for g in points}
    assert classes["1"] == "point passed front"
    for row in report["rows"]:
        expected = ["point", "lost" if row["lost"] else "passed", *(["front"] if row["front"] else [])]
        assert classes[str(row["rank"])] == " ".join(expected)
    assert [row["front"] for row in rows] == [str(row["front"]).lower() for row in report["rows"]]


def test_shipped_outage_ranks_what_the_connector_runs_first(tmp_path: Path, config: Path) -> None:
    """The shipped outage-503 scenario, twice: at-least-once rides the outage out, but the Iggy runtime commits
    when it polls, so that row is a what-if: ranked second, marked, and never what --write-best writes."""
    r = sweep_cli([str(SCENARIOS / "outage-503.toml"), "--vary", "runtime.offset_commit=after_polling,after_consuming",
                   "--parallel", "2", "--quiet", "--report", str(tmp_path / "s.json"),
                   "--write-best", str(config), "--dry-run"])
    assert r.code == 0, r.err
    rows = json.loads((tmp_path / "s.json").read_text())["rows"]
    assert [row["values"]["runtime.offset_commit"] for row in rows] == ["after_polling", "after_consuming"]
    assert rows[0]["lost"] > 0 and rows[0]["passed"] is False and rows[0]["connector_runs"] is True
    assert rows[1]["lost"] == 0 and rows[1]["passed"] is True and rows[1]["connector_runs"] is False
    assert rows[1]["not_connector"] == ["offset_commit = after_consuming"]
    assert rows[0]["front"] and rows[1]["front"]        # each the front of its own part
    table = r.out.splitlines()
    assert any(line.split()[:2] == ["2", "after_consuming†"] for line in table)
    assert ("† offset_commit = after_consuming is not what the connector runs: the Iggy runtime commits offsets "
            "when it polls") in r.out
    assert "#2 ran with it: what-if figures, ranked after the rows the connector can run" in r.out
    assert "best: #1 offset_commit=after_polling" in r.out
    # Only offset_commit was varied, and that is no key of the connector file: nothing to write.
    assert f"--write-best {config}: #1 offset_commit=after_polling" in r.out
    assert "already holds these settings" in r.out


# -- --write-best -------------------------------------------------------------------------------

@pytest.fixture
def tiny_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(tiny(40))
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text((ROOT / "config.toml").read_text())
    return path


def test_write_best_shows_the_diff_and_keeps_every_comment(tiny_scenario: Path, config: Path) -> None:
    original = config.read_text()
    # No fault: nothing lost anywhere, so the fewest requests win: ndjson with 40 to a batch sends one.
    r = sweep_cli([str(tiny_scenario), "--vary", "batch_mode=individual,ndjson", "--vary", "batch_length=10,40",
                   "--set", "sink.max_retries=5", "--parallel", "2", "--quiet", "--write-best", str(config)])
    assert r.code == 0, r.err
    r.assert_no_traceback()
    assert "best: #1 batch_mode=ndjson batch_length=40" in r.out
    assert f"--write-best {config}: #1 batch_mode=ndjson batch_length=40" in r.out
    assert "-max_retries = 3\n+max_retries = 5" in r.out
    assert "-batch_length = 100 " in r.out and "+batch_length = 40 " in r.out
    assert f"wrote {config} (the original is in {config}.bak)" in r.out
    assert Path(f"{config}.bak").read_text() == original
    old, new = original.splitlines(), config.read_text().splitlines()
    assert len(old) == len(new)
    changed = [(a, b) for a, b in zip(old, new) if a != b]
    assert changed == [("batch_length = 100           # messages per poll (runtime default 1000)",
                        "batch_length = 40           # messages per poll (runtime default 1000)"),
                       ("max_retries = 3", "max_retries = 5")]
    # The run used the scenario's own poll_interval and retry_delay: said, not written.
    assert "note: the sweep ran with poll_interval = 2ms" in r.err


def test_dry_run_shows_the_diff_and_leaves_the_file_untouched(tiny_scenario: Path, config: Path) -> None:
    before = config.read_bytes()
    r = sweep_cli([str(tiny_scenario), "--vary", "batch_mode=individual,ndjson", "--vary", "max_retries=6",
                   "--parallel", "2", "--quiet", "--write-best", str(config), "--dry-run"])
    assert r.code == 0, r.err
    assert "+max_retries = 6" in r.out and f"dry run: {config} not written" in r.out
    assert config.read_bytes() == before
    assert sorted(p.name for p in config.parent.iterdir()) == ["config.toml", "tiny.toml"]


# -- invalid input: exit 2 before anything runs -----------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["--vary", "max_retry=1,2"], ["--vary", "'max_retry'", "did you mean 'max_retries'"]),
    (["--vary", "sink.jitter=full,none"], ["--vary", "key 'sink.jitter'", 'profile = "enhanced"']),
    (["--vary", "sink.max_retries=1,many"], ["--vary", "key 'sink.max_retries'", "expected an integer",
                                              "max_retries=many"]),
    (["--vary", "batch_mode=ndjson,xml"], ["--vary", "key 'sink.batch_mode'", "xml"]),
    (["--vary", "endpoint.status=200,503"], ["--vary", "[endpoint] keys cannot be varied"]),
    (["--vary", "max_retries"], ["expected KEY=V1,V2"]),
    (["--vary", "max_retries=1,2", "--objective", "lost,speed"], ["--objective", "unknown metric 'speed'"]),
    (["--vary", "max_retries=1,2", "--parallel", "0"], ["--parallel must be at least 1"]),
    (["--vary", "max_retries=1,2", "--dry-run"], ["--dry-run", "--write-best"]),
    (["--vary", "max_retries=1,2", "--write-best", "missing.toml"], ["missing.toml", "no such file"]),
    ([], ["nothing to vary"]),
])
def test_invalid_input_exits_2_naming_the_flag_and_key(tiny_scenario: Path, args: list[str],
                                                       words: list[str]) -> None:
    r = sweep_cli([str(tiny_scenario), *args])
    assert r.code == 2, (r.out, r.err)
    r.assert_no_traceback()
    assert r.out == ""
    assert r.err.startswith("error: ")
    for word in words:
        assert word in r.err
    assert "combination 1/" not in r.err          # nothing ran


def test_more_than_16_combinations_need_yes(tiny_scenario: Path) -> None:
    r = sweep_cli([str(tiny_scenario), "--vary", "max_retries=0,1,2,3,4,5", "--vary", "retry_delay=1ms,2ms,3ms"])
    assert r.code == 2 and r.out == ""
    assert "18 combinations (6 × 3), more than 16" in r.err and "--yes" in r.err
    sixteen = sweep_cli([str(tiny_scenario), "--vary", "max_retries=0,1,2,3", "--vary", "retry_delay=1ms,2ms,3ms,4ms",
                         "--vary", "batch_mode=ndjson", "--objective", "bogus"])
    assert sixteen.code == 2 and "more than 16" not in sixteen.err       # 16 is allowed (and the objective is bad)


def test_invalid_combination_is_reported_before_any_runs(tiny_scenario: Path) -> None:
    r = sweep_cli([str(tiny_scenario), "--vary", "profile=iggy,enhanced", "--vary", "jitter=none,equal"])
    assert r.code == 2
    assert r.err.count("error: ") == 1
    assert "in 2 of 4 combinations: profile=iggy jitter=none; profile=iggy jitter=equal" in r.err


def test_the_command_module_imports_light() -> None:
    code = ("import sys, sinkbench.commands.sweep as s; "
            "assert s.HELP and 'example' in s.DESCRIPTION; "
            "bad = [m for m in sys.modules if m.startswith(('textual', 'sinkbench.sweep', 'sinkbench.run', "
            "'sinkbench.engine', 'httpx'))]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
