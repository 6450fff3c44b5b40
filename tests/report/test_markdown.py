import re
from dataclasses import replace

import pytest

from sinkbench.report import markdown_summary, write_markdown
from sinkbench.report.markdown import code, escape, fence

from .results import (
    ALL_RUNS,
    failing_run,
    no_expectations_run,
    passing_run,
    real_url_run,
    skipping_run,
    timeout_run,
)

_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def tables(text):
    """Every GFM table as a list of rows, each a list of cell texts."""
    found, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append([c.strip() for c in _CELL_SPLIT.split(line)[1:-1]])
        elif current:
            found.append(current)
            current = []
    if current:
        found.append(current)
    return found


def table_after(text, heading):
    return tables(text.split(heading, 1)[1])[0]


@pytest.mark.parametrize("name", sorted(ALL_RUNS))
def test_every_table_is_rectangular(name):
    for table in tables(markdown_summary([ALL_RUNS[name]()])):
        assert len({len(row) for row in table}) == 1, table


def test_failing_run():
    md = markdown_summary([failing_run()])
    assert md.startswith("## ❌ outage-503 — failed\n")
    assert "Endpoint returns 503 for 10 s in the middle of the run" in md
    messages = table_after(md, "### Messages")
    assert messages[0] == ["total", "delivered", "failed", "skipped", "undelivered", "lost", "duplicates"]
    assert messages[2] == ["5,000", "4,812", "188", "0", "0", "188", "0"]
    assert table_after(md, "### Requests") == [["sent", "retries", "bytes"], ["---:"] * 3,
                                               ["612", "112", "1.18 MiB"]]
    latency = table_after(md, "### Latency")
    assert latency[0] == ["", "count", "p50", "p90", "p95", "p99", "max"]
    assert latency[2] == ["request", "612", "3.1ms", "8.2ms", "12.5ms", "40.1ms", "2s"]
    assert latency[3] == ["delivery", "4,812", "150ms", "1.8s", "2.41s", "9s", "12s"]
    assert table_after(md, "### Requests by status")[0] == ["status", "requests"]
    assert table_after(md, "### Requests by status")[2:] == [["200", "500"], ["503", "112"]]
    assert table_after(md, "### Failed message-attempts")[0] == ["reason", "message-attempts"]
    assert table_after(md, "### Failed message-attempts")[2:] == [["http 503 after 4 attempts", "188"]]
    assert "### Skipped messages" not in md          # none skipped
    expectations = table_after(md, "### Expectations")
    assert expectations[0] == ["", "metric", "expression", "observed", "detail"]
    assert ["✗", "`latency.delivery`", "`p(95) < 2s`", "2.41s", r"p(95) = 2.41s (expected \< 2s)"] in expectations
    assert ["✓", "`duplicates`", "`== 0`", "0", "duplicates = 0 (expected == 0)"] in expectations
    assert "### Warnings\n\n- retry\\_delay (5s) is greater" in md
    assert "<summary>Settings (effective, secrets redacted)</summary>" in md
    assert "<summary>Endpoint stats</summary>" in md


def test_timeline_is_a_sparkline_with_the_outage_as_a_gap():
    md = markdown_summary([failing_run()])
    block = md.split("### Timeline (per second)\n\n```text\n", 1)[1].split("\n```", 1)[0]
    delivered, retries, errors, axis = block.splitlines()
    assert delivered.startswith("delivered      ███" + " " * 10 + "█")
    assert delivered.endswith("peak 500 message-attempts/s")
    assert retries.startswith("retries           ██████████")
    assert retries.endswith("peak 6 requests/s")
    assert errors.startswith("failed/skipped")
    assert errors.endswith("peak 19 message-attempts/s")
    assert axis.strip().startswith("0s") and axis.endswith("24s")


def test_unknown_counts_with_a_real_url():
    md = markdown_summary([real_url_run()])
    messages = table_after(md, "### Messages")
    assert messages[2][5:7] == ["unknown", "unknown"]
    assert "_lost and duplicates unknown: the sink delivers to a real URL" in md
    assert ["✗", "`lost`", "`== 0`", "unknown", "lost is unknown: the sink's url is not the embedded mock"] \
        in table_after(md, "### Expectations")
    assert "Endpoint stats" not in md


def test_no_expectations_and_no_errors():
    md = markdown_summary([no_expectations_run()])
    assert md.startswith("## ✅ smoke — passed")
    assert "### Expectations\n\nnone\n" in md
    assert "### Failed message-attempts\n\nnone\n" in md


def test_timeout_status_is_visible():
    md = markdown_summary([timeout_run()])
    assert "**timed out** after 30s" in md
    assert "run timed out" in md
    assert "### Notes\n\n- timeout after 30s" in md


def test_several_runs_have_an_overview():
    md = markdown_summary([failing_run(), passing_run()])
    assert md.startswith("# ❌ sinkbench: 1 of 2 scenarios passed\n")
    overview = tables(md)[0]
    assert overview[0][:2] == ["", "scenario"]
    assert [row[:2] for row in overview[2:]] == [["❌", "outage-503"], ["✅", "steady"]]
    assert md.count("\n## ") == 2
    assert markdown_summary([passing_run(), passing_run()]).startswith("# ✅ sinkbench: 2 of 2")


def test_hostile_text_cannot_break_tables_or_inject_html():
    r = replace(failing_run(), scenario="<script>alert(1)</script>", description="- not\na list | x",
                errors={"bad | reason <b>": 3, "`tick`": 1})
    md = markdown_summary([r])
    assert "<script>" not in md and "<b>" not in md
    assert "## ❌ \\<script\\>alert(1)\\</script\\>" in md
    assert "\n\\- not a list \\| x\n" in md
    rows = table_after(md, "### Failed message-attempts")
    assert rows[2] == ["bad \\| reason \\<b\\>", "3"]
    assert rows[3] == ["\\`tick\\`", "1"]


def test_building_blocks():
    assert escape("a|b\n*c*") == "a\\|b \\*c\\*"
    assert code("a`b") == "``a`b``"
    assert code("`x") == "`` `x ``"
    assert code("a|b") == "`a\\|b`"
    assert fence("x ``` y", "text") == ["````text", "x ``` y", "````"]


def test_write_replaces_and_appends(tmp_path):
    path = tmp_path / "summary.md"
    path.write_text("old")
    write_markdown([passing_run()], path)
    first = path.read_text("utf-8")
    assert first.startswith("## ✅ steady")
    write_markdown([failing_run()], path, append=True)
    both = path.read_text("utf-8")
    assert both.startswith(first)
    assert "\n\n## ❌ outage-503" in both


def test_append_to_a_step_summary_with_text_already_there(tmp_path):
    path = tmp_path / "step_summary"
    path.write_text("# Build")          # no final newline
    write_markdown([passing_run()], path, append=True)
    assert path.read_text("utf-8").startswith("# Build\n\n## ✅ steady")


def test_skipped_messages_count_each_message_once_beside_their_attempts():
    md = markdown_summary([skipping_run()])
    assert table_after(md, "### Skipped messages") == [["reason", "messages", "message-attempts"],
                                                       [":---", "---:", "---:"], ["oversize", "10", "3,430"]]
    assert table_after(md, "### Messages")[2][3] == "10"
    assert table_after(md, "### Failed message-attempts")[2:] == [["status 503", "804"]]
