"""The `--html F.html` report of a run: one self-contained page of pictures (docs/html.md).

What a run's story looks like: the verdict and the expectations first; then
the timeline (messages and requests per second, in flight) with every fault
window shaded, the drain after the last one, and every live break, settings
change or pause marked; latency percentiles over time and each latency's
distribution; requests by status over time; the lost/duplicate accounting
with what each count means; the effective settings (as the run holds them:
secrets already redacted); the endpoint's stats; the scenario's description.

Read from one `RunResult`, like every other report, plus what only pictures
need (`series`, `distributions`). Charts are inline SVG drawn by report/svg.py:
measured on a 10-minute run, the page is about 200 KB without any script,
where the smallest charting library inlined would add 50 KB of JavaScript
before any data (docs/html.md says more).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from sinkbench.durations import DurationError, parse_duration
from sinkbench.report import _text as fmt
from sinkbench.report import svg
from sinkbench.report._files import atomic_write
from sinkbench.report.htmlpage import esc, esc1, figure, legend, page, table
from sinkbench.report.jsonreport import as_list
from sinkbench.run.result import RunResult

# What each count means, as docs/reports.md says it, next to the count in the accounting table.
MEANINGS = {
    "total": "messages the source handed over",
    "delivered": "messages the endpoint acknowledged with a success status",
    "failed": "messages whose every attempt failed: retries ran out, or the sink gave up",
    "skipped": "messages the sink did not send (too big, or could not be encoded)",
    "undelivered": "messages with no outcome when the run stopped",
    "lost": "messages the endpoint never accepted: gone, whatever the sink believed",
    "duplicates": "acceptances beyond the first: a message the endpoint took more than once",
    "requests": "HTTP requests sent, retries and health checks included (one carries many messages)",
    "retries": "requests that repeated a body already sent",
    "bytes": "request body bytes sent",
}
STATUS_CLASSES = ("2xx", "1xx", "3xx", "429", "4xx", "5xx", "no answer")
# Colour class per status group: success green, client errors orange, server errors red, no answer purple.
_STATUS_COLOUR = {"2xx": "c1", "1xx": "c6", "3xx": "c8", "429": "c5", "4xx": "c7", "5xx": "c3", "no answer": "c4"}
MAX_ERROR_ROWS = 20


def html_report(results: RunResult | Iterable[RunResult]) -> str:
    """The HTML page of one run, or of several (an overview first, then a section each)."""
    runs = as_list(results)
    body: list[str] = []
    if len(runs) != 1:
        body += _overview(runs)
    for i, r in enumerate(runs):
        body += run_section(r, anchor=f"run{i + 1}" if len(runs) != 1 else "")
    title = (f"sinkbench: {fmt.one_line(runs[0].scenario)} — {'passed' if runs[0].passed else 'failed'}"
             if len(runs) == 1 else f"sinkbench: {sum(r.passed for r in runs)} of {len(runs)} scenarios passed")
    return page(title, body, interrupted=any(str(r.status) == "interrupted" for r in runs))


def write_html(results: RunResult | Iterable[RunResult], path: str | os.PathLike[str]) -> None:
    """Write the page to `path` atomically, as every report is written."""
    atomic_write(path, html_report(results).encode("utf-8"))


# -- the page's parts ---------------------------------------------------------------------

def _overview(runs: Sequence[RunResult]) -> list[str]:
    passed = sum(1 for r in runs if r.passed)
    ok = passed == len(runs)
    rows = [[f'<span class="{"pass" if r.passed else "fail"}">{"✓" if r.passed else "✗"}</span>',
             f'<a href="#run{i + 1}">{esc1(r.scenario)}</a>', esc1(fmt.status_text(r)), fmt.seconds(r.duration),
             fmt.total_cell(r.totals, "delivered"), fmt.total_cell(r.totals, "total"),
             fmt.total_cell(r.totals, "lost"), fmt.total_cell(r.totals, "duplicates"), esc1(fmt.verdict_reason(r))]
            for i, r in enumerate(runs)]
    return [f'<h1>sinkbench <span class="verdict {"pass" if ok else "fail"}">{passed} of {len(runs)} passed</span></h1>',
            table(["", "scenario", "status", "duration", "delivered", "total", "lost", "duplicates", "verdict"], rows,
                  numeric=[False, False, False, True, True, True, True, True, False])]


def run_section(r: RunResult, *, anchor: str = "") -> list[str]:
    """Everything about one run, as a list of HTML fragments."""
    pre = f"{anchor}-" if anchor else ""
    bands, marks, event_items = timeline_events(r)
    parts = [f'<section id="{anchor}">' if anchor else "<section>"]
    parts += _header(r, pre)
    parts.append(f'<h2 id="{pre}expectations">Expectations</h2>')
    parts += _expectations(r)
    parts.append(f'<h2 id="{pre}timeline">Timeline</h2>')
    parts += _timeline(r, bands, marks, event_items)
    parts.append(f'<h2 id="{pre}latency">Latency</h2>')
    parts += _latency(r, bands, marks)
    parts.append(f'<h2 id="{pre}status">Requests by status</h2>')
    parts += _status(r, bands, marks)
    parts.append(f'<h2 id="{pre}accounting">Delivery accounting</h2>')
    parts += _accounting(r)
    parts.append(f'<h2 id="{pre}settings">Effective settings</h2>')
    parts += _settings(r)
    parts.append(f'<h2 id="{pre}endpoint">Endpoint</h2>')
    parts += _endpoint(r)
    parts.append("</section>")
    return parts


def _header(r: RunResult, pre: str) -> list[str]:
    verdict = "PASSED" if r.passed else "FAILED"
    out = [f'<h1>{esc1(r.scenario)} <span class="verdict {"pass" if r.passed else "fail"}">{verdict}</span></h1>']
    facts = [f"<strong>{esc1(fmt.status_text(r))}</strong> after {fmt.seconds(r.duration)}",
             esc1(fmt.verdict_reason(r))]
    if r.started_at:
        facts.append(f"started {esc1(r.started_at)}")
    if r.file:
        facts.append(f"<code>{esc1(r.file)}</code>")
    out.append(f'<p class="muted">{" · ".join(facts)}</p>')
    if str(r.status) == "interrupted":
        out.append('<p class="banner">Interrupted: the run was stopped before its end. The figures are those '
                   "up to then; messages without an outcome count as undelivered.</p>")
    elif not fmt.is_completed(r):
        out.append(f'<p class="banner">The run {esc1(fmt.status_text(r))}; see the notes below.</p>')
    if r.description:
        out.append(f"<p>{esc(r.description)}</p>")
    out.append(_cards(r))
    for w in r.warnings:
        out.append(f'<p class="warn">warning: {esc1(w)}</p>')
    for n in r.notes:
        out.append(f'<p class="muted">note: {esc1(n)}</p>')
    sections = [("expectations", "Expectations"), ("timeline", "Timeline"), ("latency", "Latency"),
                ("status", "Status codes"), ("accounting", "Accounting"), ("settings", "Settings"),
                ("endpoint", "Endpoint")]
    out.append("<nav>" + "".join(f'<a href="#{pre}{a}">{t}</a>' for a, t in sections) + "</nav>")
    return out


def _cards(r: RunResult) -> str:
    t = r.totals

    def card(label: str, value: str, tone: str = "") -> str:
        return f'<div class="card {tone}"><div class="value">{value}</div><div class="label">{label}</div></div>'

    delivered, total = t.get("delivered"), t.get("total")
    lost, dups = t.get("lost"), t.get("duplicates")
    delivery = r.latency.get("delivery") or {}
    cards = [
        card("messages delivered", f"{fmt.count(delivered)}<span class=muted> / {fmt.count(total)}</span>",
             "good" if total and delivered == total else "bad" if total else ""),
        card("lost", fmt.count(lost), "" if lost is None else "bad" if lost else "good"),
        card("duplicates", fmt.count(dups), "" if dups is None else "bad" if dups else "good"),
        card("drain after the outage", fmt.seconds(r.drain)),
        card(f"requests ({fmt.count(t.get('retries'))} retries)", fmt.count(t.get("requests"))),
        card("delivery latency p99", fmt.latency_cell(delivery.get("p99"))),
        card("failed / undelivered", f"{fmt.result_total(r, 'failed')} / {fmt.result_total(r, 'undelivered')}",
             "bad" if (t.get("failed") or t.get("undelivered")) else ""),
        card("duration", fmt.seconds(r.duration)),
    ]
    return '<div class="cards">' + "".join(cards) + "</div>"


def _expectations(r: RunResult) -> list[str]:
    if not r.expectations:
        return ['<p class="muted">The scenario has no expectations: the run passes unless it was interrupted '
                "or timed out.</p>"]
    rows = [[f'<span class="{"pass" if e.passed else "fail"}">{"✓ held" if e.passed else "✗ failed"}</span>',
             f"<code>{esc1(e.metric)}</code>", f"<code>{esc1(e.expression)}</code>", esc1(e.observed_text),
             esc1(e.detail)] for e in r.expectations]
    return [table(["", "metric", "expected", "observed", "detail"], rows)]


# -- the timeline and its events ------------------------------------------------------------

def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return parse_duration(str(value))
    except DurationError:
        return None


def describe_fault(fault: Mapping[str, Any]) -> str:
    """One `[[endpoint.faults]]` rule in words: what it does and which requests it matches."""
    action = str(fault.get("action", "?"))
    what = {"status": f"answers {fault.get('status')}", "delay": f"delays {fault.get('delay')}",
            "reset": "resets the connection", "hang": "never answers", "close": "closes the connection",
            "malformed": "answers a malformed response", "slow_body": f"answers slowly ({fault.get('delay')})"}.get(
        action, action)
    if fault.get("body") is not None:
        what += f" “{fmt.one_line(fault['body'])}”"
    if fault.get("retry_after") is not None:
        what += f", Retry-After {fault['retry_after']}"
    when = []
    if fault.get("after") is not None or fault.get("until") is not None:
        when.append(f"from {fault.get('after') or '0s'} to {fault.get('until') or 'the end'}")
    if fault.get("requests") is not None:
        first, last = fault["requests"]
        when.append(f"requests {first} to {last}")
    if fault.get("every") is not None:
        when.append(f"every {fault['every']} requests")
    if fault.get("probability") is not None:
        when.append(f"with probability {fault['probability']}")
    if fault.get("accept"):
        what += " (after accepting the messages)"
    return f"{what}, {' and '.join(when) if when else 'for every request'}"


def time_axis(r: RunResult) -> float:
    """Where every time chart of `r` ends: the same for all, so fault windows line up from chart to chart
    (the per-second latency series may count a second the timeline does not, or the other way round)."""
    return max(r.duration, len(r.timeline), len(r.series or ()), 1.0)


def timeline_events(r: RunResult) -> tuple[list[svg.Band], list[svg.Mark], list[str]]:
    """The fault windows (shaded), the drain after the last (shaded), the timeline's marks, and the
    legend's lines for them (HTML). Faults without a time window are listed, not drawn."""
    end = time_axis(r)
    faults = list(((r.settings.get("endpoint") or {}).get("faults")) or [])
    bands: list[svg.Band] = []
    items: list[str] = []
    last_end: float | None = None
    for i, fault in enumerate(faults, 1):
        text = f"fault {i}: {describe_fault(fault)}"
        after, until = _seconds(fault.get("after")), _seconds(fault.get("until"))
        if after is None and until is None:
            items.append(f'<li><span class="tag fault">F{i}</span>{esc1(text)} (not tied to a time: not drawn)</li>')
            continue
        start, stop = after or 0.0, min(until if until is not None else end, end)
        bands.append(svg.Band(start, stop, f"F{i}", text))
        items.append(f'<li><span class="tag fault">F{i}</span>{fmt.seconds(start)}–{fmt.seconds(stop)}: '
                     f"{esc1(text)}</li>")
        if until is not None:
            last_end = max(last_end or 0.0, until)
    marks: list[svg.Mark] = []
    for row in r.timeline:
        for label in row.get("marks") or ():
            n = len(marks) + 1
            marks.append(svg.Mark(float(row["t"]), str(n), f"{row['t']}s: {fmt.one_line(label)}"))
            items.append(f'<li><span class="tag mark">{n}</span>in second {row["t"]} '
                         f"({fmt.seconds(row['t'])}–{fmt.seconds(row['t'] + 1)}): {esc1(label)}</li>")
    live_breaks = any(str(label).startswith("endpoint:") for row in r.timeline for label in row.get("marks") or ())
    # The drain runs from the end of the last fault window or live break; a live break is known here
    # only to its second, so the band is drawn only when the scenario's windows are all there was.
    if r.drain is not None and last_end is not None and not live_breaks:
        bands.append(svg.Band(last_end, last_end + r.drain, "D",
                              f"drain: {fmt.seconds(r.drain)} from the end of the last fault window until the "
                              "consumer lag was back to its level before it", css="drain"))
        items.append(f'<li><span class="tag drain">D</span>{fmt.seconds(last_end)}–'
                     f"{fmt.seconds(last_end + r.drain)}: drain, {esc1(fmt.seconds(r.drain))} until the "
                     "consumer lag was back to its level before the fault</li>")
    elif r.drain is not None:
        items.append(f"<li>drain: {esc1(fmt.seconds(r.drain))} after the last fault or live break ended</li>")
    return bands, marks, items


def _column(rows: Sequence[Mapping[str, Any]], key: str) -> list[float | None]:
    return [row.get(key) for row in rows]


def _timeline(r: RunResult, bands: list[svg.Band], marks: list[svg.Mark], items: list[str]) -> list[str]:
    if not r.timeline:
        return ['<p class="muted">No timeline: the run ended before its first second was counted.</p>']
    out = []
    if items:
        out.append('<ul class="events">' + "".join(items) + "</ul>")
    else:
        out.append('<p class="muted">No fault window, live break or settings change in this run.</p>')
    rows = r.timeline
    messages = [
        svg.Line("delivered per second (message-attempts)", "c1", _column(rows, "delivered")),
        svg.Line("failed or skipped per second (message-attempts)", "c3", _column(rows, "errors")),
        svg.Line("in flight (messages)", "c4", _column(rows, "in_flight"), dashed=True),
    ]
    out.append(figure("Messages per second, and messages in flight",
                      svg.time_chart(messages, time_axis(r), label="messages per second", bands=bands, marks=marks),
                      after=legend([("c1", "delivered/s"), ("c3", "failed or skipped/s"),
                                    ("c4 dashed", "in flight (at the end of each second)"), *_band_legend(bands, marks)])))
    requests = [svg.Line("requests per second", "c2", _column(rows, "requests")),
                svg.Line("retries per second", "c5", _column(rows, "retries"))]
    out.append(figure("Requests per second (retries included)",
                      svg.time_chart(requests, time_axis(r), label="requests per second", bands=bands, marks=marks,
                                     height=180),
                      after=legend([("c2", "requests/s"), ("c5", "of them retries/s"), *_band_legend(bands, marks)])))
    return out


def _band_legend(bands: Sequence[svg.Band], marks: Sequence[svg.Mark]) -> list[tuple[str, str]]:
    out = []
    if any(b.css == "fault" for b in bands):
        out.append(("box fault", "fault window"))
    if any(b.css == "drain" for b in bands):
        out.append(("box drain", "drain"))
    if marks:
        out.append(("mark", "event (numbered above)"))
    return out


# -- latency ----------------------------------------------------------------------------------

_PERCENTILE_LINES = (("p50", "c2", False), ("p90", "c8", False), ("p99", "c5", False), ("max", "c3", True))


def _latency(r: RunResult, bands: list[svg.Band], marks: list[svg.Mark]) -> list[str]:
    columns = ("count", "min", "p50", "p90", "p95", "p99", "max", "avg")
    rows = [[kind, *(fmt.ms_column(r.latency.get(kind) or {}, c) for c in columns)] for kind in fmt.LATENCY_KINDS]
    out = ['<p class="muted">Request latency: one HTTP attempt. Delivery latency: from the moment a message could '
           "be polled until the endpoint acknowledged it, retries and re-polls included.</p>",
           table(["", *columns], rows, numeric=[False] + [True] * len(columns))]
    if r.series:
        for kind in fmt.LATENCY_KINDS:
            lines = [svg.Line(name, css, [(row.get(kind) or {}).get(name) for row in r.series], dashed)
                     for name, css, dashed in _PERCENTILE_LINES]
            if not any(v is not None for line in lines for v in line.values):
                continue
            out.append(figure(f"{kind.capitalize()} latency per second (log scale)",
                              svg.time_chart(lines, time_axis(r), label=f"{kind} latency per second", log=True,
                                             bands=bands, marks=marks, height=200),
                              after=legend([(css + (" dashed" if dashed else ""), name)
                                            for name, css, dashed in _PERCENTILE_LINES] + _band_legend(bands, marks))))
    hists = []
    for kind, css in (("request", "c2"), ("delivery", "c1")):
        buckets = r.distributions.get(kind) or []
        block = r.latency.get(kind) or {}
        markers = [(float(block[p]), p) for p in ("p50", "p99") if block.get(p)]
        if buckets:
            hists.append(figure(f"{kind.capitalize()} latency distribution (share of {fmt.count(block.get('count'))} "
                                "values; log scale)",
                                svg.histogram_chart(buckets, label=f"{kind} latency distribution", css=css,
                                                    markers=markers)))
    if hists:
        out.append('<div class="grid2">' + "".join(hists) + "</div>")
    return out


# -- status codes -------------------------------------------------------------------------------

def status_group(code: str) -> str:
    """The colour group of a status: "2xx", "429", "5xx", ..., "no answer" for a transport error."""
    if not code.isdigit():
        return "no answer"
    if code == "429":
        return "429"
    return f"{code[0]}xx" if code[0] in "12345" else "no answer"


def _status(r: RunResult, bands: list[svg.Band], marks: list[svg.Mark]) -> list[str]:
    out = []
    if r.series and any(row.get("status") for row in r.series):
        groups = [g for g in STATUS_CLASSES if any(status_group(c) == g for row in r.series for c in row.get("status") or {})]
        bars = []
        for row in r.series:
            counts: dict[str, int] = {}
            for code, n in (row.get("status") or {}).items():
                counts[status_group(code)] = counts.get(status_group(code), 0) + n
            bars.append(svg.Bar(int(row["t"]), [(_STATUS_COLOUR[g], counts.get(g, 0)) for g in groups]))
        out.append(figure("Requests per second by answer",
                          svg.bar_chart(bars, time_axis(r), label="requests per second by status", bands=bands,
                                        marks=marks),
                          after=legend([(f"box {_STATUS_COLOUR[g]}", g) for g in groups] + _band_legend(bands, marks))))
    codes = fmt.sorted_status_codes(r.status_codes)
    if codes:
        out.append(table(["answer", "requests"], [[esc1(c), fmt.count(n)] for c, n in codes], numeric=[False, True]))
    else:
        out.append('<p class="muted">No request was sent.</p>')
    errors = fmt.sorted_errors(r.errors)
    out.append(f"<h3>{fmt.FAILED_ATTEMPTS_LABEL.capitalize()}</h3>")
    if errors:
        rows = [[esc1(reason), fmt.count(n)] for reason, n in errors[:MAX_ERROR_ROWS]]
        if len(errors) > MAX_ERROR_ROWS:
            rest = errors[MAX_ERROR_ROWS:]
            rows.append([f"… {len(rest)} more reasons (see the JSON report)", fmt.count(sum(n for _, n in rest))])
        out.append(table(["reason", "message-attempts"], rows, numeric=[False, True]))
    else:
        out.append('<p class="muted">none</p>')
    skipped = fmt.skipped_rows(r)
    if skipped:
        out.append(f"<h3>{fmt.SKIPPED_LABEL.capitalize()}</h3>")
        out.append(table(["reason", "messages", "message-attempts"],
                         [[esc1(c), fmt.count(n), fmt.count(a)] for c, n, a in skipped], numeric=[False, True, True]))
    return out


# -- accounting, settings, endpoint ---------------------------------------------------------------

def _accounting(r: RunResult) -> list[str]:
    t = r.totals
    rows = []
    for name in (*fmt.MESSAGE_COUNTS, *fmt.HTTP_COUNTS):
        value = fmt.result_total(r, name)      # an external sink's failed and skipped: n/a
        bad = name in ("lost", "duplicates", "failed", "undelivered") and bool(t.get(name))
        cell = f'<strong class="fail">{value}</strong>' if bad else value
        rows.append([name, cell, esc1(MEANINGS[name])])
    out = ["<p>Every message has one outcome: delivered + failed + skipped + undelivered = total. Lost and "
           "duplicates come from the endpoint's own ledger of what it accepted, not from what the sink "
           "believed: a message the sink counted as failed may still have arrived, and one it counted as "
           "delivered may have arrived twice.</p>",
           table(["count", "value", "meaning"], rows, numeric=[False, True, False])]
    note = fmt.unknown_counts_note(r)
    if note:
        out.append(f'<p class="muted">{esc1(note)}</p>')
    attempts = t.get("message_attempts")
    if attempts is not None:
        out.append(f'<p class="muted">{fmt.count(attempts)} message-attempts: a message counts again each time its '
                   "batch is polled again.</p>")
    return out


def _value(value: Any) -> str:
    if isinstance(value, (dict, list, tuple)):
        text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
        return f"<code>{esc1(text)}</code>"
    if value is None:
        return '<span class="muted">none</span>'
    if isinstance(value, bool):
        return "true" if value else "false"
    return esc1(value)


def _settings(r: RunResult) -> list[str]:
    out = ['<p class="muted">As the run used them (durations in seconds); credentials, secret headers and '
           "${VAR} values are redacted.</p>", '<div class="grid2">']
    groups = [(k, v) for k, v in r.settings.items() if isinstance(v, dict)]
    for name, values in groups:
        items = "".join(f"<dt>{esc1(k)}</dt><dd>{_value(v)}</dd>" for k, v in values.items())
        out.append(f'<div><h3>{esc1(name)}</h3><dl class="settings">{items}</dl></div>')
    rest = [(k, v) for k, v in r.settings.items() if not isinstance(v, dict)]
    if rest:
        items = "".join(f"<dt>{esc1(k)}</dt><dd>{_value(v)}</dd>" for k, v in rest)
        out.append(f'<div><h3>run</h3><dl class="settings">{items}</dl></div>')
    out.append("</div>")
    return out


def _endpoint(r: RunResult) -> list[str]:
    if r.endpoint is None:
        return ['<p class="muted">The sink delivered to a real URL: no endpoint stats (and lost and duplicates are '
                "unknown).</p>"]
    rows = [[esc1(k), _value(v)] for k, v in r.endpoint.items()]
    return ['<p class="muted">The mock endpoint\'s stats at the end of the run.</p>',
            table(["stat", "value"], rows, numeric=[False, False])]
