"""How fast the message sources produce messages.

Writes a recorded stream of N synthetic messages (plain and gzip) in a temp
directory, then times reading it back, validating it, and generating
synthetic messages. Prints messages per second; best of a few rounds, since
a shared machine is noisy.

    .venv/bin/python bench/sources_read.py [--count 200000] [--synthetic 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Iterable

from sinkbench.sources import StreamWriter, SyntheticSource, read_stream, validate_stream

START_US = 1_710_064_800_000_000


def best_rate(count: int, rounds: int, run: Callable[[], Iterable[object]]) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        n = 0
        for _ in run():
            n += 1
        best = min(best, time.perf_counter() - started)
        assert n == count, (n, count)
    return count / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000, help="messages in the recorded file")
    parser.add_argument("--synthetic", type=int, default=1_000_000, help="synthetic messages to generate")
    parser.add_argument("--payload-bytes", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    for schema in ("json", "text", "raw"):
        source = SyntheticSource(args.synthetic, schema=schema, payload_bytes=args.payload_bytes, rate=1000,
                                 headers={"x-bench": "1"}, start_us=START_US)
        rate = best_rate(args.synthetic, args.rounds, lambda source=source: source)
        print(f"synthetic {schema:5} {args.synthetic:>9} messages: {rate:>10,.0f} msg/s")

    with tempfile.TemporaryDirectory() as tmp:
        for name in ("stream.jsonl", "stream.jsonl.gz"):
            path = os.path.join(tmp, name)
            source = SyntheticSource(args.count, payload_bytes=args.payload_bytes, rate=1000,
                                     headers={"x-bench": "1"}, start_us=START_US)
            started = time.perf_counter()
            with StreamWriter(path, stream="bench", topic="events", schema="json") as writer:
                for item in source:
                    writer.write(item.topic, item.message)
            write_rate = args.count / (time.perf_counter() - started)
            size = os.path.getsize(path)
            read_rate = best_rate(args.count, args.rounds, lambda path=path: read_stream(path))
            paced_rate = best_rate(args.count, args.rounds,
                                   lambda path=path: read_stream(path, speed="realtime"))
            started = time.perf_counter()
            count, errors = validate_stream(path)
            validate_rate = count / (time.perf_counter() - started)
            assert not errors and count == args.count
            print(f"{name:16} {args.count} lines, {size / 1e6:.1f} MB: read {read_rate:>9,.0f} msg/s "
                  f"(paced {paced_rate:,.0f}), validate {validate_rate:,.0f} msg/s, write {write_rate:,.0f} msg/s")


if __name__ == "__main__":
    main()
