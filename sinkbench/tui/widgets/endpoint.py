"""The endpoint: what it answers now, its rate limit, and its faults (the session's breaks first)."""

from __future__ import annotations

from textual.content import Content

from sinkbench.tui.frames import Frame
from sinkbench.tui.widgets.base import STYLES, FramePane


class EndpointPane(FramePane):
    """The embedded endpoint's settings as its admin API reports them after each change."""

    TITLE = "endpoint"
    HELP = """\
## Endpoint

What the embedded endpoint does now, read back from its admin API after
each change. Rules marked ▼ are your breaks (d, r, h, e, t, l, m; n lifts
them all); the others come from the scenario.
"""

    def select(self, frame: Frame) -> tuple[tuple[str, str], ...]:
        return frame.endpoint

    def draw(self, lines: tuple[tuple[str, str], ...], width: int, height: int) -> Content:
        out = [Content.styled(text, STYLES.get(style, "")) for style, text in lines]
        if len(out) > height:
            out = out[:height - 1] + [Content.styled(f"… {len(lines) - height + 1} more", "$text-muted")]
        return Content("\n").join(out)
