"""The `sweep --html F.html` report: the ranked table, the trade-off chart and each combination's timeline.

One self-contained page (the run report's frame and stylesheet,
report/htmlpage.py): the table of sweep/report.py with its columns and marks,
the drain-vs-requests chart of sweep/chart.py as it draws it (recoloured by
the stylesheet for a dark scheme), and a small timeline per combination
(delivered per second, its fault windows and drain shaded), in rank order.
"""

from __future__ import annotations

import os

from sinkbench.report import _text as fmt
from sinkbench.report import svg
from sinkbench.report._files import atomic_write
from sinkbench.report.html import timeline_events
from sinkbench.report.htmlpage import esc1, figure, legend, page, table
from sinkbench.sweep.chart import chart_svg, trade_off
from sinkbench.sweep.report import (
    FRONT_TEXT,
    best_line,
    columns,
    connector_notes,
    heading,
    verdict_cell,
)
from sinkbench.sweep.runner import Row, SweepResult


def sweep_html(sweep: SweepResult) -> str:
    sc = sweep.plan.scenario
    body = [f"<h1>sweep {esc1(sc.name)}</h1>", f'<p class="muted">{esc1(heading(sweep))}</p>']
    if sweep.interrupted:
        body.append('<p class="banner">Interrupted: the sweep was stopped before every combination ran to its end; '
                    "the rows say which did.</p>")
    if sc.description:
        body.append(f"<p>{esc1(sc.description)}</p>")
    varied = ", ".join(f"<code>{esc1(v.key)}</code>" for v in sweep.plan.varies)
    body.append(f"<p>Varied: {varied}. Sorted by {esc1(sweep.objective.text)} "
                f"(<code>--objective {esc1(sweep.objective.spec)}</code>); p95/p99 are delivery latencies.</p>")
    if sweep.plan.fixed:
        body.append("<p>Fixed for every combination: "
                    + ", ".join(f"<code>--set {esc1(s)}</code>" for s in sweep.plan.fixed) + "</p>")
    body.append(f'<p class="card"><strong>{esc1(best_line(sweep))}</strong></p>')
    body.append(f"<p>{sweep.passed_count} of {sweep.count} combinations passed the scenario's expectations.</p>")
    body.append('<nav><a href="#table">Table</a><a href="#chart">Trade-off</a><a href="#runs">Each combination</a></nav>')

    body.append('<h2 id="table">Ranking</h2>')
    cols = columns(sweep)
    rows = [[f'<a href="#c{row.rank}">{esc1(c.cell(row))}</a>' if c.header == "#" else esc1(c.cell(row))
             for c in cols] for row in sweep.rows]
    body.append(table([esc1(c.header) for c in cols], rows, numeric=[c.right for c in cols]))
    body += [f'<p class="muted">{esc1(line)}</p>' for line in (FRONT_TEXT, *connector_notes(sweep))]
    for row in sweep.rows:
        if row.outcome.error:
            body.append(f'<p class="fail">#{row.rank} {esc1(row.outcome.status)}: {esc1(row.outcome.error)}</p>')

    chart = trade_off(sweep)
    body.append(f'<h2 id="chart">{esc1(chart.x.name)} vs {esc1(chart.y.name)}</h2>')
    body.append('<p class="muted">Each point is a combination, numbered by its rank; lower left is quicker and '
                "cheaper.</p>")
    body.append(f'<div class="tradeoff">{chart_svg(chart)}</div>')

    body.append('<h2 id="runs">Each combination</h2>')
    body.append(legend([("box c1", "delivered per second"), ("box fault", "fault window"), ("box drain", "drain")]))
    body.append('<div class="grid2">')
    body += [_combination(row) for row in sweep.rows]
    body.append("</div>")
    return page(f"sinkbench sweep: {fmt.one_line(sc.name)}", body, interrupted=sweep.interrupted)


def _combination(row: Row) -> str:
    r = row.result
    head = (f'<h3 id="c{row.rank}">#{row.rank} {esc1(row.combination.label)}'
            f'{" ●" if row.front else ""} <span class="{"pass" if row.outcome.passed else "fail"}">'
            f"{esc1(verdict_cell(row))}</span></h3>")
    if r is None:
        return f"<div>{head}<p class=\"muted\">{esc1(row.outcome.error or row.outcome.status)}</p></div>"
    bands, _, _ = timeline_events(r)
    delivered = [float(t.get("delivered") or 0) for t in r.timeline]
    mini = svg.mini_chart(delivered, r.duration, label=f"#{row.rank} delivered per second", bands=bands)
    figures = (f"lost {fmt.total_cell(r.totals, 'lost')} · duplicates {fmt.total_cell(r.totals, 'duplicates')} · "
               f"drain {fmt.seconds(r.drain)} · requests {fmt.total_cell(r.totals, 'requests')} · "
               f"{fmt.seconds(r.duration)}")
    return f"<div>{head}{figure(esc1(figures), mini)}</div>"


def write_html(sweep: SweepResult, path: str | os.PathLike[str]) -> None:
    atomic_write(path, sweep_html(sweep).encode("utf-8"))
