"""The request log: the newest attempts first, with the session's own events among them."""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content

from sinkbench.tui.frames import Frame, LogRow
from sinkbench.tui.widgets.base import FramePane, marked
from sinkbench.tui.widgets.status import code_style
from sinkbench.tui.widgets.text import ELLIPSIS, fit, ms, size, wrap


@dataclass(frozen=True)
class LogView:
    rows: tuple[LogRow, ...]
    unseen: frozenset[str] = frozenset()   # side by side: statuses and errors the other side never got


class RequestLogPane(FramePane):
    """Time, method, status or fault, attempt number, batch size, bytes and latency, newest first."""

    TITLE = "request log"
    HELP = """\
## Request log

The newest requests first (the last 200 are kept): time since the start,
method, status or transport error, attempt (1 = first send), messages in the
body, body size and latency. Your changes appear among them as they happen.
Side by side, a status or error the other side never got is highlighted.
"""

    def select(self, frame: Frame, other: Frame | None = None) -> LogView:
        unseen: frozenset[str] = frozenset()
        if other is not None and other.snapshot is not None and frame.snapshot is not None:
            unseen = frozenset(frame.snapshot.status_codes) - frozenset(other.snapshot.status_codes)
        return LogView(frame.log, unseen)

    def draw(self, view: LogView, width: int, height: int) -> Content:
        rows = view.rows
        head = Content.styled(f"{'time':>9}  {'method':<6} {'status':<8} {'try':>3} {'msgs':>6} {'bytes':>7} "
                              f"{'latency':>8}", "$text-muted")
        lines = [head]
        for row in rows[: max(0, height - 1)]:
            t = f"{row.t:>8.3f}s"
            if row.kind == "event":
                # An event (a break, new settings) wraps under its text rather than lose its end.
                event = Content.assemble((t, "$text-muted"), ("  ── ", "$text-accent"), (row.text, "$text-accent"))
                block = wrap(event, width, indent=len(t) + 5)
                if len(lines) + len(block) > height:    # the pane's last line: cut, and marked as cut
                    block = block[:max(0, height - len(lines))]
                    if block:
                        block[-1] = block[-1].truncate(width - 1) + ELLIPSIS
                lines.extend(block)
                continue
            method = "HEALTH" if row.health_check else row.method
            lines.append(Content.assemble(
                (t, "$text-muted"), f"  {method:<6} ", (f"{fit(row.outcome, 8):<8}", marked(code_style(row.outcome), row.outcome in view.unseen)),
                f" {row.attempt + 1:>3} {row.messages:>6} {size(row.body_bytes):>7} {ms(row.latency * 1000):>8}"))
        if len(lines) == 1:
            lines.append(Content.styled("no requests yet", "$text-muted"))
        return Content("\n").join(lines[:height])
