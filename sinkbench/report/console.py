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

_LEFT_COUNTS = fmt.MESSAGE_COUNTS
_RIGHT_COUNTS = fmt.HTTP_COUNTS


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
    """Message counts on the left, HTTP counts and timings on the right."""
    left = [(name, fmt.total_cell(result.totals, name)) for name in _LEFT_COUNTS]
    right = [(name, fmt.total_cell(result.totals, name)) for name in _RIGHT_COUNTS]
    right += [("duration", fmt.seconds(result.duration)), ("drain", fmt.seconds(result.drain))]
    lw = max(len(k) for k, _ in left)
    lv = max(len(v) for _, v in left)
    rw = max(len(k) for k, _ in right)
    lines = []
    for i in range(max(len(left), len(right))):
        text = ""
        if i < len(left):
            text = f"{left[i][0]:<{lw}}  {left[i][1]:>{lv}}"
        else:
            text = " " * (lw + 2 + lv)
        if i < len(right):
            text += f"    {right[i][0]:<{rw}}  {right[i][1]}"
        lines.append("  " + text.rstrip())
    return lines


def _latency_lines(result: RunResult) -> list[str]:
    columns = ("count", *fmt.LATENCY_COLUMNS)
    rows = [["latency", *columns]]
    for kind in fmt.LATENCY_KINDS:
        block = result.latency.get(kind) or {}
        rows.append([kind, *(fmt.ms_column(block, c) for c in columns)])
    return ["  " + line for line in _table(rows)]


def _codes_and_errors_lines(result: RunResult) -> list[str]:
    lines = []
    codes = fmt.sorted_status_codes(result.status_codes)
    codes_text = ", ".join(f"{fmt.one_line(c)} × {fmt.count(n)}" for c, n in codes) or "none"
    lines.append(f"  status codes  {codes_text}")
    errors = fmt.sorted_errors(result.errors)
    if not errors:
        lines.append("  errors        none")
        return lines
    shown = errors[:MAX_ERROR_LINES]
    nw = max(len(fmt.count(n)) for _, n in shown)
    for i, (reason, n) in enumerate(shown):
        label = "errors" if i == 0 else ""
        lines.append(f"  {label:<12}  {fmt.count(n):>{nw}}  {fmt.one_line(reason)}")
    if len(errors) > len(shown):
        rest = sum(n for _, n in errors[len(shown):])
        lines.append(f"  {'':<12}  {fmt.count(rest):>{nw}}  … {len(errors) - len(shown)} more reasons "
                     "(see the JSON report)")
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


def progress_text(snapshot: Mapping[str, Any], *, bar: bool = False) -> str:
    """One line of progress from a snapshot (missing keys are left out)."""
    elapsed = snapshot.get("elapsed")
    delivered = snapshot.get("delivered")
    total = snapshot.get("total")
    parts = [_clock(elapsed) if elapsed is not None else ""]
    if delivered is not None:
        text = f"delivered {fmt.count(delivered)}"
        if total is not None:
            text += f"/{fmt.count(total)}"
            if total > 0:
                share = min(max(delivered / total, 0.0), 1.0)
                text += f" {share:4.0%}" if not bar else f" {share:4.0%} {_bar(share)}"
        parts.append(text)
    rate = snapshot.get("rate")
    if rate is not None:
        parts.append(f"{fmt.count(round(rate))}/s")
    for key, label in (("requests", "requests"), ("retries", "retries"),
                       ("errors", "errors"), ("in_flight", "in flight")):
        value = snapshot.get(key)
        if value is not None:
            parts.append(f"{label} {fmt.count(value)}")
    return "  ".join(p for p in parts if p)


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
    terminal's width so it never wraps; `finish()` draws the latest snapshot
    and ends the line. Otherwise (a CI log) a plain line is printed every
    `interval_s` seconds, the first one `interval_s` after construction, so a
    short run prints none and a long one shows a heartbeat.

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
        self._pending: Mapping[str, Any] | None = None
        self._open = False     # a TTY line is on screen and not yet ended

    @property
    def tty(self) -> bool:
        return self._tty

    def update(self, snapshot: Mapping[str, Any]) -> None:
        t = self._now()
        if self._tty:
            if self._last is not None and t - self._last < TTY_MIN_INTERVAL_S:
                self._pending = snapshot
                return
            self._draw(snapshot)
            self._last = t
        elif self._last is None or t - self._last >= self._interval:
            self._stream.write(progress_text(snapshot) + "\n")
            self._stream.flush()
            self._last = t

    def finish(self) -> None:
        """End the progress output (idempotent): on a TTY, draw the latest snapshot and end the line."""
        if not self._tty:
            return
        if self._pending is not None:
            self._draw(self._pending)
        if self._open:
            self._stream.write("\n")
            self._stream.flush()
            self._open = False

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    def _draw(self, snapshot: Mapping[str, Any]) -> None:
        self._pending = None
        text = progress_text(snapshot, bar=True)[: max(1, self._columns() - 1)]
        self._stream.write("\r" + text + "\x1b[K")
        self._stream.flush()
        self._open = True

    def _columns(self) -> int:
        if self._width is not None:
            return self._width
        try:
            return os.get_terminal_size(self._stream.fileno()).columns
        except (AttributeError, OSError, ValueError):
            return 80
