import math
import os
from pathlib import Path

import orjson
import pytest

from sinkbench.report import _files, json_report, write_json

from .results import ALL_RUNS, failing_run, passing_run, real_url_run, skipping_run

LATENCY_KEYS = {"count", "min", "p50", "p90", "p95", "p99", "max"}
TIMELINE_KEYS = {"t", "delivered_message_attempts", "requests", "retries", "failed_or_skipped_message_attempts",
                 "in_flight"}
EXPECTATION_KEYS = {"metric", "expression", "observed", "passed"}
TOP_KEYS = {"scenario", "passed", "settings", "totals", "latency", "requests_by_status",
            "failed_message_attempts_by_reason", "skipped_messages_by_reason", "skipped_message_attempts_by_reason",
            "timeline", "expectations", "endpoint"}
COUNTS = {"total", "delivered", "failed", "skipped", "lost", "duplicates", "requests", "retries", "bytes",
          "message_attempts"}
# Keys whose unit was ambiguous, renamed with their unit: none may come back unannounced.
RENAMED = {"status_codes", "errors", "handed", "delivered", "skipped"}


def read(path: Path):
    return orjson.loads(path.read_bytes())


@pytest.mark.parametrize("name", sorted(ALL_RUNS))
def test_one_run_is_the_run_object_with_the_keys_of_design_7(tmp_path, name):
    result = ALL_RUNS[name]()
    path = tmp_path / "report.json"
    write_json([result], path)
    data = read(path)
    assert data == orjson.loads(orjson.dumps(result.to_json()))
    assert TOP_KEYS <= data.keys()
    assert COUNTS <= data["totals"].keys()
    for kind in ("request", "delivery"):
        assert LATENCY_KEYS <= data["latency"][kind].keys()
    for row in data["timeline"]:
        assert TIMELINE_KEYS <= row.keys()
    for e in data["expectations"]:
        assert EXPECTATION_KEYS <= e.keys()


def test_every_breakdown_names_its_unit(tmp_path):
    path = tmp_path / "report.json"
    write_json([skipping_run()], path)
    data = read(path)
    assert data["requests_by_status"] == {"200": 4990, "503": 39}               # requests
    assert data["failed_message_attempts_by_reason"] == {"status 503": 804}     # message-attempts
    assert data["skipped_messages_by_reason"] == {"oversize": 10}               # messages, each once
    assert data["skipped_message_attempts_by_reason"] == {"oversize": 3430}     # the per-pass figure
    assert data["totals"]["skipped"] == 10 and data["totals"]["message_attempts"] == 8420
    assert not RENAMED & data.keys() and "handed" not in data["totals"]
    row = data["timeline"][0]
    assert (row["delivered_message_attempts"], row["failed_or_skipped_message_attempts"]) == (500, 0)
    assert not {"delivered", "errors"} & row.keys()
    assert data["timeline"][3]["marks"] == ["fault 0 starts"]                    # other keys pass through


def test_unknown_counts_and_real_url_are_null(tmp_path):
    path = tmp_path / "r.json"
    write_json([real_url_run()], path)
    data = read(path)
    assert data["totals"]["lost"] is None and data["totals"]["duplicates"] is None
    assert data["endpoint"] is None
    assert data["expectations"][0]["observed"] is None
    assert data["expectations"][0]["passed"] is False


def test_several_runs_are_wrapped_with_overall_passed(tmp_path):
    path = tmp_path / "r.json"
    write_json([failing_run(), passing_run()], path)
    data = read(path)
    assert data["passed"] is False
    assert [r["scenario"] for r in data["runs"]] == ["outage-503", "steady"]
    assert json_report([passing_run(), passing_run()])["passed"] is True


def test_no_runs_is_the_wrapped_form():
    assert json_report([]) == {"passed": True, "runs": []}


def test_a_lone_result_is_accepted_as_a_list_of_one():
    assert json_report(failing_run()) == json_report([failing_run()])


def test_file_is_indented_utf8_with_a_final_newline(tmp_path):
    path = tmp_path / "r.json"
    write_json([failing_run()], path)
    text = path.read_text("utf-8")
    assert text.startswith('{\n  "scenario": "outage-503",')
    assert text.endswith("}\n")


def test_values_orjson_does_not_know_and_nan(tmp_path):
    from dataclasses import replace
    r = failing_run()
    r = replace(r, settings={**r.settings, "dead_letter_path": Path("dl/out.jsonl"), "tags": {"b", "a"}},
                latency={**r.latency, "request": {**r.latency["request"], "avg": math.nan}})
    path = tmp_path / "r.json"
    write_json([r], path)
    data = read(path)
    assert data["settings"]["dead_letter_path"] == "dl/out.jsonl"
    assert data["settings"]["tags"] == ["a", "b"]
    assert data["latency"]["request"]["avg"] is None


def test_parent_folders_are_created(tmp_path):
    path = tmp_path / "out" / "ci" / "report.json"
    write_json([failing_run()], path)
    assert read(path)["scenario"] == "outage-503"


def test_file_mode_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        write_json([failing_run()], tmp_path / "r.json")
    finally:
        os.umask(old)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o640


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    path.write_text("old\n")

    def boom(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(_files.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        write_json([failing_run()], path)
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_an_unserialisable_value_fails_before_touching_the_file(tmp_path):
    from dataclasses import replace
    path = tmp_path / "r.json"
    path.write_text("old\n")
    with pytest.raises(TypeError):
        write_json([replace(failing_run(), settings={"x": object()})], path)
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]
