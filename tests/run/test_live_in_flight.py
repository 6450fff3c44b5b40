"""A max_in_flight changed mid-run takes the next batches: raising it at once, lowering it once the
batches in flight have finished (a real run against the embedded endpoint, which answers after 100ms)."""

from __future__ import annotations

import asyncio
import dataclasses

from sinkbench.run.bench import BenchRun
from sinkbench.scenario.load import scenario_from_text

SCENARIO = """
[scenario]
name = "in-flight"
seed = 5
timeout = "20s"
[source]
kind = "synthetic"
count = 20000
rate = 5000
[runtime]
batch_length = 10
poll_interval = "1ms"
offset_commit = "{commit}"
[sink]
url = "mock"
batch_mode = "ndjson"
profile = "enhanced"
max_in_flight = 1
[endpoint]
latency = "100ms"
"""
BATCH = 10


async def _peak(bench: BenchRun, seconds: float) -> int:
    """The most messages inside the sink at once over `seconds`, sampled every 5ms."""
    peak = 0
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        peak = max(peak, bench.snapshot().in_flight)
        await asyncio.sleep(0.005)
    return peak


async def _drained_to(bench: BenchRun, n: int, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while bench.snapshot().in_flight > n:
        assert loop.time() < deadline, "the batches in flight never finished"
        await asyncio.sleep(0.005)


async def _started(commit: str) -> tuple[BenchRun, asyncio.Task]:
    bench = BenchRun(scenario_from_text(SCENARIO.format(commit=commit)), endpoint_in_process=True)
    task = asyncio.create_task(bench.run())
    while bench.snapshot() is None or bench.snapshot().requests < 2:
        await asyncio.sleep(0.01)
    return bench, task


async def _apply(bench: BenchRun, n: int) -> None:
    await bench.apply_sink_settings(dataclasses.replace(bench.sink_settings, max_in_flight=n),
                                    label=f"sink: max_in_flight {n}")


async def _stop(bench: BenchRun, task: asyncio.Task) -> None:
    bench.interrupt()
    await task


async def test_max_in_flight_raised_then_lowered_live():
    bench, task = await _started("after_polling")
    try:
        assert await _peak(bench, 0.4) == BATCH                  # one batch at a time
        await _apply(bench, 4)
        await asyncio.sleep(0.05)
        assert await _peak(bench, 0.4) == 4 * BATCH              # four at once, the same run
        await _apply(bench, 2)
        await _drained_to(bench, 2 * BATCH)                       # the four in flight finish as they were
        assert await _peak(bench, 0.4) == 2 * BATCH               # and no more than two start again
        assert bench.runtime.counts.delivered > 0 and bench.snapshot().errors == 0
    finally:
        await _stop(bench, task)


async def test_after_consuming_keeps_one_batch_whatever_max_in_flight_says():
    # Offsets are committed in order after each batch: the runtime never overlaps them (as at the start).
    bench, task = await _started("after_consuming")
    try:
        await _apply(bench, 4)
        await asyncio.sleep(0.05)
        assert await _peak(bench, 0.4) == BATCH
    finally:
        await _stop(bench, task)
