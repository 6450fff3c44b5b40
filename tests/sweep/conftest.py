"""Helpers for the sweep tests: small scenario files, `sinkbench sweep` in-process, hand-built results."""

from __future__ import annotations

import argparse
import contextlib
import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sinkbench.run.result import ExpectationResult, RunResult, RunStatus

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


def outage(count: int = 300, rate: int = 300, *, sink: str = "", expect: str = 'lost = "== 0"',
           after: str = "200ms", until: str = "500ms", offset_commit: str = "after_polling") -> str:
    """A short outage: `count` messages at `rate`/s into the mock, which answers 503 from `after` to `until`."""
    return textwrap.dedent(f"""\
        [scenario]
        name = "short-outage"
        seed = 11
        timeout = "20s"

        [source]
        kind = "synthetic"
        count = {count}
        rate = {rate}
        payload_bytes = 64

        [runtime]
        batch_length = 20
        poll_interval = "2ms"
        offset_commit = "{offset_commit}"

        [sink]
        url = "mock"
        batch_mode = "ndjson"
        retry_delay = "100ms"
        max_retry_delay = "100ms"
        {sink}

        [endpoint]
        [[endpoint.faults]]
        after = "{after}"
        until = "{until}"
        action = "status"
        status = 503

        [expect]
        {expect}
        """)


def tiny(count: int = 40, *, expect: str = 'lost = "== 0"') -> str:
    """No fault, all messages available at once: a run takes about as long as the endpoint's start."""
    return textwrap.dedent(f"""\
        [scenario]
        name = "tiny"
        seed = 5
        timeout = "20s"

        [source]
        kind = "synthetic"
        count = {count}
        rate = 0
        payload_bytes = 32

        [runtime]
        batch_length = 10
        poll_interval = "2ms"

        [sink]
        url = "mock"
        batch_mode = "individual"

        [expect]
        {expect}
        """)


@dataclass
class SweepCli:
    code: int
    out: str
    err: str

    def assert_no_traceback(self) -> None:
        for text in (self.out, self.err):
            assert "Traceback" not in text, text


def sweep_cli(args: Sequence[str]) -> SweepCli:
    """`sinkbench sweep <args>` in-process, stdout and stderr captured."""
    from sinkbench.commands import sweep

    parser = argparse.ArgumentParser(prog="sinkbench sweep")
    sweep.configure(parser)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = sweep.main(parser.parse_args(sweep.prepare_argv(list(args))))
    return SweepCli(int(code), out.getvalue(), err.getvalue())


def fake_result(*, lost: int | None = 0, duplicates: int | None = 0, drain: float | None = 1.0,
                requests: int = 100, delivered: int | None = None, total: int = 1000, passed: bool | None = None,
                status: RunStatus = RunStatus.COMPLETED, p95: float | None = 50.0, p99: float | None = 80.0,
                duration: float = 5.0, retries: int = 0, bytes_: int = 10_000) -> RunResult:
    """A RunResult with just the figures a sweep reads."""
    delivered = total - (lost or 0) if delivered is None else delivered
    lost_ok = (lost or 0) == 0
    expectations = [ExpectationResult("lost", "== 0", lost, str(lost), lost_ok, f"lost = {lost} (expected == 0)")]
    totals: dict[str, Any] = {"total": total, "delivered": delivered, "failed": total - delivered, "skipped": 0,
                              "undelivered": 0, "lost": lost, "duplicates": duplicates, "requests": requests,
                              "retries": retries, "bytes": bytes_, "handed": total}
    return RunResult(
        scenario="fake", description="", file="fake.toml", status=status,
        passed=lost_ok if passed is None else passed, started_at="2026-01-01T00:00:00+00:00", duration=duration,
        drain=drain, settings={}, totals=totals,
        latency={"request": {"count": requests}, "delivery": {"count": delivered, "p95": p95, "p99": p99}},
        status_codes={"200": requests}, errors={}, timeline=[], expectations=expectations, endpoint={})


def fake_sweep(path: Path, results: Sequence[RunResult | None], *, varies: Sequence[str] | None = None,
               objective: str = "pareto", parallel: int = 1, sets: Sequence[str] = ()):
    """A ranked SweepResult over the scenario at `path` (validated, not run), one fake result per combination.

    `varies` defaults to one --vary of sink.max_retries with as many values as results.
    """
    from sinkbench.sweep.objective import parse_objective
    from sinkbench.sweep.plan import plan_sweep, validate_plan
    from sinkbench.sweep.runner import Outcome, SweepResult

    varies = list(varies) if varies is not None else [
        "sink.max_retries=" + ",".join(str(i) for i in range(len(results)))]
    plan = validate_plan(plan_sweep(path, varies, list(sets)))
    assert plan.size == len(results), (plan.size, len(results))
    outcomes = [Outcome(c, result=r) if r is not None else Outcome(c, error="the bench could not run: boom",
                                                                   error_code=3)
                for c, r in zip(plan.combinations, results)]
    return SweepResult.ranked(plan, parse_objective(objective), outcomes, parallel=parallel)


def write_shards(folder: Path, sweep, n: int, *, stem: str = "shard") -> list[Path]:
    """`sweep`'s outcomes cut in `n` slices, each written as `sinkbench sweep --shard K/N --report` writes it."""
    from sinkbench.sweep import report
    from sinkbench.sweep.runner import SweepResult
    from sinkbench.sweep.shard import Shard

    paths = []
    for k in range(1, n + 1):
        shard = Shard(k, n)
        part = SweepResult.ranked(sweep.plan, sweep.objective,
                                  [o for o in sweep.outcomes if shard.holds(o.combination.index)],
                                  parallel=sweep.parallel, interrupted=sweep.interrupted, shard=shard)
        path = folder / f"{stem}-{k}-of-{n}.json"
        report.write_json(part, path)
        paths.append(path)
    return paths
