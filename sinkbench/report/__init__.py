"""Reports of a finished bench run (docs/reports.md), each read from one `RunResult`:
JSON (`--report`), JUnit XML (`--junit`), Markdown (`--summary`) and the
console's end-of-run summary and live progress line.

Plain functions over `sinkbench.run.result.RunResult`; no Textual, no rich.
"""

from sinkbench.report.console import (
    ProgressLine,
    expectation_line,
    final_progress,
    overview_text,
    progress_statement,
    progress_text,
    summary_text,
)
from sinkbench.report.jsonreport import json_bytes, json_report, write_json
from sinkbench.report.junit import junit_xml, write_junit
from sinkbench.report.markdown import markdown_summary, write_markdown
from sinkbench.report.sparkline import sparkline, timeline_picture

__all__ = [
    "ProgressLine",
    "expectation_line",
    "final_progress",
    "json_bytes",
    "json_report",
    "junit_xml",
    "markdown_summary",
    "overview_text",
    "progress_statement",
    "progress_text",
    "sparkline",
    "summary_text",
    "timeline_picture",
    "write_json",
    "write_junit",
    "write_markdown",
]
