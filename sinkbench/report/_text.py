"""Formatting shared by the human-readable reports (console, Markdown, JUnit text).

Everything here formats what a `RunResult` holds and nothing else: no report
looks anything up (environment, settings files) that the run did not put there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sinkbench.metrics.expect import format_ms, format_seconds
from sinkbench.run.result import RunResult, RunStatus

UNKNOWN = "unknown"
NO_VALUE = "–"

# Counts in the order the reports show them. Units (docs/reports.md):
# MESSAGE_COUNTS count messages, each once; HTTP_COUNTS count requests (retries included) and bytes.
MESSAGE_COUNTS = ("total", "delivered", "failed", "skipped", "undelivered", "lost", "duplicates")
HTTP_COUNTS = ("requests", "retries", "bytes")

# The labels that say each breakdown's unit, the same in the console and the Markdown summary.
STATUS_LABEL = "requests by status"
FAILED_ATTEMPTS_LABEL = "failed message-attempts"
SKIPPED_LABEL = "skipped messages"
LATENCY_KINDS = ("request", "delivery")
LATENCY_COLUMNS = ("p50", "p90", "p95", "p99", "max")

_STATUS_TEXT = {
    RunStatus.COMPLETED: "completed",
    RunStatus.TIMEOUT: "timed out",
    RunStatus.INTERRUPTED: "interrupted",
    RunStatus.SINK_NOT_OPENED: "sink not opened",
    RunStatus.INVALID_INPUT: "stopped at invalid input",
}

# C0 and C1 controls, DEL, and the bidirectional overrides: text from the run
# (an error reason quoting a server's answer, a description) must not move the
# cursor, recolour the terminal or reorder what a reader sees.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SPACE = re.compile(r"\s+")


def clean(text: Any) -> str:
    """`text` as a string with control characters shown as `\\xNN` (tabs and newlines kept)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", str(text))


def one_line(text: Any) -> str:
    """`clean(text)` on one line: every run of whitespace (newlines, CR, tabs) made one space."""
    return clean(_SPACE.sub(" ", str(text)).strip())


def count(value: int | float | None) -> str:
    """A count with thousands separators ("5,000"); None is "unknown"."""
    if value is None:
        return UNKNOWN
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def byte_size(value: int | None) -> str:
    """Bytes for people: "512 B", "1.18 MiB"; None is "unknown"."""
    if value is None:
        return UNKNOWN
    size = float(value)
    if abs(size) < 1024:
        return f"{int(size)} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024.0
        if abs(size) < 1023.5 or unit == "TiB":
            decimals = 2 if abs(size) < 10 else 1 if abs(size) < 100 else 0
            return f"{size:.{decimals}f} {unit}"
    raise AssertionError("unreachable")


def total_cell(totals: Mapping[str, Any], name: str) -> str:
    """One entry of `RunResult.totals` for a table; missing or None is "unknown"."""
    value = totals.get(name)
    return byte_size(value) if name == "bytes" else count(value)


NOT_APPLICABLE = "n/a"
# What an external sink keeps to itself (docs/external.md): shown as "n/a", never as a count.
EXTERNAL_NOT_REPORTED = frozenset({"failed", "skipped", "undelivered"})
# What the report keeps of an external sink's output for people (the JSON report has all the run kept).
OUTPUT_LINES = 40


def is_external(result: RunResult) -> bool:
    return result.external is not None


def result_total(result: RunResult, name: str) -> str:
    """`total_cell` for a run: "n/a" for what an external sink does not tell."""
    if is_external(result) and name in EXTERNAL_NOT_REPORTED:
        return NOT_APPLICABLE
    return total_cell(result.totals, name)


def latency_kinds(result: RunResult) -> tuple[str, ...]:
    """The latencies a run measured: an external sink's request latency is inside the sink."""
    return ("delivery",) if is_external(result) else LATENCY_KINDS


def external_facts(result: RunResult) -> list[tuple[str, str]]:
    """(label, text) about an external sink's run: its command, how it ended, where it delivered."""
    ext = result.external or {}
    facts = [("command", one_line(ext.get("command") or "(none: the sink runs on its own)"))]
    env = ext.get("env") or {}
    if env:
        facts.append(("environment", one_line(" ".join(f"{k}={v}" for k, v in env.items()))))
    code = ext.get("exit_code")
    if ext.get("command"):
        if code is None:
            ended = "still running when the report was written"
        elif ext.get("stopped_by_bench"):
            ended = f"stopped by sinkbench at the end of the run ({_exit(code)})"
        else:
            ended = f"exited by itself ({_exit(code)})"
        facts.append(("ended", ended))
    facts.append(("delivered to", one_line(ext.get("endpoint_url") or "")))
    return facts


def _exit(code: int) -> str:
    """An exit code for people: a negative one is the signal that ended the process."""
    if code >= 0:
        return f"exit code {code}"
    import signal
    try:
        return f"ended by {signal.Signals(-code).name}"
    except ValueError:
        return f"ended by signal {-code}"


def output_tail(result: RunResult, lines: int = OUTPUT_LINES) -> tuple[list[str], int]:
    """The last `lines` lines of an external sink's output (cleaned) and how many lines it had."""
    text = (result.external or {}).get("output") or ""
    all_lines = [clean(line) for line in text.splitlines()]
    return all_lines[-lines:], len(all_lines)


def latency_cell(value: float | int | None) -> str:
    """A latency in ms as "812ms"/"2.41s"; no value is "–"."""
    return NO_VALUE if value is None else format_ms(float(value))


def seconds(value: float | None) -> str:
    return NO_VALUE if value is None else format_seconds(value)


def status_text(result: RunResult) -> str:
    """How the run ended, for people: "completed", "timed out", ..."""
    try:
        return _STATUS_TEXT[RunStatus(result.status)]
    except ValueError:
        return one_line(result.status)


def is_completed(result: RunResult) -> bool:
    return str(result.status) == RunStatus.COMPLETED


def failed_expectations(result: RunResult) -> int:
    return sum(1 for e in result.expectations if not e.passed)


def verdict_reason(result: RunResult) -> str:
    """Why the run passed or failed, in a few words: "1 of 5 expectations failed, timed out"."""
    n = len(result.expectations)
    failed = failed_expectations(result)
    if n == 0:
        parts = ["no expectations"]
    elif failed:
        parts = [f"{failed} of {n} expectation{'s' if n != 1 else ''} failed"]
    else:
        parts = ["the expectation held" if n == 1 else f"all {n} expectations held"]
    if not is_completed(result):
        status = status_text(result)
        parts.append(status if str(result.status) == RunStatus.SINK_NOT_OPENED else f"run {status}")
    return ", ".join(parts)


def unknown_counts_note(result: RunResult) -> str | None:
    """Why lost/duplicates are unknown, when they are."""
    unknown = [name for name in ("lost", "duplicates") if result.totals.get(name) is None]
    if not unknown:
        return None
    why = ("the sink delivers to a real URL, whose receipts the bench cannot see"
           if result.endpoint is None else "the endpoint did not report them")
    return f"{' and '.join(unknown)} unknown: {why}"


def ms_column(latency: Mapping[str, Any], name: str) -> str:
    """A latency block's cell: count as a count, the rest as latencies."""
    value = latency.get(name)
    return count(value) if name == "count" else latency_cell(value)


def sorted_status_codes(codes: Mapping[str, int]) -> list[tuple[str, int]]:
    """Status codes in numeric order (non-numeric labels such as "reset" last)."""
    return sorted(codes.items(), key=lambda kv: (not str(kv[0]).isdigit(), str(kv[0]).zfill(3)))


def sorted_errors(errors: Mapping[str, int]) -> list[tuple[str, int]]:
    """Error reasons, most frequent first."""
    return sorted(errors.items(), key=lambda kv: (-kv[1], str(kv[0])))


def skipped_rows(result: RunResult) -> list[tuple[str, int, int]]:
    """(category, skipped messages, skipped message-attempts), most messages first.

    A message counts once; its attempts count each time a poll handed it to the sink again
    (after_consuming polls a batch holding a skip again and again).
    """
    categories = set(result.skipped) | set(result.skipped_attempts)
    rows = [(c, result.skipped.get(c, 0), result.skipped_attempts.get(c, 0)) for c in categories]
    return sorted(rows, key=lambda row: (-row[1], -row[2], str(row[0])))
