"""The interactive session's cost (DESIGN.md §8): throughput with the screen ≥ 85% of the same run headless.

Runs the same scenario — synthetic messages of 500 bytes, NDJSON, batches of
1000, no faults, the embedded endpoint in its own process — as a bare
`BenchRun` (what `sinkbench run` does) and inside the Textual app in headless
mode (`App.run_test`, which lays out and renders every frame as a terminal
would, minus the writing to it), alternately, and prints messages/s for both,
the ratio of the medians, and how many frames the app rendered per second
(bounded by its refresh timer, never per message).

Usage: python bench/tui_overhead.py [--count N] [--rounds R] [--size 160x48] [--interval SECONDS]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

from sinkbench.run.bench import BenchRun
from sinkbench.scenario.load import scenario_from_text
from sinkbench.tuning import tune_process

SCENARIO = """
[scenario]
name = "tui-overhead"
timeout = "600s"
[source]
kind = "synthetic"
count = {count}
payload_bytes = 500
[runtime]
batch_length = 1000
poll_interval = "1ms"
[sink]
url = "mock"
batch_mode = "ndjson"
"""


async def headless(count: int) -> float:
    result = await BenchRun(scenario_from_text(SCENARIO.format(count=count))).run()
    assert result.totals["delivered"] == count, result.totals
    return count / result.duration


async def in_app(count: int, size: tuple[int, int], interval: float | None = None) -> tuple[float, float]:
    from sinkbench.tui.app import REFRESH_INTERVAL, make_app
    from sinkbench.tui.session import Opened

    app = make_app(Opened(scenario_from_text(SCENARIO.format(count=count)), None),
                   refresh_interval=interval or REFRESH_INTERVAL)
    frames = 0
    render = app.dashboard.show

    def counting(frame):
        nonlocal frames
        frames += 1
        return render(frame)

    app.dashboard.show = counting  # type: ignore[method-assign]
    async with app.run_test(size=size):
        while app.session.result is None and app.session.state != "failed":
            await asyncio.sleep(0.05)
        await app.action_quit()
    result = app.session.result
    assert result is not None and result.totals["delivered"] == count, app.session.error
    return count / result.duration, frames / result.duration


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", default="160x48", help="terminal size of the app, WIDTHxHEIGHT")
    parser.add_argument("--interval", type=float, default=None,
                        help="seconds between two renders (default: the app's own, REFRESH_INTERVAL)")
    args = parser.parse_args()
    size = tuple(int(x) for x in args.size.split("x"))
    tune_process()
    bare: list[float] = []
    shown: list[float] = []
    fps: list[float] = []
    print(f"{args.count:,} messages of 500 bytes, ndjson, batch 1000, embedded endpoint in its own process; "
          f"app at {size[0]}x{size[1]}", flush=True)
    for n in range(args.rounds):
        started = time.perf_counter()
        bare.append(asyncio.run(headless(args.count)))
        rate, frames = asyncio.run(in_app(args.count, size, args.interval))  # type: ignore[arg-type]
        shown.append(rate)
        fps.append(frames)
        print(f"  round {n + 1}: headless {bare[-1]:>10,.0f} msg/s   in the app {rate:>10,.0f} msg/s   "
              f"({frames:.1f} frames/s, {time.perf_counter() - started:.1f}s)", flush=True)
    b, s = statistics.median(bare), statistics.median(shown)
    ratio = s / b
    print(f"median: headless {b:,.0f} msg/s, in the app {s:,.0f} msg/s — {ratio:.0%} of headless "
          f"(goal ≥ 85%); {statistics.median(fps):.1f} frames/s")
    return 0 if ratio >= 0.85 else 1


if __name__ == "__main__":
    sys.exit(main())
