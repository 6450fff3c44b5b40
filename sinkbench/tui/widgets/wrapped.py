"""Lines wrapped to the widget's width under a hanging indent, so a continuation never reads as a line of its own."""

from __future__ import annotations

from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget

from sinkbench.tui.widgets.text import wrap


class WrappedLines(Widget):
    DEFAULT_CSS = """
    WrappedLines {
        height: auto;
        text-wrap: nowrap;
    }
    """

    def __init__(self, lines: list[Content], *, indent: int = 2, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = lines
        self.indent = indent

    def lines(self, width: int) -> list[Content]:
        return [part for line in self.source for part in wrap(line, max(1, width), self.indent)]

    def render(self) -> Content:
        return Content("\n").join(self.lines(self.content_size.width))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(width))
