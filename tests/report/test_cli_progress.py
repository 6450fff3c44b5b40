"""`sinkbench run` with stderr not a terminal (a CI log, `2>err.txt`): the progress ends with the final figures."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

import sinkbench.report
from sinkbench.cli import main
from sinkbench.report.console import ProgressLine

SCENARIO = """\
[scenario]
timeout = "20s"
[source]
kind = "synthetic"
count = 300
rate = 300
payload_bytes = 64
[runtime]
batch_length = 20
poll_interval = "5ms"
[sink]
url = "mock"
batch_mode = "ndjson"
"""


class QuickProgressLine(ProgressLine):
    """The CLI's progress line with a line every 0.2 s instead of every 5 s, so a 1 s run logs some."""

    def __init__(self, stream, *, tty: bool, **kw) -> None:
        super().__init__(stream, tty=tty, interval_s=0.2, **kw)


def test_a_log_gets_periodic_statements_and_last_the_final_figures(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sinkbench.report, "ProgressLine", QuickProgressLine)
    path = tmp_path / "s.toml"
    path.write_text(SCENARIO)
    out, err = io.StringIO(), io.StringIO()          # not terminals: isatty() is False
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["run", str(path)])
    assert code == 0, err.getvalue()
    lines = err.getvalue().splitlines()
    assert len(lines) >= 2, lines
    assert all(line.startswith("progress at ") for line in lines[:-1]), lines
    assert "\r" not in err.getvalue() and "\x1b" not in err.getvalue()
    # The last line is the run's end, from the same figures as the summary — not a snapshot from before it.
    last = lines[-1]
    assert re.match(r"finished after \d+(\.\d+)?s: 300 of 300 messages delivered \(100%\); 0 lost, 0 duplicates; "
                    r"\d+ requests, 0 of them retries; 0 message-attempts failed or skipped$", last), last
    summary = out.getvalue()
    requests = re.search(r"sent\s+(\d+)", summary)
    assert requests and f"; {requests.group(1)} requests," in last
