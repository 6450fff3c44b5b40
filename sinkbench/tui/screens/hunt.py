"""The hunt screen: a short `sinkbench hunt` of the current scenario with the settings as tuned.

Wiring only (sinkbench.hunt.interactive does the work): the live run is
paused while the screen is open, the hunt runs in a thread worker (it is
blocking code, one bench run after another, each on its own event loop), a
timer pulls its progress lines, and the worker's end is shown by the handler.
`o` opens the found scenario in the session; escape stops a hunt under way
(what broke the setting so far is written, marked not confirmed), closes the
screen and resumes the live run.
"""

from __future__ import annotations

import asyncio

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from sinkbench.errors import InputError
from sinkbench.hunt.interactive import SessionHunt, hunt_in_session
from sinkbench.tui.screens.dialog import FullScreen
from sinkbench.tui.session import describe_error

STATUS_INTERVAL = 0.25


def open_hunt(app) -> None:
    """The palette command: build the hunt of the focused scenario, or say why it cannot run."""
    s = app.session.focused
    try:
        hunt = hunt_in_session(s.scenario.file, s.sweep_overrides(), s.cwd, s.env)
    except InputError as exc:
        app.notify(str(exc), title="hunt", severity="error", timeout=15)
        return
    app.push_screen(HuntScreen(hunt))


class HuntScreen(FullScreen[None]):
    DEFAULT_CSS = """
    HuntScreen #hunt-title { height: auto; padding: 0 1; text-style: bold; }
    HuntScreen #hunt-status { height: auto; padding: 0 1; color: $text-muted; }
    HuntScreen #hunt-view { height: 1fr; padding: 0 1; }
    HuntScreen #hunt-outcome { height: auto; padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "close", "back to the run", id="hunt.close",
                        tooltip="Stop the hunt if it is under way, close this and resume the live run"),
                Binding("o", "open_found", "open it", id="hunt.open",
                        tooltip="Open the scenario the hunt wrote (the current run stops)")]

    def __init__(self, hunt: SessionHunt) -> None:
        super().__init__()
        self.hunt = hunt
        self._held = False
        self._worker: Worker | None = None

    def compose(self) -> ComposeResult:
        sc = self.hunt.scenario
        # markup=False: the texts quote file names, keys and expressions, brackets and all.
        yield Static(f"hunt: {sc.name}, {self.hunt.goal.text}; the found scenario goes to "
                     f"{self.app.session.display(self.hunt.out)}", id="hunt-title", markup=False)  # type: ignore[attr-defined]
        yield Static("starting…", id="hunt-status", markup=False)
        with VerticalScroll(id="hunt-view"):
            yield Static("", id="hunt-lines", markup=False)
        yield Static("", id="hunt-outcome", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._held = self.app.session.hold("hunt")  # type: ignore[attr-defined]
        self._timer = self.set_interval(STATUS_INTERVAL, self._pull)
        self._worker = self.run_worker(self.hunt.run, thread=True, group="hunt", name="hunt", exit_on_error=False)

    def _pull(self) -> None:
        lines = self.hunt.progress.last()
        self.query_one("#hunt-lines", Static).update("\n".join(lines))
        limits = self.hunt.options
        bounds = ", ".join(x for x in (f"at most {limits.budget} candidates" if limits.budget else "",
                                       f"{limits.time:g}s" if limits.time else "") if x)
        self.query_one("#hunt-status", Static).update(
            f"{self.hunt.progress.candidates} candidate runs ({bounds}); escape: stop")
        self.query_one("#hunt-view", VerticalScroll).scroll_end(animate=False)

    @on(Worker.StateChanged)
    def _done(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "hunt" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR,
                                                                  WorkerState.CANCELLED):
            return
        self._timer.stop()
        self._pull()
        if event.state is WorkerState.SUCCESS:
            lines = self.hunt.outcome
            found = self.hunt.written is not None
            status = "o: open the found scenario; escape: back to the run" if found else "escape: back to the run"
        else:
            error = event.worker.error
            lines = [f"the hunt did not finish: {describe_error(error) if error is not None else 'cancelled'}"]
            status = "escape: back to the run"
        self.query_one("#hunt-outcome", Static).update("\n".join(lines))
        self.query_one("#hunt-status", Static).update(status)

    def action_open_found(self) -> None:
        path = self.hunt.written
        if path is None or self.hunt.result is None:
            self.notify("the hunt has not written a scenario (yet)", title="hunt", severity="warning")
            return
        session = self.app.session  # type: ignore[attr-defined]
        try:
            opened = session.open(path)
        except InputError as exc:
            self.notify(str(exc), title=f"cannot open {path.name}", severity="error", timeout=15)
            return
        self._held = False   # the run it held is replaced
        self.dismiss(None)
        self.app.control(self.app.switch_to(opened), quiet=True)  # type: ignore[attr-defined]

    async def action_close(self) -> None:
        await self._stop()
        if self._held:
            self.app.session.release()  # type: ignore[attr-defined]
            self._held = False
        self.dismiss(None)

    async def _stop(self) -> None:
        worker = self._worker
        if worker is not None and not worker.is_finished:
            self.hunt.interrupt()   # the run under way ends as interrupted, its endpoint stopped
            self.query_one("#hunt-status", Static).update("stopping the hunt…")
            try:
                await asyncio.wait_for(asyncio.shield(worker.wait()), 15)
            except Exception:
                pass

    def _on_unmount(self) -> None:
        # Quitting the app with the hunt under way: its thread must not outlive the app (nor its endpoint).
        self.hunt.interrupt()
        super()._on_unmount()
