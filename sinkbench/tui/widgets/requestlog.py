"""The request log: the newest attempts first, with the session's own events among them; filtered and
scrolled as the user asks (sinkbench.tui.logview)."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.content import Content

from sinkbench.tui.frames import Frame, LogRow
from sinkbench.tui.logview import LogFilter, LogView, log_view, scrolled
from sinkbench.tui.widgets.base import FramePane, marked
from sinkbench.tui.widgets.status import code_style
from sinkbench.tui.widgets.text import ELLIPSIS, fit, ms, size, wrap

WHEEL_ROWS = 3


@dataclass(frozen=True)
class LogData:
    view: LogView
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

**f** filters it: `errors` keeps every attempt not answered 2xx; statuses,
classes and error kinds keep those (`503`, `5xx`, `429, reset`); empty shows
all. Your changes always show. **pagedown** and the mouse wheel go back to
older rows, which then stay put while new ones arrive; **pageup** comes
forward, **home** back to the newest. The title says what is filtered and
how many newer rows are above the view.
"""

    log_filter = LogFilter()
    anchor: LogRow | None = None       # the row at the top of the view; None: following the newest
    _last: tuple[Frame, Frame | None] | None = None

    def show(self, frame: Frame, other: Frame | None = None) -> None:
        self._last = (frame, other)
        super().show(frame, other)
        view = self.data.view
        parts = [self.TITLE]
        if view.filter.active:
            parts.append(f"{view.filter.label()} ({view.kept} request{'s' if view.kept != 1 else ''})")
        if view.above:
            parts.append(f"↑ {view.above} newer (home)")
        self.border_title = " · ".join(parts)

    def select(self, frame: Frame, other: Frame | None = None) -> LogData:
        unseen: frozenset[str] = frozenset()
        if other is not None and other.snapshot is not None and frame.snapshot is not None:
            unseen = frozenset(frame.snapshot.status_codes) - frozenset(other.snapshot.status_codes)
        return LogData(log_view(frame.log, self.log_filter, self.anchor), unseen)

    # -- what the keys change (the dashboard's f, pageup, pagedown, home) ----------------------
    def set_filter(self, flt: LogFilter) -> None:
        self.log_filter, self.anchor = flt, None
        self._again()

    def scroll_rows(self, by: int) -> None:
        """`by` rows older (negative: newer)."""
        if self._last is not None:
            self.anchor = scrolled(self._last[0].log, self.log_filter, self.anchor, by)
            self._again()

    def page(self) -> int:
        return max(1, self.content_size.height - 2)

    def to_newest(self) -> None:
        self.anchor = None
        self._again()

    def _again(self) -> None:
        if self._last is not None:
            self.show(*self._last)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.scroll_rows(WHEEL_ROWS)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.scroll_rows(-WHEEL_ROWS)

    def draw(self, data: LogData, width: int, height: int) -> Content:
        rows = data.view.rows
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
            outcome = (f"{fit(row.outcome, 8):<8}", marked(code_style(row.outcome), row.outcome in data.unseen))
            # An external sink's requests come from the endpoint, which cannot know the try or the latency (-1).
            attempt = str(row.attempt + 1) if row.attempt >= 0 else "–"
            latency = ms(row.latency * 1000) if row.latency >= 0 else "–"
            lines.append(Content.assemble(
                (t, "$text-muted"), f"  {method:<6} ", outcome,
                f" {attempt:>3} {row.messages:>6} {size(row.body_bytes):>7} {latency:>8}"))
        if len(lines) == 1:
            text = "no requests yet" if not data.view.filter.active else "no request matches the filter (f changes it)"
            lines.append(Content.styled(fit(text, width), "$text-muted"))
        return Content("\n").join(lines[:height])
