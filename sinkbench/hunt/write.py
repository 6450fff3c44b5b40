"""The found scenario: the original file, edited with tomlkit, with the plan and the broken expectation.

Everything the user wrote stays — comments, key order, the stream, runtime
and sink settings — except what the hunt decides: the endpoint's
`[[endpoint.faults]]`, `rate_limit` and `max_body_bytes` (the plan), the
`[expect]` table (what the plan breaks), the `[scenario]` name and
description (the plan in words), and a header of comments saying how it was
found. `--set` overrides are written into their tables, so the file runs the
setting that was hunted without them. When the file goes to another folder,
the relative paths in it (a recorded stream, a connector file) are rewritten
to point at the same files.

`load` reads a rendered text back as a scenario, located where the file will
be: the hunt confirms the plan by running exactly what it is about to write.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit

from sinkbench.endpoint.settings import EndpointSettings, settings_to_dict
from sinkbench.hunt.plan import Plan
from sinkbench.metrics.expect import Expectation
from sinkbench.scenario.load import parse_set, scenario_from_text
from sinkbench.scenario.model import Scenario
from sinkbench.tomlsrc import load_toml

_PATH_KEYS = (("source", "path"), ("sink", "connector"))


def default_out(scenario_path: str | Path) -> Path:
    """`<scenario>.found.toml` beside the scenario."""
    p = Path(scenario_path)
    return p.with_name(f"{p.stem}.found.toml")


@dataclass(frozen=True)
class FoundFile:
    """Where a found scenario comes from (the file and its --set overrides) and where it goes."""

    source: Path
    out: Path
    overrides: tuple[str, ...] = ()

    def render(self, plan: Plan, expectations: Sequence[Expectation], *, name: str,
               description: str | None = None, header: Sequence[str] = ()) -> str:
        src = load_toml(self.source)
        doc = src.document
        for item in self.overrides:
            path, value = parse_set(item)
            _set(doc, path, value)
        self._rebase(doc)
        meta = _table(doc, "scenario")
        meta["name"] = name
        if description is not None:
            meta["description"] = description
        if "seed" not in meta:
            meta["seed"] = 0      # the default, written out: the seed is what makes the file reproduce
        _write_plan(_table(doc, "endpoint"), plan)
        if "expect" in doc:
            del doc["expect"]
        doc["expect"] = _expect_table(expectations)
        text = tomlkit.dumps(doc)
        lines = "".join(f"# {line}\n" if line else "#\n" for line in header)
        return lines + ("\n" if lines and not text.startswith("\n") else "") + text

    def load(self, text: str, env: Any = None) -> Scenario:
        return scenario_from_text(text, name=str(self.out), env=env)

    def _rebase(self, doc: tomlkit.TOMLDocument) -> None:
        here, there = self.source.resolve().parent, self.out.resolve().parent
        if here == there:
            return
        for section, key in _PATH_KEYS:
            table = doc.get(section)
            value = table.get(key) if isinstance(table, dict) else None
            if isinstance(value, str) and value and not os.path.isabs(value):
                table[key] = os.path.relpath(here / value, there)


def write_found(path: Path, text: str) -> None:
    """Write the found scenario whole or not at all (a file cut short by a crash would not load)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _table(doc: Any, name: str) -> Any:
    if name not in doc or not isinstance(doc[name], dict):
        doc[name] = tomlkit.table()
    return doc[name]


def _set(doc: Any, path: Sequence[str], value: Any) -> None:
    table = doc
    for part in path[:-1]:
        table = _table(table, part)
    table[path[-1]] = value


def _write_plan(endpoint: Any, plan: Plan) -> None:
    for key in ("max_body_bytes", "rate_limit", "faults"):
        if key in endpoint:
            del endpoint[key]
    doc = settings_to_dict(EndpointSettings(faults=plan.faults, rate_limit=plan.rate_limit,
                                            max_body_bytes=plan.max_body_bytes))
    if plan.max_body_bytes:
        endpoint["max_body_bytes"] = plan.max_body_bytes
    if plan.rate_limit is not None:
        limit = tomlkit.table()
        limit.update(doc["rate_limit"])
        endpoint["rate_limit"] = limit
    if doc["faults"]:
        rules = tomlkit.aot()
        for rule in doc["faults"]:
            t = tomlkit.table()
            t.update(rule)
            rules.append(t)
        endpoint["faults"] = rules


def _expect_table(expectations: Sequence[Expectation]) -> Any:
    by_metric: dict[str, list[str]] = {}
    for e in expectations:
        by_metric.setdefault(e.metric, []).append(e.expression)
    table = tomlkit.table()
    for metric, expressions in by_metric.items():
        table[metric] = expressions[0] if len(expressions) == 1 else expressions
    return table
