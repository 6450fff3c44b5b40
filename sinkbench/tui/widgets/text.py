"""Small formatting helpers shared by the panes (plain strings; styles are the panes' business)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from textual.content import Content

from sinkbench.metrics.expect import format_ms
from sinkbench.report.sparkline import sparkline

ELLIPSIS = "…"


def count(n: int | float | None) -> str:
    if n is None:
        return "–"
    return f"{int(n):,}"


def short_count(n: int | float | None) -> str:
    """A count in at most 6 cells: "12,345", then "123k", "1.23M", "12.3G" (the suffix marks the rounding)."""
    if n is None:
        return "–"
    n = int(n)
    if abs(n) < 100_000:
        return f"{n:,}"
    for unit, step in (("k", 1e3), ("M", 1e6), ("G", 1e9)):
        v = n / step
        if abs(v) < 999.5 or unit == "G":
            decimals = 2 if abs(v) < 10 else 1 if abs(v) < 100 else 0
            return f"{v:.{decimals}f}{unit}"
    return f"{n:,}"   # pragma: no cover - the loop always returns


def fit(text: str, width: int) -> str:
    """`text` cut to `width` cells, with an ellipsis when it was cut (never silently)."""
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS


def wrap(line: Content, width: int, indent: int = 2) -> list[Content]:
    """One line wrapped on words to `width` cells, the continuation lines indented (a hanging indent)."""
    if line.cell_length <= width:
        return [line]
    inner = max(1, width - indent)
    first, *rest = line.wrap(width)
    out = [first]
    if rest:
        tail = Content(" ").join(rest)
        out += [Content(" " * indent) + part for part in tail.wrap(inner)]
    return out


def rate(n: float) -> str:
    return f"{n:,.0f}" if n >= 10 or n == 0 else f"{n:.1f}"


def ms(value: float | None) -> str:
    return "–" if value is None else format_ms(value)


def size(n: int) -> str:
    for unit, step in (("B", 1), ("K", 1024), ("M", 1024 ** 2)):
        if n < step * 1024 or unit == "M":
            v = n / step
            return f"{v:.0f}{unit}" if unit == "B" or v >= 100 else f"{v:.1f}{unit}"
    return f"{n}B"


def elapsed(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{seconds:.1f}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def spark(values: Sequence[float], width: int) -> str:
    """The last `width` values as a sparkline (a second with nothing is a blank)."""
    if width <= 0:
        return ""
    tail = list(values)[-width:]
    return sparkline(tail, width=width) if tail else ""


def log_position(value: float, lo: float, hi: float, width: int) -> int:
    """Where `value` sits on a logarithmic axis from lo to hi, in cells (at least 1)."""
    if value <= 0 or hi <= lo:
        return 1 if value > 0 else 0
    return max(1, min(width, round(math.log(value / lo) / math.log(hi / lo) * width)))
