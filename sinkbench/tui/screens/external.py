"""An external sink's settings, read-only: what replaces the settings form when the sink is a real program.

Its command line, environment, feed and readiness are the scenario's (redacted as everywhere); the endpoint's
settings are what it holds now. Nothing here can be changed live: the program's settings are its own.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Static

from sinkbench.tui.screens.dialog import Dialog


class ExternalSinkScreen(Dialog[None]):
    BINDINGS = [Binding("escape,s,q", "close", "Close", id="external.close", tooltip="Back to the run")]

    def __init__(self, view: list[tuple[str, list[str]]]) -> None:
        """view: (heading, lines) per section (`Session.external_view`)."""
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="external"):
            yield Static("sink: external (read-only)", classes="title")
            with VerticalScroll(id="external"):
                for heading, lines in self.view:
                    yield Static(Content(heading), classes="category")
                    # Text, not markup: a command line or a log line may hold "[" and "]".
                    yield Static(Content("\n".join(lines)), classes="lines")
            yield Static("Change its command, environment or files and run again (ctrl+r).", classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close", compact=True)

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(None)
