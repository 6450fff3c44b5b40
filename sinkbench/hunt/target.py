"""What a hunt tries to break, and how one run is judged against it.

Two kinds of goal:

* `--break "lost > 0"`: one expression in the `[expect]` grammar, preceded by
  its metric; a candidate breaks the setting when that expression *holds*. The
  found scenario expects its negation (`lost = "<= 0"`), so `sinkbench run`
  on it fails exactly when the hunt said it would.
* no `--break`: the scenario's own `[expect]`; a candidate breaks it when any
  of them fails. The found scenario keeps those that failed.

Either way, an expectation that already goes the breaking way with a healthy
endpoint is no fault plan's doing: `narrow` takes it out (or refuses to hunt).
A candidate that did not complete (its timeout, an interruption) proves
nothing and never counts as breaking.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sinkbench.errors import InputError, Where
from sinkbench.metrics.expect import Expectation, parse_expectations
from sinkbench.run.result import RunResult, RunStatus

_METRIC = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(.*)\Z", re.S)
_SPLIT = re.compile(r"([^<>=!]*)([<>=!]+)(.*)\Z", re.S)
NEGATION = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}
BREAK_WHERE = Where(file="--break")


class NothingToBreak(InputError):
    """The goal already goes the breaking way with no fault plan at all (exit 2: the input asks nothing)."""


def parse_break(text: str) -> Expectation:
    """`--break "latency.delivery p(99) > 5s"` → the expectation on latency.delivery "p(99) > 5s"."""
    m = _METRIC.match(text or "")
    if not m or not m.group(2).strip():
        raise InputError(f"expected METRIC OP VALUE such as \"lost > 0\" or "
                         f"\"latency.delivery p(99) > 5s\", got {text!r}", BREAK_WHERE)
    return parse_expectations({m.group(1): m.group(2).strip()}, where=lambda _m, _i: BREAK_WHERE)[0]


def negate(e: Expectation, where: Where = BREAK_WHERE) -> Expectation:
    """The expectation that fails exactly when `e` holds: the operator turned around, the rest as written."""
    m = _SPLIT.match(e.expression.strip())
    assert m is not None and m.group(2) == e.op, e.expression   # parse_expectations admitted it
    left, right = m.group(1).strip(), m.group(3).strip()
    expression = f"{left} {NEGATION[e.op]} {right}" if left else f"{NEGATION[e.op]} {right}"
    return parse_expectations({e.metric: expression}, where=lambda _m, _i: where)[0]


def as_text(e: Expectation) -> str:
    return f"{e.metric} {e.expression}"


@dataclass(frozen=True)
class Goal:
    """The expectations candidate runs are judged by, and which way breaks them."""

    judged: tuple[Expectation, ...]
    breaks_when_held: bool        # True for --break (it must hold), False for [expect] (one must fail)

    @property
    def text(self) -> str:
        if self.breaks_when_held:
            return f'--break "{as_text(self.judged[0])}"'
        return "; ".join(as_text(e) for e in self.judged)

    def written(self, broke: Sequence[int]) -> tuple[Expectation, ...]:
        """The found scenario's [expect]: what fails when the plan breaks the setting."""
        if self.breaks_when_held:
            return (negate(self.judged[0]),)
        return tuple(self.judged[i] for i in sorted(set(broke)))


@dataclass(frozen=True)
class Verdict:
    """One run judged: did it break the goal, and how close it came (for hypothesis's targeting)."""

    broken: bool
    status: str                              # the run's status: completed, timeout, interrupted, ...
    broke: tuple[int, ...] = ()              # indexes into Goal.judged that went the breaking way
    details: tuple[str, ...] = ()            # their detail text ("lost = 37 (expected > 0)")
    score: float | None = None               # larger is nearer to breaking
    observed: tuple[float | None, ...] = ()  # each judged expectation's observed value, in its unit
    totals: dict = field(default_factory=dict, compare=False)
    duration: float = 0.0


def _toward(op: str, observed: float, target: float) -> float:
    """How far `observed op target` is from failing: positive while it holds, in units of the target."""
    scale = max(1.0, abs(target))
    gap = {">": observed - target, ">=": observed - target, "<": target - observed, "<=": target - observed,
           "==": -abs(observed - target), "!=": abs(observed - target)}[op]
    return gap / scale


def judge(goal: Goal, result: RunResult) -> Verdict:
    """The verdict of a run whose scenario's expectations are `goal.judged`, in that order."""
    status = str(result.status)
    outcomes = result.expectations
    scores = []
    for e, o in zip(goal.judged, outcomes):
        if o.observed is None:
            continue
        target = float(result.totals.get("total") or 0) if e.value == "total" else float(e.value)
        toward = _toward(e.op, o.observed, target)
        scores.append(toward if goal.breaks_when_held else -toward)
    if goal.breaks_when_held:
        broke = tuple(i for i, o in enumerate(outcomes) if o.passed)
    else:
        broke = tuple(i for i, o in enumerate(outcomes) if not o.passed)
    broken = bool(broke) and result.status is RunStatus.COMPLETED
    return Verdict(broken=broken, status=status, broke=broke if broken else (),
                   details=tuple(outcomes[i].detail for i in broke) if broken else (),
                   score=max(scores) if scores else None, observed=tuple(o.observed for o in outcomes),
                   totals=dict(result.totals), duration=result.duration)


def narrow(goal: Goal, healthy: Sequence[Verdict]) -> tuple[Goal, list[str]]:
    """The goal without what already breaks with a healthy endpoint, and a note for each part taken out.

    Raises NothingToBreak when nothing is left to hunt.
    """
    already = sorted({i for v in healthy for i in v.broke})
    if goal.breaks_when_held:
        if already:
            raise NothingToBreak(f'"{as_text(goal.judged[0])}" already holds with a healthy endpoint (no fault '
                                 "plan at all): there is nothing for a hunt to find", BREAK_WHERE)
        return goal, []
    notes = [f"{as_text(goal.judged[i])} fails with a healthy endpoint already; hunting the others"
             for i in already]
    kept = tuple(e for i, e in enumerate(goal.judged) if i not in already)
    if not kept:
        raise NothingToBreak("every expectation of the scenario fails with a healthy endpoint already: "
                             "there is nothing for a hunt to find (give --break EXPR)")
    return Goal(kept, False), notes
