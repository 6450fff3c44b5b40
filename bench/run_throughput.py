"""End-to-end figures of DESIGN.md §8: whole runs, source → runtime → engine → endpoint.

Prints, for each batch mode, messages/s through a complete bench run (the
embedded endpoint in its own process, as `sinkbench run` does) beside the
engine alone sending the same messages to a bare aiohttp server in the same
run, and their ratio; the peak RSS of a 1,000,000-message NDJSON run (bench
process and endpoint process); and the retry-gap accuracy with jitter "none".

Each mode runs `--rounds` times (default 3), the whole run and the engine alone
taking turns to go first; the medians are compared, and the spread is shown, so
one slow round on a shared 2-core machine neither makes nor breaks a goal.

Usage: python bench/run_throughput.py [--quick] [--rounds N] [--million N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import statistics
import subprocess
import sys
import time

from _util import bare_server

from sinkbench.config.settings import SinkSettings
from sinkbench.engine.sink import HttpSink
from sinkbench.model import BatchMetadata
from sinkbench.run.bench import BenchRun
from sinkbench.scenario.load import scenario_from_text
from sinkbench.sources.synthetic import SyntheticSource
from sinkbench.tuning import tune_process

MODES = [  # label, batch_mode, batch_length, messages, extra sink keys
    ("individual, 1 in flight", "individual", 100, 4000, ""),
    ("individual, 16 in flight", "individual", 100, 8000, 'profile = "enhanced"\nmax_in_flight = 16\n'),
    ("raw, 1 in flight", "raw", 100, 4000, ""),
    ("ndjson, batch 1000", "ndjson", 1000, 200_000, ""),
    ("json_array, batch 1000", "json_array", 1000, 200_000, ""),
]


def scenario_text(mode: str, batch: int, count: int, extra: str, timeout: str = "600s") -> str:
    return f"""
[scenario]
name = "throughput-{mode}"
timeout = "{timeout}"
[source]
kind = "synthetic"
count = {count}
payload_bytes = 500
[runtime]
batch_length = {batch}
poll_interval = "1ms"
[sink]
url = "mock"
batch_mode = "{mode}"
{extra}
"""


async def engine_alone(url: str, mode: str, batch: int, count: int, extra: str) -> float:
    """The engine sending prebuilt batches to a bare server: the baseline without source, runtime or mock."""
    in_flight = 16 if "max_in_flight" in extra else 1
    settings = SinkSettings(url=url, batch_mode=mode, profile="enhanced" if in_flight > 1 else "iggy",
                            max_in_flight=in_flight)
    source = SyntheticSource(count, payload_bytes=500, start_us=0)
    topic = source.topics()[0]
    messages = [sm.message for sm in source]
    sink = HttpSink(settings, rng=random.Random(0))
    await sink.open()
    started = time.perf_counter()
    for i in range(0, count, batch):
        chunk = messages[i:i + batch]
        await sink.consume(topic.metadata, BatchMetadata(0, chunk[-1].offset, topic.schema), chunk)
    elapsed = time.perf_counter() - started
    await sink.close()
    return count / elapsed


async def whole_run(text: str) -> tuple[float, int]:
    result = await BenchRun(scenario_from_text(text)).run()
    return result.totals["delivered"] / result.duration, result.totals["delivered"]  # type: ignore[operator]


def vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


async def rss_run(count: int) -> None:
    """Child mode: one NDJSON run of `count` messages; prints its own and the endpoint's peak RSS."""
    bench = BenchRun(scenario_from_text(scenario_text("ndjson", 1000, count, "", timeout="30m")))
    endpoint_peak = 0

    def sample(_snapshot) -> None:
        nonlocal endpoint_peak
        pid = getattr(bench._endpoint, "pid", None)
        if pid:
            endpoint_peak = max(endpoint_peak, vm_hwm_kb(pid))

    result = await bench.run(progress=sample, progress_interval=0.5)
    # VmHWM, not getrusage's ru_maxrss: Linux carries the maxrss of the process image exec() replaced into
    # ru_maxrss, so a child started from a big parent (this script, after the modes above, holds every
    # message of its engine-alone runs) reported the parent's size: 153 MB for a run whose own peak is 60.
    own = vm_hwm_kb(os.getpid())
    print(f"{result.totals['delivered']} {result.duration:.1f} {own} {endpoint_peak} "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")


async def retry_gaps() -> tuple[list[tuple[float, float]], float]:
    """(computed, measured) gap per retry against an endpoint that answers 503 to everything."""
    text = """
[scenario]
name = "retry-gaps"
timeout = "60s"
[source]
kind = "synthetic"
count = 3
[runtime]
batch_length = 1
[sink]
url = "mock"
profile = "enhanced"
jitter = "none"
batch_mode = "individual"
max_retries = 5
retry_delay = "50ms"
retry_backoff_multiplier = 2
max_retry_delay = "1s"
[endpoint]
status = 503
"""
    bench = BenchRun(scenario_from_text(text))
    await bench.run()
    attempts = sorted(bench.metrics.recent, key=lambda a: a.started)  # type: ignore[union-attr]
    pairs = []
    for prev, nxt in zip(attempts, attempts[1:]):
        if nxt.attempt == 0:
            continue
        computed = min(1.0, 0.05 * 2 ** (nxt.attempt - 1))
        measured = nxt.started - (prev.started + prev.latency)
        pairs.append((computed, measured))
    worst = max(m - c for c, m in pairs)
    return pairs, worst


def _rate(rates: list[float]) -> str:
    """The median rate, ± half the spread between the slowest and fastest round."""
    spread = (max(rates) - min(rates)) / 2
    return f"{statistics.median(rates):,.0f}/s ±{spread / 1000:,.0f}k" if spread >= 1000 else \
        f"{statistics.median(rates):,.0f}/s ±{spread:,.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a fifth of the messages per mode")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per mode; the median is reported (default 3)")
    ap.add_argument("--million", type=int, default=1_000_000, help="messages of the RSS run (0 skips it)")
    ap.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    tune_process()
    if args.rss_child:
        asyncio.run(rss_run(args.rss_child))
        return
    scale = 5 if args.quick else 1
    goals = {"individual, 1 in flight": 2500, "individual, 16 in flight": 4000, "ndjson, batch 1000": 150_000,
             "json_array, batch 1000": 150_000}
    # The batch modes also owe a share of the engine alone: what the source, runtime and endpoint may cost.
    ratio_goals = {"ndjson, batch 1000": 0.6, "json_array, batch 1000": 0.6}
    rounds = max(1, args.rounds)
    print(f"median of {rounds} rounds, whole run and engine alone alternating (the spread after ±)\n")
    print(f"{'mode':<26} {'whole run':>18} {'engine alone':>18} {'ratio':>6} {'goal':>9}")
    with bare_server() as url:
        for label, mode, batch, count, extra in MODES:
            count //= scale
            runs: list[float] = []
            alones: list[float] = []
            for r in range(rounds):
                # Alternating which goes first, so a machine that slows or speeds up weighs on both alike.
                for which in (("whole", "alone") if r % 2 == 0 else ("alone", "whole")):
                    if which == "whole":
                        rate, delivered = asyncio.run(whole_run(scenario_text(mode, batch, count, extra)))
                        assert delivered == count, f"{label}: delivered {delivered} of {count}"
                        runs.append(rate)
                    else:
                        alones.append(asyncio.run(engine_alone(url, mode, batch, count, extra)))
            run_rate, alone = statistics.median(runs), statistics.median(alones)
            goal, ratio_goal = goals.get(label), ratio_goals.get(label)
            verdict = "" if goal is None else ("PASS" if run_rate >= goal else "BELOW")
            if ratio_goal is not None:
                verdict += f"; ratio ≥ {ratio_goal}: " + ("PASS" if run_rate / alone >= ratio_goal else "BELOW")
            print(f"{label:<26} {_rate(runs):>18} {_rate(alones):>18} {run_rate / alone:>6.2f} "
                  f"{'' if goal is None else f'{goal:,}':>9} {verdict}")
    pairs, worst = asyncio.run(retry_gaps())
    print("\nretry gaps, jitter none (computed → measured):",
          ", ".join(f"{c * 1000:.0f}→{m * 1000:.1f}ms" for c, m in pairs[:5]))
    print(f"worst excess over the computed delay: {worst * 1000:+.1f} ms (goal within +15 ms): "
          f"{'PASS' if worst <= 0.015 else 'BELOW'}")
    if args.million:
        out = subprocess.run([sys.executable, __file__, "--rss-child", str(args.million)], capture_output=True,
                             text=True, cwd=os.path.dirname(os.path.abspath(__file__)), check=True)
        delivered, seconds, own_kb, endpoint_kb, maxrss_kb = out.stdout.split()
        print(f"\n{args.million:,}-message ndjson run: delivered {int(delivered):,} in {float(seconds):.1f} s "
              f"({int(delivered) / float(seconds):,.0f}/s); peak RSS bench {int(own_kb) / 1024:.0f} MB "
              f"(goal ≤ 120 MB: {'PASS' if int(own_kb) <= 120 * 1024 else 'BELOW'}), "
              f"endpoint {int(endpoint_kb) / 1024:.0f} MB (getrusage's ru_maxrss, which counts this script's own "
              f"size before exec: {int(maxrss_kb) / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
