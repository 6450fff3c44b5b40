"""Issue 12, item 3: the session's live `lost` never goes down, through a live outage, and ends as the report's.

The newcomer's session showed `failed 3 · lost 3`, then `lost 0` ten seconds later: lost was the messages
with an outcome before the stats were read minus the endpoint's unique count read after, two readings at
different moments. Now it counts, per message with a final outcome, whether the endpoint holds it.
"""

from __future__ import annotations

import asyncio

from sinkbench.tui.session import Session, open_scenario

from .conftest import in_process, live_scenario


async def test_live_lost_through_a_live_outage_never_goes_down(tmp_path):
    # 200 messages a second, at-most-once (Iggy's commits), short retries: an outage loses batches for good.
    path = live_scenario(tmp_path, 'url = "mock"\nbatch_mode = "ndjson"\nmax_retries = 1\nretry_delay = "20ms"')
    path.write_text(path.read_text().replace("rate = 20", "rate = 200").replace('poll_interval = "50ms"',
                                                                              'poll_interval = "10ms"'))
    ticks = iter(range(10**6))
    session = Session(open_scenario(path, env={}), bench_factory=in_process, env={}, cwd=tmp_path,
                      monotonic=lambda: float(next(ticks)))   # every frame may read the endpoint
    session.new_bench()
    run = asyncio.create_task(session.run())
    samples: list[tuple[int | None, int | None, int]] = []

    async def watch(seconds: float) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while loop.time() < end:
            await session.frame()
            snap = session.bench.snapshot() if session.bench is not None else None
            samples.append((*session._ledger(), snap.failed if snap is not None else 0))
            await asyncio.sleep(0.05)

    await watch(0.6)
    await session.break_endpoint("down", "503")
    await watch(0.8)
    await session.break_endpoint("down", "503")    # again: lifted
    await watch(1.0)
    assert session.stop()
    result = await run

    live = [(lost, dup) for lost, dup, _ in samples if lost is not None]
    assert live, samples
    for (lost0, dup0), (lost1, dup1) in zip(live, live[1:]):
        assert lost1 >= lost0 and dup1 >= dup0, samples
    failed_seen = max(failed for _, _, failed in samples)
    assert failed_seen > 0 and max(lost for lost, _ in live) > 0, samples   # the outage lost messages, live
    # At the end: the report's figures, which the last live ones never exceed.
    assert session._ledger() == (result.totals["lost"], result.totals["duplicates"])
    assert live[-1][0] <= result.totals["lost"]
    # Drain is measured from the lifted break: there is one, and the summary does not call it missing.
    assert result.drain is not None, result.notes
