"""What a finished bench run produced: the single source for every report format.

`RunResult.to_json()` gives the JSON report of docs/reports.md (plus a few extra
keys a CI job finds useful); the JUnit, Markdown and console reports read the
same object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    COMPLETED = "completed"        # the source was exhausted and every message has an outcome
    TIMEOUT = "timeout"            # the scenario's timeout stopped it; pending messages count as undelivered
    INTERRUPTED = "interrupted"    # Ctrl-C / SIGTERM
    SINK_NOT_OPENED = "sink_not_opened"   # open() failed (health check): nothing was delivered


@dataclass(frozen=True)
class ExpectationResult:
    metric: str
    expression: str
    observed: float | None
    observed_text: str      # human form: "812ms", "0", "unknown"
    passed: bool
    detail: str             # "p(95) = 812ms (expected < 2s)"


@dataclass(frozen=True)
class RunResult:
    scenario: str
    description: str
    file: str | None
    status: RunStatus
    passed: bool
    started_at: str                     # ISO 8601, UTC
    duration: float                     # seconds
    drain: float | None                 # seconds from the last fault's end to the last delivery
    settings: dict[str, Any]            # effective settings, secrets redacted: sink, runtime, source, endpoint
    totals: dict[str, int | None]       # total, delivered, failed, skipped, undelivered, lost, duplicates,
                                        # requests, retries, bytes, handed (None = unknown)
    latency: dict[str, dict[str, float | int | None]]   # request, delivery: count, min, p50, p90, p95, p99, max, avg (ms)
    status_codes: dict[str, int]        # "200" → answers with that status
    errors: dict[str, int]              # reason → messages (failed or skipped)
    timeline: list[dict[str, Any]]      # t, delivered, requests, retries, errors, in_flight[, marks]
    expectations: list[ExpectationResult]
    endpoint: dict[str, Any] | None     # the mock endpoint's stats, None with a real URL
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # e.g. "health check failed: …", "timeout after 30s"

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "description": self.description,
            "file": self.file,
            "status": str(self.status),
            "passed": self.passed,
            "started_at": self.started_at,
            "duration_s": round(self.duration, 3),
            "drain_s": None if self.drain is None else round(self.drain, 3),
            "settings": self.settings,
            "totals": self.totals,
            "latency": self.latency,
            "status_codes": self.status_codes,
            "errors": self.errors,
            "timeline": self.timeline,
            "expectations": [
                {"metric": e.metric, "expression": e.expression, "observed": e.observed,
                 "observed_text": e.observed_text, "passed": e.passed, "detail": e.detail}
                for e in self.expectations
            ],
            "endpoint": self.endpoint,
            "warnings": self.warnings,
            "notes": self.notes,
        }
