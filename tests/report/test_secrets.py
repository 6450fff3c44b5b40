"""Reports print what the RunResult holds and nothing else: they never bring a secret back."""

import io
from dataclasses import replace

from sinkbench.report import (
    ProgressLine,
    json_bytes,
    junit_xml,
    markdown_summary,
    overview_text,
    summary_text,
    write_json,
    write_junit,
    write_markdown,
)
from sinkbench.report.html import html_report, write_html

from .results import SECRET_TOKEN, failing_run, real_url_run, sink_not_opened_run


def redacted_runs():
    runs = [failing_run(), real_url_run(), sink_not_opened_run()]
    return [replace(r, notes=[*r.notes, "health check: GET https://api.example.com/?token=[redacted]"]) for r in runs]


def test_no_report_contains_a_secret_the_result_holds_only_redacted(tmp_path, monkeypatch):
    # The secret is in the environment (where `${API_TOKEN}` took it from) and
    # nowhere in the results, which hold "[redacted]" instead.
    monkeypatch.setenv("API_TOKEN", SECRET_TOKEN)
    monkeypatch.setenv("IGGY_CONNECTORS_SINK_HTTP_PLUGIN_CONFIG_HEADERS_AUTHORIZATION", f"Bearer {SECRET_TOKEN}")
    runs = redacted_runs()
    assert SECRET_TOKEN not in repr(runs)
    outputs = [json_bytes(runs).decode(), junit_xml(runs), markdown_summary(runs),
               overview_text(runs, color=True), html_report(runs), *(html_report(r) for r in runs)]
    outputs += [summary_text(r, color=c) for r in runs for c in (False, True)]
    write_json(runs, tmp_path / "r.json")
    write_junit(runs, tmp_path / "r.xml")
    write_markdown(runs, tmp_path / "r.md")
    write_html(runs, tmp_path / "r.html")
    outputs += [p.read_text("utf-8") for p in tmp_path.iterdir()]
    for text in outputs:
        assert SECRET_TOKEN not in text
    assert "[redacted]" in outputs[0] and "[redacted]" in outputs[2] and "[redacted]" in outputs[4]


def test_progress_line_prints_only_the_snapshot():
    out = io.StringIO()
    p = ProgressLine(out, tty=True, now=lambda: 0.0, width=500)
    p.update({"elapsed": 1.0, "delivered": 1, "total": 2, "token": SECRET_TOKEN})
    p.finish()
    assert SECRET_TOKEN not in out.getvalue()
