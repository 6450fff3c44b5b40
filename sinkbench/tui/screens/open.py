"""Pick another scenario: the scenario files of a folder with their descriptions, or any path typed in."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from sinkbench.tui.screens.dialog import Dialog
from sinkbench.tui.session import ControlError, list_scenarios, picked_path


class OpenScreen(Dialog[Path | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="open.cancel", tooltip="Keep the current scenario")]

    def __init__(self, folder: Path, scenarios: list[tuple[Path, str, str]], cwd: Path | None = None) -> None:
        super().__init__()
        self.folder = folder
        self.scenarios = scenarios
        self.cwd = cwd or Path.cwd()

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="open"):
            yield Static(self._title(), id="open-title", classes="title", markup=False)
            yield OptionList(*self._options(), id="scenarios")
            yield Static(self._empty(), id="open-empty", classes="warning", markup=False)
            path = Input(placeholder="or the path of any scenario file, or of a folder to list", id="path")
            path.cursor_blink = not self.app.is_headless
            yield path
            yield Static("", id="path-error", classes="error")
            yield Static("enter opens it (the current run stops); escape keeps the current one", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#open-empty", Static).display = not self.scenarios
        self.query_one("#path-error", Static).display = False

    def _title(self) -> str:
        return f"run: open a scenario from {self.folder.name or self.folder}/"

    def _options(self) -> list[Option]:
        return [Option(Content.assemble((name, "bold"), "  ", (about, "$text-muted")), id=str(path))
                for path, name, about in self.scenarios]

    def _empty(self) -> str:
        return f"no scenario files in {self.folder}"

    def _show_list(self) -> None:
        options = self.query_one("#scenarios", OptionList)
        options.clear_options()
        options.add_options(self._options())
        options.highlighted = 0 if self.scenarios else None
        self.query_one("#open-title", Static).update(self._title())
        self.query_one("#open-empty", Static).display = not self.scenarios

    @on(OptionList.OptionSelected, "#scenarios")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(Path(event.option.id or ""))

    @on(Input.Submitted, "#path")
    def _typed(self, event: Input.Submitted) -> None:
        error = self.query_one("#path-error", Static)
        try:
            path = picked_path(event.value, self.cwd)
        except ControlError as exc:
            error.update(Content(str(exc)))   # it quotes what was typed: text, never markup
            error.display = True
            return
        error.display = False
        if path.is_dir():   # a folder: its scenarios, to choose from
            self.folder, self.scenarios = path, list_scenarios(path)
            self._show_list()
            return
        self.dismiss(path)

    def action_cancel(self) -> None:
        self.dismiss(None)
