"""A sweep's comparison table, in text (stdout), JSON, CSV and Markdown; plus the SVG chart file.

One row per combination, best first by the stated objective: whether it is on
the Pareto front (●), delivered, lost, duplicates, requests, retries, drain,
p95/p99 delivery latency, bytes and whether the scenario's expectations held.
A varied value the connector does not run (connector.py) carries a † and a
note under the table. Every format is read from one `SweepResult`; the
formatting helpers are the run reports' own. The JSON also holds what
`sweep merge` needs: the plan (its fingerprint and the items that plan it
again), the slice, and each combination's full run.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from sinkbench import __version__
from sinkbench.report import _text as fmt
from sinkbench.report._files import atomic_write
from sinkbench.report.markdown import code, escape
from sinkbench.sweep.chart import chart_svg, chart_text, trade_off
from sinkbench.sweep.connector import ConnectorFact
from sinkbench.sweep.objective import FRONT
from sinkbench.sweep.runner import Row, SweepResult
from sinkbench.sweep.stored import JSON_OPTIONS, json_default

PASS_MARK = "✓"
FAIL_MARK = "✗"
FRONT_MARK = "●"
NOT_CONNECTOR_MARK = "†"
FRONT_TEXT = (f"{FRONT_MARK} Pareto front: no other combination is as good on lost, duplicates, drain "
              f"(to {FRONT.criteria[2].resolution_text}) and requests and better on one")


@dataclass(frozen=True)
class Column:
    header: str
    cell: Callable[[Row], str]
    right: bool = True


def _total(name: str) -> Callable[[Row], str]:
    return lambda row: fmt.total_cell(row.result.totals, name) if row.result is not None else fmt.NO_VALUE


def _latency(p: str) -> Callable[[Row], str]:
    return lambda row: (fmt.latency_cell((row.result.latency.get("delivery") or {}).get(p))
                        if row.result is not None else fmt.NO_VALUE)


def _drain(row: Row) -> str:
    return fmt.seconds(row.result.drain) if row.result is not None else fmt.NO_VALUE


def expectations_held(row: Row) -> tuple[int, int]:
    r = row.result
    if r is None:
        return 0, 0
    return sum(1 for e in r.expectations if e.passed), len(r.expectations)


def verdict_cell(row: Row) -> str:
    """`✓ 4/4`, `✗ 3/4`, `✓ none` (no expectations), `✗ 4/4 timed out`, `error`, `not run`."""
    r = row.result
    if r is None:
        return row.outcome.status
    held, n = expectations_held(row)
    text = f"{PASS_MARK if r.passed else FAIL_MARK} " + (f"{held}/{n}" if n else "none")
    if not fmt.is_completed(r):
        text += f" {fmt.status_text(r)}"
    return text


def _varied_cell(row: Row, i: int) -> str:
    vary, value = row.combination.choices[i]
    unlike = any(n.key == vary.key for n in row.not_connector)
    return value.shown + (NOT_CONNECTOR_MARK if unlike else "")


def columns(sweep: SweepResult) -> list[Column]:
    cols = [Column("#", lambda row: str(row.rank))]
    for i, vary in enumerate(sweep.plan.varies):
        cols.append(Column(vary.short, lambda row, i=i: _varied_cell(row, i), right=False))
    cols += [
        Column("front", lambda row: FRONT_MARK if row.front else "", right=False),
        Column("delivered", _total("delivered")),
        Column("lost", _total("lost")),
        Column("dups", _total("duplicates")),
        Column("requests", _total("requests")),
        Column("retries", _total("retries")),
        Column("drain", _drain),
        Column("p95", _latency("p95")),
        Column("p99", _latency("p99")),
        Column("bytes", _total("bytes")),
        Column("expectations", verdict_cell, right=False),
    ]
    return cols


# -- text ---------------------------------------------------------------------------------

def _paint(on: bool) -> Callable[[str, str], str]:
    codes = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33"}
    return lambda style, text: f"\x1b[{codes[style]}m{text}\x1b[0m" if on and text else text


def table_lines(sweep: SweepResult, *, color: bool = False) -> list[str]:
    """The comparison table as aligned columns (numbers right, settings and verdict left)."""
    paint = _paint(color)
    cols = columns(sweep)
    body = [[fmt.one_line(c.cell(row)) for c in cols] for row in sweep.rows]
    widths = [max(len(c.header), *(len(r[i]) for r in body)) if body else len(c.header) for i, c in enumerate(cols)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.rjust(w) if c.right else cell.ljust(w) for cell, w, c in zip(cells, widths, cols)).rstrip()

    out = [paint("bold", line([c.header for c in cols]))]
    for cells in body:
        text = line(cells)
        verdict = cells[-1]
        if color and verdict and text.endswith(verdict):
            text = text[: -len(verdict)] + paint("green" if verdict.startswith(PASS_MARK) else "red", verdict)
        out.append(text)
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def heading(sweep: SweepResult) -> str:
    sc = sweep.plan.scenario
    mode = "sequential" if sweep.parallel == 1 else f"{sweep.parallel} at a time"
    n = sweep.plan.size
    what = _plural(n, "combination")
    if sweep.shard is not None:
        what = f"slice {sweep.shard.text}: {sweep.count} of {what}"
    return f"sweep {fmt.one_line(sc.name)} — {what}, seed {sc.seed}, {mode}  ({fmt.one_line(sweep.plan.file)})"


def _ranks(ranks: Sequence[int]) -> str:
    named = [f"#{r}" for r in ranks]
    return named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"


def connector_notes(sweep: SweepResult) -> list[str]:
    """Under the table: each setting some rows ran with that the connector does not do, and what follows."""
    rows = [row for row in sweep.rows if row.not_connector]
    varied = {v.key for v in sweep.plan.varies}
    facts: dict[str, tuple[ConnectorFact, list[str], list[int]]] = {}
    for row in rows:
        for n in row.not_connector:
            _, used, ranks = facts.setdefault(n.key, (n.fact, [], []))
            if n.text not in used:
                used.append(n.text)
            ranks.append(row.rank)
    notes = []
    for key, (fact, used, ranks) in facts.items():
        name = key.split(".", 1)[1]
        who = "Every combination" if len(ranks) == len(sweep.rows) else _ranks(ranks)
        after = "" if len(rows) == len(sweep.rows) else ", ranked after the rows the connector can run and"
        hint = "" if key in varied else f"; --set {key}={fact.connector} benches that"
        notes.append(f"{NOT_CONNECTOR_MARK if key in varied else 'warning:'} {' or '.join(used)} is not what the "
                     f"connector runs: {fact.why}. {who} ran with it: what-if figures{after} never written by "
                     f"--write-best (the connector runs {name} = {fact.connector}{hint}).")
    return notes


def _against(best: Row, other: Row) -> str:
    a, b = best.result, other.result
    assert a is not None and b is not None
    drain = fmt.seconds(b.drain) if b.drain is not None else fmt.UNKNOWN
    return (f"#{other.rank} drains in {drain} with {fmt.total_cell(b.totals, 'requests')} requests "
            f"against {fmt.seconds(a.drain) if a.drain is not None else fmt.UNKNOWN} and "
            f"{fmt.total_cell(a.totals, 'requests')}")


def best_line(sweep: SweepResult) -> str:
    best = sweep.best
    if best is None:
        return "best: none (no combination ran to the end)"
    r = best.result
    assert r is not None
    parts = [f"lost {fmt.total_cell(r.totals, 'lost')}", f"duplicates {fmt.total_cell(r.totals, 'duplicates')}",
             f"drain {fmt.seconds(r.drain)}", f"requests {fmt.total_cell(r.totals, 'requests')}"]
    verdict = "expectations held" if r.passed else fmt.verdict_reason(r)
    head = "best" if best.connector_runs else \
        f"best of the what-if rows ({', '.join(n.text for n in best.not_connector)}: not what the connector runs)"
    text = f"{head}: #{best.rank} {best.combination.label} — {', '.join(parts)}; {verdict}"
    tied = sweep.tied_with_best()
    if tied:
        text += f" (tied on the objective with {', '.join('#' + str(t.rank) for t in tied)}; first run wins)"
    trading = sweep.trading_with_best() if not sweep.objective.chooses_between_drain_and_requests else []
    if trading:
        text += (f" (the compromise chose it: {'; '.join(_against(best, t) for t in trading)}; "
                 "--objective chooses otherwise)")
    return text


def legend_lines(sweep: SweepResult) -> list[str]:
    """The lines that explain the table's marks: the front, then the connector's settings."""
    return [FRONT_TEXT, *connector_notes(sweep)]


def sweep_text(sweep: SweepResult, *, color: bool = False, chart: bool = True) -> str:
    """What `sinkbench sweep` prints at the end: heading, objective, table, chart, best, verdict count."""
    paint = _paint(color)
    lines = [paint("bold", heading(sweep)),
             f"sorted by: {sweep.objective.text}  (p95/p99: delivery latency)", ""]
    lines += ["  " + line for line in table_lines(sweep, color=color)]
    lines += ["  " + line for line in legend_lines(sweep)]
    for row in sweep.rows:
        if row.outcome.error:
            lines.append(f"  #{row.rank} {row.outcome.status}: {fmt.one_line(row.outcome.error)}")
    if chart:
        lines.append("")
        lines += ["  " + line for line in chart_text(trade_off(sweep))]
    lines.append("")
    lines.append(best_line(sweep))
    n = sweep.count
    unfinished = sum(1 for o in sweep.outcomes if o.result is None or not fmt.is_completed(o.result))
    summary = f"{sweep.passed_count} of {n} combination{'s' if n != 1 else ''} passed the scenario's expectations"
    if unfinished:
        summary += f" ({unfinished} did not run to the end)"
    if sweep.interrupted:
        summary += paint("yellow", "; the sweep was interrupted")
    lines.append(summary)
    return "\n".join(lines) + "\n"


# -- JSON ---------------------------------------------------------------------------------

def _row_json(row: Row) -> dict[str, Any]:
    r = row.result
    held, n = expectations_held(row)
    out: dict[str, Any] = {
        "rank": row.rank,
        "combination": row.combination.index,
        "label": row.combination.label,
        "values": row.combination.values,
        "front": row.front,
        "connector_runs": row.connector_runs,
        "not_connector": [n.text for n in row.not_connector],
        "status": row.outcome.status,
        "passed": row.outcome.passed,
        "expectations": {"held": held, "total": n},
    }
    totals = r.totals if r is not None else {}
    for name in ("total", "delivered", "lost", "duplicates", "failed", "skipped", "undelivered", "requests",
                 "retries", "bytes"):
        out[name] = totals.get(name)
    delivery = (r.latency.get("delivery") or {}) if r is not None else {}
    out["drain_s"] = None if r is None or r.drain is None else round(r.drain, 3)
    out["duration_s"] = None if r is None else round(r.duration, 3)
    out["latency_delivery_ms"] = {"p95": delivery.get("p95"), "p99": delivery.get("p99")}
    out["error"] = row.outcome.error
    return out


REPORT_FORMAT = 2      # 2: the plan's fingerprint, the slice and each run's error code (what merge reads)


def sweep_json(sweep: SweepResult) -> dict[str, Any]:
    sc = sweep.plan.scenario
    best = sweep.best
    return {
        "sweep": {
            "format": REPORT_FORMAT,
            "sinkbench": __version__,
            "scenario": sc.name,
            "file": sweep.plan.file,
            "seed": sc.seed,
            "combinations": sweep.plan.size,
            "plan": {"fingerprint": sweep.plan.fingerprint, "scenario_sha256": sweep.plan.source_sha256,
                     "vary": sweep.plan.vary_items, "set": list(sweep.plan.fixed)},
            "shard": None if sweep.shard is None else {
                "k": sweep.shard.k, "n": sweep.shard.n, "combinations": [o.combination.index for o in sweep.outcomes]},
            "parallel": sweep.parallel,
            "objective": {"spec": sweep.objective.spec, "text": sweep.objective.text, "front": FRONT_TEXT},
            "varied": {v.key: [x.value for x in v.values] for v in sweep.plan.varies},
            "fixed": list(sweep.plan.fixed),
            "not_connector": connector_notes(sweep),
            "interrupted": sweep.interrupted,
            "passed": sweep.passed_count,
            "best": None if best is None else {
                "rank": best.rank, "combination": best.combination.index, "label": best.combination.label,
                "values": best.combination.values, "connector_runs": best.connector_runs,
                "tied_with": [r.rank for r in sweep.tied_with_best()],
                "trades_with": [r.rank for r in sweep.trading_with_best()]},
        },
        "rows": [_row_json(row) for row in sweep.rows],
        "runs": [{"rank": row.rank, "combination": row.combination.index, "values": row.combination.values,
                  "result": row.result.to_json() if row.result is not None else None, "error": row.outcome.error,
                  "error_code": row.outcome.error_code, "skipped": row.outcome.skipped}
                 for row in sweep.rows],
    }


def json_bytes(sweep: SweepResult) -> bytes:
    return orjson.dumps(sweep_json(sweep), default=json_default,
                        option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE | JSON_OPTIONS)


def write_json(sweep: SweepResult, path: str | os.PathLike[str]) -> None:
    atomic_write(path, json_bytes(sweep))


# -- CSV ----------------------------------------------------------------------------------

CSV_METRICS = ("total", "delivered", "lost", "duplicates", "failed", "skipped", "undelivered", "requests",
               "retries", "bytes", "drain_s", "duration_s", "p95_ms", "p99_ms")


def sweep_csv(sweep: SweepResult) -> str:
    """One header line and one line per row; keys varied get a column each (full dotted name)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["rank", "combination", *(v.key for v in sweep.plan.varies), "front", "connector_runs", *CSV_METRICS,
                "passed", "expectations_held", "expectations_total", "status", "error"])
    for row in sweep.rows:
        j = _row_json(row)
        metrics = [j[k] for k in CSV_METRICS[:10]] + [j["drain_s"], j["duration_s"],
                                                     j["latency_delivery_ms"]["p95"], j["latency_delivery_ms"]["p99"]]
        w.writerow([row.rank, row.combination.index, *(value.shown for _, value in row.combination.choices),
                    _bool(row.front), _bool(row.connector_runs), *("" if m is None else m for m in metrics),
                    _bool(row.outcome.passed), j["expectations"]["held"],
                    j["expectations"]["total"], row.outcome.status, row.outcome.error or ""])
    return buf.getvalue()


def _bool(value: bool) -> str:
    return "true" if value else "false"


def write_csv(sweep: SweepResult, path: str | os.PathLike[str]) -> None:
    atomic_write(path, sweep_csv(sweep).encode("utf-8"))


# -- Markdown -----------------------------------------------------------------------------

def sweep_markdown(sweep: SweepResult, *, chart_path: str | None = None) -> str:
    """The table, the best combination, the chart in a text block (and the SVG, when `chart_path` is given)."""
    sc = sweep.plan.scenario
    lines = [f"# sinkbench sweep: {escape(sc.name)}", ""]
    mode = "one at a time" if sweep.parallel == 1 else f"{sweep.parallel} at a time (latency figures share the cores)"
    what = f"{sweep.plan.size} combinations"
    if sweep.shard is not None:
        what = f"Slice {sweep.shard.text} ({sweep.count} of {sweep.plan.size} combinations)"
    lines.append(f"{what} of {', '.join(code(v.key) for v in sweep.plan.varies)} "
                 f"over {code(sweep.plan.file)}, seed {sc.seed}, run {mode}."
                 + (" The sweep was interrupted." if sweep.interrupted else ""))
    if sweep.plan.fixed:
        lines.append("")
        lines.append("Fixed for every combination: " + ", ".join(code(f"--set {s}") for s in sweep.plan.fixed))
    lines += ["", f"Sorted by {escape(sweep.objective.text)} ({code('--objective ' + sweep.objective.spec)}); "
              "p95/p99 are delivery latencies.", ""]
    cols = columns(sweep)
    lines.append("| " + " | ".join(escape(c.header) for c in cols) + " |")
    lines.append("| " + " | ".join("---:" if c.right else ":---" for c in cols) + " |")
    for row in sweep.rows:
        lines.append("| " + " | ".join(escape(c.cell(row)) for c in cols) + " |")
    lines.append("")
    lines += [escape(line) + "  " for line in legend_lines(sweep)]
    lines.append("")
    for row in sweep.rows:
        if row.outcome.error:
            lines.append(f"- #{row.rank} {escape(row.outcome.status)}: {escape(row.outcome.error)}")
    lines += [f"**{escape(best_line(sweep)).replace('best:', 'Best:', 1)}**", ""]
    lines.append(f"{sweep.passed_count} of {sweep.count} combinations passed the scenario's expectations.")
    lines.append("")
    chart = trade_off(sweep)
    lines.append(f"## {escape(chart.x.name)} vs {escape(chart.y.name)}")
    lines.append("")
    if chart_path:
        lines += [f"![{escape(chart.title)}]({chart_path})", ""]
    lines.append("```text")
    lines += chart_text(chart)
    lines.append("```")
    failing = [row for row in sweep.rows if row.result is not None and not row.result.passed]
    if failing:
        lines += ["", "<details><summary>Failed expectations</summary>", ""]
        for row in failing:
            assert row.result is not None
            bad = [e for e in row.result.expectations if not e.passed]
            detail = "; ".join(escape(e.detail or f"{e.metric} {e.expression}") for e in bad) or \
                escape(fmt.verdict_reason(row.result))
            lines.append(f"- #{row.rank} {code(row.combination.label)}: {detail}")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def write_markdown(sweep: SweepResult, path: str | os.PathLike[str], *, chart_file: str | None = None) -> None:
    """Write the Markdown; with `chart_file`, link the SVG relative to the Markdown's folder."""
    link = None
    if chart_file:
        link = os.path.relpath(Path(chart_file).resolve(), Path(path).resolve().parent).replace(os.sep, "/")
    atomic_write(path, sweep_markdown(sweep, chart_path=link).encode("utf-8"))


def write_svg(sweep: SweepResult, path: str | os.PathLike[str]) -> None:
    atomic_write(path, chart_svg(trade_off(sweep)).encode("utf-8"))


__all__ = ["FRONT_TEXT", "best_line", "connector_notes", "json_bytes", "legend_lines", "sweep_csv", "sweep_json", "sweep_markdown", "sweep_text", "table_lines",
           "write_csv", "write_json", "write_markdown", "write_svg"]
