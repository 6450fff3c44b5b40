"""Charts as inline SVG for the HTML report: strings built here, no script, no external reference.

Each chart is drawn in a fixed coordinate box (its viewBox) and scales to
the width of what holds it, so it reads on a phone and on a wide screen. No
colour is written here: every element has a class (`c1`..`c8` for series,
`band`, `mark`, `grid`, ...) that the page's stylesheet colours, so the same
chart follows a light or a dark scheme and prints. Legends are the page's
too (HTML wraps at any width; text in an SVG only shrinks).

Time charts take per-second rows and draw each value as a step over its
second, [t, t + 1): a count per second is a level held for that second, not a
point between two. Fault windows are shaded bands and instant events
(live breaks, settings changes) dashed lines, each with a short badge that
the page's legend explains.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from sinkbench.metrics.expect import format_ms

WIDTH = 720
LEFT, RIGHT, TOP, BOTTOM = 58, 22, 26, 28
BADGE_ROWS = 3          # staggered rows of badges at the top of a time chart, so near ones do not overlap


@dataclass(frozen=True)
class Line:
    """One series of a chart: a value per second (None: no data, the line breaks)."""

    name: str
    css: str                                  # its colour class: c1 .. c8
    values: Sequence[float | None]            # values[t] holds for the second [t, t + 1)
    dashed: bool = False


@dataclass(frozen=True)
class Band:
    """A span of the run, shaded: a fault window, the drain after it."""

    start: float
    end: float
    badge: str                               # "F1": what the legend explains
    title: str                               # the full text, shown on hover
    css: str = "fault"


@dataclass(frozen=True)
class Mark:
    """An instant of the run: a live break, a settings change, a pause."""

    at: float
    badge: str
    title: str


@dataclass(frozen=True)
class Bar:
    """A stack at second `t`: (colour class, value) from the bottom up."""

    t: int
    parts: Sequence[tuple[str, float]]


def _num(v: float) -> str:
    """A coordinate: one decimal, no trailing zero (most of the file's bytes are these)."""
    text = f"{v:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _step(raw: float, steps: Sequence[float]) -> float:
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (*steps, 10) if m * magnitude >= raw * (1 - 1e-9))


def value_ticks(top: float, n: int = 4) -> list[float]:
    """0, s, 2s, ... reaching at least `top`, with s a 1-2-2.5-5 step giving about `n` intervals."""
    if not top > 0 or math.isinf(top):
        return [0.0, 1.0]
    step = _step(top / n, (1, 2, 2.5, 5))
    count = max(1, math.ceil(top / step - 1e-9))
    return [round(i * step, 12) for i in range(count + 1)]


_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def time_ticks(duration: float, n: int = 6) -> list[float]:
    """Ticks in seconds at a step people count in (5 s, 30 s, 2 min, 1 h), about `n` of them."""
    raw = max(duration, 1.0) / n
    step = next((s for s in _TIME_STEPS if s >= raw), _TIME_STEPS[-1])
    return [i * step for i in range(int(duration // step) + 1)]


def log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten from below `lo` to above `hi` (both > 0)."""
    first = math.floor(math.log10(lo))
    last = max(math.ceil(math.log10(hi)), first + 1)
    return [10.0 ** e for e in range(first, last + 1)]


def clock(seconds: float) -> str:
    """A time axis label: "45s", "2m", "1m30s", "1h"."""
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    if h:
        return f"{h}h" + (f"{m:02d}m" if m or sec else "")
    return f"{m}m" + (f"{sec:02d}s" if sec else "")


class _Frame:
    """A plot area inside the viewBox, with its scales."""

    def __init__(self, height: int, x_top: float, y_lo: float, y_hi: float, *, log: bool = False,
                 top: int = TOP) -> None:
        self.height = height
        self.x0, self.x1 = LEFT, WIDTH - RIGHT
        self.y0, self.y1 = top, height - BOTTOM
        self.x_top = max(x_top, 1e-9)
        self.log = log
        self.y_lo, self.y_hi = (math.log10(y_lo), math.log10(y_hi)) if log else (y_lo, y_hi)

    def x(self, t: float) -> float:
        return self.x0 + min(max(t, 0.0), self.x_top) / self.x_top * (self.x1 - self.x0)

    def y(self, v: float) -> float:
        if self.log:
            v = math.log10(max(v, 10 ** self.y_lo))
        span = (self.y_hi - self.y_lo) or 1.0
        share = (min(max(v, self.y_lo), self.y_hi) - self.y_lo) / span
        return self.y1 - share * (self.y1 - self.y0)


def _open(height: int, label: str, css: str) -> list[str]:
    # No width or height: the page sizes the chart; the viewBox keeps its proportions.
    return [f'<svg class="chart {css}" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(label)}" '
            f'preserveAspectRatio="xMidYMid meet">', f"<title>{escape(label)}</title>"]


def _axes(f: _Frame, x_ticks: Sequence[float], x_label: Callable[[float], str], y_ticks: Sequence[float],
          y_label: Callable[[float], str]) -> list[str]:
    out = ['<g class="grid">']
    for v in y_ticks:
        out.append(f'<line x1="{f.x0}" y1="{_num(f.y(v))}" x2="{f.x1}" y2="{_num(f.y(v))}"/>')
    out.append("</g>")
    out.append(f'<g class="axis"><line x1="{f.x0}" y1="{f.y1}" x2="{f.x1}" y2="{f.y1}"/>'
               f'<line x1="{f.x0}" y1="{f.y0}" x2="{f.x0}" y2="{f.y1}"/></g>')
    out.append('<g class="tick">')
    for v in y_ticks:
        out.append(f'<text x="{f.x0 - 5}" y="{_num(f.y(v) + 4)}" text-anchor="end">{escape(y_label(v))}</text>')
    for t in x_ticks:
        out.append(f'<text x="{_num(f.x(t))}" y="{f.y1 + 17}" text-anchor="middle">{escape(x_label(t))}</text>')
    out.append("</g>")
    return out


def _bands_and_marks(f: _Frame, bands: Sequence[Band], marks: Sequence[Mark]) -> tuple[list[str], list[str]]:
    """Shaded spans and dashed instants, drawn under the data; and their badges, staggered over BADGE_ROWS
    rows, drawn over it."""
    out = ['<g class="events">']
    badges: list[tuple[float, str, str, str]] = []
    for b in bands:
        x0, x1 = f.x(b.start), f.x(b.end)
        out.append(f'<rect class="band {b.css}" x="{_num(x0)}" y="{f.y0}" width="{_num(max(x1 - x0, 1.5))}" '
                   f'height="{f.y1 - f.y0}"><title>{escape(b.title)}</title></rect>')
        badges.append((x0, b.badge, b.title, b.css))
    for m in marks:
        x = f.x(m.at)
        out.append(f'<line class="mark" x1="{_num(x)}" y1="{f.y0}" x2="{_num(x)}" y2="{f.y1}">'
                   f'<title>{escape(m.title)}</title></line>')
        badges.append((x, m.badge, m.title, "mark"))
    out.append("</g>")
    over = ['<g class="badges">']
    free_from = [-math.inf] * BADGE_ROWS       # per row: where the last badge drawn in it ends
    for x, badge, title, css in sorted(badges, key=lambda b: b[0]):
        # The first row with room at x; when every row is taken there (many events in one second),
        # the row where it can sit nearest to x, just after the badge before it: none hides another.
        width = 8 + 7 * len(badge)
        row = next((r for r in range(BADGE_ROWS) if free_from[r] <= x),
                   min(range(BADGE_ROWS), key=lambda r: free_from[r]))
        x = max(x, free_from[row])
        free_from[row] = x + width
        y = f.y0 + 11 + row * 14
        over.append(f'<g class="badge {css}"><title>{escape(title)}</title>'
                    f'<rect x="{_num(x + 1)}" y="{y - 10}" width="{width - 2}" height="13" rx="3"/>'
                    f'<text x="{_num(x + width / 2)}" y="{y}" text-anchor="middle">{escape(badge)}</text></g>')
    over.append("</g>")
    return out, over


def _steps(f: _Frame, values: Sequence[float | None]) -> str:
    """A step path: each second's value held across that second; a None breaks the line."""
    parts: list[str] = []
    pen = False
    last_y = None
    for t, v in enumerate(values):
        if v is None:
            pen = False
            continue
        y = _num(f.y(v))
        if not pen:
            parts.append(f"M{_num(f.x(t))} {y}")
        elif y != last_y:
            parts.append(f"V{y}")
        parts.append(f"H{_num(f.x(t + 1))}")
        pen, last_y = True, y
    return "".join(parts)


def time_chart(lines: Sequence[Line], duration: float, *, label: str, height: int = 210,
               bands: Sequence[Band] = (), marks: Sequence[Mark] = (), log: bool = False,
               y_format: Callable[[float], str] | None = None) -> str:
    """Per-second series over the run, with its fault windows and events. `log`: a log10 value axis
    (latencies: a 3 ms normal and a 3 s outage on one chart); values <= 0 sit on its floor."""
    seen = [v for line in lines for v in line.values if v is not None]
    x_top = max(duration, max((len(line.values) for line in lines), default=0), 1.0)
    if log:
        positive = [v for v in seen if v > 0] or [1.0]
        ticks = log_ticks(min(positive), max(positive))
        fmt = y_format or format_ms
        f = _Frame(height, x_top, ticks[0], ticks[-1], log=True)
    else:
        ticks = value_ticks(max(seen, default=0.0))
        fmt = y_format or _count
        f = _Frame(height, x_top, 0.0, ticks[-1])
    out = _open(height, label, "time")
    out += _axes(f, time_ticks(x_top), clock, ticks, fmt)
    under, over = _bands_and_marks(f, bands, marks)
    out += under
    out.append('<g class="lines">')
    for line in lines:
        d = _steps(f, line.values)
        if d:
            dash = " dashed" if line.dashed else ""
            out.append(f'<path class="line {line.css}{dash}" d="{d}"><title>{escape(line.name)}</title></path>')
    out.append("</g>")
    out += over
    out.append("</svg>")
    return "\n".join(out)


def bar_chart(bars: Sequence[Bar], duration: float, *, label: str, height: int = 190,
              bands: Sequence[Band] = (), marks: Sequence[Mark] = ()) -> str:
    """Stacked bars, one per second (requests by status). One path per colour class keeps it small."""
    x_top = max(duration, max((b.t + 1 for b in bars), default=0), 1.0)
    ticks = value_ticks(max((sum(v for _, v in b.parts) for b in bars), default=0.0))
    f = _Frame(height, x_top, 0.0, ticks[-1])
    out = _open(height, label, "bars")
    out += _axes(f, time_ticks(x_top), clock, ticks, _count)
    under, over = _bands_and_marks(f, bands, marks)
    out += under
    paths: dict[str, list[str]] = {}
    gap = 0.12 if (f.x(1) - f.x(0)) > 3 else 0.0     # a hairline between bars while they are wide enough
    for b in bars:
        base = 0.0
        x0, x1 = f.x(b.t + gap / 2), f.x(b.t + 1 - gap / 2)
        for css, value in b.parts:
            if value <= 0:
                continue
            y_top, y_bottom = f.y(base + value), f.y(base)
            paths.setdefault(css, []).append(
                f"M{_num(x0)} {_num(y_bottom)}V{_num(y_top)}H{_num(x1)}V{_num(y_bottom)}Z")
            base += value
    out.append('<g class="bars">')
    for css, parts in paths.items():
        out.append(f'<path class="bar {css}" d="{"".join(parts)}"/>')
    out.append("</g>")
    out += over
    out.append("</svg>")
    return "\n".join(out)


BINS_PER_DECADE = 10


def histogram_chart(buckets: Sequence[tuple[float, float, int]], *, label: str, css: str = "c1",
                    markers: Sequence[tuple[float, str]] = (), height: int = 200) -> str:
    """A latency distribution: share of the values per bin, bins of equal width on a log10 ms axis
    (BINS_PER_DECADE to a power of ten), with `markers` (value ms, "p99") as labelled lines."""
    total = sum(c for _, _, c in buckets)
    bins: dict[int, int] = {}
    for low, high, c in buckets:
        # A bucket is 1% wide, a bin 26%: the bucket's middle decides its bin.
        middle = math.sqrt(low * high) if low > 0 else high / 2
        k = math.floor(math.log10(max(middle, 1e-3)) * BINS_PER_DECADE)
        bins[k] = bins.get(k, 0) + c
    out = _open(height, label, "histogram")
    if not total:
        out.append(f'<text class="empty" x="{WIDTH / 2}" y="{height / 2}" text-anchor="middle">no data</text></svg>')
        return "\n".join(out)
    lo_k, hi_k = min(bins), max(bins) + 1
    ticks = log_ticks(10 ** (lo_k / BINS_PER_DECADE), 10 ** (hi_k / BINS_PER_DECADE))
    shares = {k: c / total * 100 for k, c in bins.items()}
    y_ticks = value_ticks(max(shares.values()))
    f = _Frame(height, 1.0, 0.0, y_ticks[-1], top=30)
    e_lo, e_hi = math.log10(ticks[0]), math.log10(ticks[-1])

    def sx(ms: float) -> float:
        return f.x((math.log10(max(ms, ticks[0])) - e_lo) / (e_hi - e_lo))

    out += _axes(f, [], str, y_ticks, lambda v: f"{v:g}%")
    out.append('<g class="tick">')
    for t in ticks:
        out.append(f'<text x="{_num(sx(t))}" y="{f.y1 + 17}" text-anchor="middle">{escape(format_ms(t))}</text>')
    out.append("</g>")
    parts = []
    for k, share in sorted(shares.items()):
        x0, x1 = sx(10 ** (k / BINS_PER_DECADE)), sx(10 ** ((k + 1) / BINS_PER_DECADE))
        parts.append(f"M{_num(x0 + 0.5)} {_num(f.y1)}V{_num(f.y(share))}H{_num(x1 - 0.5)}V{_num(f.y1)}Z")
    out.append(f'<path class="bar {css}" d="{"".join(parts)}"/>')
    out.append('<g class="events">')
    for i, (value, name) in enumerate(markers):
        x = _num(sx(value))
        text = f"{name} {format_ms(value)}"
        out.append(f'<line class="mark" x1="{x}" y1="{f.y0 - 4}" x2="{x}" y2="{f.y1}"><title>{escape(text)}</title>'
                   f'</line><text class="marker" x="{x}" y="{f.y0 - 8 - 11 * (i % 2)}" text-anchor="middle">'
                   f'{escape(name)}</text>')
    out.append("</g></svg>")
    return "\n".join(out)


def mini_chart(values: Sequence[float], duration: float, *, label: str, bands: Sequence[Band] = (),
               css: str = "c1", height: int = 56, width: int = 240) -> str:
    """A small area of one series over the run with its bands and no axes: a sweep row's timeline."""
    x_top = max(duration, len(values), 1.0)
    top = max(values, default=0.0) or 1.0

    def sx(t: float) -> float:
        return 1 + min(max(t, 0.0), x_top) / x_top * (width - 2)

    def sy(v: float) -> float:
        return height - 2 - v / top * (height - 4)

    out = [f'<svg class="chart mini" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}" '
           f'preserveAspectRatio="none">', f"<title>{escape(label)}</title>"]
    for b in bands:
        out.append(f'<rect class="band {b.css}" x="{_num(sx(b.start))}" y="0" '
                   f'width="{_num(max(sx(b.end) - sx(b.start), 1))}" height="{height}"><title>{escape(b.title)}'
                   "</title></rect>")
    if values:
        d = [f"M{_num(sx(0))} {_num(sy(0))}"]
        for t, v in enumerate(values):
            d.append(f"V{_num(sy(v))}H{_num(sx(t + 1))}")
        d.append(f"V{_num(sy(0))}Z")
        out.append(f'<path class="area {css}" d="{"".join(d)}"/>')
    out.append(f'<line class="axis" x1="0" y1="{height - 1}" x2="{width}" y2="{height - 1}"/></svg>')
    return "\n".join(out)


def _count(v: float) -> str:
    if v >= 1_000_000:
        return f"{v / 1_000_000:g}M"
    if v >= 10_000:
        return f"{v / 1000:g}k"
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:g}"
