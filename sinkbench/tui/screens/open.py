"""Pick another scenario: the scenario files of a folder, with their descriptions."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from sinkbench.tui.screens.dialog import Dialog


class OpenScreen(Dialog[Path | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="open.cancel", tooltip="Keep the current scenario")]

    def __init__(self, folder: Path, scenarios: list[tuple[Path, str, str]]) -> None:
        super().__init__()
        self.folder = folder
        self.scenarios = scenarios

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="open"):
            yield Static(f"run: open a scenario from {self.folder.name}/", classes="title")
            options = [Option(Content.assemble((name, "bold"), "  ", (about, "$text-muted")), id=str(path))
                       for path, name, about in self.scenarios]
            yield OptionList(*options, id="scenarios")
            if not options:
                yield Static(f"no scenario files in {self.folder}", classes="warning")
            yield Static("enter opens it (the current run stops); escape keeps the current one", classes="hint")

    @on(OptionList.OptionSelected, "#scenarios")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(Path(event.option.id or ""))

    def action_cancel(self) -> None:
        self.dismiss(None)
