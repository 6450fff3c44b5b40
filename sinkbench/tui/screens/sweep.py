"""The sweep screen: the current scenario run once per combination of settings, ranked and charted.

Wiring only (sinkbench.sweep.interactive does the work): the live run is
paused while the screen is open, the sweep runs in a worker, a timer pulls its
status, and the worker's result is shown by the handler. Escape interrupts a
sweep under way, closes the screen and resumes the live run. `w` writes a
chosen row's settings (the best by default) into the connector file, as
`sinkbench sweep --write-best` does, after the same diff preview as the
dashboard's save.
"""

from __future__ import annotations

import asyncio

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from sinkbench.errors import InputError
from sinkbench.sweep.interactive import (
    SessionSweep,
    chosen_row,
    result_lines,
    row_problem,
    tuned_keys,
    write_prompt,
)
from sinkbench.sweep.plan import SweepPlan
from sinkbench.sweep.runner import SweepResult
from sinkbench.tui.screens.dialog import FullScreen
from sinkbench.tui.session import ControlError, SavePlan

STATUS_INTERVAL = 0.25


class SweepResultView(Widget):
    """The ranked table, chart and best line, laid out for the width it has (columns dropped, and named,
    rather than cut at the screen's edge)."""

    result: reactive[SweepResult | None] = reactive(None, layout=True)

    def lines(self, width: int) -> list[str]:
        return result_lines(self.result, max(20, width)) if self.result is not None else []

    def render(self) -> Content:
        # Text, never markup: the lines quote what the user typed (keys, values, reasons).
        return Content("\n".join(self.lines(self.content_size.width)))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(width))

    @property
    def text(self) -> str:
        return "\n".join(self.lines(self.content_size.width))


class SweepScreen(FullScreen[None]):
    BINDINGS = [Binding("escape", "close", "back to the run", id="sweep.close",
                        tooltip="Stop the sweep if it is under way, close this and resume the live run"),
                Binding("w", "write", "write a row", id="sweep.write",
                        tooltip="Write a row's settings (the best by default) into the connector file, diff first")]

    def __init__(self, plan: SweepPlan, *, endpoint_in_process: bool = False,
                 result: SweepResult | None = None) -> None:
        """`result` shows a finished sweep without running anything (the tests' exact pictures)."""
        super().__init__()
        self.plan = plan
        self.sweep = SessionSweep(plan, endpoint_in_process=endpoint_in_process)
        self.result = result
        self._held = False
        self._worker: Worker[SweepResult] | None = None

    def compose(self) -> ComposeResult:
        labels = " · ".join(v.key for v in self.plan.varies)
        tuned = tuned_keys(self.plan)
        start = f", from the settings as tuned ({', '.join(tuned)})" if tuned else ""
        # markup=False: the texts quote what the user typed (keys, values, reasons), brackets and all.
        yield Static(f"sweep: {self.plan.size} combinations of {labels}{start}", id="sweep-title", markup=False)
        yield Static("", id="sweep-status", markup=False)
        with VerticalScroll(id="sweep-view"):
            yield SweepResultView(id="sweep-result")
        yield Footer()

    def on_mount(self) -> None:
        if self.result is not None:
            self._show(self.result)
            return
        self._held = self.app.session.hold("sweep")  # type: ignore[attr-defined]
        self._timer = self.set_interval(STATUS_INTERVAL, self._pull)
        self._pull()
        self._worker = self.run_worker(self.sweep.run(), group="sweep", name="sweep", exit_on_error=False)

    def _pull(self) -> None:
        self.query_one("#sweep-status", Static).update(self.sweep.status.status.text)

    @on(Worker.StateChanged)
    def _done(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "sweep" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR,
                                                                   WorkerState.CANCELLED):
            return
        self._timer.stop()
        if event.state is WorkerState.SUCCESS:
            self._show(event.worker.result)
        else:
            self.query_one("#sweep-status", Static).update("the sweep did not finish")

    def _show(self, result: SweepResult) -> None:
        self.result = result
        n = result.plan.size
        self.query_one("#sweep-status", Static).update(
            f"{n}/{n} done — {result.passed_count} passed the scenario's expectations; escape: back to the run")
        self.query_one("#sweep-result", SweepResultView).result = result

    def action_write(self) -> None:
        from sinkbench.sweep.bestconfig import plan_best
        from sinkbench.tui.screens.prompt import ValuePrompt
        from sinkbench.tui.screens.save import preview_and_save

        result, session = self.result, self.app.session.focused  # type: ignore[attr-defined]
        if result is None:
            self.notify("the sweep has not finished: nothing to write yet", title="sweep", severity="warning")
            return
        try:
            target = session.save_target()
        except ControlError as exc:
            self.notify(str(exc), title="sweep: write", severity="warning")
            return
        display = session.display(target)

        def chosen(text: str | None) -> None:
            if text is None:
                return
            try:
                row = chosen_row(result, text)
                best = plan_best(target, result.plan, row.combination, env=session.env)
            except InputError as exc:
                self.notify(str(exc), title="sweep: write", severity="error", timeout=15)
                return
            if not best.changed:
                self.notify(f"{display} already holds the settings of #{row.rank}", title="sweep: write")
                return
            plan = SavePlan(target, display, best.plan, {**best.sink, **best.streams}, tuple(best.notes))
            preview_and_save(self, session, plan, title="sweep: write", verb="wrote")

        rank, words = write_prompt(result)
        self.app.push_screen(ValuePrompt(f"sweep: write a row's settings into {display}", words, rank,
                                         check=lambda t: row_problem(result, t)), chosen)

    async def action_close(self) -> None:
        worker = self._worker
        if worker is not None and not worker.is_finished:
            self.sweep.interrupt()   # the run under way ends as interrupted, its endpoint stopped
            self.query_one("#sweep-status", Static).update("stopping the sweep…")
            try:
                await asyncio.wait_for(asyncio.shield(worker.wait()), 15)
            except Exception:
                pass
        if self._held:
            self.app.session.release()  # type: ignore[attr-defined]
        self.dismiss(None)
