"""`sinkbench hunt SCENARIO`: search for the smallest endpoint fault plan that breaks a scenario's expectations."""

from __future__ import annotations

import argparse
import sys

HELP = "search for the smallest endpoint fault plan that breaks a scenario, and write it as a scenario"
DESCRIPTION = """\
Search the space of endpoint fault plans (status windows, 429s with
Retry-After, resets, closes, malformed answers, hangs, slow bodies, latency
below and beyond the sink's timeout, rate limits, 413 thresholds) for one
under which SCENARIO's sink settings break an expectation, shrink it to the
smallest plan that still breaks it, and write that plan into a copy of the
scenario: a regression test that `sinkbench run` fails. The stream, runtime
and sink settings stay as the scenario has them; only the endpoint changes.

Each candidate is a real bench run, scaled down (a synthetic source is capped
at about one second of its rate, fault windows drawn within that run's
length). The plan found is then run three times at the scenario's own scale
and kept only if it breaks the expectation every time. A hunt that finds
nothing is evidence, not proof.

examples:
  sinkbench hunt scenarios/quickstart.toml --set sink.max_retries=1 --break "lost > 0"
  sinkbench hunt my-setting.toml --time 5m
  sinkbench hunt scenarios/outage-503.toml --break "duplicates > 0" --budget 200 --seed 7

--break METRIC EXPR takes one expectation in the [expect] grammar, preceded
by its metric ("lost > 0", "duplicates > 0", "latency.delivery p(99) > 5s"):
a plan breaks the setting when it holds. Without --break, a plan breaks the
setting when one of the scenario's own [expect] fails (those that fail with a
healthy endpoint already are left out).

--budget N caps the candidate runs, --time D the search's wall time (e.g.
150s, 5m); with both, the first reached stops it; with neither, --budget 100.
Confirming a found plan (three runs at full scale) comes on top.

--out FILE (default SCENARIO.found.toml beside it) receives the scenario with
the shrunk [[endpoint.faults]], the broken expectation in [expect], the plan
in words and the seed. --seed S (default 0) fixes the sequence of plans.

Progress goes to stderr: each candidate, the best plan so far, time left.

Exit codes: 0 no breaking plan found (no file written); 1 a plan was found
and written, or the hunt was interrupted (Ctrl-C writes the best plan found so
far, marked not confirmed); 2 invalid input (the message names the option,
file, line or key); 3 the bench itself could not run.
"""

DEFAULT_BUDGET = 100


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", metavar="SCENARIO", help="scenario file (TOML) with url = \"mock\"")
    parser.add_argument("--break", dest="break_expr", metavar="EXPR",
                        help='what breaking means, e.g. "lost > 0" (default: one of the scenario\'s [expect] fails)')
    parser.add_argument("--budget", metavar="N", help=f"at most N candidate runs (default {DEFAULT_BUDGET} "
                        "when --time is not given)")
    parser.add_argument("--time", metavar="D", help="stop searching after D, e.g. 150s or 5m")
    parser.add_argument("--out", metavar="FILE", help="where to write the found scenario "
                        "(default: SCENARIO.found.toml beside it)")
    parser.add_argument("--seed", metavar="S", default="0", help="the search's seed (default 0)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a scenario key before hunting, e.g. sink.max_retries=1 (repeatable; "
                             "written into the found scenario)")


def _whole(text: str, option: str, minimum: int):
    from sinkbench.errors import InputError, Where

    t = text.strip()
    if not (t.isascii() and t.isdigit()) or int(t) < minimum:
        raise InputError(f"expected a whole number of at least {minimum}, got {text!r}", Where(file=option))
    return int(t)


def _duration(text: str) -> float:
    from sinkbench.durations import DurationError, parse_duration
    from sinkbench.errors import InputError, Where

    try:
        seconds = parse_duration(text)
    except DurationError as exc:
        raise InputError(str(exc), Where(file="--time")) from None
    if seconds <= 0:
        raise InputError(f"must be longer than 0s, got {text!r}", Where(file="--time"))
    return seconds


def _errors(exc: Exception) -> None:
    for line in str(exc).splitlines():
        print(f"error: {line}", file=sys.stderr)


def main(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sinkbench.errors import BenchError, InputError, Where
    from sinkbench.hunt.hunter import HuntOptions, check_huntable
    from sinkbench.hunt.target import Goal, parse_break
    from sinkbench.hunt.write import FoundFile, default_out
    from sinkbench.scenario.load import load_scenario

    try:
        budget = _whole(args.budget, "--budget", 1) if args.budget is not None else None
        limit = _duration(args.time) if args.time is not None else None
        seed = _whole(args.seed, "--seed", 0)
        broken = parse_break(args.break_expr) if args.break_expr is not None else None
        if budget is None and limit is None:
            budget = DEFAULT_BUDGET
        scenario = load_scenario(args.scenario, args.overrides)
        check_huntable(scenario)
        if broken is not None:
            goal = Goal((broken,), True)
        elif scenario.expectations:
            goal = Goal(scenario.expectations, False)
        else:
            raise InputError("the scenario has no [expect]: give --break EXPR, e.g. --break \"lost > 0\"",
                             Where(file=args.scenario))
        out = Path(args.out) if args.out else default_out(args.scenario)
        if not out.parent.is_dir():
            raise InputError(f"folder {out.parent} does not exist", Where(file="--out"))
        if out.resolve() == Path(args.scenario).resolve():
            raise InputError("refusing to write over the scenario being hunted", Where(file="--out"))
    except InputError as exc:
        _errors(exc)
        return 2
    for warning in scenario.warnings:
        print(f"warning: {scenario.file}: {warning}", file=sys.stderr)

    found = FoundFile(Path(args.scenario), out, tuple(args.overrides))
    options = HuntOptions(budget=budget, time=limit, seed=seed)
    try:
        result = _hunt(scenario, goal, found, options)
    except InputError as exc:
        _errors(exc)
        return 2
    except BenchError as exc:
        print(f"error: the bench could not run: {exc}", file=sys.stderr)
        return 3
    return _report(result, out)


def _hunt(scenario, goal, found, options):
    import signal
    import threading

    from sinkbench.hunt.hunter import Hunter
    from sinkbench.hunt.progress import StreamProgress
    from sinkbench.hunt.runner import Runs

    runs = Runs()
    hunter = Hunter(scenario, goal, found, options, runs=runs,
                    progress=StreamProgress(sys.stderr, scenario.sink.settings.timeout))
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda _signum, _frame: runs.stop())
    try:
        return hunter.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _report(result, out) -> int:
    from sinkbench.hunt.progress import outcome_lines
    from sinkbench.hunt.write import write_found

    if result.text is not None:
        try:
            write_found(out, result.text)
        except OSError as exc:
            print(f"error: cannot write {out}: {exc}", file=sys.stderr)
            return 2
    for line in outcome_lines(result, out):
        print(line)
    return 0 if result.status == "none" else 1
