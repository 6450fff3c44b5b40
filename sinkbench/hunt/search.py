"""The search: hypothesis draws fault plans, runs each as a candidate, and shrinks the first that breaks.

Why `hypothesis.find`: it is exactly "the minimal value of a strategy that
satisfies a condition" — generate until the condition holds, then shrink while
it still holds — and returns that value. A `@given` test run by hand would do
the same, but only by turning "this plan breaks the setting" into a test
failure and digging the shrunk plan back out of the exception. `find` also
takes the seed as a `random.Random`, so `--seed` fixes the whole sequence of
plans, and it runs the condition inside a real test case, so
`hypothesis.target` steers generation toward plans that come closer to
breaking (more lost messages, a higher percentile).

Reproducible, with one caveat: hypothesis also draws, now and then, constants
found in the source of the project's own modules loaded at the time (those
outside site-packages). Installed normally, sinkbench has none, and the same
seed tries the same plans in the same order; run from a source checkout, the
sequence also depends on which of sinkbench's modules are loaded (the
command line and the interactive session differ), never on chance.

Settings: no example database (a hunt's plans belong to one scenario and one
seed; a database would replay another hunt's), no deadline (every example is a
bench run of a second or more), quiet, and phases generate, target, shrink.

The budget and the wall time are enforced by the caller's `stop`, not through
hypothesis's `max_examples`: hypothesis counts examples, including those whose
verdict this module already has cached (a shrink pass often revisits a plan),
while `--budget` counts bench runs. When either runs out — or the user
interrupts — the condition raises `StopHunt`, a BaseException: hypothesis treats anything
that is not an `Exception` as fatal and lets it through at once, without
shrinking it as if it were a failure. The best plan so far is then the
simplest breaking plan tried (`Plan.simplicity`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, Verbosity, find, settings, target
from hypothesis.errors import NoSuchExample
from hypothesis.strategies import SearchStrategy

from sinkbench.hunt.plan import Plan
from sinkbench.hunt.target import Verdict


class StopHunt(BaseException):
    """Ends the search now: `reason` is "budget", "time", "interrupted" or "error" (with the `error`)."""

    def __init__(self, reason: str, error: Exception | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


@dataclass(frozen=True)
class Tried:
    number: int           # 1-based candidate number
    plan: Plan
    verdict: Verdict


@dataclass
class SearchOutcome:
    found: Plan | None    # the shrunk plan (or, stopped early, the simplest breaking plan tried); None: nothing broke
    stopped: str          # "shrunk", "exhausted", "budget", "time", "interrupted" or "error"
    tried: list[Tried] = field(default_factory=list)
    error: Exception | None = None    # with "error": what a candidate run raised

    def breaking(self, key: Callable[[Plan], tuple]) -> list[Tried]:
        """Every breaking candidate, simplest first (ties: the order they were tried)."""
        return sorted((t for t in self.tried if t.verdict.broken), key=lambda t: key(t.plan))


def hunt_settings() -> settings:
    return settings(max_examples=10**9, phases=[Phase.generate, Phase.target, Phase.shrink], database=None,
                    deadline=None, verbosity=Verbosity.quiet, suppress_health_check=list(HealthCheck),
                    report_multiple_bugs=False)


def search(strategy: SearchStrategy[Plan], evaluate: Callable[[Plan], Verdict], *, seed: int,
           stop: Callable[[int, bool], str | None], key: Callable[[Plan], tuple] = Plan.simplicity,
           cache: dict[Plan, Verdict] | None = None, first_number: int = 1,
           on_tried: Callable[[Tried, Tried | None], None] | None = None) -> SearchOutcome:
    """Find a plan whose verdict is `broken`, shrunk.

    `evaluate` makes one candidate run (it may raise StopHunt itself, e.g. when
    the deadline passes mid-run). Before each run, `stop(runs so far, whether
    one broke)` names a reason to stop ("budget", "time", ...) or None.
    `cache` holds verdicts already known (the healthy run is the empty plan's)
    and receives the new ones. `on_tried(tried, best)` is called after each
    run, with the simplest breaking candidate so far; candidates are numbered
    from `first_number`.
    """
    cache = {} if cache is None else cache
    outcome = SearchOutcome(found=None, stopped="exhausted")
    best: list[Tried] = []

    def condition(plan: Plan) -> bool:
        verdict = cache.get(plan)
        if verdict is None:
            reason = stop(len(outcome.tried), bool(best))
            if reason is not None:
                raise StopHunt(reason)
            try:
                verdict = cache[plan] = evaluate(plan)
            except Exception as exc:
                # Not a verdict: hypothesis would take it for one more way to fail and shrink it, rerunning
                # a bench that cannot run. The hunt stops and the caller reports it.
                raise StopHunt("error", exc) from exc
            tried = Tried(first_number + len(outcome.tried), plan, verdict)
            outcome.tried.append(tried)
            if verdict.broken and (not best or key(plan) < key(best[0].plan)):
                best[:] = [tried]
            if on_tried is not None:
                on_tried(tried, best[0] if best else None)
        if verdict.score is not None:
            target(verdict.score, label="toward breaking")
        return verdict.broken

    try:
        outcome.found = find(strategy, condition, settings=hunt_settings(), random=random.Random(seed))
        outcome.stopped = "shrunk"
    except NoSuchExample:
        outcome.stopped = "exhausted"
    except StopHunt as stopped:
        outcome.stopped = stopped.reason
        outcome.error = stopped.error
        outcome.found = best[0].plan if best else None
    return outcome
