"""A small modal asking for one value, checked as it is typed; the error shows under the field."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Label, Static

from sinkbench.tui.screens.dialog import Dialog


class ValuePrompt(Dialog[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel", tooltip="Close without a change")]

    def __init__(self, title: str, label: str, value: str = "", *,
                 check: Callable[[str], str | None] = lambda _: None) -> None:
        super().__init__()
        self._title = title
        self._label = label
        self._value = value
        self._check = check

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="prompt"):
            yield Static(self._title, classes="title")
            yield Label(self._label)
            field = Input(self._value, id="value", select_on_focus=True)
            field.cursor_blink = not self.app.is_headless
            yield field
            yield Static("", id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("OK", id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self._validate(self._value)

    @on(Input.Changed, "#value")
    def _changed(self, event: Input.Changed) -> None:
        self._validate(event.value)

    def _validate(self, text: str) -> bool:
        problem = self._check(text)
        error = self.query_one("#error", Static)
        error.update(Content(problem or ""))   # it quotes the value typed: text, never markup
        error.display = bool(problem)
        self.query_one("#ok", Button).disabled = bool(problem)
        return problem is None

    @on(Input.Submitted, "#value")
    @on(Button.Pressed, "#ok")
    def _submit(self) -> None:
        text = self.query_one("#value", Input).value
        if self._validate(text):
            self.dismiss(text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
