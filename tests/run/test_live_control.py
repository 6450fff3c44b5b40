"""Driving a bench run while it runs: pause, resume, new sink settings, new batch length."""

from __future__ import annotations

import asyncio
import dataclasses

from sinkbench.run.bench import BenchRun
from sinkbench.scenario.load import scenario_from_text

SCENARIO = """
[scenario]
name = "live"
seed = 3
timeout = "30s"
[source]
kind = "synthetic"
count = 600
rate = 400
[runtime]
batch_length = 10
[sink]
url = "mock"
batch_mode = "ndjson"
[expect]
delivered = "== total"
lost = "== 0"
"""


async def test_settings_applied_mid_run_keep_the_accounting():
    bench = BenchRun(scenario_from_text(SCENARIO), endpoint_in_process=True)
    task = asyncio.create_task(bench.run())
    while bench.snapshot() is None or bench.snapshot().delivered < 100:
        await asyncio.sleep(0.05)
    bench.pause()
    assert bench.snapshot().paused
    await asyncio.sleep(0.2)
    await bench.apply_sink_settings(dataclasses.replace(bench.sink_settings, batch_mode="json_array"))
    bench.apply_runtime_settings(batch_length=50, poll_interval=0.002)
    bench.resume()
    result = await task
    assert result.passed, [e.detail for e in result.expectations]
    t = result.totals
    assert t["delivered"] + t["failed"] + t["skipped"] + t["undelivered"] == t["total"] == 600
    marks = [m for row in result.timeline for m in row.get("marks", [])]
    assert "paused" in marks and "sink settings changed" in marks and "resumed" in marks
    assert result.settings["sink"]["batch_mode"] == "json_array"
