"""The dashboard side by side (`--versus`): A's column and B's, the comparison strip above them.

The keys are the dashboard's (breaks go to both endpoints: the session does
that); `tab`, or a click on a column, gives the other side focus, and `s`,
`w` and the sweep work on the side with focus. From 120 columns both sides
show at once, each with delivery, latency, status codes and its request log;
narrower, one side shows at a time, whole, and `tab` switches it (the
comparison strip stays).
"""

from __future__ import annotations

import dataclasses

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.widgets import Footer

from sinkbench.tui.screens.dashboard import Action, DashboardScreen
from sinkbench.tui.versus import VersusFrame, bar_frame
from sinkbench.tui.widgets.base import FramePane
from sinkbench.tui.widgets.delivery import DeliveryPane
from sinkbench.tui.widgets.endpoint import EndpointPane
from sinkbench.tui.widgets.latency import LatencyPane
from sinkbench.tui.widgets.requestlog import RequestLogPane
from sinkbench.tui.widgets.status import StatusPane
from sinkbench.tui.widgets.topbar import TopBar
from sinkbench.tui.widgets.versus import ComparePane, SideTabs, SideTitle

VERSUS_ACTIONS: tuple[Action, ...] = (
    Action("tab", "switch_side", "side", "view: switch side",
           "Give the other side focus (narrow: show it): s edits and w saves the side with focus",
           show=False),   # the footer keeps "? help" at 80 columns; the top bar and the tabs name tab
)


class SideColumn(Vertical):
    """One side: its title and its panes."""

    def __init__(self, side: int, *, id: str) -> None:
        super().__init__(id=id, classes="side")
        self.side = side
        self._panes: list[FramePane] = []

    def compose(self) -> ComposeResult:
        yield SideTitle(classes="side-title")
        with Grid(classes="side-panes"):
            yield DeliveryPane()
            yield LatencyPane()
            yield EndpointPane()
            yield StatusPane()
            yield RequestLogPane()

    def show(self, frame: VersusFrame) -> None:
        mine, other = frame.sides[self.side], frame.sides[1 - self.side]
        if not self._panes:
            self._panes = list(self.query(FramePane))
        self.set_class(frame.focus == self.side, "-focused")
        self.query_one(SideTitle).data = (frame.titles[self.side], mine.sink, frame.focus == self.side)
        for pane in self._panes:
            pane.show(mine, other)

    def on_click(self, event: events.Click) -> None:
        self.screen.focus_side(self.side)  # type: ignore[attr-defined]


class VersusScreen(DashboardScreen):
    """The live view of both runs."""

    BINDINGS = [Binding(a.key, a.action, a.footer, id=a.action, tooltip=a.tooltip, show=a.show)
                for a in VERSUS_ACTIONS]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (42, "-tall")]   # tall: room for the timeline's marks

    def compose(self) -> ComposeResult:
        yield TopBar(id="bar")
        yield ComparePane(id="compare")
        yield SideTabs(id="tabs")
        with Horizontal(id="sides"):
            yield SideColumn(0, id="side-a")
            yield SideColumn(1, id="side-b")
        yield Footer(compact=True)

    _last: VersusFrame | None = None

    def show(self, frame: VersusFrame) -> None:  # type: ignore[override]
        self._last = frame
        with self.app.batch_update():
            self.query_one(TopBar).show(bar_frame(frame))
            self.query_one(ComparePane).data = frame.comparison
            self.query_one(SideTabs).data = (frame.titles, frame.focus)
            for column in self.query(SideColumn):
                column.show(frame)

    def focus_side(self, side: int | None = None) -> None:
        """Gives `side` (None: the other one) focus, and shows it at once."""
        focus = self.session.switch(side)
        if self._last is not None:
            self.show(dataclasses.replace(self._last, focus=focus))

    def action_switch_side(self) -> None:
        self.focus_side()
