"""`sinkbench sweep merge REPORT.json...`: shard reports joined into the report one machine would have made.

Each shard (`sinkbench sweep ... --shard K/N --report F.json`) records its
plan's fingerprint, K, N, the combinations it ran and each one's full result.
Merging checks that the reports are the N slices of one plan, each once, then
plans the sweep again from what they recorded (the scenario file, read again
from the path the shards were given, must still be the content they ran: the
fingerprint says so) and ranks every combination's result exactly as a single
sweep ranks its own (stored.py): the same table, front, chart and JSON.

A report of a whole sweep is slice 1/1, so `merge` of one report re-ranks it
(another --objective) or writes its Markdown, chart or best settings later.

Every refusal is an InputError (exit 2) naming the report or the slice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from sinkbench.errors import InputError, InputErrors, Where
from sinkbench.sweep.objective import Objective, parse_objective
from sinkbench.sweep.plan import SweepPlan, plan_sweep, validate_plan
from sinkbench.sweep.runner import Outcome, SweepResult
from sinkbench.sweep.shard import Shard
from sinkbench.sweep.stored import result_from_json

MERGE = "sweep merge"
FORMAT = 2          # the first report format with a plan fingerprint (report.REPORT_FORMAT)


@dataclass(frozen=True)
class ShardReport:
    path: str
    sweep: dict[str, Any]          # the report's "sweep" object
    runs: list[dict[str, Any]]
    shard: Shard                   # 1/1 for a whole sweep's report
    combinations: tuple[int, ...]  # what it ran, as it says

    @property
    def fingerprint(self) -> str:
        return self.sweep["plan"]["fingerprint"]

    @property
    def name(self) -> str:
        return f"{self.path} (slice {self.shard.text})"


@dataclass(frozen=True)
class Merged:
    sweep: SweepResult
    reports: tuple[ShardReport, ...]    # in slice order

    @property
    def summary(self) -> str:
        """`merged 3 slices: a.json (1/3, 2 combinations), ...`, for stderr."""
        parts = [f"{r.path} ({r.shard.text}, {len(r.combinations)} combination"
                 f"{'s' if len(r.combinations) != 1 else ''})" for r in self.reports]
        n = len(self.reports)
        return f"merged {n} slice{'s' if n != 1 else ''} of {self.sweep.plan.size} combinations: {', '.join(parts)}"


def _bad(path: str, message: str) -> InputError:
    return InputError(message, Where(file=path))


def read_report(path: str | Path) -> ShardReport:
    """One shard's report, checked for what merging needs. Raises InputError naming the file."""
    name = str(path)
    try:
        data = orjson.loads(Path(path).read_bytes())
    except FileNotFoundError:
        raise _bad(name, "no such file") from None
    except OSError as exc:
        raise _bad(name, f"cannot read: {exc.strerror or exc}") from exc
    except orjson.JSONDecodeError as exc:
        raise _bad(name, f"not JSON ({exc}); merge takes the --report files of sinkbench sweep") from exc
    sweep = data.get("sweep") if isinstance(data, dict) else None
    runs = data.get("runs") if isinstance(data, dict) else None
    if not isinstance(sweep, dict) or not isinstance(runs, list):
        raise _bad(name, "not a sweep report (merge takes the --report files of sinkbench sweep)")
    if not isinstance(sweep.get("format"), int) or sweep["format"] < FORMAT:
        raise _bad(name, "written by an older sinkbench, without the plan's fingerprint: run its slice again")
    try:
        plan = sweep["plan"]
        if not all(isinstance(plan[k], str) for k in ("fingerprint", "scenario_sha256")) or \
                not all(isinstance(plan[k], list) and all(isinstance(i, str) for i in plan[k]) for k in ("vary", "set")):
            raise TypeError("plan")
        size = sweep["combinations"]
        if not isinstance(size, int) or size < 1 or not isinstance(sweep["file"], str):
            raise TypeError("combinations")
        raw = sweep["shard"]
        if raw is None:
            shard, combinations = Shard(1, 1), tuple(range(1, size + 1))
        else:
            if not all(isinstance(raw[k], int) for k in ("k", "n")) or not 1 <= raw["k"] <= raw["n"]:
                raise TypeError("shard")
            shard = Shard(raw["k"], raw["n"])
            combinations = tuple(raw["combinations"])
            if not all(isinstance(i, int) for i in combinations):
                raise TypeError("shard")
    except (KeyError, TypeError) as exc:
        raise _bad(name, f"malformed sweep report (its '{exc.args[0]}' is missing or wrong)") from exc
    return ShardReport(name, sweep, runs, shard, combinations)


def _difference(a: ShardReport, b: ShardReport) -> str:
    """What makes two reports' plans differ, in words."""
    pa, pb = a.sweep["plan"], b.sweep["plan"]
    if a.sweep.get("scenario") != b.sweep.get("scenario") or Path(a.sweep["file"]).name != Path(b.sweep["file"]).name:
        return f"different scenarios ({a.sweep['file']} and {b.sweep['file']})"
    if pa["scenario_sha256"] != pb["scenario_sha256"]:
        return f"the scenario file {a.sweep['file']} with different content"
    if pa["vary"] != pb["vary"]:
        return f"different --vary ({' '.join(pa['vary'])} and {' '.join(pb['vary'])})"
    if pa["set"] != pb["set"]:
        return f"different --set ({' '.join(pa['set']) or 'none'} and {' '.join(pb['set']) or 'none'})"
    if a.sweep.get("seed") != b.sweep.get("seed"):
        return f"different seeds ({a.sweep.get('seed')} and {b.sweep.get('seed')})"
    return f"different plans (fingerprints {a.fingerprint} and {b.fingerprint})"


def check_slices(reports: Sequence[ShardReport]) -> None:
    """The reports are the N slices of one plan, each once. Raises InputErrors listing every problem."""
    if not reports:
        raise InputError("give the shard reports to merge: sinkbench sweep merge REPORT.json...", Where(file=MERGE))
    first = reports[0]
    errors: list[InputError] = []
    for r in reports[1:]:
        if r.fingerprint != first.fingerprint:
            errors.append(InputError(f"{first.path} and {r.path} are not slices of one sweep: "
                                     f"{_difference(first, r)}", Where(file=MERGE)))
        elif r.sweep.get("sinkbench") != first.sweep.get("sinkbench"):
            errors.append(InputError(f"{first.path} and {r.path} were run by different sinkbench versions "
                                     f"({first.sweep.get('sinkbench')} and {r.sweep.get('sinkbench')})",
                                     Where(file=MERGE)))
        elif r.shard.n != first.shard.n:
            errors.append(InputError(f"{first.name} and {r.name} cut the sweep differently: give the slices of one "
                                     "--shard K/N split", Where(file=MERGE)))
    if errors:
        raise InputErrors(errors)
    size, n = first.sweep["combinations"], first.shard.n
    by_k: dict[int, ShardReport] = {}
    for r in reports:
        if r.shard.k in by_k:
            errors.append(InputError(f"slice {r.shard.text} given twice: {by_k[r.shard.k].path} and {r.path}",
                                     Where(file=MERGE)))
            continue
        by_k[r.shard.k] = r
        expected = r.shard.indexes(size)
        ran = tuple(sorted(int(run.get("combination", 0)) for run in r.runs if isinstance(run, dict)))
        if r.combinations != expected or ran != expected:
            errors.append(_bad(r.path, f"slice {r.shard.text} of {size} combinations is combinations "
                                       f"{_list(expected)}, but the report holds {_list(ran)}"))
    missing = [Shard(k, n).text for k in range(1, n + 1) if k not in by_k]
    if missing:
        errors.append(InputError(f"slice{'s' if len(missing) > 1 else ''} {_and(missing)} missing",
                                 Where(file=MERGE)))
    if errors:
        raise InputErrors(errors)


def _list(indexes: Sequence[int]) -> str:
    return ", ".join(str(i) for i in indexes) if indexes else "none"


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _replan(first: ShardReport) -> SweepPlan:
    plan_info = first.sweep["plan"]
    file = first.sweep["file"]
    try:
        plan = validate_plan(plan_sweep(file, plan_info["vary"], plan_info["set"]))
    except InputError as exc:
        raise InputErrors([*(exc.errors if isinstance(exc, InputErrors) else [exc]),
                           InputError(f"merge plans the sweep again from {file} (the path the shards were given, "
                                      "from where merge runs) and their --vary and --set", Where(file=MERGE))]) from exc
    if plan.fingerprint != first.fingerprint:
        raise InputError("not the scenario the shards ran: it changed since (its plan's fingerprint is "
                         f"{plan.fingerprint}, the shards' {first.fingerprint}); merge where the shards' version of "
                         "the file is checked out", Where(file=file))
    return plan


def _outcomes(plan: SweepPlan, reports: Sequence[ShardReport]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for r in reports:
        for i, run in enumerate(r.runs):
            where = Where(file=r.path, key=f"runs[{i}]")
            try:
                combination = plan.combinations[int(run["combination"]) - 1]
                result = None if run["result"] is None else result_from_json(run["result"])
                error = run["error"]
                code = int(run["error_code"])
                skipped = bool(run["skipped"])
                if error is not None and not isinstance(error, str):
                    raise TypeError("error")
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                raise InputError(f"malformed run ({type(exc).__name__}: {exc})", where) from exc
            outcomes.append(Outcome(combination, result=result, error=error, error_code=code, skipped=skipped))
    return sorted(outcomes, key=lambda o: o.combination.index)


def merge_reports(paths: Sequence[str | Path], objective: Objective | None = None) -> Merged:
    """Read, check and join the reports; rank by `objective` (None: the one the shards ranked by)."""
    errors: list[InputError] = []
    reports: list[ShardReport] = []
    for path in paths:
        try:
            reports.append(read_report(path))
        except InputError as exc:
            errors.append(exc)
    if errors:
        raise InputErrors(errors)
    check_slices(reports)
    reports.sort(key=lambda r: r.shard.k)
    if objective is None:
        specs = {r.sweep.get("objective", {}).get("spec") for r in reports}
        if len(specs) > 1:
            raise InputError("the shards were ranked by different objectives "
                             f"({', '.join(sorted(str(s) for s in specs))}): give --objective", Where(file=MERGE))
        objective = parse_objective(str(specs.pop()), flag=f"{reports[0].path}: objective")
    plan = _replan(reports[0])
    outcomes = _outcomes(plan, reports)
    parallels = {int(r.sweep.get("parallel") or 1) for r in reports}
    sweep = SweepResult.ranked(plan, objective, outcomes, parallel=max(parallels),
                               interrupted=any(bool(r.sweep.get("interrupted")) for r in reports))
    return Merged(sweep, tuple(reports))
