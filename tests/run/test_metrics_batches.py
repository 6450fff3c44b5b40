"""The run's metrics record a batch's delivery latencies per availability time, not per message (issue 19):
the figures must be those of recording every message's latency one by one."""

from __future__ import annotations

import pytest

from sinkbench.clock import ManualClock
from sinkbench.engine.accounting import BatchResult, Outcome
from sinkbench.metrics.histogram import Histogram
from sinkbench.run.loss import _runs
from sinkbench.run.metrics import RunMetrics


@pytest.mark.parametrize("available", [
    [1.0] * 128 + [1.002] * 128 + [1.0035] * 744,          # fed a block at a time: three distinct times
    [1.0 + i * 1e-5 for i in range(1000)],                  # every message its own time (one by one)
    [0.5],
])
def test_a_batch_delivered_at_once_records_the_same_latencies_as_message_by_message(available):
    clock = ManualClock(start=2.0)
    metrics = RunMetrics(clock, 0.0)
    n = len(available)
    metrics.batch_started(n)
    metrics.batch_finished(BatchResult([Outcome.DELIVERED] * n, [1.75] * n, sent=set(range(n))), available)
    one_by_one = Histogram()
    for a in available:
        one_by_one.record((1.75 - a) * 1000.0)
    got, want = metrics.delivery_latency.summary(), one_by_one.summary()
    assert got.keys() == want.keys()
    for key in want:
        assert got[key] == pytest.approx(want[key], rel=1e-9), key
    clock.advance(2.0)   # close the series' second: its row counts every message too
    rows = metrics.series.rows()
    assert sum(r["delivery"]["count"] for r in rows if r.get("delivery")) == n


@pytest.mark.parametrize(("offsets", "runs"), [
    ([5, 6, 7, 8], [(5, 9)]),
    ([8, 5, 7, 6], [(5, 9)]),
    ([1, 2, 4, 5, 9], [(1, 3), (4, 6), (9, 10)]),
    ([3, 3, 4], [(3, 5)]),                    # the same offset twice (a message polled again)
    ([7], [(7, 8)]),
])
def test_offsets_become_half_open_runs(offsets, runs):
    assert _runs(list(offsets)) == runs
