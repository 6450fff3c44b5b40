"""`--write-best CONFIG`: the winning combination's settings written into an Iggy connector file.

Only what the sweep chose is written: the varied keys and the fixed `--set`
sink and runtime keys, with the winning values. Sink keys go to
`[plugin_config]` (through `sinkbench.config.writeback`); the runtime's
`batch_length` and `poll_interval` go to the first `[[streams]]` entry.
tomlkit edits the document in place, so comments, order and every other key
survive; a trailing comment on a changed line is kept. `offset_commit` is not
a connector-file key and is never written.

Settings the winning run used that were not varied and that the file sets
otherwise are listed as notes, so nobody mistakes the file for what was
benched.

`refusal()` says when the winner must not be written at all: its advantage
may come from a setting the connector does not run (connector.py), or the
default ranking chose it over a front member that trades drain for requests,
which only the user can weigh (`--objective`).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit

from sinkbench.config.settings import ENHANCED_KEYS, IGGY_KEYS
from sinkbench.config.writeback import WriteBack, plan_write_back, set_stream_keys
from sinkbench.durations import format_duration
from sinkbench.errors import InputError, Where
from sinkbench.report import _text as fmt
from sinkbench.scenario.load import parse_set
from sinkbench.scenario.model import Scenario
from sinkbench.sweep.plan import Combination, SweepPlan, show_value
from sinkbench.sweep.runner import Row, SweepResult

STREAM_KEYS = ("batch_length", "poll_interval")     # runtime keys that live in the connector's [[streams]]


@dataclass(frozen=True)
class BestWrite:
    plan: WriteBack
    sink: dict[str, Any]                       # plugin_config key → value written
    streams: dict[str, Any]                    # [[streams]][0] key → value written
    notes: list[str] = field(default_factory=list)   # keys not written, and why; settings that differ

    @property
    def changed(self) -> bool:
        return self.plan.changed


def _trade(best: Row, other: Row) -> str:
    a, b = best.result, other.result
    assert a is not None and b is not None
    return (f"#{other.rank} {other.combination.label} drains in {fmt.seconds(b.drain)} with "
            f"{fmt.total_cell(b.totals, 'requests')} requests, #{best.rank} in {fmt.seconds(a.drain)} with "
            f"{fmt.total_cell(a.totals, 'requests')}")


def refusal(sweep: SweepResult) -> str | None:
    """Why the best row must not be written (None: it may). Assumes a best row exists."""
    best = sweep.best
    if best is None:
        return None
    if best.not_connector:
        used = ", ".join(n.text for n in best.not_connector)
        fixes = " ".join(f"--set {n.key}={n.fact.connector}" for n in best.not_connector)
        return (f"no combination the connector can run ran to the end: #{best.rank} ran with {used}, which the "
                f"connector does not do ({'; '.join(n.fact.why for n in best.not_connector)}), so its advantage "
                f"may come from exactly that. Bench what the connector runs ({fixes}, or vary it)")
    trading = sweep.trading_with_best() if not sweep.objective.chooses_between_drain_and_requests else []
    if trading:
        return (f"#{best.rank} and {', '.join('#' + str(t.rank) for t in trading)} are on the Pareto front with "
                f"the same lost and duplicates, and trade drain for requests "
                f"({'; '.join(_trade(best, t) for t in trading)}); the default ranking's compromise is not a reason "
                "to write one. Say which matters with --objective: lost,duplicates,requests,drain (fewer requests "
                "first) or lost,duplicates,drain,requests (a quicker drain first)")
    return None


def chosen_keys(plan: SweepPlan, combination: Combination) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """(plugin_config changes, [[streams]] changes, notes) for the combination: varied keys and fixed --set ones."""
    pairs: list[tuple[str, Any]] = []
    for item in plan.fixed:
        path, value = parse_set(item)
        pairs.append((".".join(path), value))
    pairs += list(combination.values.items())
    sink: dict[str, Any] = {}
    streams: dict[str, Any] = {}
    notes: list[str] = []
    for key, value in pairs:
        section, _, name = key.partition(".")
        if section == "sink":
            if name.split(".", 1)[0] in ("url", "connector"):
                continue      # where the bench delivered, not a setting to keep
            sink[name] = value
        elif section == "runtime":
            if name in STREAM_KEYS:
                streams[name] = value
            else:
                notes.append(f"runtime.{name} = {show_value(value)} is not written: it is the runtime's setting, "
                             "not a key of the connector file")
    return sink, streams, notes


def check_config(path: str | Path) -> None:
    """Before a sweep runs: CONFIG must be a connector file we can write into. Raises InputError."""
    if not Path(path).is_file():
        raise InputError("no such file", Where(file=str(path)))
    plan_write_back(path, {})


def plan_best(config: str | Path, plan: SweepPlan, combination: Combination,
              env: Mapping[str, str] | None = None) -> BestWrite:
    """The write of `combination`'s chosen keys into `config`, planned (nothing written)."""
    sink, streams, notes = chosen_keys(plan, combination)
    base = plan_write_back(config, sink)
    new_text = base.new_text
    if streams:
        doc = tomlkit.parse(new_text)
        if set_stream_keys(doc, streams):
            new_text = tomlkit.dumps(doc)
        else:
            shown = ", ".join(f"{k} = {show_value(v)}" for k, v in streams.items())
            notes.append(f"{shown} not written: {config} has no [[streams]] entry")
            streams = {}
    _check_loads(config, base.old_text, new_text, env)
    result = BestWrite(WriteBack(Path(config), base.old_text, new_text), sink, streams, notes)
    scenario = plan.scenarios[combination.index - 1] if len(plan.scenarios) == plan.size else None
    if scenario is not None:
        result.notes.extend(unwritten_differences(scenario, config, set(sink) | set(streams), env))
    return result


def _check_loads(config: str | Path, old_text: str, new_text: str, env: Mapping[str, str] | None) -> None:
    """Refuse a write that would turn a connector file that loads into one that does not."""
    from sinkbench.config.connector import connector_from_source
    from sinkbench.errors import InputErrors
    from sinkbench.tomlsrc import parse_toml

    env = os.environ if env is None else env
    try:
        connector_from_source(parse_toml(old_text, str(config)), env)
    except InputError:
        return          # it did not load before; the write does not make it worse
    try:
        connector_from_source(parse_toml(new_text, str(config)), env)
    except InputError as exc:
        problems = exc.errors if isinstance(exc, InputErrors) else [exc]
        raise InputError("the tuned file would not load, so it is not written: "
                         + "; ".join(str(p) for p in problems), Where(file=str(config))) from exc


def plain_value(value: Any) -> Any:
    """A resolved setting as a TOML value: durations as text ("250ms"), sets as sorted lists, enums as text."""
    if isinstance(value, float):
        return format_duration(value)
    if isinstance(value, frozenset):
        return sorted(value)
    return getattr(value, "value", value)


def unwritten_differences(scenario: Scenario, config: str | Path, written: set[str],
                          env: Mapping[str, str] | None = None) -> list[str]:
    """Settings the winning run used, not written, that `config` sets otherwise (as notes)."""
    from sinkbench.config.connector import load_connector

    try:
        connector = load_connector(config, os.environ if env is None else env)
    except InputError:
        return []       # a file that does not load cannot be compared; the write itself may still be wanted
    ran, has = scenario.sink.settings, connector.sink.settings
    keys = [*IGGY_KEYS, "profile", *(ENHANCED_KEYS if ran.enhanced else ())]
    notes = []
    for f in dataclasses.fields(ran):
        name = f.name
        if name not in keys or name in ("url", "headers") or name in written:
            continue
        a, b = plain_value(getattr(ran, name)), plain_value(getattr(has, name))
        if a != b:
            notes.append(f"the sweep ran with {name} = {show_value(a)} (from the scenario); {config} has "
                         f"{show_value(b)} — not written, as it was not varied")
    first = connector.streams[0] if connector.streams else None
    if first is not None and not connector.bare:
        for name, a, b in (("batch_length", scenario.runtime.batch_length, first.batch_length),
                           ("poll_interval", scenario.runtime.poll_interval, first.poll_interval)):
            if name not in written and a != b:
                notes.append(f"the sweep ran with {name} = {show_value(plain_value(a))} (from the scenario); {config}'s "
                             f"[[streams]] has {show_value(plain_value(b))} — not written, as it was not varied")
    return notes
