"""`sinkbench run SCENARIO...`: headless bench runs for CI."""

from __future__ import annotations

import argparse
import sys

HELP = "run scenarios headless: exit code, progress, JSON/JUnit/Markdown/HTML reports"
DESCRIPTION = """\
Run each SCENARIO: replay its stream through the sink engine into the embedded
mock endpoint (url = "mock") or a real URL, check its [expect] section and
print a summary. Every scenario is validated before the first one runs.

examples:
  sinkbench run scenarios/quickstart.toml
  sinkbench run scenarios/outage-503.toml --set sink.batch_mode=ndjson \\
      --set sink.max_retries=5 --junit out/junit.xml --summary out/summary.md
  sinkbench run scenarios/*.toml --report out/report.json --quiet
  sinkbench run scenarios/outage-503.toml --html out/outage.html

--set takes dotted keys into the scenario (sink.batch_mode=ndjson,
endpoint.latency=5ms, runtime.offset_commit=after_consuming); values are TOML
values, bare words are strings. As with `sweep --vary`, a [sink] key may leave
out its section (max_retries=5), and so may batch_length, poll_interval and
offset_commit ([runtime]); a name two sections share (timeout) needs its own.

Every report path is checked before the first run. A regular file is
replaced whole (through a symlink, its target); a FIFO or a device such as
/dev/stdout is written as it is. See docs/cli.md and docs/reports.md.

Progress goes to stderr (one updating line on a terminal; otherwise a plain
line every 5 s and a last one with the final figures); the summary goes to
stdout.

Exit codes: 0 every expectation held (also when there are none); 1 an
expectation failed, or the run was interrupted; 2 invalid input (the message
names the file, line or key), also found mid-run: a recorded stream with a
bad line stops there, and its reports are written with status invalid_input;
3 the bench itself could not run (the mock endpoint could not start, an
internal error).
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="scenario file(s) (TOML)")
    parser.add_argument("--report", metavar="F.json", help="write the JSON report here")
    parser.add_argument("--junit", metavar="F.xml", help="write a JUnit XML report here (one testcase per expectation)")
    parser.add_argument("--summary", metavar="F.md", help="write a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY)")
    parser.add_argument("--html", metavar="F.html",
                        help="write the HTML report here: one self-contained page of charts (docs/html.md)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a scenario key, e.g. sink.max_retries=5 (repeatable)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    parser.add_argument("--verbose", "-v", action="count", default=0,
                        help="engine logs on stderr (-v info, -vv debug); secrets are redacted")


def main(args: argparse.Namespace) -> int:
    import logging
    import os

    logger = logging.getLogger("sinkbench")
    handler = logging.StreamHandler(sys.stderr)
    if args.verbose:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG if args.verbose > 1 else logging.INFO)
    try:
        return _run(args, color=sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    finally:
        logger.removeHandler(handler)


REPORT_OPTIONS = (("--report", "report"), ("--junit", "junit"), ("--summary", "summary"), ("--html", "html"))


def _run(args: argparse.Namespace, color: bool) -> int:
    import asyncio
    import os
    import signal

    from sinkbench.errors import BenchError, InputError
    from sinkbench.outfile import output_problems
    from sinkbench.report import ProgressLine, summary_text, write_json, write_junit, write_markdown
    from sinkbench.report.html import write_html
    from sinkbench.run.bench import BenchRun
    from sinkbench.run.inputcheck import judge_input
    from sinkbench.scenario.load import load_scenario

    scenarios = []
    invalid = False
    for problem in output_problems([(option, getattr(args, name)) for option, name in REPORT_OPTIONS]):
        invalid = True
        print(f"error: {problem}", file=sys.stderr)
    for path in args.scenarios:
        try:
            scenarios.append(load_scenario(path, args.overrides))
        except InputError as exc:
            invalid = True
            for line in str(exc).splitlines():
                print(f"error: {line}", file=sys.stderr)
    if invalid:
        return 2
    results = []
    code = 0

    async def run_one(bench: BenchRun):
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, bench.interrupt)
        progress = None if args.quiet else ProgressLine(sys.stderr, tty=sys.stderr.isatty())
        result = None
        try:
            result = await bench.run(progress=(lambda snap: progress.update(snap.progress())) if progress else None)
            return result
        finally:
            if progress is not None:
                progress.finish(result)     # the run's final figures, never a snapshot taken before its end
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    for scenario in scenarios:
        # The scenario's warnings are in its summary (and reports), each with its file and line once.
        bench = BenchRun(scenario)
        try:
            result = asyncio.run(run_one(bench))
        except InputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            code = max(code, 2)
            continue
        except BenchError as exc:
            print(f"error: the bench could not run {scenario.name}: {exc}", file=sys.stderr)
            code = max(code, 3)
            continue
        source_error = bench.runtime.source_error if bench.runtime is not None else None
        result = judge_input(result, source_error)
        results.append(result)
        print(summary_text(result, color=color))
        if source_error is not None:
            print(f"error: {source_error} (the run stopped reading its source there)", file=sys.stderr)
        code = max(code, result.exit_code)
        if result.status == "interrupted":
            break
    if not results:
        return code
    # GitHub's job summary file is shared by the job's steps: add to it, never replace it.
    append = bool(args.summary) and os.path.abspath(args.summary) == os.path.abspath(
        os.environ.get("GITHUB_STEP_SUMMARY", "\0"))
    writers = {"--report": lambda p: write_json(results, p), "--junit": lambda p: write_junit(results, p),
               "--summary": lambda p: write_markdown(results, p, append=append),
               "--html": lambda p: write_html(results, p)}
    for option, name in REPORT_OPTIONS:
        path = getattr(args, name)
        if path is None:
            continue
        try:
            writers[option](path)
        except OSError as exc:
            print(f"error: {option} {path}: cannot write: {exc.strerror or exc}", file=sys.stderr)
            code = max(code, 2)
    return code
