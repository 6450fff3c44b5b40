"""The session side by side (`sinkbench [SCENARIO] --versus KEY=VALUE...`): two `Session`s, one screen.

Side A is the scenario as written, side B the same with the `--versus`
changes (sinkbench.run.versus checks they are fair). Each side is a whole
`Session` — its own bench run, its own embedded endpoint, its own tuning —
and this module only coordinates them: both start and stop together, every
break goes to both endpoints, `s`, `w` and the sweep work on the side with
focus, and each frame pairs both sides' frames with a comparison of their
figures (sinkbench.report.versus: the same rules as `run --versus`).

No Textual here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sinkbench.clock import Clock
from sinkbench.report.versus import SIDES, Comparison, compare, figures_of_live, side_title
from sinkbench.run.result import RunResult
from sinkbench.run.versus import VersusPair, run_side_by_side, versus_pair
from sinkbench.scenario.model import Scenario
from sinkbench.tui.frames import Frame
from sinkbench.tui.session import (
    BenchFactory,
    ControlError,
    Opened,
    Session,
    default_scenario,
    open_scenario,
)


@dataclass(frozen=True)
class VersusOpened:
    """Both sides of a scenario, ready to run: A as written, B with `items` (shown: as screens show them)."""

    a: Opened
    b: Opened
    items: tuple[str, ...]
    shown: tuple[str, ...]

    @property
    def scenario(self) -> Scenario:
        return self.a.scenario


def open_versus(path: str | Path | None, items: Sequence[str], *, cwd: Path | None = None,
                env: Mapping[str, str] | None = None) -> VersusOpened:
    """The scenario file at `path` (None: the default one, as `sinkbench` opens it) with B's `items`.

    Raises InputError naming the file, line and key (`--versus` for B's items).
    """
    opened: dict[tuple[str, ...], Opened] = {}

    def load(extra: Sequence[str]) -> Scenario:
        o = (default_scenario(cwd, env, extra) if path is None else open_scenario(path, env, extra))
        opened[tuple(extra)] = o
        return o.scenario

    pair: VersusPair = versus_pair(load, items)
    return VersusOpened(opened[()], opened[tuple(items)], pair.items, pair.shown)


@dataclass(frozen=True)
class VersusFrame:
    """Everything the side-by-side screen shows at one moment."""

    a: Frame
    b: Frame
    titles: tuple[str, str]        # "A · as written", "B · runtime.offset_commit=after_polling"
    focus: int                     # 0: A, 1: B
    comparison: Comparison | None  # None until both sides have figures

    @property
    def sides(self) -> tuple[Frame, Frame]:
        return self.a, self.b


def live_figures(frame: Frame) -> dict[str, Any] | None:
    s = frame.snapshot
    if s is None:
        return None
    return figures_of_live(delivered=s.delivered, failed=s.failed, skipped=s.skipped, lost=frame.lost,
                           duplicates=frame.duplicates, requests=s.requests, retries=s.retries,
                           latency_request=s.latency_request, latency_delivery=s.latency_delivery,
                           status_codes=s.status_codes)


def pair_frames(a: Frame, b: Frame, titles: tuple[str, str], focus: int, changes: Sequence[str]) -> VersusFrame:
    """Both sides' frames and the comparison of their figures so far."""
    fa, fb = live_figures(a), live_figures(b)
    comparison = None if fa is None or fb is None else compare(fa, fb, scenario=a.scenario, changes=changes)
    return VersusFrame(a, b, titles, focus, comparison)


BAR_NOTE = "A vs B: every break goes to both endpoints; tab: the side s and w work on"


def bar_frame(frame: VersusFrame) -> Frame:
    """What the top bar shows side by side: one state for both (running while either runs), each side's
    outcome once it has one, the breaks in force (the same on both)."""
    a, b = frame.a, frame.b
    states = {a.state, b.state}
    state = a.state if len(states) == 1 else next(
        (s for s in ("failed", "running", "starting", "paused", "stopped", "finished") if s in states), a.state)
    detail = " │ ".join(f"{name}: {f.detail}" for name, f in zip(SIDES, (a, b)) if f.detail)
    return dataclasses.replace(a, state=state, detail=detail, sink=BAR_NOTE)


class VersusSession:
    """Two sessions of one scenario, driven together; the app drives it as it drives a `Session`."""

    def __init__(self, opened: VersusOpened, *, bench_factory: BenchFactory | None = None,
                 clock: Clock | None = None, env: Mapping[str, str] | None = None, cwd: Path | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.env = os.environ if env is None else env
        self.cwd = Path.cwd() if cwd is None else cwd
        self.sides = tuple(Session(o, bench_factory=bench_factory, clock=clock, env=self.env, cwd=self.cwd,
                                   monotonic=monotonic) for o in (opened.a, opened.b))
        self.focus = 0
        self.alerts: list[tuple[str, str]] = []
        self._set(opened)

    def _set(self, opened: VersusOpened) -> None:
        self.opened = opened
        self.items = opened.items
        self.titles = (side_title("A", opened.shown), side_title("B", opened.shown))

    # -- what the app asks of a session ----------------------------------------------------
    @property
    def a(self) -> Session:
        return self.sides[0]

    @property
    def b(self) -> Session:
        return self.sides[1]

    @property
    def scenario(self) -> Scenario:
        return self.a.scenario

    @property
    def focused(self) -> Session:
        return self.sides[self.focus]

    @property
    def secret_values(self) -> frozenset[str]:
        return self.a.secret_values | self.b.secret_values

    @property
    def running(self) -> bool:
        return any(s.running for s in self.sides)

    @property
    def live(self):
        """The breaks in force (the same on both sides: every break goes to both)."""
        return self.a.live

    def display(self, path: Path | str | None) -> str:
        return self.a.display(path)

    def switch(self, side: int | None = None) -> int:
        """Gives focus to `side` (None: the other one); returns the side with focus."""
        self.focus = (1 - self.focus) if side is None else side
        return self.focus

    def use(self, opened: VersusOpened) -> None:
        for side, o in zip(self.sides, (opened.a, opened.b)):
            side.use(o)
        self._set(opened)

    def open(self, path: Path) -> VersusOpened:
        """Another scenario file, both sides (B with the same changes). Raises InputError."""
        return open_versus(path, self.items, cwd=self.cwd, env=self.env)

    def new_bench(self) -> None:
        for side in self.sides:
            side.new_bench()

    async def run(self) -> tuple[RunResult, RunResult]:
        """Both runs at once; when one cannot start or fails, the other is stopped and the failure raised."""
        return await run_side_by_side(self.a.run(), self.b.run(), self.stop)

    def stop(self) -> bool:
        stopped = [side.stop() for side in self.sides]
        return any(stopped)

    def end_notice(self) -> tuple[str, str, str] | None:
        if self.a.result is None or self.b.result is None:
            return None
        lines = []
        for name, side in zip(SIDES, self.sides):
            lines.append(f"{name}: {side.outcome()}")
            lines.extend(f"{name}: {note}" for note in side.result.notes)  # type: ignore[union-attr]
        passed = self.a.result.passed and self.b.result.passed
        return "\n".join(lines), self.scenario.name, "information" if passed else "warning"

    async def frame(self) -> VersusFrame:
        frames = [await side.frame() for side in self.sides]
        for name, side in zip(SIDES, self.sides):
            self.alerts.extend((severity, f"{name}: {message}") for severity, message in side.alerts)
            side.alerts.clear()
        return pair_frames(frames[0], frames[1], self.titles, self.focus, self.opened.shown)

    # -- the controls: both endpoints, both runs -------------------------------------------
    async def break_endpoint(self, kind: str, value: Any = None) -> str:
        """The break on both endpoints at once; what changed, or why it did not on a side."""
        outcomes = await asyncio.gather(*(side.break_endpoint(kind, value) for side in self.sides),
                                        return_exceptions=True)
        failed = [(name, o) for name, o in zip(SIDES, outcomes) if isinstance(o, BaseException)]
        for _, o in failed:
            if not isinstance(o, ControlError):
                raise o
        if len(failed) == 2 and str(failed[0][1]) == str(failed[1][1]):
            raise ControlError(str(failed[0][1]))
        if failed:
            done = [f"{name}: {o}" for name, o in zip(SIDES, outcomes) if not isinstance(o, BaseException)]
            raise ControlError("; ".join([*(f"{name}: not applied: {o}" for name, o in failed), *done])
                               + " (n puts both back to normal)")
        return f"{outcomes[0]} (A and B)"

    def toggle_pause(self) -> str:
        """Pauses or resumes both (a side whose run has ended is left as it is, and named)."""
        labels: list[str] = []
        problems: list[ControlError] = []
        for name, side in zip(SIDES, self.sides):
            try:
                labels.append(side.toggle_pause())
            except ControlError as exc:
                problems.append(ControlError(f"{name}: {exc}"))
        if not labels:
            raise ControlError(str(problems[0]).partition(": ")[2])
        return f"{labels[0]} ({'A and B' if not problems else problems[0]})"

    def hold(self, why: str) -> bool:
        held = [side.hold(why) for side in self.sides]
        return any(held)

    def release(self) -> None:
        for side in self.sides:
            side.release()

    # -- the report --------------------------------------------------------------------------
    def default_report_path(self) -> str:
        return self.a.default_report_path()

    async def export(self, path: str | Path) -> tuple[Path, Path, Path]:
        """Both reports — A's at `path`, B's beside it (report.b.json) — and the comparison as Markdown
        (report.versus.md), as `run --versus` writes them; returns the three paths."""
        from sinkbench.report._files import atomic_write
        from sinkbench.report.versus import (
            b_path,
            compare_results,
            comparison_markdown,
            write_versus,
        )
        from sinkbench.tui.session import is_html

        results = (await self.a.report_result(), await self.b.report_result())
        target = self.a.output_path(path)
        comparison = target.with_name(f"{target.stem}.versus.md")
        try:
            write_versus("--html" if is_html(target) else "--report", str(target), [results], self.opened.shown)
            atomic_write(comparison, comparison_markdown(compare_results(*results, self.opened.shown)).encode())
        except OSError as exc:
            raise ControlError(f"cannot write {path}: {exc.strerror or exc}") from None
        return target, Path(b_path(target)), comparison

    async def export_note(self, path: str) -> str:
        a, b, comparison = await self.export(path)
        return (f"reports written to {self.display(a)} (A) and {self.display(b)} (B), "
                f"the comparison to {self.display(comparison)}")
