"""The top line: the scenario, the run's state and elapsed time, the breaks in force, the sink's settings."""

from __future__ import annotations

from textual.content import Content

from sinkbench.tui.frames import Frame
from sinkbench.tui.widgets.base import FramePane
from sinkbench.tui.widgets.text import elapsed

STATE_STYLE = {"running": "$text-success", "paused": "$text-warning", "starting": "$text-muted",
               "finished": "$text-primary", "stopped": "$text-warning", "failed": "$text-error",
               "idle": "$text-muted"}


class TopBar(FramePane):
    def select(self, frame: Frame, other: Frame | None = None) -> tuple:
        snap = frame.snapshot
        ended = frame.state in ("finished", "stopped", "failed")   # the detail says how long it ran
        return (frame.scenario, frame.state, frame.detail,
                None if snap is None or ended else round(snap.elapsed, 1), frame.live_faults, frame.sink)

    def draw(self, data: tuple, width: int, height: int) -> Content:
        scenario, state, detail, seconds, live, sink = data
        parts: list[str | tuple[str, str]] = [(f" {scenario} ", "bold"),
                                             (f"● {state}", STATE_STYLE.get(state, ""))]
        if seconds is not None:
            parts.append(f" {elapsed(seconds)}")
        if detail:
            parts.append((f" — {detail}", STATE_STYLE.get(state, "")))
        if live:
            parts.append(("  ▼ " + ", ".join(live), "$text-error"))
        parts.append(("  │ " + sink, "$text-muted"))
        return Content.assemble(*parts)
