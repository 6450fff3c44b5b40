"""The HTML run report (`--html`): one page that parses, loads nothing, and draws the run with its faults marked."""

from __future__ import annotations

import random
import re
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from sinkbench.report import svg
from sinkbench.report.html import html_report, status_group, timeline_events, write_html
from sinkbench.run.bench import BenchRun
from sinkbench.run.result import RunResult, RunStatus
from sinkbench.scenario.load import load_scenario

from .htmlcheck import assert_self_contained, parse
from .results import failing_run, real_url_run, sink_not_opened_run

OUTAGE = """\
    [scenario]
    name = "short-outage"
    description = "503 from 1s to 2s; failed batches are polled again"
    seed = 3
    timeout = "20s"

    [source]
    kind = "synthetic"
    count = 900
    rate = 300
    payload_bytes = 64

    [runtime]
    batch_length = 30
    poll_interval = "2ms"
    offset_commit = "after_consuming"

    [sink]
    url = "mock"
    batch_mode = "ndjson"
    max_retries = 1
    retry_delay = "50ms"

    [endpoint]
    [[endpoint.faults]]
    after = "1s"
    until = "2s"
    action = "status"
    status = 503
    body = "down for maintenance"

    [expect]
    lost = "== 0"
    "status.503" = "> 0"
    """


@pytest.fixture(scope="module")
def outage_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    """A real run (about 3 s) against the embedded endpoint, with a one-second 503 window."""
    import asyncio

    path = tmp_path_factory.mktemp("html") / "outage.toml"
    path.write_text(textwrap.dedent(OUTAGE))
    return asyncio.run(BenchRun(load_scenario(path), endpoint_in_process=True).run())


def _band_x(result: RunResult, seconds: float) -> str:
    """Where a time chart of `result` draws `seconds` on its x axis (as svg.py scales it)."""
    x_top = max(result.duration, len(result.timeline), len(result.series), 1.0)
    x = svg.LEFT + seconds / x_top * (svg.WIDTH - svg.RIGHT - svg.LEFT)
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def test_a_real_outage_run_draws_every_chart_with_its_fault_window_and_drain(outage_run: RunResult) -> None:
    r = outage_run
    assert r.status == RunStatus.COMPLETED and r.passed, r.notes
    # What the pictures draw adds up to the run's own totals.
    per_second: dict[str, int] = {}
    for row in r.series:
        for code, n in (row.get("status") or {}).items():
            per_second[code] = per_second.get(code, 0) + n
    assert per_second == r.status_codes
    for kind in ("request", "delivery"):
        assert sum(c for _, _, c in r.distributions[kind]) == r.latency[kind]["count"]
        assert sum((row.get(kind) or {}).get("count", 0) for row in r.series) == r.latency[kind]["count"]
    html = html_report(r)
    page = assert_self_contained(html)
    charts = re.findall(r'<svg class="chart (\w+)"', html)
    # Messages and requests per second, request and delivery latency over time: four time charts;
    # requests by status over time; the two latency distributions.
    assert charts.count("time") == 4 and charts.count("bars") == 1 and charts.count("histogram") == 2, charts
    # The fault window is shaded from 1 s to 2 s on every time chart, and the drain after it.
    start, stop = _band_x(r, 1.0), _band_x(r, 2.0)
    faults = re.findall(r'<rect class="band fault" x="([\d.]+)" y="\d+" width="([\d.]+)"', html)
    assert len(faults) == 5, faults            # 4 time charts and the status bars
    for x, width in faults:
        assert x == start and abs(float(x) + float(width) - float(stop)) < 0.11, (x, width, start, stop)
    assert r.drain is not None
    assert html.count('<rect class="band drain"') == 5
    text = " ".join(page.text)
    assert "1s–2s: fault 1: answers 503 “down for maintenance”, from 1s to 2s" in text
    assert "drain" in text and "until the consumer lag was back" in text
    # The 503s are on the status chart, in the 5xx colour, and the per-second latency lines are drawn.
    assert re.search(r'<path class="bar c3" d="M', html) and re.search(r'<path class="bar c1" d="M', html)
    assert html.count('<path class="line c2"') >= 3
    # Verdict and expectations, the accounting with its meaning, the scenario's description.
    assert "PASSED" in text and "✓ held" in text and "status.503" in text
    assert "messages the endpoint never accepted" in text
    assert "503 from 1s to 2s; failed batches are polled again" in text


def test_marks_on_the_timeline_are_drawn_and_listed() -> None:
    r = failing_run()
    timeline = [dict(row) for row in r.timeline]
    timeline[7]["marks"] = ["endpoint: take down (503)", "sink settings changed"]
    r = replace(r, timeline=timeline)
    html = html_report(r)
    assert_self_contained(html)
    bands, marks, items = timeline_events(r)
    assert [m.badge for m in marks] == ["1", "2", "3"]
    assert [m.at for m in marks] == [3.0, 7.0, 7.0]
    # On both per-second charts (this hand-built result has no per-second latency or status series).
    assert html.count('<line class="mark"') == 2 * 3
    for label in ("fault 0 starts", "endpoint: take down (503)", "sink settings changed"):
        assert label in html
    # A live break changes where the drain starts, known only to its second: no drain band then.
    assert not any(b.css == "drain" for b in bands)
    assert any("after the last fault or live break ended" in item for item in items)


def test_faults_without_a_time_window_are_listed_not_drawn() -> None:
    r = failing_run()
    settings = {**r.settings, "endpoint": {"faults": [{"every": 3, "action": "reset"},
                                                      {"requests": [1, 2], "action": "status", "status": 500}]}}
    bands, _, items = timeline_events(replace(r, settings=settings))
    assert not [b for b in bands if b.css == "fault"]
    assert "resets the connection, every 3 requests (not tied to a time: not drawn)" in items[0]
    assert "answers 500, requests 1 to 2" in items[1]


@pytest.mark.parametrize("make", [failing_run, real_url_run, sink_not_opened_run])
def test_every_shape_of_run_gives_a_page_that_parses(make) -> None:
    html = html_report(make())
    assert_self_contained(html)


def test_several_runs_get_an_overview_and_a_section_each(tmp_path: Path) -> None:
    runs = [failing_run(), real_url_run()]
    write_html(runs, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text("utf-8")
    page = assert_self_contained(html)
    assert "run1" in page.ids and "run2" in page.ids
    assert ("a", "href", "#run2") in page.attrs
    assert "0 of 2 passed" in html        # neither hand-built run passed


def test_an_interrupted_run_is_marked() -> None:
    html = html_report(replace(failing_run(), status=RunStatus.INTERRUPTED, passed=False))
    assert re.search(r"<title>\[interrupted\] ", html)
    assert "Interrupted: the run was stopped before its end" in html


def test_text_from_the_run_cannot_inject_markup() -> None:
    evil = '<script>alert(1)</script><img src="https://evil.example/x.png">'
    r = replace(failing_run(), scenario=evil, description=evil, errors={evil: 3}, notes=[evil],
                timeline=[{**failing_run().timeline[0], "marks": [evil]}])
    html = html_report(r)
    assert_self_contained(html)
    assert "<script" not in html and "&lt;script&gt;" in html


def ten_minute_run() -> RunResult:
    """A run of 600 seconds with every per-second series filled, a fault window and a few marks."""
    rng = random.Random(1)
    base = failing_run()
    timeline, series = [], []
    for t in range(600):
        down = 100 <= t < 160
        timeline.append({"t": t, "delivered": 0 if down else rng.randint(700, 900),
                         "requests": rng.randint(5, 20) if down else rng.randint(120, 180),
                         "retries": rng.randint(5, 20) if down else 0, "errors": rng.randint(100, 300) if down else 0,
                         "in_flight": rng.randint(0, 400)})

        def latency(scale: float) -> dict:
            p50 = rng.uniform(0.5, 2) * scale
            return {"count": rng.randint(100, 900), "p50": round(p50, 3), "p90": round(p50 * 2.1, 3),
                    "p99": round(p50 * 4.3, 3), "max": round(p50 * 9.7, 3)}

        row = {"t": t, "request": latency(1.0),
               "status": {"503": rng.randint(5, 20)} if down else {"200": rng.randint(120, 180), "timeout": 1}}
        if not down:
            row["delivery"] = latency(5.0)
        series.append(row)
    for t in (30, 200, 350, 500):
        timeline[t]["marks"] = ["endpoint: take down (503)"]
    settings = {**base.settings, "endpoint": {"faults": [{"after": "100s", "until": "160s", "action": "status",
                                                          "status": 503}]}}
    buckets = {kind: [(start * 1.01 ** i, start * 1.01 ** (i + 1), rng.randint(1, 500)) for i in range(n)]
               for kind, start, n in (("request", 0.5, 900), ("delivery", 1.0, 1200))}
    return replace(base, duration=600.2, timeline=timeline, series=series, settings=settings, distributions=buckets)


def test_a_ten_minute_run_stays_well_under_a_megabyte() -> None:
    html = html_report(ten_minute_run())
    assert_self_contained(html)
    size = len(html.encode("utf-8"))
    assert size < 400_000, size            # about 140 KB measured; the budget is about 1 MB
    # Every second is drawn: the delivered line has a step per second that changes.
    delivered = re.search(r'<path class="line c1" d="([^"]+)"', html)
    assert delivered is not None and delivered.group(1).count("H") >= 540


@pytest.mark.parametrize(("code", "group"), [("200", "2xx"), ("204", "2xx"), ("429", "429"), ("413", "4xx"),
                                             ("503", "5xx"), ("timeout", "no answer"), ("reset", "no answer"),
                                             ("101", "1xx")])
def test_status_groups(code: str, group: str) -> None:
    assert status_group(code) == group


def test_time_ticks_are_round_and_cover_the_run() -> None:
    assert svg.time_ticks(5.2) == [0, 1, 2, 3, 4, 5]
    assert svg.time_ticks(600) == [0, 120, 240, 360, 480, 600]
    assert svg.clock(90) == "1m30s" and svg.clock(3600) == "1h" and svg.clock(45) == "45s"
    assert svg.log_ticks(0.7, 3200) == [0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0]


def test_a_step_line_breaks_where_a_second_has_no_data() -> None:
    chart = svg.time_chart([svg.Line("p50", "c2", [1.0, None, 3.0])], 3.0, label="x", log=True)
    parse("<!DOCTYPE html><html><body>" + chart + "</body></html>")
    d = re.search(r'class="line c2" d="([^"]+)"', chart).group(1)
    assert d.count("M") == 2, d          # two runs of the pen, none across the empty second


def test_badges_of_events_in_one_second_never_cover_each_other() -> None:
    marks = [svg.Mark(350.0, str(n), f"event {n}") for n in range(1, 7)]
    chart = svg.time_chart([svg.Line("x", "c1", [1.0] * 600)], 600.0, label="x", marks=marks,
                           bands=[svg.Band(349.0, 352.0, "F1", "fault")])
    boxes = [(float(x), float(y), float(w)) for x, y, w in
             re.findall(r'<g class="badge [^"]*"><title>[^<]*</title><rect x="([\d.]+)" y="([\d.]+)" '
                        r'width="([\d.]+)"', chart)]
    assert len(boxes) == 7
    for i, (x1, y1, w1) in enumerate(boxes):
        for x2, y2, w2 in boxes[i + 1:]:
            assert y1 != y2 or x1 + w1 <= x2 or x2 + w2 <= x1, (x1, y1, x2, y2)


def test_every_time_chart_draws_a_fault_window_at_the_same_place_when_the_latency_series_runs_longer() -> None:
    # A latency recorded just after the timeline's last second gives the per-second series one row more
    # than the timeline: the charts must still share one time axis, or the fault windows do not line up.
    base = failing_run()
    rows = len(base.timeline)
    series = [{"t": t, "status": {"200": 1}, "request": {"count": 1, "p50": 1.0, "p90": 1.0, "p99": 1.0, "max": 1.0},
               "delivery": {"count": 1, "p50": 2.0, "p90": 2.0, "p99": 2.0, "max": 2.0}} for t in range(rows + 3)]
    r = replace(base, duration=float(rows) - 0.5, series=series)
    html = html_report(r)
    faults = re.findall(r'<rect class="band fault" x="([\d.]+)" y="\d+" width="([\d.]+)"', html)
    assert len(faults) >= 4, faults
    assert len(set(faults)) == 1, faults
