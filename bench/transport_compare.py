"""Which HTTP client the engine sends through: our own, aiohttp directly, httpx over aiohttp, or httpx's own.

POSTs 500-byte bodies to the bare aiohttp server of bench/_bare_server.py (in
another process) at 1, 8 and 16 in flight, with each client configured as the
engine configures it (no cookies, reqwest's headers, one total timeout per
attempt), in the same run against the same server:

    http1          the engine's `Transport` (its own HTTP/1.1 client on httptools, sinkbench/engine/http1.py)
    aiohttp        the engine's `Transport(backend="aiohttp")` (aiohttp's ClientSession directly; HTTP/1.1)
    httpx-aiohttp  httpx.AsyncClient over httpx-aiohttp's transport (what the engine used before)
    httpx          the engine's `Transport(backend="httpx")` (httpx's own transport; HTTP/2 when asked)

The clients run in alternating slices (`--rounds`), so a machine shared with
other work weighs on all alike. Prints requests/s, this process's CPU µs per
request (steadier than the rates on a busy machine), and each rate's and each
CPU time's ratio to aiohttp's (the engine's client before http1).

    .venv/bin/python bench/transport_compare.py [--seconds 3] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _util import bare_server

from sinkbench.config.settings import SinkSettings
from sinkbench.engine.transport import Transport, build_httpx_client

BODY = b'{"k":"' + b"x" * 490 + b'"}'
HEADERS = {"Content-Type": "application/json"}
IN_FLIGHT = (1, 8, 16)
CLIENTS = ("http1", "aiohttp", "httpx-aiohttp", "httpx")
BASELINE = "aiohttp"
WARMUP = 0.3

Send = Callable[[], Awaitable[int]]


def httpx_over_aiohttp(settings: SinkSettings, url: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    """httpx over httpx-aiohttp, as the engine built it until it sent through aiohttp directly."""
    import aiohttp
    from httpx_aiohttp import AiohttpTransport

    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=90.0)
        return aiohttp.ClientSession(connector=connector, skip_auto_headers=("User-Agent", "Accept-Encoding"),
                                     cookie_jar=aiohttp.DummyCookieJar())

    client = build_httpx_client(settings)   # the same cookie and header handling, then the aiohttp transport
    client._transport = AiohttpTransport(client=session)
    timeout = settings.timeout

    async def send() -> int:
        async with asyncio.timeout(timeout):
            response = await client.request("POST", url, headers=HEADERS, content=BODY)
            return response.status_code if response.content is not None else 0

    return send, client.aclose


def make_client(name: str, url: str, in_flight: int) -> tuple[Send, Callable[[], Awaitable[None]]]:
    settings = SinkSettings(url=url, max_connections=max(10, in_flight))
    if name == "httpx-aiohttp":
        return httpx_over_aiohttp(settings, url)
    t = Transport(settings, name)

    async def send() -> int:
        return (await t.attempt("POST", url, HEADERS, BODY)).status

    return send, t.aclose


async def timed(send: Send, in_flight: int, seconds: float) -> tuple[int, float, float]:
    """(requests, wall seconds, CPU seconds) for `in_flight` concurrent loops of `send`."""
    count = 0
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal count
        while time.perf_counter() < stop_at:
            status = await send()
            if status != 200:
                raise RuntimeError(f"answer {status}")
            count += 1

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return count, time.perf_counter() - start, time.process_time() - cpu


async def compare(url: str, in_flight: int, seconds: float, rounds: int) -> dict[str, list[float]]:
    clients = {name: make_client(name, url, in_flight) for name in CLIENTS}
    totals = {name: [0.0, 0.0, 0.0] for name in CLIENTS}
    try:
        for send, _ in clients.values():
            await timed(send, in_flight, WARMUP)
        for r in range(rounds):
            order = list(CLIENTS) if r % 2 == 0 else list(reversed(CLIENTS))
            for name in order:
                n, wall, cpu = await timed(clients[name][0], in_flight, seconds / rounds)
                for i, v in enumerate((n, wall, cpu)):
                    totals[name][i] += v
    finally:
        for _, close in clients.values():
            await close()
    return totals


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0, help="per client and concurrency (default 3)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating slices (default 3)")
    args = ap.parse_args()
    print(f"500-byte POSTs to a bare aiohttp server in another process; {args.seconds:g} s per client in "
          f"{args.rounds} alternating slices; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    print(f"{'in flight':>9} {'client':>14} {'req/s':>9} {'CPU µs/req':>10} {'req/s vs aiohttp':>16} "
          f"{'CPU vs aiohttp':>14}")
    with bare_server() as url:
        for in_flight in IN_FLIGHT:
            totals = asyncio.run(compare(url, in_flight, args.seconds, args.rounds))
            n0, wall0, cpu0 = totals[BASELINE]
            for name in CLIENTS:
                n, wall, cpu = totals[name]
                print(f"{in_flight:>9} {name:>14} {n / wall:>9,.0f} {cpu / max(n, 1) * 1e6:>10,.1f} "
                      f"{n / wall / (n0 / wall0):>15.2f}x {cpu / max(n, 1) / (cpu0 / max(n0, 1)):>13.2f}x",
                      flush=True)


if __name__ == "__main__":
    main()
