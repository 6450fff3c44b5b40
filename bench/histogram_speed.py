"""How fast Histogram records: prints records per second for `record`,
`extend` (a batch at once) and, for scale, an empty method call.

    .venv/bin/python bench/histogram_speed.py [N]

The goal (DESIGN §8 needs up to ~200,000 messages/s through one histogram):
`record` well under a microsecond, i.e. several million records/s.
"""

from __future__ import annotations

import random
import sys
import time

from sinkbench.metrics import Histogram


class _Empty:
    def record(self, ms: float) -> None:
        pass


def _best_of(runs: int, fn) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
    rng = random.Random(42)
    # Lognormal around 5 ms, like request latencies; a few beyond 1 h and below 1 µs.
    values = [rng.lognormvariate(1.6, 1.2) for _ in range(n)]

    def loop(target) -> None:
        record = target.record
        for v in values:
            record(v)

    empty = _best_of(5, lambda: loop(_Empty()))
    rec = _best_of(5, lambda: loop(Histogram()))
    ext = _best_of(5, lambda: Histogram().extend(values))
    h = Histogram()
    h.extend(values)
    summary = _best_of(5, h.summary)

    print(f"values: {n:,} (lognormal, median {h.percentile(50):.2f} ms)")
    print(f"empty method call   {n / empty:>12,.0f} calls/s   {empty / n * 1e9:6.0f} ns each")
    print(f"Histogram.record    {n / rec:>12,.0f} records/s {rec / n * 1e9:6.0f} ns each")
    print(f"Histogram.extend    {n / ext:>12,.0f} records/s {ext / n * 1e9:6.0f} ns each")
    print(f"Histogram.summary   {summary * 1e6:>12,.0f} µs")
    print(f"at 200,000 msg/s, record costs {200_000 * rec / n * 100:.1f}% of one core")


if __name__ == "__main__":
    main()
