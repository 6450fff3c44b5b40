"""Every key binding, grouped as the command palette groups them, with what it does; then each pane's help."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Markdown, Static

from sinkbench.tui.screens.dialog import Dialog


class HelpScreen(Dialog[None]):
    BINDINGS = [Binding("escape,question_mark,f1,q", "close", "Close", id="help.close", tooltip="Back to the run")]

    def __init__(self, rows: list[tuple[str, str, str]], panes: list[str] | None = None) -> None:
        """rows: (key as shown, "category: verb", what it does); panes: each pane's HELP (Markdown)."""
        super().__init__()
        self.rows = rows
        self.panes = panes or []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="help"):
            yield Static("sinkbench — keys", classes="title")
            with VerticalScroll(id="keys"):
                category = None
                for key, command, about in self.rows:
                    cat, _, verb = command.partition(": ")
                    if cat != category:
                        yield Static(cat, classes="category")
                        category = cat
                    with Horizontal(classes="key-row"):
                        yield Static(key, classes="key")
                        yield Static(Content.assemble((verb, "bold"), " — ", (about, "$text-muted")),
                                     classes="about")
                if self.panes:
                    yield Static("panes", classes="category")
                for text in self.panes:
                    yield Markdown(text, classes="pane-help")
            yield Static("ctrl+p: the command palette, with every action above. escape closes this.",
                         classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)
