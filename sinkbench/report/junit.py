"""The `--junit F.xml` file: JUnit XML as Jenkins, GitLab and GitHub test reporters read it.

    <testsuites name="sinkbench" tests failures errors time>
      <testsuite name="<scenario>" tests failures errors skipped time timestamp>
        <properties> status, file, ... </properties>
        <testcase classname="sinkbench.<scenario>" name="run status" time="<duration>">
          <system-out> the console summary </system-out>
        </testcase>
        <testcase classname="sinkbench.<scenario>" name="lost == 0" .../>
        <testcase classname="sinkbench.<scenario>" name="latency.delivery p(95) &lt; 2s">
          <failure message="expected latency.delivery p(95) &lt; 2s, observed 2.41s" type="expectation">
            p(95) = 2.41s (expected &lt; 2s)</failure>
        </testcase>
      </testsuite>
    </testsuites>

Every scenario has a "run status" test case, so that a suite is never empty
(Jenkins fails on an empty report) and a test of that name has a history
across builds: it passes when the run completed, fails when it timed out or
the sink could not be opened, and is an error when the run was interrupted.
The console summary is the `<system-out>` of the "run status" case, where
GitLab (which ignores a suite's output) and Jenkins both show it; the strict
Ant schema has output only per suite, which the common consumers do not require.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import UTC, datetime

from sinkbench.report import _text as fmt
from sinkbench.report._files import atomic_write
from sinkbench.report.console import summary_text
from sinkbench.report.jsonreport import as_list
from sinkbench.run.result import ExpectationResult, RunResult, RunStatus

RUN_STATUS_CASE = "run status"

# Characters XML 1.0 cannot carry at all, not even escaped; ElementTree would
# write them raw and produce a file no parser accepts.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def junit_xml(results: RunResult | Iterable[RunResult]) -> str:
    """The JUnit XML document for one or several runs, with an XML declaration."""
    runs = as_list(results)
    suites = [_suite(r) for r in runs]
    root = ET.Element("testsuites", {
        "name": "sinkbench",
        "tests": str(sum(int(s.get("tests", 0)) for s in suites)),
        "failures": str(sum(int(s.get("failures", 0)) for s in suites)),
        "errors": str(sum(int(s.get("errors", 0)) for s in suites)),
        "time": _time(sum(r.duration for r in runs)),
    })
    root.extend(suites)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(results: RunResult | Iterable[RunResult], path: str | os.PathLike[str]) -> None:
    """Write the JUnit XML to `path` atomically (a temporary file renamed over it)."""
    atomic_write(path, junit_xml(results).encode("utf-8"))


def _suite(result: RunResult) -> ET.Element:
    name = _x(result.scenario)
    classname = f"sinkbench.{name}"
    cases = [_status_case(result, classname)]
    cases += [_expectation_case(e, classname) for e in result.expectations]
    suite = ET.Element("testsuite", {
        "name": name,
        "tests": str(len(cases)),
        "failures": str(sum(1 for c in cases if c.find("failure") is not None)),
        "errors": str(sum(1 for c in cases if c.find("error") is not None)),
        "skipped": "0",
        "time": _time(result.duration),
        "timestamp": _timestamp(result.started_at),
    })
    properties = ET.SubElement(suite, "properties")
    for key, value in (("status", str(result.status)), ("passed", str(result.passed).lower()),
                       ("file", result.file), ("description", result.description),
                       ("duration_s", _time(result.duration)),
                       ("drain_s", None if result.drain is None else _time(result.drain))):
        if value:
            ET.SubElement(properties, "property", {"name": key, "value": _x(value)})
    suite.extend(cases)
    return suite


def _status_case(result: RunResult, classname: str) -> ET.Element:
    case = ET.Element("testcase", {"classname": classname, "name": RUN_STATUS_CASE,
                                   "time": _time(result.duration)})
    status = str(result.status)
    # A sink that did not open is judged by the scenario's expectations (docs/reports.md);
    # a timeout or an interruption means the run proved nothing.
    if status != RunStatus.COMPLETED and not (status == RunStatus.SINK_NOT_OPENED and result.passed):
        tag = "error" if status == RunStatus.INTERRUPTED else "failure"
        message = f"run {fmt.status_text(result)}"
        if result.notes:
            message += f": {fmt.one_line(result.notes[0])}"
        problem = ET.SubElement(case, tag, {"message": _x(message), "type": _x(status)})
        problem.text = _x("\n".join(fmt.clean(n) for n in result.notes) or message)
    ET.SubElement(case, "system-out").text = _x(summary_text(result, color=False))
    output = (result.external or {}).get("output")
    if output:      # an external sink's own output (secrets redacted), where CI shows a test's stderr
        ET.SubElement(case, "system-err").text = _x(f"output of the sink's command (secrets redacted):\n{output}")
    return case


def _expectation_case(e: ExpectationResult, classname: str) -> ET.Element:
    metric, expression = fmt.one_line(e.metric), fmt.one_line(e.expression)
    case = ET.Element("testcase", {"classname": classname, "name": _x(f"{metric} {expression}"),
                                   "time": "0"})
    if not e.passed:
        message = f"expected {metric} {expression}, observed {fmt.one_line(e.observed_text)}"
        failure = ET.SubElement(case, "failure", {"message": _x(message), "type": "expectation"})
        failure.text = _x(fmt.clean(e.detail) or message)
    return case


def _x(text: object) -> str:
    """`text` with the characters XML cannot hold shown as `\\xNN` / `\\uNNNN`."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                        else f"\\u{ord(m.group()):04x}", str(text))


def _time(seconds: float) -> str:
    return f"{max(seconds, 0.0):.3f}"


def _timestamp(started_at: str) -> str:
    """ISO 8601 in UTC to the second ("2026-11-26T12:00:00+00:00"); text that does not parse, as is."""
    try:
        moment = datetime.fromisoformat(started_at)
    except (TypeError, ValueError):
        return _x(started_at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")
