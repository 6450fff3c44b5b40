"""The sweep runner with a stand-in bench run: order, the parallel limit, interruption, bench errors, progress."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from types import SimpleNamespace

import pytest

import sinkbench.run.bench as bench_module
from sinkbench.errors import BenchError
from sinkbench.run.result import RunStatus
from sinkbench.sweep.objective import parse_objective
from sinkbench.sweep.plan import plan_sweep, validate_plan
from sinkbench.sweep.progress import SweepProgressLine, bar
from sinkbench.sweep.runner import SweepResult, SweepRunner

from .conftest import fake_result, sweep_cli, tiny


class FakeBench:
    """Stands in for BenchRun: 'delivers' for `delay` seconds, losing max_retries == 0's messages."""

    active = 0
    peak = 0
    started: list[int] = []
    delay = 0.03
    fail_with: Exception | None = None
    runtime = None  # as BenchRun's: no runtime, no source error to judge
    source_error = None

    def __init__(self, scenario, *, endpoint_in_process: bool = False) -> None:
        self.scenario = scenario
        self._stop = asyncio.Event()

    def interrupt(self) -> None:
        self._stop.set()

    async def run(self, progress=None, progress_interval: float = 0.25):
        cls = FakeBench
        cls.started.append(self.scenario.sink.settings.max_retries)
        if cls.fail_with is not None:
            raise cls.fail_with
        cls.active += 1
        cls.peak = max(cls.peak, cls.active)
        try:
            if progress is not None:
                progress(SimpleNamespace(total=10, delivered=5, failed=0, skipped=0))
            try:
                await asyncio.wait_for(self._stop.wait(), cls.delay)
                status = RunStatus.INTERRUPTED
            except TimeoutError:
                status = RunStatus.COMPLETED
        finally:
            cls.active -= 1
        retries = self.scenario.sink.settings.max_retries
        return fake_result(lost=0 if retries else 10, requests=100 + retries, status=status)


@pytest.fixture
def fake_bench(monkeypatch: pytest.MonkeyPatch):
    FakeBench.active = FakeBench.peak = 0
    FakeBench.started = []
    FakeBench.delay = 0.03
    FakeBench.fail_with = None
    monkeypatch.setattr(bench_module, "BenchRun", FakeBench)
    return FakeBench


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(tiny())
    return path


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def started(self, combination) -> None:
        self.events.append(("started", combination.index))

    def update(self, combination, fraction) -> None:
        self.events.append(("update", combination.index, fraction))

    def finished(self, outcome) -> None:
        self.events.append(("finished", outcome.combination.index))


def test_each_combination_runs_once_with_its_own_settings_in_order(scenario: Path, fake_bench) -> None:
    plan = validate_plan(plan_sweep(scenario, ["max_retries=0,1,2,3,4"]))
    recorder = Recorder()
    outcomes = asyncio.run(SweepRunner(plan, progress=recorder).run())
    assert fake_bench.started == [0, 1, 2, 3, 4] and fake_bench.peak == 1
    assert [o.combination.index for o in outcomes] == [1, 2, 3, 4, 5]
    assert [o.result.totals["requests"] for o in outcomes] == [100, 101, 102, 103, 104]
    assert recorder.events[:3] == [("started", 1), ("update", 1, 0.5), ("finished", 1)]
    ranked = SweepResult.ranked(plan, parse_objective("lost,requests"), outcomes)
    assert [r.combination.index for r in ranked.rows] == [2, 3, 4, 5, 1]


def test_parallel_runs_at_most_n_at_a_time(scenario: Path, fake_bench) -> None:
    plan = validate_plan(plan_sweep(scenario, ["max_retries=0,1,2,3,4"]))
    outcomes = asyncio.run(SweepRunner(plan, parallel=2).run())
    assert fake_bench.peak == 2
    assert sorted(fake_bench.started) == [0, 1, 2, 3, 4]
    assert [o.combination.index for o in outcomes] == [1, 2, 3, 4, 5]


def test_interrupt_stops_the_runs_under_way_and_starts_no_more(scenario: Path, fake_bench) -> None:
    fake_bench.delay = 5.0
    plan = validate_plan(plan_sweep(scenario, ["max_retries=0,1,2,3"]))
    runner = SweepRunner(plan, parallel=2)

    async def go():
        task = asyncio.create_task(runner.run())
        while fake_bench.active < 2:
            await asyncio.sleep(0.005)
        runner.interrupt()
        return await task

    outcomes = asyncio.run(go())
    assert runner.interrupted
    assert [o.status for o in outcomes] == ["interrupted", "interrupted", "not run", "not run"]
    assert fake_bench.started == [0, 1]


def test_a_bench_error_is_exit_3_and_the_table_still_prints(scenario: Path, fake_bench) -> None:
    fake_bench.fail_with = BenchError("the mock endpoint could not start: port taken")
    r = sweep_cli([str(scenario), "--vary", "max_retries=1,2", "--quiet"])
    assert r.code == 3, r.err
    assert "#1 error: the bench could not run: the mock endpoint could not start: port taken" in r.out
    assert "best: none" in r.out


def test_fail_if_none_pass(scenario: Path, fake_bench) -> None:
    assert sweep_cli([str(scenario), "--vary", "max_retries=0", "--quiet"]).code == 0
    r = sweep_cli([str(scenario), "--vary", "max_retries=0", "--quiet", "--fail-if-none-pass"])
    assert r.code == 1 and "0 of 1 combination passed" in r.out
    assert sweep_cli([str(scenario), "--vary", "max_retries=0,1", "--quiet", "--fail-if-none-pass"]).code == 0


def test_progress_lines(scenario: Path, fake_bench) -> None:
    plan = validate_plan(plan_sweep(scenario, ["max_retries=0,3"]))
    log = io.StringIO()
    asyncio.run(SweepRunner(plan, progress=SweepProgressLine(log, plan.size, tty=False)).run())
    lines = log.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("combination 1/2 done in ") and "max_retries=0 — lost 10, requests 100, ✗ 0/1" in lines[0]
    assert "max_retries=3 — lost 0, requests 103, ✓ 1/1" in lines[1]
    screen = io.StringIO()
    line = SweepProgressLine(screen, plan.size, tty=True, width=200)
    asyncio.run(SweepRunner(plan, progress=line).run())
    line.finish()
    text = screen.getvalue()
    assert "\rcombination 1/2 ▕" in text and "max_retries=0\x1b[K" in text and text.endswith("✓ 1/1\n")
    assert "\r\x1b[Kcombination 2/2 done in" in text


def test_bar() -> None:
    assert bar(0) == "▕" + " " * 20 + "▏"
    assert bar(1) == "▕" + "█" * 20 + "▏"
    assert bar(0.5, width=4) == "▕██  ▏"
