"""What `sinkbench run` shows in the terminal: the live progress line (stderr)
and the end-of-run summary (stdout).

Plain text; colour only through ANSI codes and only when the caller asks for
it (`color=sys.stdout.isatty() and "NO_COLOR" not in os.environ`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TextIO

from sinkbench.report import _text as fmt
from sinkbench.report.jsonreport import as_list
from sinkbench.report.sparkline import timeline_picture
from sinkbench.run.result import ExpectationResult, RunResult

PASS_MARK = "✓"
FAIL_MARK = "✗"
MAX_ERROR_LINES = 10

# The totals block: messages on the left, requests and time on the right, each under its unit.
_LEFT = ("messages", [(name, name) for name in fmt.MESSAGE_COUNTS])
_RIGHT = ("requests", [("sent", "requests"), ("retries", "retries"), ("bytes", "bytes")])


class _Paint:
    """ANSI SGR codes, or nothing when colour is off."""

    def __init__(self, on: bool) -> None:
        self.on = on

    def _sgr(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.on and text else text

    def bold(self, text: str) -> str:
        return self._sgr("1", text)

    def dim(self, text: str) -> str:
        return self._sgr("2", text)

    def red(self, text: str) -> str:
        return self._sgr("31", text)

    def green(self, text: str) -> str:
        return self._sgr("32", text)

    def yellow(self, text: str) -> str:
        return self._sgr("33", text)


# -- the end-of-run summary ------------------------------------------------------------

def summary_text(result: RunResult, *, color: bool) -> str:
    """The end-of-run summary of one run, ending with a verdict line and a newline."""
    p = _Paint(color)
    lines: list[str] = []
    lines.append(_scenario_line(result, p))
    if result.description:
        lines.append("  " + fmt.one_line(result.description))
    lines.append("")
    lines.extend(_totals_lines(result))
    note = fmt.unknown_counts_note(result)
    if note:
        lines.append("  " + p.dim(f"({note})"))
    if fmt.is_external(result):
        lines.extend(_external_lines(result, p))
    lines.append("")
    lines.extend(_latency_lines(result))
    lines.append("")
    lines.extend(_codes_and_errors_lines(result))
    picture = timeline_picture(result.timeline)
    if picture:
        lines.append("")
        lines.extend("  " + line for line in picture)
    lines.append("")
    lines.extend(_expectation_lines(result, p))
    for warning in result.warnings:
        lines.append("  " + p.yellow("warning: ") + fmt.one_line(warning))
    for note_text in result.notes:
        lines.append("  " + p.dim("note: ") + fmt.one_line(note_text))
    if result.warnings or result.notes:
        lines.append("")
    lines.append(_verdict_line(result, p))
    return "\n".join(lines) + "\n"


def overview_text(results: RunResult | Iterable[RunResult], *, color: bool) -> str:
    """After several runs: one line per scenario and the overall verdict."""
    p = _Paint(color)
    runs = as_list(results)
    lines = []
    width = max((len(fmt.one_line(r.scenario)) for r in runs), default=0)
    for r in runs:
        mark = p.green(PASS_MARK) if r.passed else p.red(FAIL_MARK)
        lines.append(f"{mark} {fmt.one_line(r.scenario):<{width}}  {fmt.verdict_reason(r)}")
    passed = sum(1 for r in runs if r.passed)
    word = p.green(p.bold("PASSED")) if passed == len(runs) else p.red(p.bold("FAILED"))
    lines.append(f"{word}  {passed} of {len(runs)} scenario{'s' if len(runs) != 1 else ''} passed")
    return "\n".join(lines) + "\n"


def _scenario_line(result: RunResult, p: _Paint) -> str:
    status = fmt.status_text(result)
    if not fmt.is_completed(result):
        status = p.yellow(status)
    where = f"  ({fmt.one_line(result.file)})" if result.file else ""
    return f"{p.bold(fmt.one_line(result.scenario))} — {status} after {fmt.seconds(result.duration)}{where}"


def _totals_lines(result: RunResult) -> list[str]:
    """Message counts on the left, request counts and timings on the right, each block headed by its unit.

    A heading is a row whose value is None; an empty row is a gap.
    """
    left: list[tuple[str, str | None]] = [(_LEFT[0], None)]
    left += [(label, fmt.result_total(result, key)) for label, key in _LEFT[1]]
    right: list[tuple[str, str | None]] = [(_RIGHT[0], None)]
    right += [(label, fmt.total_cell(result.totals, key)) for label, key in _RIGHT[1]]
    right += [("", ""), ("time", None), ("duration", fmt.seconds(result.duration)),
              ("drain", fmt.seconds(result.drain))]
    lw = max(len(k) for k, v in left if v is not None)
    lv = max(len(v) for _, v in left if v is not None)
    rw = max(len(k) for k, v in right if v is not None)
    lines = []
    for i in range(max(len(left), len(right))):
        text = " " * (lw + 2 + lv)
        if i < len(left):
            label, value = left[i]
            text = label.ljust(lw + 2 + lv) if value is None else f"{label:<{lw}}  {value:>{lv}}"
        if i < len(right):
            label, value = right[i]
            text += "    " + (label if value is None else f"{label:<{rw}}  {value}")
        lines.append("  " + text.rstrip())
    return lines


def _external_lines(result: RunResult, p: _Paint) -> list[str]:
    """The sink under test: its command, how it ended; its last lines of output when it ended on its own
    with an error or never became ready."""
    lines = ["  " + p.dim("(failed, skipped and undelivered are n/a: an external sink keeps them to itself; "
                          "lost counts what never reached the endpoint)"), "", "  sink under test"]
    facts = fmt.external_facts(result)
    width = max(len(label) for label, _ in facts)
    lines += [f"  {label:<{width}}  {text}" for label, text in facts]
    ext = result.external or {}
    crashed = ext.get("exit_code") not in (None, 0) and not ext.get("stopped_by_bench")
    if crashed or str(result.status) == "sink_not_opened":
        tail, total = fmt.output_tail(result, 10)
        if tail:
            lines.append(f"  its last {len(tail)} of {total} line(s) of output:")
            lines += ["    " + p.dim(line) for line in tail]
    return lines


def _latency_lines(result: RunResult) -> list[str]:
    columns = ("count", *fmt.LATENCY_COLUMNS)
    rows = [["latency", *columns]]
    for kind in fmt.latency_kinds(result):
        block = result.latency.get(kind) or {}
        rows.append([kind, *(fmt.ms_column(block, c) for c in columns)])
    return ["  " + line for line in _table(rows)]


def _codes_and_errors_lines(result: RunResult) -> list[str]:
    """Requests by status, failed message-attempts by reason, skipped messages by reason: each labelled
    with its unit, since a request may carry many messages and a message may be attempted many times."""
    codes = fmt.sorted_status_codes(result.status_codes)
    codes_text = ", ".join(f"{fmt.one_line(c)} × {fmt.count(n)}" for c, n in codes) or "none"
    skipped = fmt.skipped_rows(result)
    width = len(fmt.FAILED_ATTEMPTS_LABEL)
    lines = [f"  {fmt.STATUS_LABEL:<{width}}  {codes_text}"]
    errors = fmt.sorted_errors(result.errors)
    counts = [fmt.count(n) for _, n in errors[:MAX_ERROR_LINES]] + [fmt.count(n) for _, n, _ in skipped]
    nw = max((len(c) for c in counts), default=0)
    if not errors and not fmt.is_external(result):   # an external sink's failures are its own
        lines.append(f"  {fmt.FAILED_ATTEMPTS_LABEL:<{width}}  none")
    shown = errors[:MAX_ERROR_LINES]
    for i, (reason, n) in enumerate(shown):
        label = fmt.FAILED_ATTEMPTS_LABEL if i == 0 else ""
        lines.append(f"  {label:<{width}}  {fmt.count(n):>{nw}}  {fmt.one_line(reason)}")
    if len(errors) > len(shown):
        rest = sum(n for _, n in errors[len(shown):])
        lines.append(f"  {'':<{width}}  {fmt.count(rest):>{nw}}  … {len(errors) - len(shown)} more reasons "
                     "(see the JSON report)")
    for i, (category, n, attempts) in enumerate(skipped):
        label = fmt.SKIPPED_LABEL if i == 0 else ""
        tail = f" (skipped on {fmt.count(attempts)} message-attempts)" if attempts != n else ""
        lines.append(f"  {label:<{width}}  {fmt.count(n):>{nw}}  {fmt.one_line(category)}{tail}")
    return lines


def expectation_line(e: ExpectationResult, *, color: bool = False) -> str:
    """`✓ lost == 0 (observed 0)` for one ExpectationResult."""
    p = _Paint(color)
    mark = p.green(PASS_MARK) if e.passed else p.red(FAIL_MARK)
    return f"{mark} {fmt.one_line(e.metric)} {fmt.one_line(e.expression)} (observed {fmt.one_line(e.observed_text)})"


def _expectation_lines(result: RunResult, p: _Paint) -> list[str]:
    if not result.expectations:
        return ["  no expectations", ""]
    lines = ["  expectations"]
    for e in result.expectations:
        lines.append("  " + expectation_line(e, color=p.on))
        if not e.passed and e.detail:
            lines.append("      " + p.dim(fmt.one_line(e.detail)))
    lines.append("")
    return lines


def _verdict_line(result: RunResult, p: _Paint) -> str:
    word = p.green(p.bold("PASSED")) if result.passed else p.red(p.bold("FAILED"))
    return f"{word}  {fmt.one_line(result.scenario)}: {fmt.verdict_reason(result)}"


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as aligned columns: the first left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        out.append("  ".join(cells).rstrip())
    return out


# -- the live progress line ------------------------------------------------------------

_EIGHTHS = " ▏▎▍▌▋▊▉"
_BAR_WIDTH = 20
TTY_MIN_INTERVAL_S = 0.1     # at most 10 redraws a second


def progress_text(snapshot: Mapping[str, Any], *, bar: bool = False, width: int | None = None) -> str:
    """The terminal's progress line from a snapshot (missing keys are left out).

    Snapshot keys: elapsed (s), delivered, total, lost, duplicates, in_flight (messages), rate
    (delivered per second), requests, retries (requests), errors (failed or skipped message-attempts).
    Within `width` columns: the bar goes first, then whole figures from the end; only the time and
    the delivered count stay whatever the width, cut if they must be.
    """
    parts = _progress_parts(snapshot, bar)
    if width is None:
        return "  ".join(parts)
    if bar and len("  ".join(parts)) > width:
        parts = _progress_parts(snapshot, False)
    while len(parts) > 2 and len("  ".join(parts)) > width:     # the time and the delivered count stay
        parts.pop()
    return "  ".join(parts)[:max(width, 1)]


def _progress_parts(snapshot: Mapping[str, Any], bar: bool) -> list[str]:
    """The progress line's figures, most telling first: what arrived, what went wrong, then the traffic."""
    elapsed = snapshot.get("elapsed")
    delivered = snapshot.get("delivered")
    total = snapshot.get("total")
    parts = [_clock(elapsed) if elapsed is not None else ""]
    if delivered is not None:
        text = f"delivered {fmt.count(delivered)}"
        if total is not None:
            text += f"/{fmt.count(total)}"
            if total > 0:
                share = _share(delivered, total)
                text += f" {share:4.0%}" if not bar else f" {share:4.0%} {_bar(share)}"
        parts.append(text)
    rate = snapshot.get("rate")
    if rate is not None:
        parts.append(f"{fmt.count(round(rate))}/s")
    for key in ("lost", "duplicates"):
        value = snapshot.get(key)
        if value is not None:
            parts.append(f"{key} {fmt.count(value)}")
    errors = snapshot.get("errors")
    if errors is not None:
        parts.append(f"failed/skipped {_units(errors, 'message-attempt')}")
    for key, label in (("requests", "requests"), ("retries", "retries"), ("in_flight", "in flight")):
        value = snapshot.get(key)
        if value is not None:
            parts.append(f"{label} {fmt.count(value)}")
    return [p for p in parts if p]


def progress_statement(snapshot: Mapping[str, Any], *, final: bool = False) -> str:
    """A progress line that reads as a sentence on its own, for a log: when, then what, with units.

    "progress at 5.0s: 2,500 of 5,000 messages delivered (50%), 500/s; 40 requests, 3 of them retries; …"
    `final=True` says "finished after" instead: the figures of the finished run.
    """
    elapsed = snapshot.get("elapsed")
    head = "finished" if final else "progress"
    if elapsed is not None:
        head += f" after {_clock(elapsed).strip()}" if final else f" at {_clock(elapsed).strip()}"
    clauses = []
    delivered = snapshot.get("delivered")
    total = snapshot.get("total")
    if delivered is not None:
        if total is not None:
            text = f"{fmt.count(delivered)} of {_units(total, 'message')} delivered"
            if total > 0:
                text += f" ({_share(delivered, total):.0%})"
        else:
            text = f"{_units(delivered, 'message')} delivered"
        if snapshot.get("rate") is not None:
            text += f", {fmt.count(round(snapshot['rate']))}/s"
        clauses.append(text)
    lost, duplicates = snapshot.get("lost"), snapshot.get("duplicates")
    if lost is not None or duplicates is not None:
        clauses.append(", ".join(text for text in (
            None if lost is None else f"{fmt.count(lost)} lost",
            None if duplicates is None else f"{_units(duplicates, 'duplicate')}") if text))
    requests, retries = snapshot.get("requests"), snapshot.get("retries")
    if requests is not None:
        text = _units(requests, "request")
        if retries is not None:
            text += f", {fmt.count(retries)} of them {'retries' if retries != 1 else 'a retry'}"
        clauses.append(text)
    errors = snapshot.get("errors")
    if errors is not None:
        clauses.append(f"{_units(errors, 'message-attempt')} failed or skipped")
    in_flight = snapshot.get("in_flight")
    if in_flight is not None and not final:
        clauses.append(f"{_units(in_flight, 'message')} in flight")
    return f"{head}: {'; '.join(clauses)}" if clauses else head


def final_progress(result: RunResult) -> dict[str, Any]:
    """The finished run's figures in a progress snapshot's keys, from the same counts as its summary."""
    totals = result.totals
    snapshot: dict[str, Any] = {"elapsed": result.duration, "delivered": totals.get("delivered"),
                                "total": totals.get("total"), "lost": totals.get("lost"),
                                "duplicates": totals.get("duplicates"), "requests": totals.get("requests"),
                                "retries": totals.get("retries"),
                                "errors": None if fmt.is_external(result)
                                else sum(result.errors.values()) + sum(result.skipped_attempts.values())}
    return {k: v for k, v in snapshot.items() if v is not None}


def _units(n: int | float, unit: str) -> str:
    """ "1 request", "2,500 requests" """
    return f"{fmt.count(n)} {unit}{'' if n == 1 else 's'}"


def _share(delivered: float, total: float) -> float:
    return min(max(delivered / total, 0.0), 1.0)


def _bar(share: float) -> str:
    eighths = round(share * _BAR_WIDTH * 8)
    full, rest = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[rest] if rest else "")
    return "▕" + text.ljust(_BAR_WIDTH) + "▏"


def _clock(seconds: float) -> str:
    """Elapsed time: "12.3s", "4m05s", "1h02m03s"."""
    if seconds < 60:
        return f"{seconds:4.1f}s"
    whole = int(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


class ProgressLine:
    """The live progress of a run, written to `stream` (the CLI passes stderr).

    On a terminal (`tty=True`) one line is redrawn in place (`\\r`, then
    erase to the end of the line), at most 10 times a second and cut to the
    terminal's width so it never wraps. Otherwise (a CI log) a plain line that
    reads on its own ("progress at 5.0s: …") is printed every `interval_s`
    seconds, the first one `interval_s` after construction, so a short run
    prints none and a long one shows a heartbeat.

    `finish(result)` ends the output with the finished run's own figures — a
    snapshot taken while the run was still going would contradict the summary:
    on a terminal the line is redrawn with them (or erased, without a result);
    in a log a "finished after …" line follows the periodic ones (none if there
    were none, or without a result).

    `now` is the clock (seconds, monotonic); `width` fixes the terminal width
    (default: asked of the stream's terminal, 80 if it has none).
    """

    def __init__(self, stream: TextIO, *, tty: bool, interval_s: float = 5.0,
                 now: Callable[[], float] = time.monotonic, width: int | None = None) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        self._stream = stream
        self._tty = tty
        self._interval = interval_s
        self._now = now
        self._width = width
        self._last: float | None = None if tty else now()
        self._open = False       # a TTY line is on screen and not yet ended
        self._printed = False    # a plain line was written
        self._done = False

    @property
    def tty(self) -> bool:
        return self._tty

    def update(self, snapshot: Mapping[str, Any]) -> None:
        if self._done:
            return
        t = self._now()
        if self._tty:
            # Too soon after the last redraw: skipped; a later one (or finish) shows newer figures.
            if self._last is not None and t - self._last < TTY_MIN_INTERVAL_S:
                return
            self._draw(snapshot)
            self._last = t
        elif self._last is None or t - self._last >= self._interval:
            self._write(progress_statement(snapshot) + "\n")
            self._printed = True
            self._last = t

    def finish(self, result: RunResult | None = None) -> None:
        """End the progress output (idempotent) with `result`'s figures, or, without one, nothing stale."""
        if self._done:
            return
        self._done = True
        final = final_progress(result) if result is not None else None
        if self._tty:
            if not self._open:
                return
            if final is None:
                self._write("\r\x1b[K")
            else:
                self._draw(final)
                self._write("\n")
            self._open = False
        elif self._printed and final is not None:
            self._write(progress_statement(final, final=True) + "\n")

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    def _draw(self, snapshot: Mapping[str, Any]) -> None:
        self._write("\r" + progress_text(snapshot, bar=True, width=self._columns() - 1) + "\x1b[K")
        self._open = True

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()

    def _columns(self) -> int:
        if self._width is not None:
            return self._width
        try:
            columns = os.get_terminal_size(self._stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            return 80
        # A pseudo-terminal nobody sized (script, some CI runners) reports 0 columns.
        return columns if columns > 0 else 80
