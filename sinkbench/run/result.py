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
    INVALID_INPUT = "invalid_input"       # the source stopped at input it could not read: never a pass, exit 2


@dataclass(frozen=True)
class ExpectationResult:
    metric: str
    expression: str
    observed: float | None
    observed_text: str      # human form: "812ms", "0", "unknown"
    passed: bool
    detail: str             # "p(95) = 812ms (expected < 2s)"


# The timeline's per-pass counters, named with their unit in the JSON report.
_TIMELINE_KEYS = {"delivered": "delivered_message_attempts", "errors": "failed_or_skipped_message_attempts"}


@dataclass(frozen=True)
class RunResult:
    scenario: str
    description: str
    file: str | None
    status: RunStatus
    passed: bool
    started_at: str                     # ISO 8601, UTC
    duration: float                     # seconds
    drain: float | None                 # seconds from the end of the last fault or live break until the
                                        # consumer lag is back to its level before it (run/drain.py);
                                        # None: no fault ended, or the lag never came back (a note says which)
    settings: dict[str, Any]            # effective settings, secrets redacted: sink, runtime, source, endpoint
    # Units (docs/reports.md): a message counts once; a message-attempt is a message handed to the
    # sink once (its HTTP retries inside that call included; a re-poll is a new attempt); a request
    # is one HTTP request, retries included.
    totals: dict[str, int | None]       # messages: total, delivered, failed, skipped, undelivered, lost,
                                        # duplicates; requests: requests, retries; bytes; message_attempts
                                        # (None = unknown)
    latency: dict[str, dict[str, float | int | None]]   # request, delivery: count, min, p50, p90, p95, p99, max, avg (ms)
    status_codes: dict[str, int]        # "200" → requests answered with that status
    errors: dict[str, int]              # reason → failed message-attempts
    timeline: list[dict[str, Any]]      # t, delivered (message-attempts), requests, retries (requests),
                                        # errors (failed or skipped message-attempts), in_flight (messages)[, marks]
    expectations: list[ExpectationResult]
    endpoint: dict[str, Any] | None     # the mock endpoint's stats, None with a real URL
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # e.g. "health check failed: …", "timeout after 30s"
    skipped: dict[str, int] = field(default_factory=dict)            # category → skipped messages, each once
    skipped_attempts: dict[str, int] = field(default_factory=dict)   # category → skipped message-attempts
    # For the HTML report's pictures, not in the JSON report: per second, request and delivery latency
    # (count, p50, p90, p99, max in ms) and requests by status (metrics/series.py); and each latency
    # distribution as (low ms, high ms, count) per non-empty histogram bucket.
    series: list[dict[str, Any]] = field(default_factory=list)
    distributions: dict[str, list[tuple[float, float, int]]] = field(default_factory=dict)
    # An external sink (docs/external.md): its command line and environment as run (secrets redacted), how it
    # ended (exit_code, stopped_by_bench) and its output as kept (secrets redacted); None for the engine.
    external: dict[str, Any] | None = None

    @property
    def exit_code(self) -> int:
        if self.status == RunStatus.INVALID_INPUT:
            return 2
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
            "requests_by_status": self.status_codes,
            "failed_message_attempts_by_reason": self.errors,
            "skipped_messages_by_reason": self.skipped,
            "skipped_message_attempts_by_reason": self.skipped_attempts,
            "timeline": [{_TIMELINE_KEYS.get(k, k): v for k, v in row.items()} for row in self.timeline],
            "expectations": [
                {"metric": e.metric, "expression": e.expression, "observed": e.observed,
                 "observed_text": e.observed_text, "passed": e.passed, "detail": e.detail}
                for e in self.expectations
            ],
            "endpoint": self.endpoint,
            "warnings": self.warnings,
            "notes": self.notes,
            **({"external": self.external} if self.external is not None else {}),
        }
