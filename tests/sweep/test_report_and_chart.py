"""The comparison table (text, JSON, CSV, Markdown) and the trade-off chart (text, SVG), from hand-built results."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sinkbench.run.result import RunStatus
from sinkbench.sweep import report
from sinkbench.sweep.chart import chart_svg, chart_text, nice_ticks, trade_off

from .conftest import fake_result, fake_sweep, tiny

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(tiny())
    return path


@pytest.fixture
def sweep(scenario: Path):
    # batch_mode × max_retries: (individual, 0) loses, (ndjson, 0) loses, the retrying ones do not.
    return fake_sweep(scenario, [
        fake_result(lost=120, drain=0.3, requests=900),
        fake_result(lost=0, drain=1.4, requests=1300, retries=400),
        fake_result(lost=80, drain=0.2, requests=20),
        fake_result(lost=0, drain=0.9, requests=45, retries=25, p95=None, p99=None),
    ], varies=["batch_mode=individual,ndjson", "max_retries=0,6"])


def test_rows_are_ranked_by_the_objective(sweep) -> None:
    # The front: (ndjson, 6) and (ndjson, 0), which loses 80 but drains sooner with fewer requests than any;
    # (individual, 6) is beaten by (ndjson, 6) on everything, (individual, 0) by (ndjson, 0).
    assert [r.combination.label for r in sweep.rows] == [
        "batch_mode=ndjson max_retries=6", "batch_mode=ndjson max_retries=0",
        "batch_mode=individual max_retries=6", "batch_mode=individual max_retries=0"]
    assert [r.front for r in sweep.rows] == [True, True, False, False]
    assert [r.rank for r in sweep.rows] == [1, 2, 3, 4]
    assert sweep.best is sweep.rows[0]
    assert sweep.passed_count == 2


def test_text_table_is_aligned_and_states_the_objective(sweep) -> None:
    lines = report.table_lines(sweep)
    header = lines[0].split()
    assert header == ["#", "batch_mode", "max_retries", "front", "delivered", "lost", "dups", "requests", "retries",
                      "drain", "p95", "p99", "bytes", "expectations"]
    assert len(lines) == 5
    # Right-aligned numbers end in the same column as their header.
    end = lines[0].index("requests") + len("requests")
    assert all(line[:end].endswith(("requests", "45", "1,300", "20", "900")) for line in lines)
    assert lines[1].split()[:4] == ["1", "ndjson", "6", "●"] and lines[1].rstrip().endswith("✓ 1/1")
    assert lines[3].split()[:4] == ["3", "individual", "6", "1,000"]        # not on the front: no mark
    assert lines[4].rstrip().endswith("✗ 0/1")
    assert "–" in lines[1]      # p95 unknown
    text = report.sweep_text(sweep)
    assert ("sorted by: the Pareto front first (●), then fewest lost, then fewest duplicates, then the smallest "
            "drain ÷ shortest drain + requests ÷ fewest requests (drain to 100ms)") in text
    assert ("● Pareto front: no other combination is as good on lost, duplicates, drain (to 100ms) and requests "
            "and better on one") in text
    assert "best: #1 batch_mode=ndjson max_retries=6 — lost 0" in text
    assert "†" not in text and "connector" not in text
    assert "2 of 4 combinations passed" in text
    assert "\x1b[" not in text
    assert "\x1b[32m✓ 1/1\x1b[0m" in report.sweep_text(sweep, color=True)


def test_json_holds_rows_and_every_full_run(sweep, tmp_path: Path) -> None:
    path = tmp_path / "out" / "sweep.json"
    report.write_json(sweep, path)
    data = json.loads(path.read_text())
    assert data["sweep"]["objective"]["spec"] == "pareto"
    assert data["sweep"]["varied"] == {"sink.batch_mode": ["individual", "ndjson"], "sink.max_retries": [0, 6]}
    assert data["sweep"]["best"]["values"] == {"sink.batch_mode": "ndjson", "sink.max_retries": 6}
    rows = data["rows"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    assert [r["lost"] for r in rows] == [0, 80, 0, 120]
    assert [r["front"] for r in rows] == [True, True, False, False]
    assert all(r["connector_runs"] and r["not_connector"] == [] for r in rows)
    assert rows[0]["latency_delivery_ms"] == {"p95": None, "p99": None}
    assert rows[0]["expectations"] == {"held": 1, "total": 1}
    assert len(data["runs"]) == 4 and data["runs"][0]["values"] == rows[0]["values"]
    assert data["runs"][1]["result"]["totals"]["lost"] == 80
    assert data["sweep"]["shard"] is None and len(data["sweep"]["plan"]["fingerprint"]) == 16
    assert data["sweep"]["plan"]["vary"] == ["sink.batch_mode=individual,ndjson", "sink.max_retries=0,6"]
    assert set(data["runs"][0]["result"]) >= {"totals", "latency", "timeline", "expectations", "settings"}


def test_csv_has_one_column_per_varied_key(sweep, tmp_path: Path) -> None:
    path = tmp_path / "sweep.csv"
    report.write_csv(sweep, path)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert len(rows) == 4
    assert rows[0]["sink.batch_mode"] == "ndjson" and rows[0]["sink.max_retries"] == "6"
    assert [int(r["lost"]) for r in rows] == [0, 80, 0, 120]
    assert [r["front"] for r in rows] == ["true", "true", "false", "false"]
    assert {r["connector_runs"] for r in rows} == {"true"}
    assert rows[0]["p95_ms"] == "" and rows[1]["p95_ms"] == "50.0"
    assert rows[0]["drain_s"] == "0.9" and rows[0]["passed"] == "true" and rows[3]["passed"] == "false"


def test_markdown_has_the_table_the_best_and_the_chart(sweep, tmp_path: Path) -> None:
    md = tmp_path / "out" / "sweep.md"
    svg = tmp_path / "charts" / "sweep.svg"
    report.write_markdown(sweep, md, chart_file=str(svg))
    text = md.read_text()
    assert "| \\# | batch\\_mode | max\\_retries | front | delivered | lost |" in text
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table) == 6          # header, alignment, 4 rows
    assert "**Best: \\#1 batch\\_mode=ndjson max\\_retries=6" in text
    assert "| 1 | ndjson | 6 | ● |" in text and "● Pareto front: no other combination" in text
    assert "```text\nrequests\n" in text and "drain" in text
    assert "![tiny: drain vs requests](../charts/sweep.svg)" in text
    assert "<details><summary>Failed expectations</summary>" in text
    assert "lost = 120 (expected == 0)" in text


def test_chart_text_places_every_rank(sweep) -> None:
    lines = chart_text(trade_off(sweep))
    assert lines[0] == "requests"
    body = "\n".join(lines)
    for rank in "1234":
        assert rank in body
    assert any(line.rstrip().endswith("drain") for line in lines)
    assert "numbers are the table's ranks" in body
    plot = [line.split("┤" if "┤" in line else "│", 1)[1] for line in lines[1:] if "┤" in line or "│" in line]
    row_of = {ch: i for i, line in enumerate(plot) for ch in line if ch.isdigit()}
    # requests: #3 1,300 > #4 900 > #1 45 ≈ #2 20 (the bottom row); higher on the screen is more.
    assert row_of["3"] < row_of["4"] < row_of["1"] == row_of["2"] == len(plot) - 1
    assert "1*" in body and "2*" in body and "3*" not in body and "4*" not in body
    assert "* on the Pareto front" in body and "(n)" not in body


def test_chart_falls_back_to_duration_and_lists_what_it_cannot_plot(scenario: Path) -> None:
    sweep = fake_sweep(scenario, [fake_result(drain=None, duration=2.0), fake_result(drain=None, duration=3.0),
                                  None])
    chart = trade_off(sweep)
    assert chart.x.name == "duration"
    assert [p.rank for p in chart.points] == [1, 2]
    assert chart.missing == ((3, "error"),)
    assert chart_text(chart)[-1] == "not plotted: #3 (error)"
    assert "#3 error: the bench could not run: boom" in report.sweep_text(sweep)


def test_points_at_the_same_place_are_nudged_then_listed(scenario: Path) -> None:
    sweep = fake_sweep(scenario, [fake_result(drain=1.0, requests=100)] * 12)
    lines = chart_text(trade_off(sweep))
    plot = "\n".join(lines[1:-3])
    assert all(f" {rank}*" in plot for rank in (1, 2))      # all the same: all on the front
    assert lines[-1] == "at the same place as #1: #3, #4, #5, #6, #7, #8, #9, #10, #11, #12"


def test_svg_is_well_formed_with_one_point_per_combination(sweep, tmp_path: Path) -> None:
    path = tmp_path / "chart.svg"
    report.write_svg(sweep, path)
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    points = root.findall(f".//{SVG}g[@class]")
    points = [g for g in points if g.get("class", "").startswith("point ")]
    assert sorted(int(g.get("data-rank")) for g in points) == [1, 2, 3, 4]
    assert {g.get("data-rank"): g.get("class") for g in points} == {
        "1": "point passed front", "2": "point lost front", "3": "point passed", "4": "point lost"}
    titles = [g.find(f"{SVG}title").text for g in points]
    assert any("batch_mode=ndjson max_retries=6" in t for t in titles)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "drain" in texts and "requests" in texts
    # The key under the chart names every point's combination.
    assert "batch_mode=ndjson max_retries=6 — drain 900ms, requests 45" in texts
    assert sum(1 for t in texts if t and " — drain " in t) == 4


def test_svg_escapes_text(scenario: Path) -> None:
    sweep = fake_sweep(scenario, [fake_result(), fake_result()],
                       varies=['headers.X-Tag="<a&b>","c\\"d"'])
    root = ET.fromstring(chart_svg(trade_off(sweep)))
    assert any("<a&b>" in (t.text or "") for t in root.iter(f"{SVG}title"))


def test_interrupted_and_timed_out_rows(scenario: Path) -> None:
    sweep = fake_sweep(scenario, [fake_result(lost=0, status=RunStatus.TIMEOUT, passed=False),
                                  fake_result(lost=3)])
    # A run that did not end is never on the front, so never "best", and ranks after one that did.
    assert sweep.rows[1].result.status == RunStatus.TIMEOUT and not sweep.rows[1].front
    assert sweep.best is sweep.rows[0] and sweep.rows[0].front
    assert "✗ 1/1 timed out" in report.table_lines(sweep)[2]
    assert "best: #1" in report.sweep_text(sweep)
    lexicographic = fake_sweep(scenario, [fake_result(lost=0, status=RunStatus.TIMEOUT, passed=False),
                                          fake_result(lost=3)], objective="lost")
    assert lexicographic.rows[0].result.status == RunStatus.TIMEOUT
    assert lexicographic.best is lexicographic.rows[1]


@pytest.mark.parametrize("top, ticks", [
    (0, (0.0, 1.0)),
    (1.27, (0.0, 0.5, 1.0, 1.5)),
    (310, (0.0, 100.0, 200.0, 300.0, 400.0)),
    (4000, (0.0, 1000.0, 2000.0, 3000.0, 4000.0)),
    (0.045, (0.0, 0.02, 0.04, 0.06)),
])
def test_nice_ticks(top: float, ticks: tuple) -> None:
    assert nice_ticks(top) == ticks
