"""A against B: two runs of one stream under the same faults, compared figure by figure (docs/cli.md).

The figures of a run (a finished `RunResult`, or a live snapshot in the
session) become a flat mapping — `figures_of_result`, `figures_of_live` — and
`compare()` lays two of them side by side as rows, each marked when the two
sides differ. The console table, the Markdown table and the session's
comparison pane all read those rows, so "different" means the same thing
everywhere:

- a count differs when exactly one side is zero, or when the two are more
  than 2% apart (two live runs never tick in lockstep: 3,200 against 3,180
  delivered is the same run seen a moment apart; lost 0 against 3 is not);
- a latency or a time differs when one is at least 1.5 times the other
  (timing noise between two concurrent runs is well under that);
- a value known on one side only differs.

B's report goes beside A's: `report.json` and `report.b.json` (`b_path`).
Plain functions, no Textual.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import orjson

from sinkbench.report import _text as fmt
from sinkbench.report.console import TTY_MIN_INTERVAL_S, ProgressLine, final_progress, progress_text
from sinkbench.report.jsonreport import as_list, json_bytes
from sinkbench.run.result import RunResult

SIDES = ("A", "B")
AS_WRITTEN = "as written"
COUNT_TOLERANCE = 0.02   # counts more than 2% apart differ (see the module's docstring)
TIMING_RATIO = 1.5       # timings differ when one is at least 1.5 times the other
DIFFERS_MARK = "≠"

Figures = Mapping[str, float | int | None]

# (figure, label, kind); kind: count | ms | s. A row shows when either side has the figure.
_ROWS: tuple[tuple[str, tuple[tuple[str, str, str], ...]], ...] = (
    ("messages", (("delivered", "delivered", "count"), ("failed", "failed", "count"),
                  ("skipped", "skipped", "count"), ("undelivered", "undelivered", "count"),
                  ("lost", "lost", "count"), ("duplicates", "duplicates", "count"))),
    ("requests", (("requests", "sent", "count"), ("retries", "retries", "count"))),
    ("latency", (("latency.delivery.p50", "delivery p50", "ms"), ("latency.delivery.p99", "delivery p99", "ms"),
                 ("latency.delivery.max", "delivery max", "ms"), ("latency.request.p50", "request p50", "ms"),
                 ("latency.request.p99", "request p99", "ms"))),
    ("time", (("duration", "duration", "s"), ("drain", "drain", "s"))),
)
_LATENCY = (("delivery", ("p50", "p99", "max")), ("request", ("p50", "p99")))


@dataclass(frozen=True)
class Row:
    section: str      # messages | requests | latency | time | verdict
    key: str          # the figure ("lost", "status.503", "expectations")
    label: str
    a: str
    b: str
    differs: bool


@dataclass(frozen=True)
class Comparison:
    scenario: str
    changes: tuple[str, ...]      # what B changes, as shown (secrets redacted)
    rows: tuple[Row, ...]

    @property
    def differences(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.differs)

    def row(self, key: str) -> Row | None:
        return next((r for r in self.rows if r.key == key), None)


def side_title(side: str, changes: Sequence[str]) -> str:
    """"A · as written", "B · runtime.offset_commit=after_polling"."""
    return f"{side} · {AS_WRITTEN if side == 'A' or not changes else ' '.join(changes)}"


# -- figures ---------------------------------------------------------------------------
def figures_of_result(r: RunResult) -> dict[str, float | int | None]:
    out: dict[str, float | int | None] = {k: r.totals.get(k) for k in (*fmt.MESSAGE_COUNTS, "requests", "retries")}
    out.pop("total", None)
    for kind, columns in _LATENCY:
        block = r.latency.get(kind) or {}
        for c in columns:
            out[f"latency.{kind}.{c}"] = block.get(c)
    out["duration"] = r.duration
    out["drain"] = r.drain
    for code, n in r.status_codes.items():
        out[f"status.{code}"] = n
    return out


def figures_of_live(*, delivered: int, failed: int, skipped: int, lost: int | None, duplicates: int | None,
                    requests: int, retries: int, latency_request: Mapping[str, Any],
                    latency_delivery: Mapping[str, Any], status_codes: Mapping[str, int]) -> dict[str, Any]:
    """A run's figures so far (the session's snapshot, with the live lost and duplicates)."""
    out: dict[str, Any] = {"delivered": delivered, "failed": failed, "skipped": skipped, "lost": lost,
                           "duplicates": duplicates, "requests": requests, "retries": retries}
    for kind, block in (("delivery", latency_delivery), ("request", latency_request)):
        for c in dict(_LATENCY)[kind]:
            out[f"latency.{kind}.{c}"] = block.get(c)
    for code, n in status_codes.items():
        out[f"status.{code}"] = n
    return out


def differs(kind: str, a: float | int | None, b: float | int | None) -> bool:
    """Whether two values of a figure count as different (the rules of the module's docstring)."""
    if a is None or b is None:
        return (a is None) != (b is None)
    if a == b:
        return False
    lo, hi = sorted((abs(float(a)), abs(float(b))))
    if lo == 0:
        return True
    if kind == "count":
        return hi - lo > COUNT_TOLERANCE * hi
    return hi / lo >= TIMING_RATIO


def _cell(kind: str, value: float | int | None, present: bool) -> str:
    if not present:
        return fmt.NO_VALUE
    if kind == "ms":
        return fmt.latency_cell(value)
    if kind == "s":
        return fmt.seconds(value)
    return fmt.count(value)


def compare(a: Figures, b: Figures, *, scenario: str, changes: Sequence[str],
            verdicts: tuple[tuple[str, str], tuple[str, str]] | None = None) -> Comparison:
    """Rows of every figure either side has, in the reports' order, then the status codes.

    `verdicts`: ((A's status, A's expectations), (B's ...)) as text, for finished runs.
    """
    rows: list[Row] = []
    if verdicts is not None:
        for i, (key, label) in enumerate((("status", "run"), ("expectations", "expectations"))):
            rows.append(Row("verdict", key, label, verdicts[0][i], verdicts[1][i], verdicts[0][i] != verdicts[1][i]))
    for section, specs in _ROWS:
        for key, label, kind in specs:
            if key not in a and key not in b:
                continue
            va, vb = a.get(key), b.get(key)
            rows.append(Row(section, key, label, _cell(kind, va, key in a), _cell(kind, vb, key in b),
                            differs(kind, va, vb)))
        if section == "requests":
            codes = {k.split(".", 1)[1] for k in (*a, *b) if k.startswith("status.")}
            for code, _ in fmt.sorted_status_codes({c: 0 for c in codes}):
                key = f"status.{code}"
                va, vb = a.get(key, 0), b.get(key, 0)
                rows.append(Row(section, key, fmt.one_line(code), fmt.count(va), fmt.count(vb),
                                differs("count", va, vb)))
    return Comparison(scenario, tuple(changes), tuple(rows))


def _verdict(r: RunResult) -> tuple[str, str]:
    n = len(r.expectations)
    held = n - fmt.failed_expectations(r)
    return fmt.status_text(r), (f"{held} of {n} held" if n else "none")


def compare_results(a: RunResult, b: RunResult, changes: Sequence[str]) -> Comparison:
    return compare(figures_of_result(a), figures_of_result(b), scenario=a.scenario, changes=changes,
                   verdicts=(_verdict(a), _verdict(b)))


# -- the console's table and the Markdown one ---------------------------------------------
def comparison_text(c: Comparison, *, color: bool) -> str:
    """The console's table: "lost    0 | 905  ≠", differing rows bold (with colour) and marked."""
    def bold(text: str) -> str:
        return f"\x1b[1;33m{text}\x1b[0m" if color else text

    lines = [f"A vs B · {fmt.one_line(c.scenario)}", f"  {side_title('A', c.changes)}",
             f"  {fmt.one_line(side_title('B', c.changes))}", ""]
    lw = max([len(r.label) for r in c.rows] + [0]) + 2
    wa = max([len(r.a) for r in c.rows] + [1])
    wb = max([len(r.b) for r in c.rows] + [1])
    lines.append(f"  {'':<{lw}}  {'A':>{wa}} | B")
    section = ""
    for r in c.rows:
        if r.section != section:
            section = r.section
            lines.append(f"  {section}")
        text = f"    {r.label:<{lw - 2}}  {r.a:>{wa}} | {r.b:<{wb}}"
        lines.append(bold(f"{text}  {DIFFERS_MARK}") if r.differs else text.rstrip())
    n = len(c.differences)
    lines.append("")
    lines.append(f"  {n} figure{'s' if n != 1 else ''} differ ({DIFFERS_MARK})" if n else
                 "  no figure differs between A and B")
    return "\n".join(lines) + "\n"


def comparison_markdown(c: Comparison) -> str:
    from sinkbench.report.markdown import code, escape

    lines = [f"# A vs B: {escape(c.scenario)}", "", f"- **A**: {AS_WRITTEN}",
             "- **B**: " + (" ".join(code(x) for x in c.changes) if c.changes else AS_WRITTEN), "",
             "| | A | B | |", "| :--- | ---: | ---: | :---: |"]
    for r in c.rows:
        a, b, label = escape(r.a), escape(r.b), escape(r.label)
        if r.differs:
            a, b, label = f"**{a}**", f"**{b}**", f"**{label}**"
        lines.append(f"| {label} | {a} | {b} | {DIFFERS_MARK if r.differs else ''} |")
    return "\n".join(lines) + "\n"


# -- B's files -------------------------------------------------------------------------
def b_path(path: str | os.PathLike[str]) -> str:
    """Where B's report goes beside A's: `out/report.json` → `out/report.b.json` (`junit` → `junit.b`)."""
    p = Path(path)
    name = f"{p.stem}.b{p.suffix}" if p.suffix else f"{p.name}.b"
    return str(p.with_name(name))


def labelled(result: RunResult, side: str) -> RunResult:
    """The run named with its side ("outage-503 · B"), for the reports read by people and CI (summary, JUnit)."""
    return dataclasses.replace(result, scenario=f"{result.scenario} · {side}")


def versus_json_bytes(results: RunResult | Iterable[RunResult], side: str, changes: Sequence[str],
                      other: str | None) -> bytes:
    """The JSON report of one side, as `--report` writes it, each run with a `versus` object saying which
    side it is, what B changes, and where the other side's report is."""
    doc = orjson.loads(json_bytes(as_list(results)))
    runs = doc["runs"] if "runs" in doc else [doc]
    for run in runs:
        run["versus"] = {"side": side, "changes": list(changes), "other_report": other}
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


# One file per side (B's beside A's); the Markdown summary holds both sides and the comparison.
SIDE_FILES = ("--report", "--junit", "--html")


def b_output_problems(paths: Iterable[tuple[str, str | None]]) -> list[str]:
    """`OPTION PATH: why` for each report whose B file (`b_path`) cannot be written; checked before any run."""
    from sinkbench.outfile import in_place_fd, write_problem

    problems = []
    for option, path in paths:
        if path is None or option not in SIDE_FILES:
            continue
        if in_place_fd(path)[0]:
            problems.append(f"{option} {path}: with --versus it must be a file: B's report goes beside A's, "
                            f"as {b_path(path)}")
            continue
        problem = write_problem(b_path(path))
        if problem:
            problems.append(f"{option} {path}: B's report {b_path(path)}: {problem}")
    return problems


# -- the progress of both sides ---------------------------------------------------------
class VersusProgress:
    """Both sides' progress, on stderr: on a terminal one line redrawn in place ("A 2.1s delivered 1,680 …
    │ B delivered 1,520 …", each half cut to fit), at most 10 times a second; in a log, each side's
    statements ("A: progress at 5.0s: …") every `interval_s`, as `ProgressLine` writes them.
    `finish(a, b)` ends with the finished runs' own figures."""

    def __init__(self, stream: TextIO, *, tty: bool, interval_s: float = 5.0,
                 now: Callable[[], float] = time.monotonic, width: int | None = None) -> None:
        self._stream = stream
        self._tty = tty
        self._now = now
        self._width = width
        self._last: float | None = None
        self._snaps: list[Mapping[str, Any] | None] = [None, None]
        self._open = False
        self._done = False
        self._lines = [ProgressLine(_Prefixed(stream, f"{side}: "), tty=False, interval_s=interval_s, now=now)
                       for side in SIDES]

    def update(self, side: int, snapshot: Mapping[str, Any]) -> None:
        if self._done:
            return
        if not self._tty:
            self._lines[side].update(snapshot)
            return
        self._snaps[side] = snapshot
        t = self._now()
        if self._last is not None and t - self._last < TTY_MIN_INTERVAL_S:
            return
        self._last = t
        self._draw()

    def finish(self, a: RunResult | None, b: RunResult | None) -> None:
        if self._done:
            return
        self._done = True
        if not self._tty:
            for line, result in zip(self._lines, (a, b)):
                line.finish(result)
            return
        if not self._open:
            return
        if a is None or b is None:
            self._write("\r\x1b[K")
            return
        self._snaps = [final_progress(a), final_progress(b)]
        self._draw()
        self._write("\n")

    def _draw(self) -> None:
        width = max(20, (self._width or _columns(self._stream)) - 1)
        half = (width - 6) // 2
        texts = [progress_text(s, width=half) if s is not None else "starting" for s in self._snaps]
        self._write("\r" + f"A {texts[0]} │ B {texts[1]}"[:width] + "\x1b[K")
        self._open = True

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()


class _Prefixed:
    """A stream that starts every line written to it with `prefix` (each side's log lines)."""

    def __init__(self, stream: TextIO, prefix: str) -> None:
        self._stream = stream
        self._prefix = prefix

    def write(self, text: str) -> int:
        lines = text.splitlines(keepends=True)
        self._stream.write("".join(self._prefix + line for line in lines))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()


def _columns(stream: TextIO) -> int:
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        return 80
    return columns if columns > 0 else 80


# -- the report files of both sides -------------------------------------------------------
def write_versus(option: str, path: str, pairs: Sequence[tuple[RunResult, RunResult]], changes: Sequence[str], *,
                 append: bool = False) -> None:
    """The files one report option writes for A-versus-B runs (docs/cli.md):

    --report: A's JSON report at `path`, B's at `b_path(path)`, each run with its `versus` object;
    --junit and --html: A's at `path`, B's beside it, each run named with its side ("outage-503 · B");
    --summary: one Markdown file, each pair's comparison table then both runs' sections (appended when
    `append`, as for $GITHUB_STEP_SUMMARY).
    """
    from sinkbench.report._files import append_text, atomic_write
    from sinkbench.report.markdown import markdown_summary

    a_runs = [a for a, _ in pairs]
    b_runs = [b for _, b in pairs]
    if option == "--summary":
        parts = []
        for a, b in pairs:
            parts.append(comparison_markdown(compare_results(a, b, changes)))
            parts.append(markdown_summary([labelled(a, "A"), labelled(b, "B")]))
        text = "\n".join(parts)
        if append:
            append_text(path, text)
        else:
            atomic_write(path, text.encode("utf-8"))
        return
    other = b_path(path)
    if option == "--report":
        atomic_write(path, versus_json_bytes(a_runs, "A", changes, os.path.basename(other)))
        atomic_write(other, versus_json_bytes(b_runs, "B", changes, os.path.basename(path)))
        return
    if option == "--junit":
        from sinkbench.report.junit import write_junit as write
    elif option == "--html":
        from sinkbench.report.html import write_html as write
    else:
        raise ValueError(f"unknown report option {option}")
    write([labelled(r, "A") for r in a_runs], path)
    write([labelled(r, "B") for r in b_runs], other)
