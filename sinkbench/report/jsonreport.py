"""The `--report F.json` file (docs/reports.md).

One run: the object of `RunResult.to_json()`. Several (or none):
`{"passed": <all passed>, "runs": [<one object per run>]}`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import orjson

from sinkbench.report._files import atomic_write
from sinkbench.run.result import RunResult

_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS


def as_list(results: RunResult | Iterable[RunResult]) -> list[RunResult]:
    """`results` as a list; a lone RunResult is accepted as a list of one."""
    return [results] if isinstance(results, RunResult) else list(results)


def json_report(results: RunResult | Iterable[RunResult]) -> dict[str, Any]:
    """The report as a JSON-ready object."""
    runs = as_list(results)
    if len(runs) == 1:
        return runs[0].to_json()
    return {"passed": all(r.passed for r in runs), "runs": [r.to_json() for r in runs]}


def json_bytes(results: RunResult | Iterable[RunResult]) -> bytes:
    """The report as indented UTF-8 JSON with a final newline. NaN and infinities become null."""
    return orjson.dumps(json_report(results), default=_default, option=_OPTIONS)


def write_json(results: RunResult | Iterable[RunResult], path: str | os.PathLike[str]) -> None:
    """Write the report to `path` atomically (a temporary file renamed over it)."""
    atomic_write(path, json_bytes(results))


def _default(obj: Any) -> Any:
    """Values orjson does not know that may turn up in settings or endpoint stats."""
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=str)
    raise TypeError(f"cannot write {type(obj).__name__} to the JSON report")
