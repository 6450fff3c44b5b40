"""The diff preview before the tuned settings are written into the connector file."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Button, Static

from sinkbench.tui.screens.dialog import Dialog
from sinkbench.tui.session import ControlError, SavePlan, Session
from sinkbench.tui.widgets.wrapped import WrappedLines


def diff_lines(diff: str) -> list[Content]:
    lines = []
    for line in diff.splitlines():
        if line.startswith(("---", "+++")):
            style = "bold $text-muted"
        elif line.startswith("@@"):
            style = "$text-accent"
        elif line.startswith("+"):
            style = "$text-success"
        elif line.startswith("-"):
            style = "$text-error"
        else:
            style = "$text-muted"
        lines.append(Content.styled(line, style))
    return lines


class SaveScreen(Dialog[bool]):
    """Shows what will change in the connector file; writes it (with a backup) only when confirmed."""

    BINDINGS = [
        Binding("y", "confirm", "Write", id="save.confirm", tooltip="Write the file, keeping a backup"),
        Binding("escape,n", "cancel", "Cancel", id="save.cancel", tooltip="Close without writing"),
    ]

    def __init__(self, plan: SavePlan) -> None:
        super().__init__()
        self.plan = plan

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="save"):
            # Text, not markup: a file name or a note ("[plugin_config]", "[[streams]]") is shown as it is.
            n = len(self.plan.keys)
            yield Static(Content(f"sink: save {n} setting{'s' if n != 1 else ''} into {self.plan.display}"),
                         classes="title")
            # The notes scroll with the diff: outside it they pushed the buttons off a small screen.
            with VerticalScroll(id="diff"):
                for note in self.plan.not_written:
                    yield Static(Content(f"not written — {note}"), classes="warning")
                yield WrappedLines(diff_lines(self.plan.diff))
            yield Static("Comments, key order and other sections are kept; so is the original, as a .bak file.",
                         classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("Write (y)", id="confirm", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    @on(Button.Pressed, "#confirm")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)


def preview_and_save(screen: Screen, session: Session, plan: SavePlan, *, title: str, verb: str = "saved") -> None:
    """Show the diff of `plan`; once confirmed, write it (with a backup) and say what went where."""

    def done(confirmed: bool | None) -> None:
        if not confirmed:
            return
        try:
            backup = session.save(plan)
        except ControlError as exc:
            screen.notify(str(exc), title=title, severity="error")
            return
        where = f"; the original is kept as {session.display(backup)}" if backup else ""
        screen.notify(f"{verb} {', '.join(plan.keys)} into {plan.display}{where}", title=title)

    screen.app.push_screen(SaveScreen(plan), done)
