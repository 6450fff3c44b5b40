"""Candidate runs per minute of `sinkbench hunt` on the quickstart, beside plain runs of the same candidates.

The worked example of docs/hunt.md: the quickstart with max_retries = 1
under Iggy's after_polling commits, --break "lost > 0". The hunt's search
runs its candidates (hypothesis generating and shrinking, each candidate a
scaled-down bench run with the endpoint in-process; no confirmation at full
scale, which is not a candidate); then the very same
plans run again as plain bench runs, without hypothesis, in the same
process: the ratio is what the search itself costs. A third line runs them
with the endpoint in its own process, the way `sinkbench run` does, which is
why candidates run in-process.

Usage: python bench/hunt_rate.py [--budget N] [--seed S]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from sinkbench.hunt.hunter import Hunter, HuntOptions
from sinkbench.hunt.plan import Plan
from sinkbench.hunt.runner import Runs
from sinkbench.hunt.search import Tried
from sinkbench.hunt.target import Goal, parse_break
from sinkbench.hunt.write import FoundFile
from sinkbench.scenario.load import load_scenario
from sinkbench.tuning import tune_process

QUICKSTART = Path(__file__).resolve().parent.parent / "scenarios" / "quickstart.toml"
OVERRIDES = ("sink.max_retries=1",)


class Timed:
    """HuntProgress that keeps each candidate's plan and when it ended."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.ends: list[float] = []
        self.plans: list[Plan] = []

    def note(self, text: str) -> None:
        if text.startswith("searching:"):
            self.started = time.monotonic()

    def tried(self, tried: Tried, best: Tried | None, time_left: float | None, budget: int | None) -> None:
        self.ends.append(time.monotonic())
        self.plans.append(tried.plan)


def per_minute(n: int, seconds: float) -> str:
    return f"{n} in {seconds:5.1f}s = {60 * n / seconds:5.1f}/min"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=int, default=30, help="candidate runs (default 30)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tune_process()

    scenario = load_scenario(QUICKSTART, OVERRIDES)
    progress = Timed()
    with tempfile.TemporaryDirectory() as tmp:
        found = FoundFile(QUICKSTART, Path(tmp) / "quickstart.found.toml", OVERRIDES)
        hunter = Hunter(scenario, Goal((parse_break("lost > 0"),), True), found,
                        HuntOptions(budget=args.budget, seed=args.seed, confirm_plans=0),
                        progress=progress)
        result = hunter.run()
    assert progress.started is not None and progress.plans, "the hunt made no candidate run"
    hunt_s = progress.ends[-1] - progress.started
    n = len(progress.plans)
    scale = result.scale
    assert scale is not None

    runs = Runs()
    plain = {}
    for label, in_process in (("in-process", True), ("own process", False)):
        start = time.monotonic()
        for plan in progress.plans:
            runs.run(hunter.candidate(plan), in_process=in_process)
        plain[label] = time.monotonic() - start

    print(f"hunt on the quickstart with max_retries = 1, --break \"lost > 0\", seed {args.seed}: "
          f"candidates of {scale.count} messages ({scale.horizon:.2f}s healthy); the search stopped: "
          f"{result.stopped}")
    print(f"  hunt (hypothesis + candidate runs):          {per_minute(n, hunt_s)}")
    print(f"  the same plans, plain runs:                  {per_minute(n, plain['in-process'])}")
    print(f"  ratio hunt / plain:                          {plain['in-process'] / hunt_s:5.2f}")
    print(f"  the same plans, endpoint in its own process: {per_minute(n, plain['own process'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
