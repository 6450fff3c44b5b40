"""Status codes received over time: requests per code (and per transport error) each second."""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content

from sinkbench.report.versus import differs
from sinkbench.tui.frames import Frame, StatusSeries
from sinkbench.tui.widgets.base import FramePane, marked
from sinkbench.tui.widgets.text import count, fit, short_count, spark


def code_style(code: str) -> str:
    if not code.isdigit():
        return "$text-error"          # reset, timeout, connect, ...
    n = int(code)
    if 200 <= n < 300:
        return "$text-success"
    if n == 429 or 400 <= n < 500:
        return "$text-warning"
    return "$text-error"


@dataclass(frozen=True)
class StatusView:
    series: tuple[StatusSeries, ...]
    requests: int
    retries: int
    differ: frozenset[str] = frozenset()   # side by side: codes (and "requests", "retries") unlike the other's


class StatusPane(FramePane):
    """Requests by status code (transport errors by kind), totals and the last minute per second."""

    TITLE = "status codes · requests"
    HELP = """\
## Status codes

Every count here is of **requests** (one HTTP attempt each, a batch of
messages or one): the requests sent and how many were retries, then each
status the endpoint answered and each kind of transport error (reset,
timeout, connect), with its total and a sparkline of the last minute.
Side by side, a total that differs from the other side's is highlighted
(exactly one of them zero, or more than 2% apart).
"""

    def select(self, frame: Frame, other: Frame | None = None) -> StatusView | None:
        s = frame.snapshot
        if s is None:
            return None
        differ: frozenset[str] = frozenset()
        if other is not None and other.snapshot is not None:
            o = other.snapshot
            codes = set(s.status_codes) | set(o.status_codes)
            differ = frozenset(k for k, mine, theirs in (
                ("requests", s.requests, o.requests), ("retries", s.retries, o.retries),
                *((c, s.status_codes.get(c, 0), o.status_codes.get(c, 0)) for c in codes))
                if differs("count", mine, theirs))
        return StatusView(frame.status, s.requests, s.retries, differ)

    def draw(self, v: StatusView, width: int, height: int) -> Content:
        for shown in (count, short_count):     # rounded (1.23M) when the full counts do not fit
            head = Content.assemble(("requests ", "$text-muted"), (shown(v.requests), marked("", "requests" in v.differ)),
                                    ("  retries ", "$text-muted"),
                                    (shown(v.retries), marked("$text-warning" if v.retries else "", "retries" in v.differ)))
            if head.cell_length <= width:
                break
        else:
            head = Content(fit(head.plain, width))
        if not v.series:
            return Content("\n").join([head, Content.styled("no answers yet", "$text-muted")][:height])
        rows = max(0, height - 1)
        shown = sorted(v.series, key=lambda s: -s.total)
        left: list[StatusSeries] = []
        if len(shown) > rows:      # the rarest codes go on one line, named, rather than vanish
            shown, left = shown[:max(0, rows - 1)], shown[max(0, rows - 1):]
        shown.sort(key=lambda s: (not s.code.isdigit(), s.code))
        lines = [head]
        for s in shown:
            code = fit(s.code, 8)
            total = count(s.total)
            start = f"{code:<8} {total:>9} "
            line = spark(s.per_second, max(0, width - len(start)))
            lines.append(Content.assemble((f"{code:<8}", code_style(s.code)), " ",
                                          (f"{total:>9}", marked("", s.code in v.differ)), " ",
                                          (line, code_style(s.code))))
        if left and rows:
            more = ", ".join(f"{s.code} × {count(s.total)}" for s in left)
            lines.append(Content.styled(fit(f"+ {more}", width), "$text-muted"))
        return Content("\n").join(lines[:height])
