"""The Textual app: wiring between the session, the dashboard and the modals.

The bench runs in a worker on the app's own event loop; a timer pulls a frame
from the session a few times a second (never per message) and the dashboard
renders it. Controls run as workers too, and every worker's end — success or
failure — goes through one handler that notifies the user: the app shows the
reason of an error and never dies with a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from sinkbench.clock import Clock
from sinkbench.errors import BenchError
from sinkbench.tui.frames import Frame
from sinkbench.tui.screens.dashboard import ACTIONS, DashboardScreen
from sinkbench.tui.session import BenchFactory, Opened, Session, describe_error
from sinkbench.tui.versus import VersusFrame, VersusOpened, VersusSession

REFRESH_INTERVAL = 0.5    # seconds between two renders of the dashboard (bench/tui_overhead.py)
THEMES = ("textual-dark", "textual-light")


@dataclass(frozen=True)
class Toast:
    message: str
    title: str
    severity: SeverityLevel
    timeout: float


class SinkbenchApp(App[None]):
    CSS_PATH = "sinkbench.tcss"
    TITLE = "sinkbench"
    BINDINGS = [
        Binding("question_mark,f1", "help", "help", id="help", tooltip="Every key binding and what it does"),
        Binding("ctrl+t", "toggle_theme", "theme", id="toggle_theme", tooltip="Switch between light and dark",
                show=False),
        Binding("ctrl+q", "quit", "quit", id="quit", tooltip="Stop the run and quit", priority=True),
    ]

    def __init__(self, session: Session | VersusSession, *, start: bool = True,
                 refresh_interval: float = REFRESH_INTERVAL, frames: Sequence[Frame | VersusFrame] = (),
                 sweep_in_process: bool = False) -> None:
        super().__init__()
        self.session = session
        self.autostart = start
        self.refresh_interval = refresh_interval
        self.replay = tuple(frames)
        self.sweep_in_process = sweep_in_process   # the sweep's endpoints in this process (the tests)
        self.exit_code = 0
        self._bench_worker: Worker[Any] | None = None
        self._quit_task: asyncio.Task[None] | None = None   # the quit a SIGTERM/SIGINT started
        self.versus = isinstance(session, VersusSession)
        if self.versus:
            from sinkbench.tui.screens.versus import VersusScreen
            self.dashboard: DashboardScreen = VersusScreen(id="dashboard")
        else:
            self.dashboard = DashboardScreen(id="dashboard")
        self._dialogs = 0                                  # dialogs open (they hold the toasts)
        self._held: list[Toast] = []
        self._on_screen: list[tuple[float, Toast]] = []    # (when it goes, toast)

    def get_default_screen(self) -> Screen:
        return self.dashboard

    def on_mount(self) -> None:
        self.theme = THEMES[0]
        if not self.is_headless:   # a real terminal (the tests' headless apps leave pytest's signals alone)
            self._quit_on_signals()
        self.call_after_refresh(self._first_frame)   # once the dashboard is on screen

    def _quit_on_signals(self) -> None:
        # SIGTERM's default action ends the process on the spot: the terminal was left in raw mode on the
        # alternate screen with mouse reporting on, and the run never stopped its endpoint (which only died of
        # its closed stdin). SIGINT went through asyncio's cancellation of the whole app. Both now quit as
        # ctrl+q does (the screen's own Ctrl-C is a key: Textual says to press ctrl+q).
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self._on_quit_signal)
            except (NotImplementedError, RuntimeError, ValueError):   # no such signals here, or not the main thread
                pass

    def _on_quit_signal(self) -> None:
        if self._quit_task is None:
            # A task, not a message: the app's message loop stays free for the second signal's exit.
            self._quit_task = asyncio.get_running_loop().create_task(self.action_quit())
        else:
            self.exit(return_code=self.exit_code)   # a second signal: quit without waiting for the run

    async def _first_frame(self) -> None:
        if self.replay:
            for frame in self.replay:
                self.dashboard.show(frame)
            return
        if self.autostart:
            # Started once the screen is up, so building it does not eat into the run's first second.
            self.start_bench()
            self.set_interval(self.refresh_interval, self.refresh_now)
        await self.refresh_now()

    # -- the run --------------------------------------------------------------------
    def start_bench(self) -> None:
        self.exit_code = 0   # 3 only when the last run could not start
        self.session.new_bench()
        self._bench_worker = self.run_worker(self.session.run(), group="bench", name="bench", exit_on_error=False)

    async def stop_bench(self, timeout: float = 15.0) -> None:
        """Interrupts the run and waits for it to end (its endpoint stopped, its accounting closed)."""
        self.session.stop()
        worker = self._bench_worker
        if worker is not None and not worker.is_finished:

            async def ended() -> None:
                # Worker.wait turns its own cancellation into WorkerCancelled: a wait still pending when the app
                # exits (a second SIGTERM) ended with that, printed with a traceback by asyncio.run's shutdown.
                with contextlib.suppress(Exception):   # how it ended is reported by the worker handler
                    await worker.wait()

            try:
                await asyncio.wait_for(asyncio.shield(ended()), timeout)
            except TimeoutError:
                pass

    async def restart(self) -> str:
        await self.stop_bench()
        self.start_bench()
        return f"{self.session.scenario.name}: started again"

    async def switch_to(self, opened: Opened | VersusOpened) -> str:
        await self.stop_bench()
        self.session.use(opened)
        self.start_bench()
        return f"opened {opened.scenario.name}"

    async def refresh_now(self) -> None:
        """Pulls one frame from the session and renders it (the timer calls this; ticks never overlap)."""
        if self.replay:
            return
        frame = await self.session.frame()
        self.dashboard.show(frame)
        for severity, message in self.session.alerts:
            self.notify(message, severity=severity, timeout=10)  # type: ignore[arg-type]
        self.session.alerts.clear()

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True, now: bool = False) -> None:
        """A toast; held while a dialog is open (shown when it closes: over it, it hid the dialog's text),
        unless `now` (a dialog's own answer to a key pressed in it)."""
        toast = Toast(message, title, severity, self.NOTIFICATION_TIMEOUT if timeout is None else timeout)
        if self._dialogs and not now:
            self._held.append(toast)
            return
        self._show(toast)

    def _show(self, toast: Toast) -> None:
        now = time.monotonic()
        self._on_screen = [(end, t) for end, t in self._on_screen if end > now] + [(now + toast.timeout, toast)]
        # Always text: the messages quote file names, keys and typed values ("no [plugin_config] table to write
        # into", "got '[/]'"), which as markup lose their brackets or raise and kill the app.
        super().notify(toast.message, title=toast.title, severity=toast.severity, timeout=toast.timeout,
                       markup=False)

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        from sinkbench.tui.screens.dialog import HoldsToasts

        if isinstance(screen, HoldsToasts):
            self.hold_notifications()   # released when the screen is removed
        return super().push_screen(screen, *args, **kwargs)

    def hold_notifications(self) -> None:
        """A dialog opened: the toasts on screen go away until it closes, and new ones wait for that too."""
        self._dialogs += 1
        if self._dialogs == 1:
            now = time.monotonic()
            self._held = [t for end, t in self._on_screen if end > now]
            self._on_screen = []
            self.clear_notifications()

    def release_notifications(self) -> None:
        """The last dialog closed: what it held is shown again, each for its full time."""
        self._dialogs = max(0, self._dialogs - 1)
        if not self._dialogs:
            held, self._held = self._held, []
            for toast in held:
                self._show(toast)

    def control(self, work: Coroutine[Any, Any, str], *, quiet: bool = False) -> Worker[str]:
        """Runs a control (a break, new settings, an export) as a worker; its end is reported below."""
        return self.run_worker(work, group="control-quiet" if quiet else "control", exit_on_error=False)

    @on(Worker.StateChanged)
    async def _worker_done(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.SUCCESS:
            if worker.group == "control" and worker.result:
                self.notify(str(worker.result), title="done")
            elif worker.group == "bench" and worker is self._bench_worker:
                notice = self.session.end_notice()
                if notice is not None:
                    message, title, severity = notice
                    self.notify(message, title=title, severity=severity, timeout=15)  # type: ignore[arg-type]
        elif event.state is WorkerState.ERROR:
            error = worker.error
            if worker.group == "bench" and isinstance(error, BenchError) and worker is self._bench_worker:
                self.exit_code = 3
            self.notify(describe_error(error) if error is not None else "failed", severity="error", timeout=15)
        else:
            return
        if not self.replay:
            await self.refresh_now()

    def _fatal_error(self) -> None:
        # Textual's own crash dump prints every local variable, secrets among them: the reason is enough.
        from rich.text import Text

        from sinkbench.redact import redact_text

        error = self._exception
        reason = redact_text(f"{type(error).__name__}: {error}", self.session.secret_values)
        self.bell()
        self._exit_renderables.append(Text(f"error: internal error in the interactive session: {reason}\n"
                                           "This is a bug; please report it with the command you ran."))
        self._close_messages_no_wait()

    # -- keys the whole app answers -----------------------------------------------------
    def action_help(self) -> None:
        from sinkbench.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.key_rows(), self.pane_help()))

    def pane_help(self) -> list[str]:
        """The HELP of each pane on the dashboard, in the order they are laid out (the help comes from
        the widgets), each once."""
        out: list[str] = []
        for widget in self.dashboard.query("*"):
            text = type(widget).HELP
            if text and text not in out:
                out.append(text)
        return out

    def key_rows(self) -> list[tuple[str, str, str]]:
        """(key, "category: verb", what it does) of every binding, for the help screen."""
        rows = [(a.key, a.command, a.tooltip) for a in self._actions()]
        rows += [
            ("?  f1", "view: help", "This list of every key binding"),
            ("ctrl+t", "view: light or dark theme", "Switch between the light and the dark theme"),
            ("ctrl+p", "view: command palette", "Every action by name, searchable"),
            ("ctrl+q", "view: quit", "Stop the run (its endpoint too) and quit"),
        ]
        return rows

    def _actions(self):
        if not self.versus:
            return ACTIONS
        from sinkbench.tui.screens.versus import VERSUS_ACTIONS
        return (*ACTIONS, *VERSUS_ACTIONS)

    def action_toggle_theme(self) -> None:
        self.theme = THEMES[1] if self.theme == THEMES[0] else THEMES[0]

    def action_help_quit(self) -> None:
        # Ctrl-C (Textual's binding) only says how to quit. Textual's own text is markup ("Press [b]ctrl+q[/b]
        # …"), which notify() above shows as plain text, brackets and all: the same words without markup.
        self.notify("Press ctrl+q to quit the app", title="Do you want to quit?")

    async def action_quit(self) -> None:
        await self.stop_bench()
        self.exit(return_code=self.exit_code)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, DashboardScreen):
            for a in self._actions():
                yield SystemCommand(a.command, a.tooltip, _runner(screen, a.action))
            yield SystemCommand("hunt: find a breaking fault plan",
                                "Search for the smallest endpoint fault plan that breaks the scenario with the "
                                "settings as tuned (a short sinkbench hunt), then offer to open what it writes",
                                lambda: _open_hunt(self))
        yield SystemCommand("view: help", "Every key binding and what it does", self.action_help)
        yield SystemCommand("view: light or dark theme", "Switch between the light and the dark theme",
                            self.action_toggle_theme)


def _open_hunt(app: SinkbenchApp) -> None:
    # Imported here: hypothesis loads when a hunt starts, not with the app.
    from sinkbench.tui.screens.hunt import open_hunt

    open_hunt(app)


def _runner(screen: Screen, action: str):
    async def run() -> None:
        await screen.run_action(action)
    return run


def make_app(opened: Opened | VersusOpened, *, bench_factory: BenchFactory | None = None,
             clock: Clock | None = None, env: Mapping[str, str] | None = None, cwd: Path | None = None,
             start: bool = True, refresh_interval: float = REFRESH_INTERVAL,
             replay: Callable[[Any], Sequence[Frame | VersusFrame]] | None = None,
             sweep_in_process: bool = False) -> SinkbenchApp:
    """The app, as the CLI and the tests build it: the scenario, how to make its bench, the clock.

    A `VersusOpened` (`--versus`) opens both sides, side by side.

    `start=False` opens it without running the bench. `replay` makes frames
    for the session instead of a live run (the tests' exact pictures).
    `sweep_in_process` runs a sweep's endpoints in this process (the tests).
    """
    session: Session | VersusSession
    if isinstance(opened, VersusOpened):
        session = VersusSession(opened, bench_factory=bench_factory, clock=clock, env=env, cwd=cwd)
    else:
        session = Session(opened, bench_factory=bench_factory, clock=clock, env=env, cwd=cwd)
    frames = replay(session) if replay is not None else ()
    return SinkbenchApp(session, start=start and replay is None, refresh_interval=refresh_interval, frames=frames,
                        sweep_in_process=sweep_in_process)
