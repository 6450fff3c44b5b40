"""The sink settings form: validated as the user types, with the config loader's own errors under each field.

It never closes on an error; "apply" hands the validated settings back to the
dashboard, which applies them to the running bench between batches. Headers
are rows of name and value under the fields (added, edited, removed); a secret
one's value is a password input, so it never shows on screen.
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
from sinkbench.tui.form import (
    FIELDS,
    HEADERS,
    Header,
    Validation,
    initial_headers,
    is_secret_url,
    is_secret_value,
    validate,
)
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
        self._rows = 0      # header rows made so far: each gets a fresh id (a removed one's may not be reused)

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
                with Horizontal(classes="field", id="row-headers"):
                    yield Label("headers", classes="label")
                    yield Button("+ header", id="add-header", compact=True)
                with Vertical(id="headers"):
                    for name, value in initial_headers(self.table):
                        yield self._header_row(name, value)
                yield Static("", classes="error", id=f"error-{HEADERS}")
            yield Static("", classes="error", id="error-general")
            yield Static("", classes="warning", id="warnings")
            with Horizontal(classes="buttons"):
                yield Button("Apply (ctrl+s)", id="apply", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def _header_row(self, name: str = "", value: str = "") -> Horizontal:
        self._rows += 1
        n = self._rows
        inputs = [Input(name, placeholder="name", compact=True, id=f"header-name-{n}", classes="header-name"),
                  Input(value, placeholder="value", compact=True, password=is_secret_value(name, value),
                        id=f"header-value-{n}", classes="header-value")]
        for field in inputs:
            field.cursor_blink = not self.app.is_headless
        return Horizontal(*inputs, Button("remove", id=f"header-remove-{n}", classes="remove-header", compact=True),
                          classes="field header")

    def headers(self) -> list[Header]:
        """The editor's rows, in order, as typed."""
        return [(row.query_one(".header-name", Input).value, row.query_one(".header-value", Input).value)
                for row in self.query_one("#headers").query(".header").results(Horizontal)]

    @on(Button.Pressed, "#add-header")
    async def add_header(self) -> None:
        row = self._header_row()
        await self.query_one("#headers").mount(row)
        row.query_one(".header-name", Input).focus()
        self.check()

    @on(Button.Pressed, ".remove-header")
    async def remove_header(self, event: Button.Pressed) -> None:
        row = event.button.parent
        if row is not None:
            await row.remove()
        self.check()

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
        headers = self.headers()
        for row in self.query_one("#headers").query(".header").results(Horizontal):
            name, value = row.query_one(".header-name", Input).value, row.query_one(".header-value", Input)
            # Masked as soon as it is secret (a credential header's name typed, or a ${VAR} in the value).
            value.password = is_secret_value(name.strip(), value.value.strip())
        url = self.query_one("#field-url", Input)
        # A URL typed with credentials or a token is masked too (as shown first, its secrets read [redacted]).
        url.password = url.value != self.initial.get("url") and is_secret_url(url.value)
        enhanced = values.get("profile") == "enhanced"
        for f in FIELDS:
            if f.enhanced:
                self.query_one(f"#row-{f.key}").set_class(not enhanced, "-off")
                self.query_one(f"#field-{f.key}").disabled = not enhanced
        v = self.validation = validate(self.table, self.initial, values, self.runtime, self.env, file=self.file,
                                       headers=headers)
        # The messages quote what was typed: shown as text, since as markup "[/]" would raise (killing the app)
        # and "[@click=...]" would make a link.
        for key in (*(f.key for f in FIELDS), HEADERS):
            error = self.query_one(f"#error-{key}", Static)
            message = v.errors.get(key, "")
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
