"""Side by side (`--versus`): the comparison strip, each side's title, and the tabs of the narrow layout."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from sinkbench.report.versus import Comparison, Row
from sinkbench.tui.widgets.base import HIGHLIGHT
from sinkbench.tui.widgets.text import fit

KEY_FIGURES = ("delivered", "failed", "lost", "duplicates")   # always in the strip, first
SEPARATOR = "   "


class ComparePane(Widget):
    """A against B in a line or two: the key counts, then every other figure that differs."""

    HELP = """\
## A vs B

The key counts of both sides, **A | B** (delivered, failed, lost,
duplicates), then every other figure that differs between them. A
highlighted pair differs: counts when exactly one side is zero or they are
more than 2% apart, latencies when one is at least 1.5 times the other.
What does not fit is counted at the end. The same rules mark the table
`sinkbench run --versus` prints.
"""

    data: reactive[Comparison | None] = reactive(None)

    def render(self) -> Content:
        if self.data is None:
            return Content.styled("A | B: waiting for both runs…", "$text-muted")
        return Content("\n").join(strip_lines(self.data, max(1, self.content_size.width),
                                              max(1, self.content_size.height)))


def _item(r: Row) -> Content:
    return Content.assemble((f"{r.label} ", "$text-muted"),
                            (f"{r.a} | {r.b}", f"{HIGHLIGHT} $text-warning" if r.differs else ""))


def strip_lines(c: Comparison, width: int, height: int) -> list[Content]:
    """The strip's items packed into `height` lines of `width` cells; what does not fit is counted."""
    rows = [r for key in KEY_FIGURES for r in c.rows if r.key == key]
    rows += [r for r in c.rows if r.differs and r.key not in KEY_FIGURES]
    items = [_item(r) for r in rows]
    head = Content.styled("A | B", "bold")
    for shown in range(len(items), -1, -1):
        lines = _pack([head, *items[:shown]], width)
        left = len(items) - shown
        if left:
            more = Content.styled(f"+{left} more differ{'s' if left == 1 else ''} (export: x)", "$text-muted")
            lines = _pack([head, *items[:shown], more], width)
        if len(lines) <= height:
            return lines
    return [Content(fit(head.plain, width))]


def _pack(items: list[Content], width: int) -> list[Content]:
    lines: list[Content] = []
    line = Content("")
    for item in items:
        if item.cell_length > width:
            item = Content(fit(item.plain, width))
        if not line.plain:
            line = item
        elif line.cell_length + len(SEPARATOR) + item.cell_length <= width:
            line = line + SEPARATOR + item
        else:
            lines.append(line)
            line = item
    lines.append(line)
    return lines


class SideTitle(Widget):
    """One side's title over its column: "▶ A · as written │ ndjson · batch 100 · …" (▶: the side with focus)."""

    data: reactive[tuple[str, str, bool] | None] = reactive(None)   # title, sink line, focused

    def render(self) -> Content:
        if self.data is None:
            return Content("")
        title, sink, focused = self.data
        width = max(1, self.content_size.width)
        head = Content.styled(f"{'▶' if focused else ' '} {title}", "bold" if focused else "")
        if head.cell_length >= width:
            return Content.styled(fit(head.plain, width), "bold" if focused else "")
        rest = width - head.cell_length
        return head + Content.styled(fit(f"  │ {sink}", rest), "$text-muted")


class SideTabs(Widget):
    """The narrow layout's tabs: both sides named, the one shown (with focus) marked; tab switches."""

    data: reactive[tuple[tuple[str, str], int] | None] = reactive(None)   # titles, focus

    def render(self) -> Content:
        if self.data is None:
            return Content("")
        titles, focus = self.data
        width = max(1, self.content_size.width)
        hint = "  (tab)"
        texts = [f"{'▶' if i == focus else ' '} {title}" for i, title in enumerate(titles)]
        room = width - len(hint) - 3
        if sum(map(len, texts)) > room:   # the shorter title whole if it can be, the longer one cut
            short = min((0, 1), key=lambda i: len(texts[i]))
            keep = min(len(texts[short]), room // 2)
            texts[short] = fit(texts[short], keep)
            texts[1 - short] = fit(texts[1 - short], max(1, room - keep))
        parts = [(t, "bold reverse" if i == focus else "$text-muted") for i, t in enumerate(texts)]
        out = Content.assemble(parts[0], " │ ", parts[1], (hint, "$text-muted"))
        return out if out.cell_length <= width else Content(fit(out.plain, width))
