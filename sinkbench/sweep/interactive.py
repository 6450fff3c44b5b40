"""A sweep from inside the interactive session: the vary specs typed in one line, a cap, a pollable status.

The session's sweep screen only wires these: `plan_in_session()` turns
`sink.max_retries=0,3 batch_mode=ndjson,json_array` (space-separated
`KEY=V1,V2` items, the grammar of `sinkbench sweep --vary`) into a validated
plan of the current scenario's file, `SessionSweep` runs it sequentially and
ranks it, and `SweepStatus` is the `SweepProgress` a screen reads a few times
a second. Nothing here imports Textual.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sinkbench.errors import InputError, Where
from sinkbench.sweep.chart import chart_text, trade_off
from sinkbench.sweep.objective import DEFAULT_OBJECTIVE, Objective, parse_objective
from sinkbench.sweep.plan import (
    VARY,
    Combination,
    SweepPlan,
    plan_sweep,
    split_top_level,
    validate_plan,
)
from sinkbench.sweep.report import best_line, table_lines
from sinkbench.sweep.runner import Outcome, SweepResult, SweepRunner

MAX_IN_SESSION = 8   # more belongs to `sinkbench sweep`, which can run unattended


def split_items(text: str) -> list[str]:
    """`a=1,2 b=[200, 202]` → ['a=1,2', 'b=[200, 202]']: spaces split outside quotes, brackets and braces."""
    return [item for item in split_top_level(text, str.isspace) if item]


def plan_in_session(file: str | Path | None, text: str, *, limit: int = MAX_IN_SESSION) -> SweepPlan:
    """The validated plan of `text` over the scenario `file`. Raises InputError (InputErrors) saying why not."""
    if file is None or not Path(file).is_file():
        raise InputError("this scenario has no file to sweep; use `sinkbench sweep` on a scenario file",
                         Where(file=VARY))
    plan = plan_sweep(file, split_items(text))
    if plan.size > limit:
        raise InputError(f"{plan.size} combinations: the session runs at most {limit}; "
                         "use `sinkbench sweep` for more", Where(file=VARY))
    return validate_plan(plan)


def check_in_session(file: str | Path | None, text: str) -> str | None:
    """What is wrong with `text` (for a prompt's inline error), or None."""
    try:
        plan_in_session(file, text)
    except InputError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class Status:
    done: int
    total: int
    text: str


class SweepStatus:
    """A `SweepProgress` that only records: a screen pulls `status` on its own timer."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.status = Status(0, total, f"starting {total} combinations")
        self._done = 0

    def started(self, combination: Combination) -> None:
        self._set(combination, 0.0)

    def update(self, combination: Combination, fraction: float | None) -> None:
        self._set(combination, fraction)

    def finished(self, outcome: Outcome) -> None:
        self._done += 1
        self.status = Status(self._done, self.total, f"{self._done}/{self.total} done, "
                                                     f"last: {outcome.label} ({outcome.status})")

    def _set(self, combination: Combination, fraction: float | None) -> None:
        share = f" {fraction * 100:.0f}%" if fraction is not None else ""
        self.status = Status(self._done, self.total,
                             f"combination {combination.index}/{self.total}{share}  {combination.label}")


class SessionSweep:
    """Runs a validated plan one combination at a time and ranks it; `interrupt()` stops it."""

    def __init__(self, plan: SweepPlan, *, objective: Objective | None = None,
                 endpoint_in_process: bool = False) -> None:
        self.plan = plan
        self.objective = objective or parse_objective(DEFAULT_OBJECTIVE)
        self.status = SweepStatus(plan.size)
        self._runner = SweepRunner(plan, progress=self.status, endpoint_in_process=endpoint_in_process)

    def interrupt(self) -> None:
        self._runner.interrupt()

    async def run(self) -> SweepResult:
        outcomes = await self._runner.run()
        return SweepResult.ranked(self.plan, self.objective, outcomes, interrupted=self._runner.interrupted)


def result_text(sweep: SweepResult) -> str:
    """The ranked table, the errors, the trade-off chart and the best line, as the screen shows them."""
    lines = [f"sorted by: {sweep.objective.text}", "", *table_lines(sweep)]
    lines += [f"#{row.rank} {row.outcome.status}: {row.outcome.error}" for row in sweep.rows if row.outcome.error]
    lines += ["", *chart_text(trade_off(sweep)), "", best_line(sweep)]
    if sweep.interrupted:
        lines.append("the sweep was interrupted")
    return "\n".join(lines)
