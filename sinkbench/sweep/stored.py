"""A run's result as its JSON report holds it, and back: what makes a merge rank what a single sweep ranked.

A sweep ranks each result *as reported* (`as_reported`: through the JSON and
back, so drain and duration are the report's milliseconds), and `sweep merge`
reads the shards' reports with `result_from_json`. Both therefore rank the
very same figures, and the merged table, ranking, chart and JSON are the ones
one machine would have produced.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import orjson

from sinkbench.run.result import ExpectationResult, RunResult, RunStatus

JSON_OPTIONS = orjson.OPT_NON_STR_KEYS


def json_default(obj: Any) -> Any:
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=str)
    raise TypeError(f"cannot write {type(obj).__name__} to the sweep report")


# RunResult.to_json's names where they are not the field's: field → JSON key (newest first). Reports
# written before a rename still read. A round-trip test (tests/sweep/test_merge.py) keeps this in step.
_RENAMED = {
    "status_codes": ("requests_by_status", "status_codes"),
    "errors": ("failed_message_attempts_by_reason", "errors"),
    "skipped": ("skipped_messages_by_reason",),
    "skipped_attempts": ("skipped_message_attempts_by_reason",),
}
_TIMELINE = {"delivered_message_attempts": "delivered", "failed_or_skipped_message_attempts": "errors"}


def _renamed(data: dict[str, Any], field: str) -> Any:
    for key in _RENAMED[field]:
        if key in data:
            return data[key]
    raise KeyError(_RENAMED[field][0])


def result_from_json(data: dict[str, Any]) -> RunResult:
    """The RunResult whose `to_json()` is `data`. Raises KeyError, TypeError or ValueError on a malformed one."""
    if not isinstance(data, dict):
        raise TypeError("a run's result is not a JSON object")
    expectations = [ExpectationResult(e["metric"], e["expression"], e["observed"], e["observed_text"],
                                      bool(e["passed"]), e["detail"]) for e in data["expectations"]]
    fields: dict[str, Any] = {
        "scenario": data["scenario"], "description": data["description"], "file": data["file"],
        "status": RunStatus(data["status"]), "passed": bool(data["passed"]), "started_at": data["started_at"],
        "duration": float(data["duration_s"]), "drain": None if data["drain_s"] is None else float(data["drain_s"]),
        "settings": data["settings"], "totals": data["totals"], "latency": data["latency"],
        "status_codes": _renamed(data, "status_codes"), "errors": _renamed(data, "errors"),
        "timeline": [{_TIMELINE.get(k, k): v for k, v in row.items()} for row in data["timeline"]],
        "expectations": expectations, "endpoint": data["endpoint"],
        "warnings": list(data.get("warnings") or []), "notes": list(data.get("notes") or []),
    }
    known = {f.name for f in dataclasses.fields(RunResult)}
    for name in ("skipped", "skipped_attempts"):
        if name in known:
            fields[name] = _renamed(data, name)
    return RunResult(**fields)


def as_reported(result: RunResult) -> RunResult:
    """`result` as its JSON report reads back (times to the millisecond, paths as text)."""
    return result_from_json(orjson.loads(orjson.dumps(result.to_json(), default=json_default,
                                                      option=JSON_OPTIONS)))
