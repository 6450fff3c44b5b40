"""`sinkbench run SCENARIO...`: headless bench runs for CI."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

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

--versus KEY=VALUE... runs each scenario twice at once: A as written, B with
these changes ([sink] and [runtime] keys, the --set grammar), each against its
own embedded endpoint with the same faults, on the same stream. The summary
ends with a table of both sides' figures, differences marked; B's --report,
--junit and --html go beside A's (out/report.json, out/report.b.json); the
--summary holds both. The exit code is the worse of A's and B's:
  sinkbench run scenarios/outage-503.toml --versus runtime.offset_commit=after_polling

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
    parser.add_argument("--versus", nargs="+", action="extend", metavar="KEY=VALUE",
                        help="also run side B with these [sink]/[runtime] changes, at once, and compare "
                             "(e.g. runtime.offset_commit=after_polling)")
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

    from sinkbench.errors import InputError
    from sinkbench.outfile import output_problems
    from sinkbench.report import ProgressLine, summary_text, write_json, write_junit, write_markdown
    from sinkbench.report.html import write_html
    from sinkbench.run.bench import BenchRun
    from sinkbench.run.inputcheck import judge_input
    from sinkbench.scenario.load import load_scenario

    if args.versus:
        return _run_versus(args, color)
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
        result, failed = _run_or_say(run_one(bench), scenario.name)
        if result is None:
            code = max(code, failed)
            continue
        source_error = bench.source_error
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


def _run_or_say(run: Coroutine[Any, Any, T], name: str) -> tuple[T | None, int]:
    """What the bench run `run` returns, or None and the exit code of why it could not run (said on stderr)."""
    import asyncio

    from sinkbench.errors import BenchError, InputError

    try:
        return asyncio.run(run), 0
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None, 2
    except BenchError as exc:
        print(f"error: the bench could not run {name}: {exc}", file=sys.stderr)
        return None, 3


def _run_versus(args: argparse.Namespace, color: bool) -> int:
    """`run --versus`: each scenario as A and B at once (sinkbench.run.versus), compared."""
    import os

    from sinkbench.errors import InputError
    from sinkbench.outfile import output_problems
    from sinkbench.report import summary_text
    from sinkbench.report.versus import (
        b_output_problems,
        compare_results,
        comparison_text,
        labelled,
        write_versus,
    )
    from sinkbench.run.bench import BenchRun
    from sinkbench.run.inputcheck import judge_input
    from sinkbench.run.versus import load_versus

    given = [(option, getattr(args, name, None)) for option, name in REPORT_OPTIONS]
    problems = output_problems(given) + b_output_problems(given)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    pairs = []
    for path in args.scenarios:
        try:
            pairs.append(load_versus(path, args.overrides, args.versus))
        except InputError as exc:
            problems.append(str(exc))
            for line in str(exc).splitlines():
                print(f"error: {line}", file=sys.stderr)
    if problems:
        return 2
    done: list[tuple] = []
    code = 0
    for pair in pairs:
        sides = (BenchRun(pair.a), BenchRun(pair.b))
        both, failed = _run_or_say(_both(sides, quiet=args.quiet), f"{pair.a.name} A versus B")
        if both is None:
            code = max(code, failed)
            continue
        a, b = both
        judged = []
        for side, bench, result in zip("AB", sides, (a, b)):
            source_error = bench.source_error
            judged.append(judge_input(result, source_error))
            print(summary_text(labelled(judged[-1], side), color=color))
            if source_error is not None:
                print(f"error: {side}: {source_error} (the run stopped reading its source there)", file=sys.stderr)
        done.append(tuple(judged))
        print(comparison_text(compare_results(*judged, pair.shown), color=color))
        code = max(code, *(r.exit_code for r in judged))
        if any(r.status == "interrupted" for r in judged):
            break
    if not done:
        return code
    append = bool(args.summary) and os.path.abspath(args.summary) == os.path.abspath(
        os.environ.get("GITHUB_STEP_SUMMARY", "\0"))
    for option, path in given:
        if path is None:
            continue
        try:
            write_versus(option, path, done, pairs[0].shown, append=append)
        except OSError as exc:
            print(f"error: {option} {path}: cannot write: {exc.strerror or exc}", file=sys.stderr)
            code = max(code, 2)
    return code


async def _both(sides, *, quiet: bool):
    """Runs A and B at once; Ctrl-C or SIGTERM interrupts both (their reports are still written)."""
    import asyncio
    import signal

    from sinkbench.report.versus import VersusProgress
    from sinkbench.run.versus import run_side_by_side

    def stop() -> None:
        for bench in sides:
            bench.interrupt()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    progress = None if quiet else VersusProgress(sys.stderr, tty=sys.stderr.isatty())

    def report(side: int):
        return None if progress is None else (lambda snap: progress.update(side, snap.progress()))

    results = None
    try:
        results = await run_side_by_side(*(bench.run(progress=report(i)) for i, bench in enumerate(sides)), stop)
        return results
    finally:
        if progress is not None:
            progress.finish(*(results or (None, None)))
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
