"""Running a sweep: one bench run per combination, sequentially or a few at a time.

Each combination is its own `BenchRun` of its own scenario, with its own
embedded endpoint (a process each), and the scenario's seed: only the settings
differ. `parallel > 1` runs that many at once; they share the machine's cores,
so their latency and drain figures are less comparable than sequential ones.
`combinations` runs only some of the plan (a `--shard` slice).

The ranking puts the rows the real connector can run first (connector.py),
each part ranked by the objective; each part's Pareto front is marked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sinkbench.errors import BenchError, InputError
from sinkbench.run.inputcheck import judge_input
from sinkbench.run.result import RunResult, RunStatus
from sinkbench.sweep.connector import NotConnector, not_connector
from sinkbench.sweep.objective import Objective, front_figures, on_front, ran_to_end
from sinkbench.sweep.pareto import trades
from sinkbench.sweep.plan import Combination, SweepPlan
from sinkbench.sweep.shard import Shard
from sinkbench.sweep.stored import as_reported


@dataclass(frozen=True)
class Outcome:
    """What one combination produced: a result, or why it has none."""

    combination: Combination
    result: RunResult | None = None
    error: str | None = None          # the bench could not run it (exit 3) or its input failed (exit 2)
    error_code: int = 0               # 2 or 3 with an error
    skipped: bool = False             # never started: the sweep was interrupted first

    @property
    def label(self) -> str:
        return self.combination.label

    @property
    def status(self) -> str:
        if self.result is not None:
            return str(self.result.status)
        return "not run" if self.skipped else "error"

    @property
    def passed(self) -> bool:
        return self.result is not None and self.result.passed


@dataclass(frozen=True)
class Row:
    """One line of the comparison table: an outcome and its place in the ranking (1 = best)."""

    rank: int
    outcome: Outcome
    front: bool = False                             # on the Pareto front of its part (see SweepResult.ranked)
    not_connector: tuple[NotConnector, ...] = ()    # settings it ran with that the connector does not do

    @property
    def connector_runs(self) -> bool:
        return not self.not_connector

    @property
    def result(self) -> RunResult | None:
        return self.outcome.result

    @property
    def combination(self) -> Combination:
        return self.outcome.combination


@dataclass(frozen=True)
class SweepResult:
    plan: SweepPlan
    objective: Objective
    outcomes: tuple[Outcome, ...]        # in combination order (a shard's: its slice only)
    parallel: int = 1
    interrupted: bool = False
    rows: tuple[Row, ...] = field(default=())
    shard: Shard | None = None           # a --shard slice; None: the whole plan

    @staticmethod
    def ranked(plan: SweepPlan, objective: Objective, outcomes: Sequence[Outcome], *,
               parallel: int = 1, interrupted: bool = False, shard: Shard | None = None) -> SweepResult:
        """Rank the outcomes: the rows the connector can run first, then the rest, each by the objective."""
        unlike: dict[int, tuple[NotConnector, ...]] = {}
        for o in outcomes:
            index = o.combination.index
            unlike[index] = not_connector(plan.scenarios[index - 1]) if len(plan.scenarios) == plan.size else ()
        rows: list[Row] = []
        for part in ([o for o in outcomes if not unlike[o.combination.index]],
                     [o for o in outcomes if unlike[o.combination.index]]):
            front = on_front([o.result for o in part])
            marked = {o.combination.index for i, o in enumerate(part) if i in front}
            for o in objective.rank(part, lambda o: o.result):
                rows.append(Row(len(rows) + 1, o, o.combination.index in marked, unlike[o.combination.index]))
        return SweepResult(plan, objective, tuple(outcomes), parallel, interrupted, tuple(rows), shard)

    @property
    def count(self) -> int:
        """How many combinations this result holds: the plan's, or a slice's."""
        return len(self.outcomes)

    @property
    def best(self) -> Row | None:
        """The best-ranked row that ran to the end (not interrupted, not timed out) — among the rows the
        connector can run when there are any (they rank first), else a what-if row."""
        for row in self.rows:
            if ran_to_end(row.result):
                return row
        return None

    def tied_with_best(self) -> list[Row]:
        """Rows whose objective values equal the best's (the choice among them is the run order)."""
        best = self.best
        if best is None:
            return []
        key = self.objective.key(best.result)
        return [r for r in self.rows if r is not best and r.result is not None and r.connector_runs == best.connector_runs
                and self.objective.key(r.result) == key]

    def trading_with_best(self) -> list[Row]:
        """Front rows beside the best, with its lost and duplicates, that beat it on drain or on requests
        while losing on the other: the default objective chose between them by its compromise."""
        best = self.best
        if best is None or not best.front:
            return []
        mine = front_figures(best.result)
        assert mine is not None
        return [r for r in self.rows if r is not best and r.front and r.connector_runs == best.connector_runs
                and trades(mine, front_figures(r.result))]  # type: ignore[arg-type]

    @property
    def passed_count(self) -> int:
        return sum(1 for o in self.outcomes if o.passed)

    @property
    def error_code(self) -> int:
        return max((o.error_code for o in self.outcomes), default=0)


class SweepProgress(Protocol):
    """What a sweep tells whoever watches it (the CLI's progress line, a TUI screen)."""

    def started(self, combination: Combination) -> None: ...

    def update(self, combination: Combination, fraction: float | None) -> None: ...

    def finished(self, outcome: Outcome) -> None: ...


class SweepRunner:
    """Runs every combination of a validated plan. `await run()` returns the outcomes in combination order."""

    def __init__(self, plan: SweepPlan, *, parallel: int = 1, progress: SweepProgress | None = None,
                 endpoint_in_process: bool = False, combinations: Sequence[Combination] | None = None) -> None:
        if parallel < 1:
            raise ValueError(f"parallel must be at least 1, got {parallel}")
        if len(plan.scenarios) != plan.size:
            raise ValueError("the plan has not been validated (validate_plan)")
        self.plan = plan
        self.combinations = tuple(plan.combinations if combinations is None else combinations)
        self.parallel = parallel
        self.progress = progress
        self.endpoint_in_process = endpoint_in_process
        self.interrupted = False
        self._active: set = set()

    def interrupt(self) -> None:
        """Stop: the runs under way end as interrupted, the rest do not start."""
        self.interrupted = True
        for bench in list(self._active):
            bench.interrupt()

    async def run(self) -> list[Outcome]:
        gate = asyncio.Semaphore(self.parallel)

        async def one(combo: Combination) -> Outcome:
            async with gate:
                if self.interrupted:
                    return Outcome(combo, skipped=True)
                return await self._run_one(combo)

        return list(await asyncio.gather(*(one(c) for c in self.combinations)))

    async def _run_one(self, combo: Combination) -> Outcome:
        from sinkbench.run.bench import BenchRun

        scenario = self.plan.scenarios[combo.index - 1]
        bench = BenchRun(scenario, endpoint_in_process=self.endpoint_in_process)
        self._active.add(bench)
        progress = self.progress
        if progress is not None:
            progress.started(combo)

        def tick(snap) -> None:
            fraction = None
            if snap.total:
                fraction = min(1.0, (snap.delivered + snap.failed + snap.skipped) / snap.total)
            progress.update(combo, fraction)  # type: ignore[union-attr]

        try:
            result = await bench.run(progress=tick if progress is not None else None)
            source_error = bench.source_error
            result = judge_input(result, source_error)
            # Ranked as its report holds it, so a merge of shard reports ranks the very same figures.
            # A combination whose source could not be read is never a pass nor a candidate (ran_to_end).
            outcome = Outcome(combo, result=as_reported(result), error=None if source_error is None else
                              str(source_error), error_code=0 if source_error is None else 2)
        except InputError as exc:
            outcome = Outcome(combo, error=str(exc), error_code=2)
        except BenchError as exc:
            outcome = Outcome(combo, error=f"the bench could not run: {exc}", error_code=3)
        finally:
            self._active.discard(bench)
        if outcome.result is not None and outcome.result.status == RunStatus.INTERRUPTED:
            self.interrupted = True
        if progress is not None:
            progress.finished(outcome)
        return outcome


async def run_sweep(plan: SweepPlan, objective: Objective, *, parallel: int = 1,
                    progress: SweepProgress | None = None) -> SweepResult:
    """Run a validated plan and rank it: the whole sweep in one call."""
    runner = SweepRunner(plan, parallel=parallel, progress=progress)
    outcomes = await runner.run()
    return SweepResult.ranked(plan, objective, outcomes, parallel=parallel, interrupted=runner.interrupted)
