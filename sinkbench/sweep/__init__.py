"""Sweeps (docs/sweeps.md, docs/cli.md): one scenario run once per combination of settings, compared.

A package rather than a single `sweep.py`: planning, ranking,
running, the reports, the chart and the write-back are each read on their own
(the interactive session will reuse the runner, the ranking and the chart but
not the CLI's files), and one file would have been the big file the style
notes warn about.

    plan.py        --vary parsing, the combinations, validation before anything runs; the plan's fingerprint
    objective.py   --objective: metrics, directions, the ranking
    pareto.py      the default ranking: the Pareto front first, then a stated drain/requests compromise
    connector.py   which combinations the real connector can run (the others are what-ifs)
    runner.py      SweepRunner: one BenchRun per combination, sequential or N at a time
    shard.py       --shard K/N: the slices of the combinations
    stored.py      a run's result as its report holds it, and back
    merge.py       sweep merge: shard reports joined into the single sweep's report
    progress.py    the CLI's progress on stderr (a SweepProgress; a screen can supply its own)
    report.py      the comparison table: text, JSON, CSV, Markdown; the SVG file
    chart.py       the trade-off picture (drain vs requests): data, text, SVG
    bestconfig.py  --write-best: the winner's keys into a connector file, comments kept

Nothing here imports Textual.
"""

from sinkbench.sweep.objective import DEFAULT_OBJECTIVE, METRICS, Objective, parse_objective
from sinkbench.sweep.plan import (
    MAX_WITHOUT_YES,
    Combination,
    SweepPlan,
    Vary,
    parse_vary,
    plan_sweep,
    validate_plan,
)
from sinkbench.sweep.runner import Outcome, Row, SweepResult, SweepRunner, run_sweep

__all__ = [
    "DEFAULT_OBJECTIVE", "MAX_WITHOUT_YES", "METRICS", "Combination", "Objective", "Outcome", "Row", "SweepPlan",
    "SweepResult", "SweepRunner", "Vary", "parse_objective", "parse_vary", "plan_sweep", "run_sweep",
    "validate_plan",
]
