"""The sink settings form: validated as the user types, with the config loader's own errors under each field.

It never closes on an error; "apply" hands the validated settings back to the
dashboard, which applies them to the running bench between batches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Input, Label, Select, Static

from sinkbench.runtime import RuntimeSettings
from sinkbench.tui.form import FIELDS, Validation, validate
from sinkbench.tui.screens.dialog import Dialog


class SettingsScreen(Dialog[Validation | None]):
    BINDINGS = [
        Binding("ctrl+s", "apply", "Apply", id="settings.apply", tooltip="Apply the settings to the running sink"),
        Binding("escape", "cancel", "Cancel", id="settings.cancel", tooltip="Close without a change"),
    ]

    def __init__(self, table: Mapping[str, Any], initial: Mapping[str, str], runtime: RuntimeSettings, *,
                 env: Mapping[str, str] | None = None, running: bool = True, file: str | None = None) -> None:
        super().__init__()
        self.file = file
        self.table = dict(table)
        self.initial = dict(initial)
        self.runtime = runtime
        self.env = env
        self.running = running
        self.validation: Validation | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="settings"):
            yield Static("sink: settings" + ("" if self.running else "  (kept for the next run)"), classes="title")
            with VerticalScroll(id="fields"):
                for f in FIELDS:
                    with Horizontal(classes="field enhanced" if f.enhanced else "field", id=f"row-{f.key}"):
                        yield Label(f.label, classes="label")
                        value = self.initial.get(f.key, "")
                        if f.choices:
                            choices = list(f.choices) + ([value] if value and value not in f.choices else [])
                            yield Select([(c, c) for c in choices], value=value if value else f.choices[0],
                                         allow_blank=False, compact=True, id=f"field-{f.key}")
                        else:
                            field = Input(value, placeholder=f.hint or "default", compact=True, id=f"field-{f.key}")
                            field.cursor_blink = not self.app.is_headless
                            yield field
                    yield Static("", classes="error", id=f"error-{f.key}")
            yield Static("", classes="error", id="error-general")
            yield Static("", classes="warning", id="warnings")
            with Horizontal(classes="buttons"):
                yield Button("Apply (ctrl+s)", id="apply", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.check()
        # Typing goes to a field at once: a modal focuses nothing by itself, so the first key did nothing.
        self.query_one(f"#field-{FIELDS[0].key}").focus()

    def values(self) -> dict[str, str]:
        out = {}
        for f in FIELDS:
            widget = self.query_one(f"#field-{f.key}")
            value = widget.value
            out[f.key] = "" if value is Select.NULL else str(value)
        return out

    @on(Input.Changed)
    @on(Select.Changed)
    def check(self) -> Validation:
        values = self.values()
        enhanced = values.get("profile") == "enhanced"
        for f in FIELDS:
            if f.enhanced:
                self.query_one(f"#row-{f.key}").set_class(not enhanced, "-off")
                self.query_one(f"#field-{f.key}").disabled = not enhanced
        v = self.validation = validate(self.table, self.initial, values, self.runtime, self.env, file=self.file)
        # The messages quote what was typed: shown as text, since as markup "[/]" would raise (killing the app)
        # and "[@click=...]" would make a link.
        for f in FIELDS:
            error = self.query_one(f"#error-{f.key}", Static)
            message = v.errors.get(f.key, "")
            error.update(Content(message))
            error.display = bool(message)
        general = self.query_one("#error-general", Static)
        general.update(Content(v.errors.get("", "")))
        general.display = "" in v.errors
        warnings = self.query_one("#warnings", Static)
        warnings.update(Content("\n".join(f"warning: {w}" for w in v.warnings)))
        warnings.display = bool(v.warnings)
        self.query_one("#apply", Button).disabled = not v.ok
        return v

    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        v = self.check()
        if v.ok:
            self.dismiss(v)
        else:
            self.notify("fix the fields marked in red first", severity="warning")

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
