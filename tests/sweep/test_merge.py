"""`--shard K/N` and `sinkbench sweep merge`: real slices merged into the single sweep's report, and every
refusal; --write-best after a merge; the documented `--objective -METRIC` form."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from pathlib import Path

import orjson
import pytest

from sinkbench.sweep.merge import merge_reports
from sinkbench.sweep.stored import as_reported, json_default, result_from_json

from .conftest import (
    ROOT,
    SCENARIOS,
    SweepCli,
    fake_result,
    fake_sweep,
    sweep_cli,
    tiny,
    write_shards,
)
from .test_pareto import README, readme_sweep

SIX = ["--vary", "sink.batch_mode=individual,ndjson", "--vary", "runtime.batch_length=10,20,40"]


# -- real slices: a 6-combination sweep run whole and as 3 shards ----------------------------------------

@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """tiny (40 messages, all available at once): individual sends 40 requests, ndjson one per batch — the
    request counts, and so the ranking and the front, do not depend on timing."""
    folder = tmp_path_factory.mktemp("shards")
    scenario = folder / "tiny.toml"
    scenario.write_text(tiny(40))
    single = sweep_cli([str(scenario), *SIX, "--parallel", "2", "--quiet", "--report", str(folder / "single.json")])
    shards = [sweep_cli([str(scenario), *SIX, "--shard", f"{k}/3", "--parallel", "2",
                         "--report", str(folder / f"shard-{k}.json")]) for k in (1, 2, 3)]
    merged = sweep_cli(["merge", *(str(folder / f"shard-{k}.json") for k in (3, 1, 2)),
                        "--report", str(folder / "merged.json"), "--csv", str(folder / "merged.csv"),
                        "--markdown", str(folder / "merged.md"), "--chart", str(folder / "merged.svg")])
    return {"folder": folder, "single": single, "shards": shards, "merged": merged}


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _steady(rows: list[dict]) -> list[tuple]:
    """What does not depend on timing: place, combination, front, and the counts."""
    return [(r["rank"], r["label"], r["front"], r["delivered"], r["lost"], r["duplicates"], r["requests"],
             r["passed"]) for r in rows]


def test_each_shard_runs_its_slice_of_the_plan(real: dict) -> None:
    for k, r in enumerate(real["shards"], start=1):
        assert r.code == 0, r.err
        r.assert_no_traceback()
        data = _load(real["folder"] / f"shard-{k}.json")
        assert data["sweep"]["shard"] == {"k": k, "n": 3, "combinations": [k, k + 3]}
        assert data["sweep"]["combinations"] == 6 and len(data["runs"]) == 2
        assert r.out.startswith(f"sweep tiny — slice {k}/3: 2 of 6 combinations, seed 5, 2 at a time")
        done = sorted(line.split(" done")[0] for line in r.err.splitlines() if " done in " in line)
        assert done == [f"combination {k}/6", f"combination {k + 3}/6"]
    fingerprints = {_load(real["folder"] / f"shard-{k}.json")["sweep"]["plan"]["fingerprint"] for k in (1, 2, 3)}
    assert fingerprints == {_load(real["folder"] / "single.json")["sweep"]["plan"]["fingerprint"]}


def test_merged_shards_list_the_same_combinations_once_with_the_same_front(real: dict) -> None:
    merged, single = real["merged"], real["single"]
    assert single.code == 0 and merged.code == 0, merged.err
    merged.assert_no_traceback()
    assert merged.err.startswith("merged 3 slices of 6 combinations: ")
    m, s = _load(real["folder"] / "merged.json"), _load(real["folder"] / "single.json")
    labels = [r["label"] for r in m["rows"]]
    assert len(labels) == len(set(labels)) == 6 and set(labels) == {r["label"] for r in s["rows"]}
    assert sorted(r["combination"] for r in m["runs"]) == [1, 2, 3, 4, 5, 6]
    assert _steady(m["rows"]) == _steady(s["rows"])
    front = {r["label"] for r in m["rows"] if r["front"]}
    assert front == {r["label"] for r in s["rows"] if r["front"]} == {"batch_mode=ndjson batch_length=40"}
    assert m["sweep"]["shard"] is None and m["sweep"]["plan"] == s["sweep"]["plan"]
    assert merged.out.startswith("sweep tiny — 6 combinations, seed 5, 2 at a time")
    assert "best: #1 batch_mode=ndjson batch_length=40" in merged.out
    assert (real["folder"] / "merged.md").read_text().startswith("# sinkbench sweep: tiny")
    assert len((real["folder"] / "merged.csv").read_text().splitlines()) == 7
    assert (real["folder"] / "merged.svg").read_text().count('class="point ') == 6


def test_merge_gives_exactly_the_single_sweeps_report(real: dict, tmp_path: Path) -> None:
    """The same results, whole or cut in slices and merged: byte for byte the same JSON, the same table."""
    single_json = (real["folder"] / "single.json").read_bytes()
    again = sweep_cli(["merge", str(real["folder"] / "single.json"), "--quiet", "--report", str(tmp_path / "a.json")])
    assert again.code == 0, again.err
    assert (tmp_path / "a.json").read_bytes() == single_json
    assert again.out == real["single"].out and again.err == ""
    whole = merge_reports([real["folder"] / "single.json"]).sweep
    for n in (2, 3, 6):
        paths = write_shards(tmp_path, whole, n, stem=f"cut{n}")
        r = sweep_cli(["merge", *map(str, reversed(paths)), "--quiet", "--report", str(tmp_path / f"m{n}.json")])
        assert r.code == 0, r.err
        assert (tmp_path / f"m{n}.json").read_bytes() == single_json
        assert r.out == real["single"].out


def test_a_run_reads_back_from_its_report_unchanged(real: dict) -> None:
    """stored.result_from_json inverts RunResult.to_json (a rename there must be mirrored)."""
    for run in _load(real["folder"] / "single.json")["runs"]:
        back = result_from_json(run["result"])
        again = orjson.loads(orjson.dumps(back.to_json(), default=json_default, option=orjson.OPT_NON_STR_KEYS))
        assert again == run["result"]
        assert as_reported(back) == back


# -- refusals ----------------------------------------------------------------------------------------------

@pytest.fixture
def six(tmp_path: Path):
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(tiny(40))
    results = [fake_result(requests=40 - 5 * i, drain=None) for i in range(6)]
    return fake_sweep(scenario, results, varies=["sink.batch_mode=individual,ndjson", "runtime.batch_length=10,20,40"])


def _merge(*args: object) -> SweepCli:
    r = sweep_cli(["merge", *map(str, args)])
    r.assert_no_traceback()
    return r


def test_merging_2_of_3_slices_names_the_missing_one(six, tmp_path: Path) -> None:
    a, b, _ = write_shards(tmp_path, six, 3)
    r = _merge(a, b, "--report", tmp_path / "out.json")
    assert r.code == 2 and r.out == ""
    assert r.err == "error: sweep merge: slice 3/3 missing\n"
    assert not (tmp_path / "out.json").exists()
    _, b, _ = write_shards(tmp_path, six, 3)
    assert "error: sweep merge: slices 1/3 and 3/3 missing" in _merge(b).err


def test_a_slice_given_twice_is_refused(six, tmp_path: Path) -> None:
    a, b, c = write_shards(tmp_path, six, 3)
    copy = tmp_path / "copy.json"
    copy.write_bytes(b.read_bytes())
    r = _merge(a, b, copy, c)
    assert r.code == 2 and f"slice 2/3 given twice: {b} and {copy}" in r.err


def test_slices_of_different_plans_or_scenarios_are_refused(six, tmp_path: Path) -> None:
    a, b, c = write_shards(tmp_path, six, 3)
    other_vary = fake_sweep(six.plan.file, [fake_result()] * 6,
                            varies=["sink.batch_mode=individual,ndjson", "runtime.batch_length=10,20,50"])
    (tmp_path / "v").mkdir()
    _, bv, _ = write_shards(tmp_path / "v", other_vary, 3)
    r = _merge(a, bv, c)
    assert r.code == 2
    assert (f"{a} and {bv} are not slices of one sweep: different --vary (sink.batch_mode=individual,ndjson "
            "runtime.batch_length=10,20,40 and sink.batch_mode=individual,ndjson runtime.batch_length=10,20,50)") in r.err
    other = tmp_path / "other.toml"
    other.write_text(tiny(40).replace('name = "tiny"', 'name = "other"'))
    (tmp_path / "o").mkdir()
    _, bo, _ = write_shards(tmp_path / "o", fake_sweep(other, [fake_result()] * 6, varies=six.plan.vary_items), 3)
    assert f"are not slices of one sweep: different scenarios ({six.plan.file} and {other})" in _merge(a, bo, c).err
    (tmp_path / "s").mkdir()
    _, bs, _ = write_shards(tmp_path / "s", fake_sweep(six.plan.file, [fake_result()] * 6, varies=six.plan.vary_items,
                                                       sets=["sink.max_retries=5"]), 3)
    assert "different --set (none and sink.max_retries=5)" in _merge(a, bs, c).err
    halves = write_shards(tmp_path, six, 2)
    r = _merge(a, halves[1], c)
    assert r.code == 2 and f"{a} (slice 1/3) and {halves[1]} (slice 2/2) cut the sweep differently" in r.err


def test_a_scenario_edited_between_the_slices_or_since_is_refused(six, tmp_path: Path) -> None:
    a, b, c = write_shards(tmp_path, six, 3)
    scenario = Path(six.plan.file)
    scenario.write_text(tiny(40).replace("payload_bytes = 32", "payload_bytes = 33"))
    (tmp_path / "e").mkdir()
    _, b2, _ = write_shards(tmp_path / "e", fake_sweep(scenario, [fake_result()] * 6, varies=six.plan.vary_items), 3)
    assert f"not slices of one sweep: the scenario file {scenario} with different content" in _merge(a, b2, c).err
    r = _merge(a, b, c)
    assert r.code == 2
    assert f"error: {scenario}: not the scenario the shards ran: it changed since" in r.err
    scenario.unlink()
    r = _merge(a, b, c)
    assert r.code == 2 and str(scenario) in r.err and "merge plans the sweep again from" in r.err


@pytest.mark.parametrize("content, words", [
    (b"{not json", ["not JSON", "merge takes the --report files of sinkbench sweep"]),
    (b'{"scenario": "x", "passed": true}', ["not a sweep report"]),
    (b'{"sweep": {"scenario": "x"}, "rows": [], "runs": []}', ["written by an older sinkbench", "run its slice again"]),
    (b'{"sweep": {"format": 2, "plan": {}}, "runs": []}', ["malformed sweep report (its 'fingerprint'"]),
])
def test_what_is_not_a_shard_report_is_refused(tmp_path: Path, content: bytes, words: list[str]) -> None:
    path = tmp_path / "r.json"
    path.write_bytes(content)
    r = _merge(path)
    assert r.code == 2 and r.err.startswith(f"error: {path}: ")
    for word in words:
        assert word in r.err
    assert "no such file" in _merge(tmp_path / "missing.json").err


def test_a_report_that_does_not_hold_its_slice_is_refused(six, tmp_path: Path) -> None:
    a, b, c = write_shards(tmp_path, six, 3)
    data = json.loads(b.read_text())
    data["runs"] = data["runs"][:1]
    b.write_text(json.dumps(data))
    r = _merge(a, b, c)
    assert r.code == 2 and "slice 2/3 of 6 combinations is combinations 2, 5, but the report holds" in r.err


@pytest.mark.parametrize("args, flag", [
    (["--vary", "max_retries=1,2"], "--vary"), (["--set", "max_retries=1"], "--set"), (["--parallel", "2"], "--parallel"),
    (["--shard", "1/2"], "--shard"), (["--yes"], "--yes"),
])
def test_options_of_a_running_sweep_are_refused_by_merge(six, tmp_path: Path, args: list[str], flag: str) -> None:
    paths = write_shards(tmp_path, six, 1)
    r = _merge(*paths, *args)
    assert r.code == 2 and r.err.startswith(f"error: {flag} is for a sweep that runs; `sweep merge` joins")


def test_merge_needs_reports_and_a_sweep_one_scenario(tmp_path: Path) -> None:
    assert _merge().err == "error: sweep merge: give the shard reports to merge: sinkbench sweep merge REPORT.json...\n"
    r = sweep_cli([str(tmp_path / "a.toml"), str(tmp_path / "b.toml"), "--vary", "max_retries=1,2"])
    assert r.code == 2 and "error: one SCENARIO at a time, got 2" in r.err and "sinkbench sweep merge" in r.err


# -- --shard on the command line -----------------------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    (["--shard", "0/3", "--report", "r.json"], ["error: --shard: K must be from 1 to N (3)"]),
    (["--shard", "2", "--report", "r.json"], ["error: --shard: expected K/N"]),
    (["--shard", "1/2"], ["--shard needs --report F.json"]),
    (["--shard", "1/2", "--report", "r.json", "--write-best", "config.toml"], ["--write-best needs every combination"]),
])
def test_bad_shard_options_exit_2_naming_the_flag(tmp_path: Path, args: list[str], words: list[str]) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(tiny())
    r = sweep_cli([str(scenario), "--vary", "max_retries=1,2", *args])
    assert r.code == 2 and r.out == ""
    r.assert_no_traceback()
    for word in words:
        assert word in r.err


def test_the_yes_limit_counts_the_slice(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(tiny())
    many = ["--vary", "max_retries=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", "--vary", "retry_delay=1ms,2ms"]
    r = sweep_cli([str(scenario), *many, "--shard", "1/2", "--report", str(tmp_path / "r.json")])
    assert r.code == 2 and "--vary: slice 1/2 has 17 of 34 combinations (17 × 2), more than 16" in r.err
    # 18 combinations in 2 slices of 9 need no --yes: this one gets as far as a bad value.
    r = sweep_cli([str(scenario), "--vary", "max_retries=0,1,2,3,4,5,6,7,many", "--vary", "retry_delay=1ms,2ms",
                   "--shard", "1/2", "--report", str(tmp_path / "r.json")])
    assert r.code == 2 and "more than 16" not in r.err and "expected an integer" in r.err


def test_an_empty_slice_runs_nothing_and_still_merges(tmp_path: Path) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(tiny())
    r = sweep_cli([str(scenario), "--vary", "max_retries=1,2", "--shard", "3/3", "--report", str(tmp_path / "3.json")])
    assert r.code == 0, r.err
    assert "slice 3/3 of 2 combinations is empty: nothing to run" in r.err
    assert _load(tmp_path / "3.json")["runs"] == []
    two_runs = fake_sweep(scenario, [fake_result(), fake_result(requests=50)], varies=["max_retries=1,2"])
    one, two, _ = write_shards(tmp_path, two_runs, 3)
    merged = _merge(one, two, tmp_path / "3.json", "--report", tmp_path / "m.json")
    assert merged.code == 0, merged.err
    assert [row["combination"] for row in _load(tmp_path / "m.json")["rows"]] == [2, 1]


# -- --write-best after a merge --------------------------------------------------------------------------------

@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text((ROOT / "config.toml").read_text().replace("max_retries = 3", "max_retries = 6"))
    return path


def _report(sweep, path: Path) -> Path:
    from sinkbench.sweep import report
    report.write_json(sweep, path)
    return path


def test_outage_503_writes_the_best_the_connector_can_run(tmp_path: Path, config: Path) -> None:
    """The issue's case: the lexicographic ranking wrote max_retries = 0, the worst row under after_polling."""
    r = _merge(_report(readme_sweep(), tmp_path / "r.json"), "--write-best", config)
    assert r.code == 0, r.err
    assert f"--write-best {config}: #1 offset_commit=after_polling max_retries=3" in r.out
    assert "-max_retries = 6\n+max_retries = 3" in r.out
    assert "max_retries = 3" in config.read_text().splitlines()


def test_a_sweep_of_what_ifs_only_is_not_written(tmp_path: Path, config: Path) -> None:
    before = config.read_bytes()
    sweep = fake_sweep(SCENARIOS / "outage-503.toml", [fake_result(**README[("after_consuming", r)], total=4000)
                                                       for r in (0, 3)])
    r = _merge(_report(sweep, tmp_path / "r.json"), "--write-best", config)
    assert r.code == 2
    assert (f"error: --write-best: {config} left as it is: no combination the connector can run ran to the end: #1 "
            "ran with offset_commit = after_consuming, which the connector does not do") in r.err
    assert "--set runtime.offset_commit=after_polling" in r.err
    assert config.read_bytes() == before


@pytest.mark.parametrize("objective, written", [
    (None, None), ("lost,duplicates,requests,drain", 3), ("lost,duplicates,drain,requests", 0)])
def test_write_best_refuses_to_choose_between_drain_and_requests_unless_told(
        tmp_path: Path, config: Path, objective: str | None, written: int | None) -> None:
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(tiny())
    sweep = fake_sweep(scenario, [fake_result(drain=1.21, requests=668), fake_result(drain=1.31, requests=309)],
                       varies=["max_retries=0,3"])
    before = config.read_bytes()
    r = _merge(_report(sweep, tmp_path / "r.json"), "--write-best", config, "--dry-run",
               *(["--objective", objective] if objective else []))
    if written is None:
        assert r.code == 2
        assert (f"error: --write-best: {config} left as it is: #1 and #2 are on the Pareto front with the same "
                "lost and duplicates, and trade drain for requests (#2 max_retries=0 drains in 1.21s with 668 "
                "requests, #1 in 1.31s with 309)") in r.err
        assert "Say which matters with --objective: lost,duplicates,requests,drain" in r.err
    else:
        assert r.code == 0, r.err
        assert f"+max_retries = {written}\n" in r.out and "dry run" in r.out
    assert config.read_bytes() == before


# -- the documented forms: `--objective -METRIC`, `sweep merge` in --help -----------------------------------

def _cli(argv: list[str]) -> SweepCli:
    from sinkbench import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return SweepCli(int(code), out.getvalue(), err.getvalue())


def test_objective_starting_with_a_minus_works_as_documented(six, tmp_path: Path) -> None:
    path = _report(six, tmp_path / "r.json")
    r = _cli(["sweep", "merge", str(path), "--objective", "-requests,lost"])
    assert r.code == 0, r.err
    assert "sorted by: most requests, then fewest lost" in r.out
    r = _cli(["sweep", str(six.plan.file), "--vary", "max_retries=1,2", "--objective", "-requests,bogus"])
    assert r.code == 2 and "error: --objective: key 'bogus': unknown metric 'bogus'" in r.err
    assert "expected one argument" not in r.err


def test_prepare_argv_joins_only_an_objective_that_starts_with_a_minus() -> None:
    from sinkbench.commands.sweep import prepare_argv

    assert prepare_argv(["s.toml", "--objective", "-delivered,lost"]) == ["s.toml", "--objective=-delivered,lost"]
    assert prepare_argv(["s.toml", "--objective", "lost"]) == ["s.toml", "--objective", "lost"]
    assert prepare_argv(["--objective", "-q"]) == ["--objective", "-q"]           # an option of ours
    assert prepare_argv(["--objective", "--quiet"]) == ["--objective", "--quiet"]
    assert prepare_argv(["--", "--objective", "-lost"]) == ["--", "--objective", "-lost"]
    assert prepare_argv(["--objective"]) == ["--objective"]


def test_help_documents_shard_and_merge() -> None:
    from sinkbench.cli import build_parser

    parser = build_parser()
    sweep = next(a for a in parser._subparsers._group_actions if isinstance(a, argparse._SubParsersAction))
    text = sweep.choices["sweep"].format_help()
    assert "sinkbench sweep merge REPORT.json... [--objective M1,M2,...] [--report F.json]" in text
    assert "--shard K/N" in text and "docs/sweeps.md" in text
    assert "sinkbench sweep SCENARIO --vary KEY=V1,V2,..." in text
