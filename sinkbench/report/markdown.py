"""The `--summary F.md` file: GitHub-flavoured Markdown, suited to `$GITHUB_STEP_SUMMARY`.

One `##` section per scenario (several runs get a `#` overview first):
messages, requests, latency, a sparkline of delivery per second, requests by
status, failed message-attempts, skipped messages, expectations, warnings and
notes, and the effective settings folded away.
Text from the run is escaped, so a scenario description or an error reason
can neither break a table nor inject HTML.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from sinkbench.report import _text as fmt
from sinkbench.report._files import append_text, atomic_write
from sinkbench.report.jsonreport import as_list
from sinkbench.report.sparkline import timeline_picture
from sinkbench.run.result import RunResult

PASS_ICON = "✅"
FAIL_ICON = "❌"
PASS_MARK = "✓"
FAIL_MARK = "✗"
MAX_ERROR_ROWS = 20
MAX_LIST_ITEMS = 50

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#!])")
_LINE_START = re.compile(r"^(\s*)([-+=>]|\d+[.)])")


def markdown_summary(results: RunResult | Iterable[RunResult]) -> str:
    """The Markdown summary of one or several runs."""
    runs = as_list(results)
    parts: list[str] = []
    if len(runs) != 1:
        parts.append(_overview(runs))
    parts.extend(_section(r) for r in runs)
    return "\n".join(parts)


def write_markdown(results: RunResult | Iterable[RunResult], path: str | os.PathLike[str], *,
                   append: bool = False) -> None:
    """Write the summary to `path`: atomically replacing it, or appended with `append=True`.

    Append for `$GITHUB_STEP_SUMMARY`: GitHub's protocol is to append to it,
    and a step's earlier commands may already have written there.
    """
    text = markdown_summary(results)
    if append:
        append_text(path, text)
    else:
        atomic_write(path, text.encode("utf-8"))


# -- sections ---------------------------------------------------------------------------

def _overview(runs: Sequence[RunResult]) -> str:
    passed = sum(1 for r in runs if r.passed)
    icon = PASS_ICON if passed == len(runs) else FAIL_ICON
    lines = [f"# {icon} sinkbench: {passed} of {len(runs)} scenario{'s' if len(runs) != 1 else ''} passed", ""]
    if runs:
        rows = [[PASS_ICON if r.passed else FAIL_ICON, escape(r.scenario), escape(fmt.status_text(r)),
                 fmt.seconds(r.duration), fmt.total_cell(r.totals, "delivered"), fmt.total_cell(r.totals, "total"),
                 fmt.total_cell(r.totals, "lost"), fmt.total_cell(r.totals, "duplicates"),
                 escape(fmt.verdict_reason(r))] for r in runs]
        lines += _table(["", "scenario", "status", "duration", "delivered", "total", "lost", "duplicates",
                         "verdict"], rows, align="cllrrrrrl")
        lines.append("")
    return "\n".join(lines)


def _section(r: RunResult) -> str:
    out: list[str] = []
    icon = PASS_ICON if r.passed else FAIL_ICON
    out += [f"## {icon} {escape(r.scenario)} — {'passed' if r.passed else 'failed'}", ""]
    if r.description:
        out += [escape_block(r.description), ""]
    facts = [f"**{escape(fmt.status_text(r))}** after {fmt.seconds(r.duration)}",
             f"drain {fmt.seconds(r.drain)}", escape(fmt.verdict_reason(r))]
    if r.started_at:
        facts.append(f"started {escape(r.started_at)}")
    if r.file:
        facts.append(code(r.file))
    out += [" · ".join(facts), ""]

    # Each table says its unit: a request may carry many messages, a message may be attempted many times.
    out += ["### Messages", ""]
    names = fmt.MESSAGE_COUNTS
    out += _table(list(names), [[fmt.result_total(r, n) for n in names]], align="r" * len(names))
    note = fmt.unknown_counts_note(r)
    if note:
        out += ["", f"_{escape(note)}_"]
    out.append("")
    if fmt.is_external(r):
        out += _external(r)
    out += ["### Requests", ""]
    out += _table(["sent", "retries", "bytes"], [[fmt.total_cell(r.totals, n) for n in fmt.HTTP_COUNTS]],
                  align="rrr")
    out.append("")

    out += ["### Latency", ""]
    columns = ("count", *fmt.LATENCY_COLUMNS)
    rows = [[kind, *(fmt.ms_column(r.latency.get(kind) or {}, c) for c in columns)] for kind in fmt.latency_kinds(r)]
    out += _table(["", *columns], rows, align="l" + "r" * len(columns))
    out.append("")

    picture = timeline_picture(r.timeline)
    if picture:
        out += ["### Timeline (per second)", "", *fence("\n".join(picture), "text"), ""]

    out += [f"### {fmt.STATUS_LABEL.capitalize()}", ""]
    codes = fmt.sorted_status_codes(r.status_codes)
    if codes:
        out += _table(["status", "requests"], [[escape(c), fmt.count(n)] for c, n in codes], align="lr")
    else:
        out.append("none")
    out.append("")

    errors = fmt.sorted_errors(r.errors)
    if not fmt.is_external(r):      # an external sink's failures are its own
        out += [f"### {fmt.FAILED_ATTEMPTS_LABEL.capitalize()}", ""]
    if errors:
        rows = [[escape(reason), fmt.count(n)] for reason, n in errors[:MAX_ERROR_ROWS]]
        if len(errors) > MAX_ERROR_ROWS:
            rest = errors[MAX_ERROR_ROWS:]
            rows.append([f"… {len(rest)} more reasons (see the JSON report)", fmt.count(sum(n for _, n in rest))])
        out += _table(["reason", "message-attempts"], rows, align="lr")
    elif not fmt.is_external(r):
        out.append("none")
    if not fmt.is_external(r):
        out.append("")

    skipped = fmt.skipped_rows(r)
    if skipped:
        out += [f"### {fmt.SKIPPED_LABEL.capitalize()}", ""]
        out += _table(["reason", "messages", "message-attempts"],
                      [[escape(c), fmt.count(n), fmt.count(a)] for c, n, a in skipped], align="lrr")
        out.append("")

    out += ["### Expectations", ""]
    if r.expectations:
        rows = [[PASS_MARK if e.passed else FAIL_MARK, code(e.metric), code(e.expression),
                 escape(e.observed_text), escape(e.detail)] for e in r.expectations]
        out += _table(["", "metric", "expression", "observed", "detail"], rows, align="cllll")
    else:
        out.append("none")
    out.append("")

    for title, items in (("Warnings", r.warnings), ("Notes", r.notes)):
        if items:
            out += [f"### {title}", ""]
            out += [f"- {escape(item)}" for item in items[:MAX_LIST_ITEMS]]
            if len(items) > MAX_LIST_ITEMS:
                out.append(f"- … {len(items) - MAX_LIST_ITEMS} more (see the JSON report)")
            out.append("")

    out += _details("Settings (effective, secrets redacted)", r.settings)
    if r.endpoint is not None:
        out += _details("Endpoint stats", r.endpoint)
    return "\n".join(out)


def _external(r: RunResult) -> list[str]:
    """The sink under test: command, environment, how it ended, and its last lines of output folded away."""
    out = ["_failed, skipped and undelivered are n/a: an external sink keeps them to itself; lost counts what "
           "never reached the endpoint._", "", "### Sink under test", ""]
    out += _table(["", ""], [[escape(label), code(text) if label in ("command", "environment") else escape(text)]
                             for label, text in fmt.external_facts(r)], align="ll")
    out.append("")
    tail, total = fmt.output_tail(r)
    if tail:
        shown = f"last {len(tail)} of {total} lines" if total > len(tail) else f"{total} lines"
        out += ["<details>", f"<summary>Output of the sink's command ({shown}, secrets redacted)</summary>", "",
                *fence("\n".join(tail), "text"), "", "</details>", ""]
    return out


def _details(summary: str, data: Mapping[str, Any]) -> list[str]:
    text = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS,
                        default=str).decode()
    return ["<details>", f"<summary>{escape(summary)}</summary>", "", *fence(fmt.clean(text), "json"),
            "", "</details>", ""]


# -- Markdown building blocks ----------------------------------------------------------------

def escape(text: Any) -> str:
    """Text for a table cell or an inline run: one line, Markdown and HTML characters escaped."""
    return _MD_SPECIAL.sub(r"\\\1", fmt.one_line(text))


def escape_block(text: Any) -> str:
    """A paragraph: like `escape`, and a leading "-", "1." or ">" cannot start a list or a quote."""
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), escape(text))


def code(text: Any) -> str:
    """An inline code span that holds any text, backticks included; `|` escaped for tables."""
    body = fmt.one_line(text)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{ticks}{pad}{body}{pad}{ticks}".replace("|", "\\|")


def fence(text: str, lang: str = "") -> list[str]:
    """A fenced code block longer than any backtick run inside `text`."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return [f"{ticks}{lang}", text, ticks]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, align: str) -> list[str]:
    """A GFM table; `align` has one letter per column: l(eft), r(ight), c(enter)."""
    marks = {"l": ":---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks[a] for a in align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines
