"""Soak: a long bench at a steady rate with a mild fault plan, watching for leaks (issue 8).

Runs a synthetic stream at `--rate` messages/s (NDJSON, batches of 100) into
the embedded endpoint in its own process, which answers 503 with probability
0.05 and resets the connection with probability 0.02, for `--minutes`. Every
`--interval` seconds it samples the resident memory (VmRSS) and the open file
descriptors of the bench process and of the endpoint process, prints a table,
and at the end compares the mean of the last third of the samples with the
first third: a leak keeps growing, a healthy run flattens.

Usage: python bench/soak.py [--minutes 10] [--rate 2000] [--interval 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from sinkbench.run.bench import BenchRun
from sinkbench.scenario.load import scenario_from_text

SCENARIO = """\
[scenario]
name = "soak"
seed = 1
timeout = "{timeout}s"

[source]
kind = "synthetic"
count = {count}
rate = {rate}
payload_bytes = 200

[runtime]
batch_length = 100
poll_interval = "5ms"
offset_commit = "after_consuming"

[sink]
url = "mock"
batch_mode = "ndjson"
timeout = "2s"
max_retries = 3
retry_delay = "20ms"
max_retry_delay = "200ms"

[endpoint]
seed = 1
[[endpoint.faults]]
probability = 0.05
action = "status"
status = 503
[[endpoint.faults]]
probability = 0.02
action = "reset"
"""


def proc_sample(pid: int | None) -> tuple[int | None, int | None]:
    """(VmRSS in KiB, open fds) of a process, None where unknown."""
    if pid is None:
        return None, None
    rss = fds = None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
                break
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        pass
    return rss, fds


def _fmt(v: int | None) -> str:
    return "-" if v is None else f"{v:,}"


async def soak(minutes: float, rate: int, interval: float) -> int:
    seconds = minutes * 60
    count = int(rate * seconds)
    text = SCENARIO.format(timeout=int(seconds + 120), count=count, rate=rate)
    run = BenchRun(scenario_from_text(text, "soak.toml", (), env={}))
    samples: list[tuple[float, int | None, int | None, int | None, int | None, int]] = []
    print(f"soak: {count:,} messages at {rate:,}/s for {minutes:g} min, sampling every {interval:g}s")
    print(f"{'t':>7}  {'bench RSS KiB':>14}  {'bench fds':>9}  {'endpoint RSS KiB':>16}  {'endpoint fds':>12}  {'delivered':>10}")

    async def sample_loop() -> None:
        start = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            endpoint = run._endpoint   # the EndpointProcess, once started
            b_rss, b_fds = proc_sample(os.getpid())
            e_rss, e_fds = proc_sample(getattr(endpoint, "pid", None))
            snap = run.snapshot()
            delivered = snap.delivered if snap is not None else 0
            t = time.monotonic() - start
            samples.append((t, b_rss, b_fds, e_rss, e_fds, delivered))
            print(f"{t:>6.0f}s  {_fmt(b_rss):>14}  {_fmt(b_fds):>9}  {_fmt(e_rss):>16}  {_fmt(e_fds):>12}  {delivered:>10,}",
                  flush=True)

    sampler = asyncio.create_task(sample_loop())
    try:
        result = await run.run()
    finally:
        sampler.cancel()
    t = result.totals
    print(f"\nrun {result.status.value} after {result.duration:.1f}s: total {t['total']:,}, delivered {t['delivered']:,}, "
          f"failed {t['failed']:,}, lost {t['lost']}, duplicates {t['duplicates']}, requests {t['requests']:,}, "
          f"retries {t['retries']:,}, status codes {result.status_codes}")
    if len(samples) < 3:
        print("too few samples for a growth check (run longer or sample more often)")
        return 0
    third = len(samples) // 3
    first, last = samples[:third], samples[-third:]
    print(f"\ngrowth, mean of the last {third} samples against the first {third}:")
    worst = 0.0
    for index, name in ((1, "bench RSS"), (2, "bench fds"), (3, "endpoint RSS"), (4, "endpoint fds")):
        a = [s[index] for s in first if s[index] is not None]
        b = [s[index] for s in last if s[index] is not None]
        if not a or not b:
            print(f"  {name:<13} unknown")
            continue
        ma, mb = sum(a) / len(a), sum(b) / len(b)
        growth = (mb - ma) / ma * 100 if ma else 0.0
        worst = max(worst, growth)
        print(f"  {name:<13} {ma:>12,.0f} -> {mb:>12,.0f}  ({growth:+.1f}%)")
    verdict = "flat" if worst < 10 else "GROWING"
    print(f"verdict: {verdict} (largest growth {worst:+.1f}%; > +10% between thirds suggests a leak)")
    return 0 if verdict == "flat" else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=2000, help="messages per second (default 2000)")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples (default 10)")
    args = parser.parse_args()
    return asyncio.run(soak(args.minutes, args.rate, args.interval))


if __name__ == "__main__":
    sys.exit(main())
