"""The trade-off picture of a sweep: drain time against requests, one point per combination.

    requests
      400 ┤                 4
          │
      200 ┤   2       3
          │ 1
        0 ┤
          └┬───────────┬───────────┬
           0s          1s          2s  drain

Each point is labelled with the combination's rank in the table (1 = best by
the objective), with a * when it is on the Pareto front (ringed in the SVG)
and in parentheses when the connector does not run it (hollow in the SVG);
lower left is quicker and cheaper. `trade_off()` computes the
points and axes once; `chart_text()` draws them in text (terminal, Markdown)
and `chart_svg()` as a self-contained SVG file. The interactive session can
draw the same `TradeOff` its own way. When no combination has a drain (the
scenario has no fault window with an end), the x axis is the run's duration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape as xml_escape

from sinkbench.metrics.expect import format_ms, format_seconds
from sinkbench.report import _text as fmt
from sinkbench.sweep.objective import METRICS, Metric
from sinkbench.sweep.runner import Row, SweepResult

FRONT_SUFFIX = "*"
TEXT_WIDTH = 48
TEXT_HEIGHT = 10
# Point categories, best first, with the SVG colour and legend text of each.
CATEGORIES = {
    "passed": ("#2e7d32", "nothing lost, expectations held"),
    "failed": ("#ef6c00", "nothing lost, an expectation failed"),
    "lost": ("#c62828", "lost messages"),
}


@dataclass(frozen=True)
class Axis:
    metric: Metric
    ticks: tuple[float, ...]          # from 0 up to the axis' top

    @property
    def name(self) -> str:
        return self.metric.name

    @property
    def top(self) -> float:
        return self.ticks[-1]

    def format(self, value: float) -> str:
        return format_value(self.metric, value)


@dataclass(frozen=True)
class Point:
    rank: int
    label: str            # the combination: "batch_mode=ndjson max_retries=3"
    x: float
    y: float
    category: str         # passed | failed | lost
    summary: str          # "lost 0, drain 1.2s, requests 371, expectations held"
    front: bool = False   # on the Pareto front
    what_if: bool = False  # ran with a setting the connector does not do

    @property
    def mark(self) -> str:
        """How the text chart labels it: `3`, `3*` on the front, `(3)` for a what-if row."""
        text = f"{self.rank}{FRONT_SUFFIX if self.front else ''}"
        return f"({text})" if self.what_if else text

    @property
    def classes(self) -> str:
        return " ".join(["point", self.category, *(["front"] if self.front else []),
                         *(["what-if"] if self.what_if else [])])


@dataclass(frozen=True)
class TradeOff:
    title: str
    x: Axis
    y: Axis
    points: tuple[Point, ...]
    missing: tuple[tuple[int, str], ...]     # (rank, why) of combinations not plotted


def format_value(metric: Metric, value: float | None) -> str:
    if value is None:
        return fmt.UNKNOWN
    if metric.unit == "seconds":
        return format_seconds(value)
    if metric.unit == "ms":
        return format_ms(value)
    if metric.unit == "bytes":
        return fmt.byte_size(int(value))
    return fmt.count(value)


def nice_ticks(top: float, n: int = 4) -> tuple[float, ...]:
    """Ticks 0, s, 2s, ... reaching at least `top`, with s a 1-2-2.5-5 step giving about `n` intervals."""
    if not top > 0 or math.isinf(top):
        return (0.0, 1.0)
    raw = top / n
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    count = max(1, math.ceil(top / step - 1e-9))
    return tuple(round(i * step, 12) for i in range(count + 1))


def _category(row: Row) -> str:
    r = row.result
    assert r is not None
    lost = r.totals.get("lost")
    if lost:
        return "lost"
    return "passed" if r.passed else "failed"


def _summary(row: Row, x: Metric, y: Metric) -> str:
    r = row.result
    assert r is not None
    parts = [f"lost {fmt.total_cell(r.totals, 'lost')}", f"duplicates {fmt.total_cell(r.totals, 'duplicates')}"]
    for m in (x, y):
        if m.name not in ("lost", "duplicates"):
            parts.append(f"{m.name} {format_value(m, m.read(r))}")
    failed = fmt.failed_expectations(r)
    parts.append("expectations held" if r.passed else
                 f"{failed} expectation{'s' if failed != 1 else ''} failed" if failed else fmt.verdict_reason(r))
    return ", ".join(parts)


def trade_off(sweep: SweepResult, x: str = "drain", y: str = "requests") -> TradeOff:
    """The points of the chart. With x = "drain" and no combination having a drain, x is "duration"."""
    ran = [row for row in sweep.rows if row.result is not None]
    if x == "drain" and not any(row.result.drain is not None for row in ran):  # type: ignore[union-attr]
        x = "duration"
    xm, ym = METRICS[x], METRICS[y]
    points: list[Point] = []
    missing: list[tuple[int, str]] = []
    for row in sweep.rows:
        if row.result is None:
            missing.append((row.rank, row.outcome.status))
            continue
        xv, yv = xm.read(row.result), ym.read(row.result)
        if xv is None or yv is None:
            missing.append((row.rank, f"{xm.name if xv is None else ym.name} unknown"))
            continue
        points.append(Point(row.rank, row.combination.label, float(xv), float(yv), _category(row),
                            _summary(row, xm, ym), row.front, not row.connector_runs))
    x_axis = Axis(xm, nice_ticks(max((p.x for p in points), default=0.0)))
    y_axis = Axis(ym, nice_ticks(max((p.y for p in points), default=0.0)))
    title = f"{sweep.plan.scenario.name}: {xm.name} vs {ym.name}" if sweep.plan.scenarios else f"{xm.name} vs {ym.name}"
    return TradeOff(title, x_axis, y_axis, tuple(points), tuple(missing))


# -- text ---------------------------------------------------------------------------------

def chart_text(chart: TradeOff, *, width: int = TEXT_WIDTH, height: int = TEXT_HEIGHT) -> list[str]:
    """The chart as lines of text (no trailing newlines), with a legend line."""
    if width < 8 or height < 3:
        raise ValueError("the chart needs at least 8 columns and 3 rows")
    if not chart.points:
        lines = [f"(no point to plot: {chart.x.name} or {chart.y.name} unknown for every combination)"]
        return lines + _missing_lines(chart)
    # Whole rows and columns between ticks, so the ticks fall evenly.
    nx, ny = len(chart.x.ticks) - 1, len(chart.y.ticks) - 1
    width = nx * max(2, round((width - 1) / nx)) + 1
    height = ny * max(1, round((height - 1) / ny)) + 1
    grid = [[" "] * width for _ in range(height)]

    def col(v: float) -> int:
        return round(v / chart.x.top * (width - 1))

    def row(v: float) -> int:
        return height - 1 - round(v / chart.y.top * (height - 1))

    hidden: list[tuple[int, int]] = []      # (rank, rank drawn where it would be; 0 if none)
    owner: dict[tuple[int, int], int] = {}
    for p in sorted(chart.points, key=lambda p: p.rank):
        text = p.mark
        spot = _place(grid, row(p.y), col(p.x), text)
        if spot is None:
            near = owner.get((row(p.y), col(p.x)))
            hidden.append((p.rank, near if near is not None else 0))
            continue
        r, c = spot
        for i, ch in enumerate(text):
            grid[r][c + i] = ch
            owner[(r, c + i)] = p.rank

    y_labels: dict[int, str] = {}
    for t in chart.y.ticks:
        y_labels.setdefault(row(t), chart.y.format(t))
    gutter = max(len(s) for s in y_labels.values())
    lines = [chart.y.name]
    for r in range(height):
        label = y_labels.get(r, "")
        axis = "┤" if r in y_labels else "│"
        lines.append(f"{label:>{gutter}} {axis}" + "".join(grid[r]).rstrip())
    tick_cols = {col(t): chart.x.format(t) for t in chart.x.ticks}
    axis_line = "".join("┬" if c in tick_cols else "─" for c in range(width))
    lines.append(" " * gutter + " └" + axis_line)
    labels = [" "] * (width + 12)
    end = 0
    for c, text in sorted(tick_cols.items()):
        start = max(c - len(text) // 2, end + 1 if end else 0)
        if start + len(text) > len(labels):
            continue
        for i, ch in enumerate(text):
            labels[start + i] = ch
        end = start + len(text)
    lines.append(" " * (gutter + 2) + "".join(labels).rstrip() + "  " + chart.x.name)
    lines.append(_legend_text(chart, "numbers are the table's ranks (1 = best)", f"{FRONT_SUFFIX} on the Pareto front",
                              "(n) not what the connector runs"))
    under: dict[int, list[int]] = {}
    for rank, owner_rank in hidden:
        under.setdefault(owner_rank, []).append(rank)
    for owner_rank, ranks in under.items():
        names = ", ".join(f"#{r}" for r in ranks)
        lines.append(f"at the same place as #{owner_rank}: {names}" if owner_rank else f"no room to draw {names}")
    return lines + _missing_lines(chart)


def _legend_text(chart: TradeOff, ranks: str, front: str, what_if: str) -> str:
    parts = [ranks]
    if any(p.front for p in chart.points):
        parts.append(front)
    if any(p.what_if for p in chart.points):
        parts.append(what_if)
    return ", ".join(parts) + "; lower left is quicker and cheaper"


def _place(grid: list[list[str]], r0: int, c0: int, text: str) -> tuple[int, int] | None:
    """Where `text` fits nearest (r0, c0), with a blank on either side; None when nowhere close."""
    height, width = len(grid), len(grid[0])
    for dr in (0, -1, 1):
        r = r0 + dr
        if not 0 <= r < height:
            continue
        for dc in (0, 1, -1, 2, -2, 3, -3):
            c = c0 + dc
            if c < 0 or c + len(text) > width:
                continue
            lo, hi = max(0, c - 1), min(width, c + len(text) + 1)
            if all(grid[r][i] == " " for i in range(lo, hi)):
                return r, c
    return None


def _missing_lines(chart: TradeOff) -> list[str]:
    if not chart.missing:
        return []
    return ["not plotted: " + ", ".join(f"#{rank} ({why})" for rank, why in chart.missing)]


# -- SVG ----------------------------------------------------------------------------------

SVG_WIDTH = 640
SVG_HEIGHT = 420
KEY_LINE = 16           # the key under the chart: one line per point
MAX_KEY_LINES = 24
_LEFT, _RIGHT, _TOP, _BOTTOM = 72, 24, 44, 84
FRONT_RING = "#212121"


def chart_svg(chart: TradeOff) -> str:
    """The chart as a self-contained SVG document (no scripts, no external references)."""
    key = sorted(chart.points, key=lambda p: p.rank)[:MAX_KEY_LINES]
    key_lines = len(key) + (1 if len(chart.points) > len(key) else 0)
    w, h = SVG_WIDTH, SVG_HEIGHT + (KEY_LINE * key_lines + 12 if key_lines else 0)
    # The plot keeps its height whatever the key under it holds: the legend sits at a fixed place above the key.
    pw, ph = w - _LEFT - _RIGHT, SVG_HEIGHT - _TOP - _BOTTOM

    def sx(v: float) -> float:
        return round(_LEFT + v / chart.x.top * pw, 1)

    def sy(v: float) -> float:
        return round(_TOP + ph - v / chart.y.top * ph, 1)

    e = _attr
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'font-family="sans-serif" font-size="12" role="img" aria-label="{e(chart.title)}">',
        f"<title>{xml_escape(chart.title)}</title>",
        f"<desc>{xml_escape(_desc(chart))}</desc>",
        f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>',
        f'<text x="{_LEFT}" y="24" font-size="14" font-weight="bold">{xml_escape(chart.title)}</text>',
        '<g class="grid" stroke="#e0e0e0" stroke-width="1">',
    ]
    for t in chart.y.ticks[1:]:
        out.append(f'<line x1="{_LEFT}" y1="{sy(t)}" x2="{_LEFT + pw}" y2="{sy(t)}"/>')
    for t in chart.x.ticks[1:]:
        out.append(f'<line x1="{sx(t)}" y1="{_TOP}" x2="{sx(t)}" y2="{_TOP + ph}"/>')
    out.append("</g>")
    out.append(f'<g class="axes" stroke="#424242" stroke-width="1">'
               f'<line x1="{_LEFT}" y1="{_TOP + ph}" x2="{_LEFT + pw}" y2="{_TOP + ph}"/>'
               f'<line x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{_TOP + ph}"/></g>')
    out.append('<g class="ticks" fill="#424242">')
    for t in chart.x.ticks:
        out.append(f'<text x="{sx(t)}" y="{_TOP + ph + 16}" text-anchor="middle">{xml_escape(chart.x.format(t))}</text>')
    for t in chart.y.ticks:
        out.append(f'<text x="{_LEFT - 6}" y="{sy(t) + 4}" text-anchor="end">{xml_escape(chart.y.format(t))}</text>')
    out.append("</g>")
    out.append(f'<text x="{_LEFT + pw / 2}" y="{_TOP + ph + 34}" text-anchor="middle">{xml_escape(chart.x.name)}</text>')
    out.append(f'<text x="16" y="{_TOP + ph / 2}" text-anchor="middle" '
               f'transform="rotate(-90 16 {_TOP + ph / 2})">{xml_escape(chart.y.name)}</text>')
    out.append('<g class="points">')
    for p in sorted(chart.points, key=lambda p: -p.rank):    # the best drawn last, on top
        colour = CATEGORIES[p.category][0]
        x, y = sx(p.x), sy(p.y)
        tip = (f"#{p.rank} {p.label}: {p.summary}" + ("; on the Pareto front" if p.front else "")
               + ("; not what the connector runs" if p.what_if else ""))
        ring = f'<circle cx="{x}" cy="{y}" r="9" fill="none" stroke="{FRONT_RING}" stroke-width="2"/>' if p.front else ""
        fill, stroke = ("#ffffff", colour) if p.what_if else (colour, "#ffffff")
        out.append(f'<g class="{p.classes}" data-rank="{p.rank}"><title>{xml_escape(tip)}</title>{ring}'
                   f'<circle cx="{x}" cy="{y}" r="{6 if p.rank == 1 else 5}" fill="{fill}" '
                   f'stroke="{stroke}" stroke-width="{2 if p.what_if else 1}"/>'
                   f'<text x="{round(x + 10, 1)}" y="{round(y - 8, 1)}" fill="{colour}" font-weight="bold">'
                   f'{xml_escape(p.mark)}</text></g>')
    out.append("</g>")
    ly = SVG_HEIGHT - 26
    out.append('<g class="legend">')
    lx = _LEFT
    for colour, text in CATEGORIES.values():
        out.append(f'<circle cx="{lx}" cy="{ly - 4}" r="5" fill="{colour}"/>'
                   f'<text x="{lx + 9}" y="{ly}">{xml_escape(text)}</text>')
        lx += 20 + int(len(text) * 6.4)
    note = _legend_text(chart, "numbers: the table's ranks (1 = best)", "ringed: on the Pareto front",
                        "hollow: not what the connector runs")
    if chart.missing:
        note += "; not plotted: " + ", ".join(f"#{r} ({why})" for r, why in chart.missing)
    out.append(f'<text x="{_LEFT}" y="{ly + 18}" fill="#616161">{xml_escape(note)}</text>')
    out.append("</g>")
    # The key: each point's combination, so the picture reads without the table.
    out.append('<g class="key" font-size="11">')
    for i, p in enumerate(key):
        y = SVG_HEIGHT + 4 + KEY_LINE * i
        line = f"{p.label} — {chart.x.name} {chart.x.format(p.x)}, {chart.y.name} {chart.y.format(p.y)}"
        out.append(f'<text x="{_LEFT - 6}" y="{y}" text-anchor="end" fill="{CATEGORIES[p.category][0]}" '
                   f'font-weight="bold">{p.rank}</text><text x="{_LEFT}" y="{y}">{xml_escape(line)}</text>')
    if len(chart.points) > len(key):
        y = SVG_HEIGHT + 4 + KEY_LINE * len(key)
        out.append(f'<text x="{_LEFT}" y="{y}" fill="#616161">… {len(chart.points) - len(key)} more in the table'
                   "</text>")
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _desc(chart: TradeOff) -> str:
    return "; ".join(f"#{p.rank} {p.label}: {chart.x.name} {chart.x.format(p.x)}, "
                     f"{chart.y.name} {chart.y.format(p.y)}" for p in sorted(chart.points, key=lambda p: p.rank))


def _attr(text: str) -> str:
    return xml_escape(text, {'"': "&quot;"})
