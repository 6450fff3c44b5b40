"""What the session's dialogs and the sweep screen share: no toast ever covers them.

A toast sits bottom right, over whatever is there; on a dialog that was the
help's descriptions and the save preview's diff, cut mid-sentence. While one of
these screens is open the app holds its toasts (from the push on) and shows them when it closes;
the screen's own answers to keys (`self.notify`) still show at once.
"""

from __future__ import annotations

from typing import TypeVar

from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen

ResultType = TypeVar("ResultType")


class HoldsToasts:
    """Mixin for a Screen: the app's toasts wait while it is open."""

    # The app holds the toasts as it pushes the screen (SinkbenchApp.push_screen), while the screen below is
    # still the current one: that is the screen whose toasts show through a modal's backdrop.
    def _on_unmount(self) -> None:
        self.app.release_notifications()  # type: ignore[attr-defined]

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        self.app.notify(message, title=title, severity=severity, timeout=timeout, now=True)  # type: ignore[call-arg]


class Dialog(HoldsToasts, ModalScreen[ResultType]):
    """A modal dialog of the session."""


class FullScreen(HoldsToasts, Screen[ResultType]):
    """A screen of its own (the sweep) over the dashboard."""
