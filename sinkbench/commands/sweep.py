"""`sinkbench sweep SCENARIO --vary KEY=V1,V2,...`: the same scenario once per combination of settings, compared.

`sinkbench sweep merge REPORT.json...` is the same command's other form: `merge`
as the first word joins the --report files of `--shard` slices (a scenario file
named `merge` is given as ./merge).
"""

from __future__ import annotations

import argparse
import sys

HELP = "run a scenario once per combination of settings and compare loss, duplicates, drain and requests"
USAGE = """\
%(prog)s SCENARIO --vary KEY=V1,V2,... [--vary ...] [--set KEY=VALUE]... [--objective M1,M2,...]
           [--parallel N] [--shard K/N] [--yes] [--report F.json] [--csv F.csv] [--markdown F.md] [--chart F.svg]
           [--html F.html] [--write-best CONFIG [--dry-run]] [--fail-if-none-pass] [--quiet]
       %(prog)s merge REPORT.json... [--objective M1,M2,...] [--report F.json] [--csv F.csv] [--markdown F.md]
           [--chart F.svg] [--html F.html] [--write-best CONFIG [--dry-run]] [--fail-if-none-pass] [--quiet]"""
DESCRIPTION = """\
Run SCENARIO once for every combination of the --vary values, each with the
scenario's seed (so only the settings differ), and compare them in a table.
By default the table marks the Pareto front (●: no other combination is as
good on lost, duplicates, drain and requests and better on one) and ranks it
first; within it, fewest lost, then fewest duplicates, then the smallest
drain ÷ shortest drain + requests ÷ fewest requests. A chart of drain time
against requests shows the trade-off; --write-best puts the winner's settings
into a connector file, comments kept.

examples:
  sinkbench sweep scenarios/outage-503.toml \\
      --vary sink.batch_mode=ndjson,json_array --vary sink.max_retries=0,3,6 \\
      --set runtime.offset_commit=after_polling
  sinkbench sweep scenarios/outage-503.toml --vary max_retries=3,6 --vary retry_delay=100ms,500ms \\
      --objective lost,drain --markdown out/sweep.md --chart out/sweep.svg --csv out/sweep.csv
  sinkbench sweep scenarios/rate-limited-429.toml --vary max_retries=3,6 \\
      --write-best config.toml --dry-run
  sinkbench sweep scenarios/outage-503.toml --vary max_retries=0,3,6 \\
      --set runtime.offset_commit=after_polling --shard 2/3 --report out/shard-2.json
  sinkbench sweep merge out/shard-*.json --markdown out/sweep.md --write-best config.toml

--vary takes a dotted scenario key, as --set does, and comma-separated TOML
values (commas inside quotes or brackets do not split): sink.max_retries=0,3,6,
runtime.batch_length=100,1000, runtime.offset_commit=after_polling,after_consuming,
sink.success_status_codes=[200],[200,202]. A key without a section is a [sink]
key (or a [runtime] one for batch_length, poll_interval, offset_commit). Only
[sink] and [runtime] keys can be varied. Every combination is validated before
the first one runs; more than 16 need --yes.

--objective pareto is the default above. A comma list of metrics ranks by
them in order instead: lost, duplicates, drain, requests, retries, bytes,
duration, delivered, p95, p99, failed, skipped, undelivered. Each sorts in its
natural direction (less is better; more for delivered); -METRIC sorts
descending, +METRIC ascending (--objective -requests,lost works as written).
Times are compared at a resolution, since runs of the same settings differ by
tens of milliseconds: drain and duration to 100ms, p95 and p99 to 1ms;
drain~1s sets another, drain~0 compares exactly. Unknown values (no drain
without a fault window) sort last; ties keep the order the combinations ran in.

Rows that ran with a setting the Iggy connector does not run
(runtime.offset_commit = after_consuming: the Iggy runtime commits when it
polls; sink.profile = enhanced) are marked with a dagger, ranked after the
rows the connector can run, and never written.

--write-best CONFIG writes the winning combination's varied keys (and the
fixed --set sink and runtime keys) into the Iggy connector file: sink keys into
[plugin_config], batch_length and poll_interval into the first [[streams]]
entry. The diff is shown first; CONFIG.bak keeps the original; --dry-run
shows the diff and writes nothing. It refuses (exit 2) when the winner is a
row the connector cannot run, or when, under the default objective, another
front member trades drain for requests with it: --objective says which wins.

--shard K/N runs only the K-th of N slices of the combinations (combination i
is in slice ((i - 1) mod N) + 1: the same slices on every machine); it needs
--report. `sinkbench sweep merge REPORT.json...` joins the N reports into the
table, ranking, chart and JSON a single sweep would have produced, and takes
the output options above. It refuses (exit 2) reports of different sweeps, a
slice given twice or a missing slice; it reads the scenario file again from
the path the shards were given. CI examples: docs/sweeps.md.

Progress goes to stderr (a line per finished combination, and a live bar on a
terminal); the table and chart go to stdout.

Exit codes: 0 the sweep ran (whether or not each combination met the
scenario's expectations: the table says); 1 interrupted, or --fail-if-none-pass
and no combination passed; 2 invalid input (the message names the flag, file
or key), or --write-best refused; 3 the bench itself could not run.
"""
MERGE = "merge"
# Options only a sweep that runs takes; `merge` joins runs already made.
RUN_ONLY = (("varies", "--vary"), ("overrides", "--set"), ("parallel", "--parallel"), ("shard", "--shard"),
            ("yes", "--yes"))
SHORT_OPTIONS = ("-h", "-y", "-q")


def prepare_argv(argv: list[str]) -> list[str]:
    """`--objective -requests,lost` → `--objective=-requests,lost`.

    argparse takes any word that starts with '-' for an option, so the documented form
    would stop with "expected one argument"; a metric list never is one of ours.
    """
    out: list[str] = []
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            return out + argv[i:]
        following = argv[i + 1] if i + 1 < len(argv) else ""
        if word == "--objective" and following[:1] == "-" and following[1:2].isalpha() and \
                following not in SHORT_OPTIONS:
            out.append(f"{word}={following}")
            i += 2
            continue
        out.append(word)
        i += 1
    return out


def configure(parser: argparse.ArgumentParser) -> None:
    parser.usage = USAGE
    # One or more words: SCENARIO, or `merge` and the reports (see main).
    parser.add_argument("scenario", metavar="SCENARIO", nargs="+",
                        help="scenario file (TOML); or `merge` followed by the --report files of --shard slices")
    parser.add_argument("--vary", dest="varies", action="append", default=[], metavar="KEY=V1,V2,...",
                        help="a scenario key and the values to try (repeatable: every combination runs)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a fixed override for every combination, e.g. runtime.offset_commit=after_polling")
    parser.add_argument("--objective", default=None, metavar="M1,M2,...",
                        help="how to rank the combinations (default: pareto, the front first; or metrics in order, "
                             "e.g. lost,duplicates,requests,drain)")
    parser.add_argument("--parallel", type=int, default=None, metavar="N",
                        help="run N combinations at a time, each with its own endpoint (default 1); they share "
                             "the machine's cores, which skews latency and drain figures")
    parser.add_argument("--shard", metavar="K/N",
                        help="run only the K-th of N slices of the combinations (with --report; join the slices' "
                             "reports with `sweep merge`)")
    parser.add_argument("--yes", "-y", action="store_true", help="run more than 16 combinations")
    parser.add_argument("--report", metavar="F.json", help="write every row and every run's full report as JSON")
    parser.add_argument("--csv", metavar="F.csv", help="write the table as CSV")
    parser.add_argument("--markdown", metavar="F.md", help="write the table, the best combination and the chart")
    parser.add_argument("--chart", metavar="F.svg", help="write the drain-vs-requests chart as SVG")
    parser.add_argument("--html", metavar="F.html",
                        help="write one self-contained HTML page: the table, the chart, each combination's timeline")
    parser.add_argument("--write-best", metavar="CONFIG",
                        help="write the winning settings into this Iggy connector file (diff shown, backup kept)")
    parser.add_argument("--dry-run", action="store_true", help="with --write-best: show the diff, write nothing")
    parser.add_argument("--fail-if-none-pass", action="store_true",
                        help="exit 1 when no combination meets the scenario's expectations")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress output")


def _errors(exc: Exception) -> None:
    for line in str(exc).splitlines():
        print(f"error: {line}", file=sys.stderr)


def main(args: argparse.Namespace) -> int:
    words = args.scenario
    if words[0] == MERGE:
        return _merge(args, words[1:])
    if len(words) > 1:
        print(f"error: one SCENARIO at a time, got {len(words)}: {' '.join(words)} (to join the reports of "
              "--shard slices: sinkbench sweep merge REPORT.json...)", file=sys.stderr)
        return 2
    return _sweep(args, words[0])


def _color() -> bool:
    import os
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _objective(args: argparse.Namespace, default: str | None):
    """--objective (or `default`; None: none given), after checking the options that go with --write-best."""
    from sinkbench.errors import InputError
    from sinkbench.sweep.objective import parse_objective

    text = args.objective if args.objective is not None else default
    objective = None if text is None else parse_objective(text)
    if args.dry_run and not args.write_best:
        raise InputError("--dry-run shows what --write-best would write: give --write-best CONFIG too")
    return objective


def _sweep(args: argparse.Namespace, scenario_file: str) -> int:
    from sinkbench.errors import InputError
    from sinkbench.sweep.objective import DEFAULT_OBJECTIVE
    from sinkbench.sweep.plan import MAX_WITHOUT_YES, plan_sweep, validate_plan
    from sinkbench.sweep.shard import parse_shard

    parallel = 1 if args.parallel is None else args.parallel
    try:
        objective = _objective(args, DEFAULT_OBJECTIVE)
        if parallel < 1:
            raise InputError(f"--parallel must be at least 1, got {parallel}")
        shard = parse_shard(args.shard) if args.shard is not None else None
        if shard is not None and not args.report:
            raise InputError("--shard needs --report F.json: `sinkbench sweep merge` joins the slices' reports")
        if shard is not None and args.write_best:
            raise InputError("--write-best needs every combination, a slice has only some: give it to "
                             "`sinkbench sweep merge` with the slices' reports")
        plan = plan_sweep(scenario_file, args.varies, args.overrides)
    except InputError as exc:
        _errors(exc)
        return 2
    combinations = [c for c in plan.combinations if shard is None or shard.holds(c.index)]
    if len(combinations) > MAX_WITHOUT_YES and not args.yes:
        what = f"{plan.size} combinations ({' × '.join(str(len(v.values)) for v in plan.varies)})"
        if shard is not None:
            what = f"slice {shard.text} has {len(combinations)} of {what}"
        print(f"error: --vary: {what}, more than {MAX_WITHOUT_YES}; each runs the whole scenario. Add --yes to "
              "run them all.", file=sys.stderr)
        return 2
    try:
        plan = validate_plan(plan)
        if parallel > 1 and not plan.scenario.mock:
            raise InputError("--parallel needs the embedded endpoint (url = \"mock\"): runs in parallel against "
                             "a real URL would share it and skew each other", )
        if args.write_best and plan.scenario.is_external:
            raise InputError("--write-best writes sink settings into an Iggy connector file; an external sink's "
                             "settings are its own (the table ranks its commands and environments)")
        if parallel > 1 and plan.scenario.is_external:
            raise InputError("--parallel runs one combination at a time for an external sink: runs in parallel "
                             "would share its feed, its ports and the machine it is benched on")
        if args.write_best:
            from sinkbench.sweep.bestconfig import check_config
            check_config(args.write_best)
        from sinkbench.outfile import output_problems
        problems = output_problems([("--report", args.report), ("--csv", args.csv), ("--chart", args.chart),
                                    ("--markdown", args.markdown), ("--html", args.html)])
        if problems:
            raise InputError("\n".join(problems))
    except InputError as exc:
        _errors(exc)
        return 2
    seen: set[str] = set()
    for scenario in plan.scenarios:
        for warning in scenario.warnings:
            if warning not in seen:
                seen.add(warning)
                print(f"warning: {warning}", file=sys.stderr)  # a warning names its own file and line
    if shard is not None and not combinations and not args.quiet:
        print(f"slice {shard.text} of {plan.size} combinations is empty: nothing to run", file=sys.stderr)

    sweep = _run(plan, objective, args, parallel, combinations, shard)
    return _finish(sweep, args)


def _merge(args: argparse.Namespace, reports: list[str]) -> int:
    from sinkbench.errors import InputError
    from sinkbench.sweep.merge import merge_reports

    try:
        for name, flag in RUN_ONLY:
            if getattr(args, name) not in (None, False, []):
                raise InputError(f"{flag} is for a sweep that runs; `sweep merge` joins the reports of one that "
                                 "ran")
        objective = _objective(args, None)        # None: the one the shards ranked by
        if args.write_best:
            from sinkbench.sweep.bestconfig import check_config
            check_config(args.write_best)
        merged = merge_reports(reports, objective)
    except InputError as exc:
        _errors(exc)
        return 2
    if not args.quiet:
        print(merged.summary, file=sys.stderr)
    return _finish(merged.sweep, args)


def _finish(sweep, args: argparse.Namespace) -> int:
    """Print the table, write the files and the best settings; the exit code."""
    print(_text(sweep, _color()))
    code = sweep.error_code
    try:
        _write_outputs(sweep, args)
    except OSError as exc:
        print(f"error: cannot write report: {exc}", file=sys.stderr)
        code = max(code, 2)
    if args.write_best:
        code = max(code, _write_best(sweep, args))
    if sweep.interrupted:
        code = max(code, 1)
    if args.fail_if_none_pass and sweep.passed_count == 0:
        code = max(code, 1)
    return code


def _text(sweep, color: bool) -> str:
    from sinkbench.sweep.report import sweep_text
    return sweep_text(sweep, color=color).rstrip("\n")


def _run(plan, objective, args: argparse.Namespace, parallel: int, combinations, shard):
    import asyncio
    import signal

    from sinkbench.sweep.progress import SweepProgressLine
    from sinkbench.sweep.runner import SweepResult, SweepRunner

    progress = None if args.quiet else SweepProgressLine(sys.stderr, plan.size, tty=sys.stderr.isatty(),
                                                         count=len(combinations))
    runner = SweepRunner(plan, parallel=parallel, progress=progress, combinations=combinations)

    async def go():
        loop = asyncio.get_running_loop()
        handled = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, runner.interrupt)
                handled.append(sig)
            except (RuntimeError, ValueError):   # not the main thread: Ctrl-C raises as usual
                pass
        try:
            return await runner.run()
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)

    try:
        outcomes = asyncio.run(go())
    finally:
        if progress is not None:
            progress.finish()
    return SweepResult.ranked(plan, objective, outcomes, parallel=parallel, interrupted=runner.interrupted,
                              shard=shard)


def _write_outputs(sweep, args: argparse.Namespace) -> None:
    from sinkbench.sweep import report

    if args.report:
        report.write_json(sweep, args.report)
    if args.csv:
        report.write_csv(sweep, args.csv)
    if args.chart:
        report.write_svg(sweep, args.chart)
    if args.markdown:
        report.write_markdown(sweep, args.markdown, chart_file=args.chart)
    if args.html:
        from sinkbench.sweep.html import write_html
        write_html(sweep, args.html)


def _write_best(sweep, args: argparse.Namespace) -> int:
    from sinkbench.config.writeback import apply_write_back
    from sinkbench.errors import InputError
    from sinkbench.report import _text as fmt
    from sinkbench.sweep.bestconfig import plan_best, refusal

    config = args.write_best
    best = sweep.best
    if sweep.interrupted:
        print(f"--write-best: {config} left as it is: the sweep was interrupted", file=sys.stderr)
        return 0
    if best is None:
        print(f"--write-best: {config} left as it is: no combination ran to the end", file=sys.stderr)
        return 0
    why = refusal(sweep)
    if why is not None:
        print(f"error: --write-best: {config} left as it is: {fmt.one_line(why)}", file=sys.stderr)
        return 2
    try:
        write = plan_best(config, sweep.plan, best.combination)
    except InputError as exc:
        _errors(exc)
        return 2
    print(f"\n--write-best {config}: #{best.rank} {best.combination.label}")
    for note in write.notes:
        print(f"note: {fmt.one_line(note)}", file=sys.stderr)
    if best.result is not None and not best.result.passed:
        print(f"warning: the best combination did not meet the scenario's expectations "
              f"({fmt.verdict_reason(best.result)})", file=sys.stderr)
    if not write.changed:
        print(f"{config} already holds these settings; nothing to write")
        return 0
    print(write.plan.diff.rstrip("\n"))
    if args.dry_run:
        print(f"dry run: {config} not written")
        return 0
    try:
        backup = apply_write_back(write.plan)
    except OSError as exc:
        print(f"error: cannot write {config}: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {config} (the original is in {backup})")
    return 0
