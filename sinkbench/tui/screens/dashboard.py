"""The dashboard: five panes and the keys that break the endpoint, tune the sink and drive the run.

Every key is listed once, in ACTIONS, from which the bindings, the command
palette's commands and the help screen are all made. The actions are wiring:
they ask for a value when one is needed and hand the work to the session
(through the app, which runs it as a worker and reports how it went).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.screen import Screen
from textual.widgets import Footer

from sinkbench.errors import InputError
from sinkbench.tui import faults
from sinkbench.tui.form import initial_values
from sinkbench.tui.frames import Frame
from sinkbench.tui.session import ControlError, list_scenarios, packaged_quickstart
from sinkbench.tui.widgets.base import FramePane
from sinkbench.tui.widgets.delivery import DeliveryPane
from sinkbench.tui.widgets.endpoint import EndpointPane
from sinkbench.tui.widgets.latency import LatencyPane
from sinkbench.tui.widgets.requestlog import RequestLogPane
from sinkbench.tui.widgets.status import StatusPane
from sinkbench.tui.widgets.topbar import TopBar


@dataclass(frozen=True)
class Action:
    key: str
    action: str
    footer: str          # the footer's short label
    command: str         # the command palette's "category: verb"
    tooltip: str
    show: bool = True


ACTIONS: tuple[Action, ...] = (
    Action("d", "take_down", "503", "endpoint: take down (503)",
           "Answer every request 503 Service Unavailable; press again to lift"),
    Action("r", "reset_connections", "reset", "endpoint: reset every connection",
           "Abort every connection without an answer; press again to lift", show=False),
    Action("h", "hang", "hang", "endpoint: hang every request",
           "Read every request and never answer (the sink's timeout decides); press again to lift", show=False),
    Action("e", "error_rate", "errors", "endpoint: inject an error rate",
           "Answer a share of requests 500 (asks for the percentage; empty lifts it)"),
    Action("t", "too_many", "429", "endpoint: send 429 with Retry-After",
           "Answer every request 429 Too Many Requests with Retry-After N seconds (asks for N)", show=False),
    Action("l", "latency", "latency", "endpoint: add latency",
           "Delay every answer (asks for a duration such as 200ms; empty lifts it)", show=False),
    Action("m", "rate_limit", "limit", "endpoint: set a rate limit",
           "Allow N requests per second, answer 429 over it (asks for N; empty lifts it)", show=False),
    Action("n", "normal", "normal", "endpoint: back to normal",
           "Lift every break: the endpoint as the scenario set it"),
    Action("s", "settings", "settings", "sink: edit settings",
           "Batch mode, retries, delays, timeout, success codes, profile: applied live, between batches"),
    Action("w", "save", "save", "sink: save settings into the connector file",
           "Write the settings changed in this session into the connector's config.toml (diff first, backup kept)"),
    Action("p", "pause", "pause", "run: pause or resume",
           "Stop polling (batches in flight finish) or go on"),
    Action("ctrl+r", "restart", "restart", "run: restart the scenario",
           "Run the scenario again from the start, with the settings as tuned", show=False),
    Action("o", "open", "open", "run: open another scenario",
           "Pick a scenario file, or type the path of any; the current run stops", show=False),
    Action("x", "export", "export", "run: export the report",
           "Write the run's JSON report (as `sinkbench run --report`) or, to a .html file, its HTML page "
           "(as --html)", show=False),
    Action("v", "sweep", "sweep", "sweep: compare settings",
           "Run the scenario once per combination of settings (asks for KEY=V1,V2 items, as sweep --vary; "
           "at most 8), then rank and chart them; the live run pauses meanwhile", show=False),
    Action("f", "filter_log", "filter", "view: filter the request log",
           "Show only errors (not 2xx), or some statuses, classes and error kinds: 503, 5xx, reset; "
           "empty shows all", show=False),
    Action("pagedown", "log_older", "older", "view: older requests",
           "Scroll the request log back to older rows; they stay put while new ones arrive", show=False),
    Action("pageup", "log_newer", "newer", "view: newer requests", "Scroll the request log forward",
           show=False),
    Action("home", "log_newest", "newest", "view: newest requests", "The request log follows the newest rows again",
           show=False),
)


class DashboardScreen(Screen[None]):
    """The live view of the run."""

    BINDINGS = [Binding(a.key, a.action, a.footer, id=a.action, tooltip=a.tooltip, show=a.show) for a in ACTIONS]
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    def compose(self) -> ComposeResult:
        yield TopBar(id="bar")
        with Grid(id="panes"):
            yield DeliveryPane(id="delivery")
            yield LatencyPane(id="latency")
            yield EndpointPane(id="endpoint")
            yield StatusPane(id="status")
            yield RequestLogPane(id="log")
        yield Footer(compact=True)   # the full one lost "? help" at 80 columns

    _panes: list[FramePane] | None = None

    def show(self, frame: Frame) -> None:
        if not self._panes:
            self._panes = list(self.query(FramePane))   # cached once the panes exist
        with self.app.batch_update():
            for pane in self._panes:
                pane.show(frame)

    # -- the endpoint --------------------------------------------------------------
    @property
    def session(self):
        return self.app.session  # type: ignore[attr-defined]

    def action_take_down(self) -> None:
        self.app.control(self.session.break_endpoint("down", "503"))  # type: ignore[attr-defined]

    def action_reset_connections(self) -> None:
        self.app.control(self.session.break_endpoint("down", "reset"))  # type: ignore[attr-defined]

    def action_hang(self) -> None:
        self.app.control(self.session.break_endpoint("down", "hang"))  # type: ignore[attr-defined]

    def action_normal(self) -> None:
        self.app.control(self.session.break_endpoint("normal"))  # type: ignore[attr-defined]

    def action_error_rate(self) -> None:
        live = self.session.live.error_rate
        self._ask("error_rate", faults.parse_error_rate, "endpoint: inject an error rate",
                  "Percent of requests answered 500 (empty or 0 lifts it)", f"{live * 100:g}" if live else "30")

    def action_too_many(self) -> None:
        live = self.session.live.too_many
        self._ask("too_many", faults.parse_retry_after, "endpoint: send 429 with Retry-After",
                  "Retry-After, whole seconds (empty lifts it)", str(live) if live is not None else "2")

    def action_latency(self) -> None:
        from sinkbench.durations import format_duration

        live = self.session.live.latency
        self._ask("latency", faults.parse_latency, "endpoint: add latency",
                  "Latency of every answer, e.g. 200ms or 2s (empty lifts it)",
                  format_duration(live) if live else "200ms")

    def action_rate_limit(self) -> None:
        live = self.session.live.rate_limit
        self._ask("rate_limit", faults.parse_rate_limit, "endpoint: set a rate limit",
                  "Requests per second, 429 over it (empty lifts it)", f"{live:g}" if live else "20")

    def _ask(self, kind: str, parse, title: str, label: str, value: str) -> None:
        from sinkbench.tui.screens.prompt import ValuePrompt

        def done(text: str | None) -> None:
            if text is not None:
                self.app.control(self.session.break_endpoint(kind, parse(text)))  # type: ignore[attr-defined]

        self.app.push_screen(ValuePrompt(title, label, value, check=lambda t: faults.check(parse, t)), done)

    # -- the sink --------------------------------------------------------------------
    def action_settings(self) -> None:
        from sinkbench.tui.screens.settings import SettingsScreen

        s = self.session.focused   # side by side: the side with focus
        if s.scenario.is_external:   # a real program: its settings are its own, shown read-only
            from sinkbench.tui.screens.external import ExternalSinkScreen
            self.app.push_screen(ExternalSinkScreen(s.external_view()))
            return
        initial = initial_values(s.table, s.sink_settings, s.runtime)

        def done(validation) -> None:
            if validation is not None:
                self.app.control(s.apply(validation))  # type: ignore[attr-defined]

        self.app.push_screen(SettingsScreen(s.table, initial, s.runtime, env=s.env, running=s.running,
                                            file=s.settings_file()), done)

    def action_save(self) -> None:
        from sinkbench.tui.screens.save import preview_and_save

        s = self.session.focused   # side by side: the side with focus
        try:
            plan = s.plan_save()
        except ControlError as exc:
            self.notify(str(exc), title="sink: save", severity="warning")
            return
        preview_and_save(self, s, plan, title="sink: save")

    # -- the run --------------------------------------------------------------------
    async def action_pause(self) -> None:
        try:
            label = self.session.toggle_pause()
        except ControlError as exc:
            self.notify(str(exc), severity="warning")
            return
        self.notify(label, title="run")
        await self.app.refresh_now()  # type: ignore[attr-defined]

    def action_restart(self) -> None:
        self.app.control(self.app.restart(), quiet=True)  # type: ignore[attr-defined]

    def action_open(self) -> None:
        from sinkbench.tui.screens.open import OpenScreen

        folder = self.session.cwd / "scenarios"
        if not folder.is_dir():
            file = self.session.scenario.file
            folder = Path(file).parent if file and Path(file).is_file() else packaged_quickstart().parent

        def done(path: Path | None) -> None:
            if path is None:
                return
            try:
                opened = self.session.open(path)
            except InputError as exc:
                self.notify(str(exc), title=f"cannot open {path.name}", severity="error", timeout=15)
                return
            self.app.control(self.app.switch_to(opened), quiet=True)  # type: ignore[attr-defined]

        self.app.push_screen(OpenScreen(folder, list_scenarios(folder), cwd=self.session.cwd), done)

    def action_export(self) -> None:
        from sinkbench.tui.screens.prompt import ValuePrompt

        def done(path: str | None) -> None:
            if path:
                self.app.control(self._export(path))  # type: ignore[attr-defined]

        self.app.push_screen(ValuePrompt("run: export the report",
                                         "File for the report: JSON (as run --report), or the HTML page when it "
                                         "ends in .html (as run --html)",
                                         self.session.default_report_path(),
                                         check=lambda t: None if t.strip() else "a file name is needed"), done)

    async def _export(self, path: str) -> str:
        return await self.session.export_note(path.strip())

    # -- the request log ------------------------------------------------------------
    def _logs(self) -> list[RequestLogPane]:
        return list(self.query(RequestLogPane))   # side by side: both sides' logs

    def action_filter_log(self) -> None:
        from sinkbench.tui.logview import parse_log_filter
        from sinkbench.tui.screens.prompt import ValuePrompt

        def done(text: str | None) -> None:
            if text is not None:
                for pane in self._logs():
                    pane.set_filter(parse_log_filter(text))

        current = self._logs()[0].log_filter.label()
        self.app.push_screen(ValuePrompt(
            "view: filter the request log",
            "errors, or statuses, classes and error kinds (503, 5xx, 429 reset); empty shows all", current,
            check=lambda t: faults.check(parse_log_filter, t)), done)

    def action_log_older(self) -> None:
        for pane in self._logs():
            pane.scroll_rows(pane.page())

    def action_log_newer(self) -> None:
        for pane in self._logs():
            pane.scroll_rows(-pane.page())

    def action_log_newest(self) -> None:
        for pane in self._logs():
            pane.to_newest()

    # -- the sweep -------------------------------------------------------------------
    def action_sweep(self) -> None:
        from sinkbench.sweep.interactive import MAX_IN_SESSION, check_in_session, plan_in_session
        from sinkbench.tui.screens.prompt import ValuePrompt
        from sinkbench.tui.screens.sweep import SweepScreen

        s = self.session.focused   # side by side: the side with focus
        if s.scenario.is_external and s.running:
            self.notify("a sweep of an external sink runs the program once per combination, on the same feed "
                        "and ports as this run: sweep once the run has ended", title="sweep", severity="warning")
            return
        file = s.scenario.file
        tuned = s.sweep_overrides()   # the settings as tuned live

        def done(text: str | None) -> None:
            if text is None:
                return
            try:
                plan = plan_in_session(file, text, tuned=tuned)
            except InputError as exc:   # the prompt checked it; the file may have changed since
                self.notify(str(exc), title="sweep", severity="error", timeout=15)
                return
            in_process = self.app.sweep_in_process  # type: ignore[attr-defined]
            self.app.push_screen(SweepScreen(plan, endpoint_in_process=in_process))

        self.app.push_screen(ValuePrompt(
            "sweep: compare settings",
            f"KEY=V1,V2 items, space-separated, as sweep --vary (at most {MAX_IN_SESSION} combinations)",
            "sink.max_retries=0,3", check=lambda t: check_in_session(file, t, tuned=tuned)), done)
