"""A whole hunt, start to end: healthy runs, the scale, the search, confirmation at full scale, the file's text.

1. The scenario runs once with no fault plan at its own scale (the way
   `sinkbench run` runs it, endpoint in its own process) and once scaled down
   (the way candidates run). Whatever already goes the breaking way there is
   no plan's doing and is taken out of the goal; the scaled run measures the
   horizon the plans are drawn in (scale.py).
2. hypothesis searches and shrinks (search.py), the faults of an outage
   first, then with rate limits and 413 thresholds (`_search`); each
   candidate is a scaled run with the plan, its endpoint in-process (no child
   to start: measured by bench/hunt_rate.py).
3. The shrunk plan is written into the scenario's text, that text is read
   back, and it runs `confirm_runs` times at the scenario's own scale. It is
   kept only if every run breaks the goal the same way; otherwise the next
   simplest breaking plan is tried (up to `confirm_plans`), since timing can
   make a plan shrunk to its limit break only some of the time.

`--time` bounds the search from the hunt's start; the confirming runs come on
top (a few runs of the scenario's own length).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sinkbench.errors import InputError
from sinkbench.hunt.describe import describe, describe_plan
from sinkbench.hunt.plan import Plan, apply_plan
from sinkbench.hunt.runner import Runs
from sinkbench.hunt.scale import Scale, measure, scaled_count, with_scale
from sinkbench.hunt.search import SearchOutcome, StopHunt, Tried, search
from sinkbench.hunt.space import MAX_RULES, kinds, plans
from sinkbench.hunt.target import Goal, Verdict, as_text, judge, narrow
from sinkbench.hunt.write import FoundFile
from sinkbench.metrics.expect import Expectation, format_seconds
from sinkbench.run.result import RunResult, RunStatus
from sinkbench.scenario.model import Scenario


@dataclass(frozen=True)
class HuntOptions:
    budget: int | None = None        # candidate runs
    time: float | None = None        # seconds, from the hunt's start
    seed: int = 0
    confirm_runs: int = 3
    confirm_plans: int = 3
    max_rules: int = MAX_RULES
    candidates_in_process: bool = True


class HuntProgress(Protocol):
    """What a hunt tells whoever watches it (the CLI's stderr, a TUI screen)."""

    def note(self, text: str) -> None: ...

    def tried(self, tried: Tried, best: Tried | None, time_left: float | None, budget: int | None) -> None: ...


@dataclass
class HuntResult:
    status: str                                   # "found", "none" or "interrupted"
    tried: int = 0                                # candidate runs
    stopped: str = ""                             # why the search stopped (search.SearchOutcome.stopped)
    plan: Plan | None = None
    description: str | None = None
    text: str | None = None                       # the found scenario, ready to write
    confirmed: bool = False                       # ran at full scale and broke the goal every time
    expectations: tuple[Expectation, ...] = ()    # what the found scenario expects
    scale: Scale | None = None
    notes: list[str] = field(default_factory=list)


class HuntAborted(InputError):
    """The scenario cannot be hunted as it is (e.g. it does not complete with a healthy endpoint): exit 2."""


def check_huntable(scenario: Scenario) -> None:
    """InputError unless a hunt can vary this scenario's endpoint and replay its stream."""
    if not scenario.mock:
        raise HuntAborted("hunt varies the embedded endpoint's faults: the sink's url must be \"mock\"")
    if scenario.external is not None:
        raise HuntAborted("hunt varies the endpoint under the sink engine's settings; an external sink "
                          "(kind = \"external\") is not hunted: its settings are the program's own, out of "
                          "the hunt's sight")
    if scenario.source.kind == "iggy":
        raise HuntAborted("hunt replays the same stream for every candidate: use a synthetic or recorded "
                          "source, not a live Iggy server (record it first with `sinkbench record`)")


class Hunter:
    def __init__(self, scenario: Scenario, goal: Goal, found: FoundFile, options: HuntOptions, *,
                 progress: HuntProgress, runs: Runs | None = None,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.scenario = apply_plan(scenario, Plan())
        self.goal = goal
        self.found = found
        self.options = options
        self.progress = progress
        self.now = now
        self.runs = runs or Runs(now)
        self.result = HuntResult(status="none")
        self._deadline: float | None = None
        self._base: Scenario | None = None

    # -- steps -----------------------------------------------------------------
    def run(self) -> HuntResult:
        """The hunt. Raises InputError (bad input: exit 2) or BenchError (the bench could not run: exit 3)."""
        check_huntable(self.scenario)
        opts = self.options
        if opts.time is not None:
            self._deadline = self.now() + opts.time
        self._dry_render()
        healthy = self._healthy()
        if healthy is None:
            return self._interrupted(None, None)
        scaled, count, scale = healthy
        self.result.scale = scale
        note = scale.slow_kinds_note()
        if note:
            self.progress.note(note)
        base = self._base = with_scale(self._with_goal(self.scenario), count, scale.candidate_timeout)
        self.progress.note(f"searching: candidates of {count if count is not None else 'all'} messages, "
                           f"fault windows within {format_seconds(2 * scale.horizon)}, seed {opts.seed}")
        outcome = self._search(scale, base, Verdict(broken=False, status=str(scaled.status)))
        self.result.tried = len(outcome.tried)
        self.result.stopped = outcome.stopped
        if outcome.error is not None:
            raise outcome.error
        if outcome.stopped == "interrupted":
            best = outcome.breaking(self._key)
            return self._interrupted(best[0].plan if best else None, best[0].verdict if best else None)
        return self._confirm(outcome)

    def _search(self, scale: Scale, base: Scenario, healthy: Verdict) -> SearchOutcome:
        """Two tiers: the faults of an outage first, then with the endpoint-wide limits too.

        A rate limit or a body threshold is one rule with no window, so once
        one breaks the setting the shrinker keeps it over any outage (it
        cannot turn it into a 503 window that breaks too). A setting that
        loses messages in an outage is the more useful finding, so outages get
        the first half of the budget and the time, and all of what is left
        once one breaks the setting; the limits join if none did.
        """
        opts = self.options
        cache: dict[Plan, Verdict] = {Plan(): healthy}
        tried: list[Tried] = []
        start = self.now()
        half_budget = None if opts.budget is None else -(-opts.budget // 2)
        half_time = None if self._deadline is None else start + (self._deadline - start) / 2
        outcome = SearchOutcome(found=None, stopped="exhausted")
        for tier, endpoint_wide in enumerate((False, True)):
            if endpoint_wide:
                self.progress.note("no outage broke it: adding rate limits and 413 thresholds to the search")

            def stop(n: int, broke: bool, first: bool = tier == 0, before: int = len(tried)) -> str | None:
                if self.runs.stopped:
                    return "interrupted"
                if opts.budget is not None and before + n >= opts.budget:
                    return "budget"
                if self._deadline is not None and self.now() >= self._deadline:
                    return "time"
                if first and not broke and ((half_budget is not None and n >= half_budget)
                                            or (half_time is not None and self.now() >= half_time)):
                    return "tier"
                return None

            outcome = search(plans(scale, opts.max_rules, kinds(scale, endpoint_wide)),
                             lambda plan: self._candidate(base, plan), seed=opts.seed, stop=stop, key=self._key,
                             cache=cache, first_number=len(tried) + 1, on_tried=self._on_tried)
            tried += outcome.tried
            if outcome.stopped not in ("tier", "exhausted"):
                break
        outcome.tried = tried
        return outcome

    def candidate(self, plan: Plan) -> Scenario:
        """The scenario a candidate with `plan` runs (once `run` has measured the scale)."""
        if self._base is None:
            raise RuntimeError("the hunt has not measured its scale yet")
        return apply_plan(self._base, plan)

    def _key(self, plan: Plan) -> tuple:
        s = self.result.scale
        return plan.simplicity(s.horizon, s.requests) if s is not None else plan.simplicity()

    def _with_goal(self, scenario: Scenario) -> Scenario:
        return dataclasses.replace(scenario, expectations=self.goal.judged)

    def _dry_render(self) -> None:
        # Before any run: the found file must be writable as a scenario that loads (paths, --set values).
        self.found.load(self.found.render(Plan(), self.goal.judged, name=self._name()))

    def _name(self) -> str:
        return f"{self.scenario.name}-found"

    def _healthy(self) -> tuple[RunResult, int | None, Scale] | None:
        full = self._with_goal(self.scenario)
        total = full.source.options.get("count") if full.source.kind == "synthetic" else None
        self.progress.note(f"healthy run at the scenario's scale ({total or 'all'} messages, no fault plan)")
        full_result = self.runs.run(full, in_process=False)
        if self.runs.stopped:
            return None
        self._require_complete(full_result, "at the scenario's scale")
        count = scaled_count(self.scenario)
        self.progress.note(f"healthy run scaled down ({count or 'all'} messages), to measure the search space")
        scaled = self.runs.run(with_scale(full, count), in_process=self.options.candidates_in_process)
        if self.runs.stopped:
            return None
        self._require_complete(scaled, "scaled down")
        self.goal, notes = narrow(self.goal, [judge(self.goal, full_result), judge(self.goal, scaled)])
        for note in notes:
            self.progress.note(note)
            self.result.notes.append(note)
        return scaled, count, measure(self.scenario, count, scaled)

    def _require_complete(self, result: RunResult, how: str) -> None:
        if result.status is not RunStatus.COMPLETED:
            why = "; ".join(result.notes) or str(result.status)
            raise HuntAborted(f"with a healthy endpoint the scenario did not complete {how} ({why}): "
                              "a hunt needs a scenario that runs to the end without faults")

    def _candidate(self, base: Scenario, plan: Plan) -> Verdict:
        result = self.runs.run(apply_plan(base, plan), in_process=self.options.candidates_in_process,
                               deadline=self._deadline)
        if result.status is RunStatus.INTERRUPTED:
            raise StopHunt("interrupted" if self.runs.stopped else "time")
        return judge(self.goal, result)

    def _on_tried(self, tried: Tried, best: Tried | None) -> None:
        left = None if self._deadline is None else max(0.0, self._deadline - self.now())
        budget = None if self.options.budget is None else self.options.budget - tried.number
        self.progress.tried(tried, best, left, budget)

    # -- confirmation ------------------------------------------------------------
    def _confirm(self, outcome: SearchOutcome) -> HuntResult:
        n = self.options.confirm_runs
        for plan in self._to_confirm(outcome):
            words = describe_plan(plan, self.scenario.sink.settings.timeout)
            self.progress.note(f"confirming at the scenario's scale ({n} runs): {words}")
            scenario = self._with_goal(self.found.load(self.found.render(plan, self.goal.judged, name=self._name())))
            verdicts: list[Verdict] = []
            for _ in range(n):
                verdict = judge(self.goal, self.runs.run(scenario, in_process=False))
                if self.runs.stopped:
                    return self._interrupted(plan, verdicts[-1] if verdicts else None, confirmed=len(verdicts))
                verdicts.append(verdict)
                if not verdict.broken:
                    break
            broke = sorted(set.intersection(*(set(v.broke) for v in verdicts)))
            if len(verdicts) == n and all(v.broken for v in verdicts) and broke:
                return self._found(plan, verdicts, broke)
            held = sum(v.broken for v in verdicts)
            note = (f"not kept: {words} broke {self.goal.text} in {held} of {len(verdicts)} runs at the "
                    "scenario's scale")
            self.progress.note(note)
            self.result.notes.append(note)
        self.result.status = "none"
        return self.result

    def _to_confirm(self, outcome: SearchOutcome) -> list[Plan]:
        """The breaking plans worth confirming, in order: the simplest (shortest windows first), and, last,
        the one that broke the goal by the widest margin — a plan shrunk to its limit may break only when
        the timing is right, the widest margin is the likeliest to break every time."""
        breaking = outcome.breaking(self._key)
        if not breaking:
            return []
        want = self.options.confirm_plans
        ordered = [t.plan for t in breaking[:max(1, want - 1)]]
        scored = [t for t in breaking if t.verdict.score is not None]
        if scored:
            robust = max(scored, key=lambda t: t.verdict.score or 0.0).plan
            if robust not in ordered:
                ordered.append(robust)
        ordered += [t.plan for t in breaking if t.plan not in ordered][:max(0, want - len(ordered))]
        return ordered[:want]

    def _found(self, plan: Plan, verdicts: list[Verdict], broke: list[int]) -> HuntResult:
        r = self.result
        r.status, r.plan, r.confirmed = "found", plan, True
        r.description = describe(plan, self.goal, verdicts, self.scenario)
        r.expectations = self.goal.written(broke)
        r.text = self._text(plan, [
            f"Confirmed: {len(verdicts)} runs of {len(verdicts)} of this file failed its [expect] "
            f"({'; '.join(as_text(e) for e in r.expectations)}); `sinkbench run` on it exits 1."])
        return r

    def _interrupted(self, plan: Plan | None, verdict: Verdict | None, confirmed: int = 0) -> HuntResult:
        r = self.result
        r.status = "interrupted"
        if plan is None or verdict is None or not verdict.broken:
            return r
        r.plan = plan
        r.description = describe(plan, self.goal, [verdict], self.scenario)
        r.expectations = self.goal.written(verdict.broke)
        where = (f"at the scenario's scale ({confirmed} of {self.options.confirm_runs} confirming runs done)"
                 if confirmed else "in a scaled-down candidate run")
        r.text = self._text(plan, [f"NOT CONFIRMED: the hunt was interrupted. The plan broke the setting {where}; "
                                   f"run `sinkbench run {self.found.out.name}` to check it."])
        return r

    def _text(self, plan: Plan, status: list[str]) -> str:
        r = self.result
        keys = [item.partition("=")[0].strip() for item in self.found.overrides]
        made = f"Found by `sinkbench hunt` (seed {self.options.seed}) in {self.found.source.name}"
        made += f", with --set {', '.join(keys)} (written below)." if keys else "."
        header = [made, f"{r.description}.", *status,
                  f"Search: {r.tried} candidate runs; the plan has {plan.rules} rule(s)."]
        return self.found.render(plan, r.expectations, name=self._name(), description=r.description,
                                 header=header)
