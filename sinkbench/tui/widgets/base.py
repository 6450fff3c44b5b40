"""A pane that renders a slice of the current frame.

The dashboard hands every pane each new frame; a pane keeps only the slice it
shows (`select`), in a reactive, so a pane whose slice did not change does not
render again. Side by side (`--versus`) each pane also gets the other side's
frame, and marks what differs from it (`HIGHLIGHT`, by the rules of
sinkbench.report.versus).
"""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from sinkbench.tui.frames import Frame

# Frame styles (see faults.describe_endpoint) → theme variables.
STYLES = {"": "", "muted": "$text-muted", "error": "$text-error", "warning": "$text-warning",
          "success": "$text-success", "accent": "$text-accent"}
HIGHLIGHT = "reverse"   # a value that differs from the other side's


def marked(style: str, differs: bool) -> str:
    """`style`, highlighted when the value differs from the other side's."""
    return f"{HIGHLIGHT} {style}".strip() if differs else style


class FramePane(Widget):
    """Base of the panes. Subclasses set TITLE and implement `select` and `draw`."""

    TITLE = ""
    data: reactive[Any] = reactive(None)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = self.TITLE

    def show(self, frame: Frame, other: Frame | None = None) -> None:
        """`frame` to show; `other`: the other side's, side by side."""
        self.data = self.select(frame, other)

    def select(self, frame: Frame, other: Frame | None = None) -> Any:
        return frame

    def render(self) -> Content:
        if self.data is None:
            return Content.styled("waiting for the run…", "$text-muted")
        size = self.content_size
        return self.draw(self.data, max(1, size.width), max(1, size.height))

    def draw(self, data: Any, width: int, height: int) -> Content:
        raise NotImplementedError
