"""Which httpx transport the engine uses: httpx's own or httpx-aiohttp's.

POSTs 500-byte bodies to a bare aiohttp server in another process, at 1, 8
and 16 in flight, for each transport, and prints requests/s and the ratio.
Usage: python bench/transport_compare.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from _util import bare_server, rate

from sinkbench.config.settings import SinkSettings
from sinkbench.engine.transport import Transport

BODY = b'{"k":"' + b"x" * 490 + b'"}'


async def loop(url: str, backend: str, in_flight: int, seconds: float) -> int:
    t = Transport(SinkSettings(url=url, max_connections=max(10, in_flight)), backend)
    headers = {"Content-Type": "application/json"}
    count = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            await t.attempt("POST", url, headers, BODY)
            count += 1

    await asyncio.gather(*(worker() for _ in range(in_flight)))
    await t.aclose()
    return count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    with bare_server() as url:
        print(f"{'in flight':>9} {'httpx':>12} {'httpx-aiohttp':>14} {'ratio':>6}")
        for in_flight in (1, 8, 16):
            a = asyncio.run(loop(url, "httpx", in_flight, args.seconds))
            b = asyncio.run(loop(url, "aiohttp", in_flight, args.seconds))
            print(f"{in_flight:>9} {rate(a, args.seconds)} {rate(b, args.seconds):>14} {b / max(a, 1):>5.2f}x")


if __name__ == "__main__":
    main()
