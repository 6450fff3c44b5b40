"""Status codes received over time: each code (and transport error) per second."""

from __future__ import annotations

from textual.content import Content

from sinkbench.tui.frames import Frame, StatusSeries
from sinkbench.tui.widgets.base import FramePane
from sinkbench.tui.widgets.text import count, spark


def code_style(code: str) -> str:
    if not code.isdigit():
        return "$text-error"          # reset, timeout, connect, ...
    n = int(code)
    if 200 <= n < 300:
        return "$text-success"
    if n == 429 or 400 <= n < 500:
        return "$text-warning"
    return "$text-error"


class StatusPane(FramePane):
    """Answers by status code (transport errors by kind), totals and the last minute per second."""

    TITLE = "status codes"
    HELP = """\
## Status codes

Each status the endpoint answered and each kind of transport error (reset,
timeout, connect), with its total and a sparkline of the last minute.
"""

    def select(self, frame: Frame) -> tuple[StatusSeries, ...] | None:
        return frame.status if frame.snapshot is not None else None

    def draw(self, series: tuple[StatusSeries, ...], width: int, height: int) -> Content:
        if not series:
            return Content.styled("no answers yet", "$text-muted")
        shown = sorted(series, key=lambda s: -s.total)[:height]
        shown.sort(key=lambda s: (not s.code.isdigit(), s.code))
        lines = []
        for s in shown:
            head = f"{s.code[:8]:<8} {count(s.total):>9} "
            line = spark(s.per_second, max(0, width - len(head)))
            lines.append(Content.assemble((f"{s.code[:8]:<8}", code_style(s.code)), f" {count(s.total):>9} ",
                                          (line, code_style(s.code))))
        return Content("\n").join(lines)
