"""The endpoint: what it answers now, its rate limit, and its faults (the session's breaks first)."""

from __future__ import annotations

from textual.content import Content

from sinkbench.tui.frames import Frame
from sinkbench.tui.widgets.base import STYLES, FramePane
from sinkbench.tui.widgets.text import fit, wrap


class EndpointPane(FramePane):
    """The embedded endpoint's settings as its admin API reports them after each change."""

    TITLE = "endpoint"
    HELP = """\
## Endpoint

What the embedded endpoint does now, read back from its admin API after
each change. Rules marked ▼ are your breaks (d, r, h, e, t, l, m; n lifts
them all); the others come from the scenario.
"""

    def select(self, frame: Frame, other: Frame | None = None) -> tuple[tuple[str, str], ...]:
        return frame.endpoint

    def draw(self, lines: tuple[tuple[str, str], ...], width: int, height: int) -> Content:
        # Each setting wrapped under its first word, never cut; what does not fit is counted.
        blocks = [wrap(Content.styled(text, STYLES.get(style, "")), width) for style, text in lines]
        out: list[Content] = []
        for i, block in enumerate(blocks):
            rest = len(blocks) - i
            if len(out) + len(block) > height or (rest > 1 and len(out) + len(block) == height):
                out.append(Content.styled(fit(f"… {rest} more", width), "$text-muted"))
                break
            out.extend(block)
        return Content("\n").join(out[:height])
