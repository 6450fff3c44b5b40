"""The sweep's HTML report (`sweep --html`): the ranked table, the trade-off chart and a timeline per combination."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from sweep.conftest import fake_result, fake_sweep, tiny

from sinkbench.sweep.html import sweep_html, write_html
from sinkbench.sweep.runner import SweepResult

from .htmlcheck import assert_self_contained

FAULTS = {"endpoint": {"faults": [{"after": "1s", "until": "2s", "action": "status", "status": 503}]}}


def _with_timeline(result, delivered: list[int]):
    rows = [{"t": t, "delivered": d, "requests": 1, "retries": 0, "errors": 0, "in_flight": 0}
            for t, d in enumerate(delivered)]
    return replace(result, timeline=rows, settings=FAULTS, duration=float(len(rows)))


def _sweep(tmp_path: Path) -> SweepResult:
    path = tmp_path / "tiny.toml"
    path.write_text(tiny())
    return fake_sweep(path, [
        _with_timeline(fake_result(lost=120, drain=0.3, requests=900), [300, 0, 0, 500]),
        _with_timeline(fake_result(lost=0, drain=1.4, requests=1300, retries=400), [300, 0, 200, 500]),
        None,                                                           # the bench could not run it
        _with_timeline(fake_result(lost=0, drain=0.9, requests=45, retries=25), [300, 0, 600, 100]),
    ], varies=["batch_mode=individual,ndjson", "max_retries=0,6"])


def test_the_page_has_the_ranked_table_the_chart_and_a_timeline_per_run(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path)
    write_html(sweep, tmp_path / "s.html")
    html = (tmp_path / "s.html").read_text("utf-8")
    page = assert_self_contained(html)
    text = " ".join(page.text)
    # The table: one row per combination, in rank order, each rank linking to its timeline.
    ranks = [int(v[2:]) for tag, name, v in page.attrs if tag == "a" and name == "href" and re.fullmatch(r"#c\d+", v)]
    assert ranks == [1, 2, 3, 4]
    for row in sweep.rows:
        assert f"c{row.rank}" in page.ids
        assert row.combination.label in text
    assert "the bench could not run: boom" in text
    # The trade-off chart as sweep/chart.py draws it: a point per combination that ran.
    assert html.count('<g class="point ') == 3
    assert '<div class="tradeoff"><svg' in html
    # A mini timeline per combination that ran, with its fault window shaded.
    assert html.count('<svg class="chart mini"') == 3
    assert html.count('<rect class="band fault"') == 3
    assert "best: #" in text and "Pareto front" in text


def test_an_interrupted_sweep_is_marked(tmp_path: Path) -> None:
    sweep = replace(_sweep(tmp_path), interrupted=True)
    html = sweep_html(sweep)
    assert_self_contained(html)
    assert re.search(r"<title>\[interrupted\] sinkbench sweep", html)
    assert "Interrupted: the sweep was stopped" in html


def test_the_trade_off_chart_keeps_its_legend_below_the_axis(tmp_path: Path) -> None:
    """The key under the chart adds height to the picture, not to the plot: the x axis, its labels and the
    legend each keep their own line (they were drawn over each other once a key was there)."""
    from sinkbench.sweep.chart import chart_svg, trade_off

    chart = chart_svg(trade_off(_sweep(tmp_path)))
    axis = re.search(r'<g class="axes"[^>]*><line x1="\d+" y1="([\d.]+)"', chart)
    legend = re.search(r'<g class="legend">\s*<circle cx="[\d.]+" cy="([\d.]+)"', chart)
    assert axis is not None and legend is not None
    tick_labels = float(axis.group(1)) + 16
    assert tick_labels + 10 < float(legend.group(1)) - 5, (axis.group(1), legend.group(1))
