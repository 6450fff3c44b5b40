import re
from dataclasses import replace

from sinkbench.report import expectation_line, overview_text, summary_text

from .results import (
    failing_run,
    interrupted_run,
    no_expectations_run,
    passing_run,
    real_url_run,
    sink_not_opened_run,
    skipping_run,
    timeout_run,
)

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_failing_run_lines():
    text = summary_text(failing_run(), color=False)
    lines = text.splitlines()
    assert lines[0] == "outage-503 — completed after 23.4s  (scenarios/outage-503.toml)"
    assert lines[1] == "  Endpoint returns 503 for 10 s in the middle of the run"
    assert "  messages              requests" in lines
    assert "  total        5,000    sent      612" in lines
    assert "  undelivered      0    time" in lines
    assert "  lost           188    duration  23.4s" in lines
    assert "  delivery  4,812  150ms   1.8s   2.41s      9s  12s" in lines
    assert "  requests by status       200 × 500, 503 × 112" in lines
    assert "  failed message-attempts  188  http 503 after 4 attempts" in lines
    assert not any(line.startswith("  skipped messages") for line in lines)     # none skipped
    assert "  ✓ duplicates == 0 (observed 0)" in lines
    assert "  ✗ latency.delivery p(95) < 2s (observed 2.41s)" in lines
    assert "      p(95) = 2.41s (expected < 2s)" in lines
    assert "  ✓ latency.delivery max < 15s (observed 12s)" in lines
    assert any(line.startswith("  delivered      ███") and line.endswith("peak 500 message-attempts/s")
               for line in lines)
    assert "  warning: retry_delay (5s) is greater than max_retry_delay (2s); the two were swapped" in lines
    assert lines[-1] == "FAILED  outage-503: 3 of 6 expectations failed"
    assert text.endswith("\n")
    assert "\x1b" not in text


def test_passing_run_verdict_and_no_detail_lines():
    lines = summary_text(passing_run(), color=False).splitlines()
    assert lines[-1] == "PASSED  steady: all 2 expectations held"
    assert "  ✓ delivered == total (observed 5000)" in lines
    expectations = lines[lines.index("  expectations"):]
    assert not any(line.startswith("      ") for line in expectations)


def test_colour_is_only_decoration():
    for r in (failing_run(), passing_run(), timeout_run()):
        coloured = summary_text(r, color=True)
        assert "\x1b[" in coloured
        assert ANSI.sub("", coloured) == summary_text(r, color=False)
    coloured = summary_text(failing_run(), color=True)
    assert "\x1b[31m✗\x1b[0m latency.delivery" in coloured
    assert "\x1b[32m✓\x1b[0m duplicates" in coloured


def test_unknown_counts():
    text = summary_text(real_url_run(), color=False)
    assert "  lost         unknown" in text
    assert "  duplicates   unknown" in text
    assert "(lost and duplicates unknown: the sink delivers to a real URL" in text
    assert "  ✗ lost == 0 (observed unknown)" in text
    assert "      lost is unknown: the sink's url is not the embedded mock" in text


def test_status_other_than_completed():
    text = summary_text(timeout_run(), color=False)
    assert text.startswith("slow-drain — timed out after 30s")
    assert text.splitlines()[-1] == "FAILED  slow-drain: the expectation held, run timed out"
    assert "  note: timeout after 30s: 120 messages still pending count as undelivered" in text
    text = summary_text(sink_not_opened_run(), color=False)
    assert text.splitlines()[-1] == "PASSED  health-down: the expectation held, sink not opened"
    assert "  delivery      0    –      –      –      –      –" in text
    assert "  failed message-attempts  none" in text
    assert "message-attempts/s" not in text       # no timeline rows
    assert summary_text(interrupted_run(), color=False).splitlines()[-1] == \
        "FAILED  interrupted: all 2 expectations held, run interrupted"


def test_counts_say_their_unit_and_skipped_messages_count_once():
    # after_consuming polled the batch holding 10 oversize messages again and again: 3,430 skips of
    # 10 messages. The summary counts messages, and says the per-pass figure is message-attempts.
    lines = summary_text(skipping_run(), color=False).splitlines()
    assert "  skipped         10" in lines
    assert "  requests by status       200 × 4,990, 503 × 39" in lines
    assert "  failed message-attempts  804  status 503" in lines
    assert "  skipped messages          10  oversize (skipped on 3,430 message-attempts)" in lines
    assert not any(line.lstrip().startswith(("errors", "status codes")) for line in lines)


def test_a_skip_attempted_once_per_message_says_no_attempts():
    r = replace(skipping_run(), skipped_attempts={"oversize": 10, "unencodable": 2}, skipped={"oversize": 10})
    lines = summary_text(r, color=False).splitlines()
    assert "  skipped messages          10  oversize" in lines
    # skipped on a pass, then delivered on a later one (live tuning): no message left skipped
    assert "                             0  unencodable (skipped on 2 message-attempts)" in lines


def test_no_expectations():
    text = summary_text(no_expectations_run(), color=False)
    assert "  no expectations" in text
    assert text.splitlines()[-1] == "PASSED  smoke: no expectations"


def test_terminal_escapes_from_the_run_are_neutralised():
    r = replace(failing_run(), errors={"server said \x1b[2J\x1b[31mboom\r\nnext": 3},
                description="line one\nline two\ttab")
    text = summary_text(r, color=False)
    assert "\x1b" not in text and "\r" not in text
    assert "server said \\x1b[2J\\x1b[31mboom next" in text
    assert "  line one line two tab" in text


def test_many_error_reasons_are_cut():
    r = replace(failing_run(), errors={f"reason {i:02d}": 100 - i for i in range(15)})
    lines = summary_text(r, color=False).splitlines()
    assert sum("reason " in line for line in lines) == 10
    assert any("… 5 more reasons (see the JSON report)" in line for line in lines)


def test_expectation_line():
    e = failing_run().expectations[4]
    assert expectation_line(e) == "✗ latency.delivery p(95) < 2s (observed 2.41s)"


def test_overview():
    text = overview_text([failing_run(), passing_run()], color=False)
    assert text == ("✗ outage-503  3 of 6 expectations failed\n"
                    "✓ steady      all 2 expectations held\n"
                    "FAILED  1 of 2 scenarios passed\n")
    assert overview_text([passing_run()], color=False).endswith("PASSED  1 of 1 scenario passed\n")
