"""A sweep from inside the interactive session: the vary specs typed in one line, a cap, a pollable status.

The session's sweep screen only wires these: `plan_in_session()` turns
`sink.max_retries=0,3 batch_mode=ndjson,json_array` (space-separated
`KEY=V1,V2` items, the grammar of `sinkbench sweep --vary`) into a validated
plan of the current scenario's file, `SessionSweep` runs it sequentially and
ranks it, and `SweepStatus` is the `SweepProgress` a screen reads a few times
a second. Nothing here imports Textual.

The sweep starts from the settings as tuned live, not the file as written:
`tuned_overrides()` turns what the session changed into fixed `--set` items
(a varied key's values win over its tuned one). `row_problem()` and
`write_prompt()` serve the screen's `w`, which writes a chosen row's settings
into the connector file as `--write-best` does.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from sinkbench.config.settings import SinkSettings
from sinkbench.durations import format_duration
from sinkbench.errors import InputError, Where
from sinkbench.report._text import one_line
from sinkbench.runtime import RuntimeSettings
from sinkbench.scenario.load import parse_set
from sinkbench.scenario.model import Scenario
from sinkbench.sweep.bestconfig import plain_value, refusal
from sinkbench.sweep.chart import TEXT_WIDTH, chart_text, trade_off
from sinkbench.sweep.objective import DEFAULT_OBJECTIVE, Objective, parse_objective, ran_to_end
from sinkbench.sweep.plan import (
    NOT_VARIED,
    VARY,
    Combination,
    SweepPlan,
    plan_sweep,
    split_top_level,
    validate_plan,
)
from sinkbench.sweep.report import best_line, columns, legend_lines
from sinkbench.sweep.runner import Outcome, Row, SweepResult, SweepRunner

MAX_IN_SESSION = 8   # more belongs to `sinkbench sweep`, which can run unattended


def split_items(text: str) -> list[str]:
    """`a=1,2 b=[200, 202]` → ['a=1,2', 'b=[200, 202]']: spaces split outside quotes, brackets and braces."""
    return [item for item in split_top_level(text, str.isspace) if item]


def _toml(value: Any) -> str:
    return tomlkit.item(value).as_string()


def tuned_overrides(scenario: Scenario, table: Mapping[str, Any], settings: SinkSettings,
                    runtime: RuntimeSettings) -> list[str]:
    """`--set` items that start a sweep of `scenario`'s file from the settings as tuned in the session.

    `table` is the session's [plugin_config] as tuned (values as typed), `settings` the same resolved,
    `runtime` its runtime settings. Each [sink] key whose tuned value is not the file's becomes an item (a
    key cleared in the form: its default, from `settings`); so do `batch_length` and `poll_interval` when
    tuned. Headers are not tuned in the session (nor are where the sink delivers): the file's hold.
    """
    original = scenario.sink_table
    items: list[str] = []
    for key in sorted(set(original) | set(table)):
        if key in (*NOT_VARIED, "headers"):
            continue
        if key in table:
            if key not in original or original[key] != table[key]:
                items.append(f"sink.{key}={_toml(table[key])}")
        elif hasattr(settings, key):
            items.append(f"sink.{key}={_toml(plain_value(getattr(settings, key)))}")
    if runtime.batch_length != scenario.runtime.batch_length:
        items.append(f"runtime.batch_length={runtime.batch_length}")
    if runtime.poll_interval != scenario.runtime.poll_interval:
        items.append(f"runtime.poll_interval={_toml(format_duration(runtime.poll_interval))}")
    return items


def _key(item: str) -> str:
    return ".".join(parse_set(item)[0])


def plan_in_session(file: str | Path | None, text: str, *, tuned: Sequence[str] = (),
                    limit: int = MAX_IN_SESSION) -> SweepPlan:
    """The validated plan of `text` over the scenario `file`, from the `tuned` settings (`tuned_overrides`).

    Raises InputError (InputErrors) saying why not.
    """
    if file is None or not Path(file).is_file():
        raise InputError("this scenario has no file to sweep; use `sinkbench sweep` on a scenario file",
                         Where(file=VARY))
    items = split_items(text)
    varied = [v.key for v in plan_sweep(file, items).varies]
    # What is varied is swept over its values, whatever it was tuned to.
    fixed = [t for t in tuned if not any(k == v or k.startswith(v + ".") or v.startswith(k + ".")
                                         for k in (_key(t),) for v in varied)]
    plan = plan_sweep(file, items, fixed)
    if plan.size > limit:
        raise InputError(f"{plan.size} combinations: the session runs at most {limit}; "
                         "use `sinkbench sweep` for more", Where(file=VARY))
    return validate_plan(plan)


def check_in_session(file: str | Path | None, text: str, *, tuned: Sequence[str] = ()) -> str | None:
    """What is wrong with `text` (for a prompt's inline error), or None."""
    try:
        plan_in_session(file, text, tuned=tuned)
    except InputError as exc:
        return str(exc)
    return None


def tuned_keys(plan: SweepPlan) -> list[str]:
    """The keys the sweep took from the session's tuning (names only, for the screen's title)."""
    return [_key(item).split(".", 1)[1] for item in plan.fixed]


def write_prompt(sweep: SweepResult) -> tuple[str, str]:
    """(the rank offered, the prompt's words) for `w`: the best row, unless the ranking cannot choose for you."""
    best = sweep.best
    if best is None:
        return "", "No combination ran to the end: nothing to write"
    why = refusal(sweep)
    if why is not None:
        return "", f"The best row cannot be written as it is: {why}. Rank of the row to write"
    return str(best.rank), f"Rank of the row to write (#{best.rank} is the best: {best.combination.label})"


def chosen_row(sweep: SweepResult, text: str) -> Row:
    """The row `text` (a rank) names, if its settings can be written. Raises InputError saying why not."""
    where = Where(file="rank")
    raw = text.strip().lstrip("#")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= len(sweep.rows):
        raise InputError(f"give a rank from 1 to {len(sweep.rows)}", where)
    row = sweep.rows[int(raw) - 1]
    if not ran_to_end(row.result):
        raise InputError(f"#{row.rank} did not run to the end ({row.outcome.status}): its figures say nothing",
                         where)
    if row.not_connector:
        used = ", ".join(n.text for n in row.not_connector)
        raise InputError(f"#{row.rank} ran with {used}, which the connector does not run "
                         f"({'; '.join(n.fact.why for n in row.not_connector)})", where)
    return row


def row_problem(sweep: SweepResult, text: str) -> str | None:
    """What is wrong with the rank typed (for the prompt's inline error), or None."""
    try:
        chosen_row(sweep, text)
    except InputError as exc:
        return exc.message
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


# Columns the screen drops first when the table is wider than it, the objective's own last; the rank, the
# varied settings, drain and the verdict always stay.
DROP_ORDER = ("bytes", "retries", "delivered", "p95", "dups", "p99", "requests", "lost")
METRIC_OF = {"dups": "duplicates"}     # a column's header → the objective's name of its metric


def result_text(sweep: SweepResult) -> str:
    """The ranked table, the errors, the trade-off chart and the best line, as the screen shows them."""
    return "\n".join(result_lines(sweep))


def result_lines(sweep: SweepResult, width: int | None = None) -> list[str]:
    """`result_text`'s lines fitted to `width` cells: table columns dropped (and named) when they do not fit,
    the chart narrowed, prose wrapped. `width=None`: no limit."""
    lines = [*_wrap(f"sorted by: {sweep.objective.text}", width), "", *fitted_table(sweep, width)]
    lines += [wrapped for note in legend_lines(sweep) for wrapped in _wrap(note, width)]   # ●, † explained
    for row in sweep.rows:
        if row.outcome.error:
            lines += _wrap(f"#{row.rank} {row.outcome.status}: {row.outcome.error}", width)
    lines += ["", *_chart(sweep, width), ""]
    lines += _wrap(best_line(sweep), width)
    if sweep.interrupted:
        lines.append("the sweep was interrupted")
    return lines


def fitted_table(sweep: SweepResult, width: int | None = None) -> list[str]:
    """The comparison table (as `sinkbench sweep` prints it) in `width` cells, dropping the columns of
    DROP_ORDER that do not fit, objective ones last, and saying which."""
    cols = columns(sweep)
    body = [[one_line(c.cell(row)) for c in cols] for row in sweep.rows]
    widths = [max([len(c.header), *(len(r[i]) for r in body)]) for i, c in enumerate(cols)]
    keep = list(range(len(cols)))
    in_objective = {c.metric.name for c in sweep.objective.criteria}
    order = sorted((i for i, c in enumerate(cols) if c.header in DROP_ORDER),
                   key=lambda i: (METRIC_OF.get(cols[i].header, cols[i].header) in in_objective,
                                  DROP_ORDER.index(cols[i].header)))

    def size() -> int:
        return sum(widths[i] for i in keep) + 2 * (len(keep) - 1)

    dropped = []
    while width is not None and size() > width and order:
        i = order.pop(0)
        keep.remove(i)
        dropped.append(cols[i].header)

    def line(cells: list[str]) -> str:
        return "  ".join(cells[i].rjust(widths[i]) if cols[i].right else cells[i].ljust(widths[i])
                         for i in keep).rstrip()

    out = [line([c.header for c in cols]), *(line(cells) for cells in body)]
    if dropped:
        out += _wrap(f"(no room for {', '.join(sorted(dropped, key=DROP_ORDER.index))}: "
                     "a wider terminal shows them, as does `sinkbench sweep`)", width)
    if width is not None and size() > width:
        out += _wrap("(the table is wider than the screen: scroll right for the rest)", width)
    return out


def _chart(sweep: SweepResult, width: int | None) -> list[str]:
    """The trade-off chart, narrowed until its picture fits; its notes wrapped."""
    chart = trade_off(sweep)
    plot_width = TEXT_WIDTH
    while True:
        lines = chart_text(chart, width=plot_width)
        axis = next((i for i, line in enumerate(lines) if "└" in line), None)
        picture, notes = (lines[:axis + 2], lines[axis + 2:]) if axis is not None else ([], lines)
        if width is None or plot_width <= 8 or max((len(x) for x in picture), default=0) <= width:
            break
        plot_width -= 4
    return picture + [w for note in notes for w in _wrap(note, width)]


def _wrap(text: str, width: int | None) -> list[str]:
    if width is None or len(text) <= width:
        return [text]
    return textwrap.wrap(text, max(8, width), subsequent_indent="  ", break_on_hyphens=False) or [text]
