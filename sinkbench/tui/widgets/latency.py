"""Latency: per attempt and per message (available → acknowledged), percentiles and a small plot."""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content

from sinkbench.report.versus import differs
from sinkbench.tui.frames import Frame
from sinkbench.tui.widgets.base import FramePane, marked
from sinkbench.tui.widgets.text import log_position, ms

COLUMNS = ("p50", "p90", "p99", "max")


@dataclass(frozen=True)
class LatencyView:
    request: tuple[float | None, ...]
    delivery: tuple[float | None, ...]
    requests: int
    messages: int
    differ: frozenset[tuple[int, int]] = frozenset()   # side by side: (kind, percentile) unlike the other's


class LatencyPane(FramePane):
    """Request and delivery latency: p50, p90, p99 and max, and a logarithmic plot when there is room."""

    TITLE = "latency"
    HELP = """\
## Latency

**request**: one HTTP attempt, sent to answered. **delivery**: a message
becoming available to its acknowledgement, retries and backoff included.
Side by side, a figure at least 1.5 times the other side's (or half of it)
is highlighted.
"""

    def select(self, frame: Frame, other: Frame | None = None) -> LatencyView | None:
        s = frame.snapshot
        if s is None:
            return None
        kinds = (s.latency_request, s.latency_delivery)
        differ: frozenset[tuple[int, int]] = frozenset()
        if other is not None and other.snapshot is not None:
            theirs = (other.snapshot.latency_request, other.snapshot.latency_delivery)
            differ = frozenset((k, i) for k in (0, 1) for i, c in enumerate(COLUMNS)
                               if differs("ms", kinds[k].get(c), theirs[k].get(c)))
        return LatencyView(tuple(s.latency_request.get(c) for c in COLUMNS),
                           tuple(s.latency_delivery.get(c) for c in COLUMNS),
                           int(s.latency_request.get("count") or 0), int(s.latency_delivery.get("count") or 0),
                           differ)

    def draw(self, v: LatencyView, width: int, height: int) -> Content:
        # One row per percentile, one column per kind: two columns always fit side by side, where four
        # percentiles across ran into each other ("4.93ms5.32ms") in a third of 120 columns.
        names = ("request", "delivery")
        cells = [[ms(x) for x in v.request], [ms(x) for x in v.delivery]]
        cell = max(len(n) for n in names)
        cell = max(cell, *(len(c) for col in cells for c in col))
        label = max(len(c) for c in COLUMNS)
        room = width - label - 2 * (cell + 1)
        pad = max(1, min(3, 1 + room // 2))      # wider gaps when there is room, never none
        head = Content.assemble(" " * label, *((" " * pad + n.rjust(cell), "$text-muted") for n in names))
        lines = [head]
        for i, name in enumerate(COLUMNS):
            lines.append(Content.assemble((name.ljust(label), "$text-muted"),
                                          *(part for k, col in enumerate(cells)
                                            for part in (" " * pad, (col[i].rjust(cell), marked("", (k, i) in v.differ))))))
        if height >= len(lines) + 5:
            lines.append(Content(""))
            lines.extend(self._plot(v, width))
        return Content("\n").join(lines[:height])

    @staticmethod
    def _plot(v: LatencyView, width: int) -> list[Content]:
        """Delivery percentiles as bars on a log axis, the request ones marked on the same axis."""
        values = [x for x in (*v.request, *v.delivery) if x]
        if not values:
            return [Content.styled("no answers yet", "$text-muted")]
        lo, hi = min(values) / 2, max(values)
        bar_width = max(4, width - 14)
        out = []
        for name, d, r in zip(COLUMNS, v.delivery, v.request):
            n = log_position(d or 0, lo, hi, bar_width)
            mark = log_position(r or 0, lo, hi, bar_width) - 1
            cells = ["█" if i < n else " " for i in range(bar_width)]
            parts: list[tuple[str, str]] = []
            for i, ch in enumerate(cells):
                if i == mark and r:
                    parts.append(("┃", "$text-primary"))
                else:
                    parts.append((ch, "$text-success"))
            out.append(Content.assemble((f"{name} ", "$text-muted"), *parts, f" {ms(d)}"))
        return out
