"""Issue 8, "the endpoint survives hostile clients": random bytes, slowloris, hundreds of idle connections and
oversized bodies all at once, while a well-formed client keeps getting its answers and memory stays bounded.

tests/endpoint/test_server.py covers each bad client alone; here they come together, on the real clock."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import resource
import time
import tracemalloc

import httpx
import orjson
import pytest

from sinkbench.endpoint.server import Endpoint
from sinkbench.endpoint.settings import BODY_CAP, parse_endpoint_settings

JOURNAL = 64
SMALL_CAP = 1024 * 1024      # max_body_bytes: bigger bodies are answered 413 (still read to the end)


def envelope(i: int) -> dict[str, object]:
    return {"metadata": {"iggy_id": f"{i:032x}", "iggy_offset": i, "iggy_stream": "s", "iggy_topic": "t",
                         "iggy_partition_id": 0}, "payload": {"n": i}}


def idle_budget(want: int = 300) -> int:
    """How many idle connections to hold: each costs two descriptors here (client and server side)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    in_use = len(os.listdir("/proc/self/fd"))
    return max(10, min(want, (soft - in_use - 200) // 2))


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.transport.abort()
    with contextlib.suppress(Exception):
        await writer.wait_closed()


async def _drain_answer(reader: asyncio.StreamReader, timeout: float) -> bytes:
    data = b""
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(timeout):
            while chunk := await reader.read(65536):
                data += chunk
    return data


async def random_bytes_client(ep: Endpoint, rng: random.Random) -> None:
    reader, writer = await asyncio.open_connection(ep.host, ep.port)
    try:
        kind = rng.randrange(3)
        if kind == 0:                                           # pure noise
            data = rng.randbytes(rng.randrange(1, 4096))
        elif kind == 1:                                         # a request line, then noise
            data = b"POST /x HTTP/1.1\r\n" + rng.randbytes(rng.randrange(1, 2048))
        else:                                                   # headers that lie about the body
            data = (b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: " + str(rng.randrange(0, 10**12)).encode()
                    + b"\r\nTransfer-Encoding: " + rng.choice([b"chunked", b"gzip, chunked", b"\xff"]) + b"\r\n\r\n"
                    + rng.randbytes(rng.randrange(0, 512)))
        writer.write(data)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        await _drain_answer(reader, 0.3)
    finally:
        await _close(writer)


async def slowloris_client(ep: Endpoint, stop: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection(ep.host, ep.port)
    try:
        writer.write(b"POST /ingest HTTP/1.1\r\nHost: h\r\n")
        header = b"X-Slow: " + b"a" * 10_000
        i = 0
        while not stop.is_set():
            writer.write(header[i % len(header):i % len(header) + 1])
            i += 1
            with contextlib.suppress(ConnectionError):
                await writer.drain()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.1):
                    await stop.wait()
    finally:
        await _close(writer)


async def oversized_client(ep: Endpoint, size: int) -> bytes:
    """POST `size` bytes of junk; the status line of the answer."""
    reader, writer = await asyncio.open_connection(ep.host, ep.port)
    try:
        writer.write(f"POST /ingest HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {size}\r\n\r\n".encode())
        chunk = b"{" * (1 << 20)
        sent = 0
        while sent < size:
            piece = chunk[:min(len(chunk), size - sent)]
            writer.write(piece)
            await writer.drain()
            sent += len(piece)
        async with asyncio.timeout(10):
            return await reader.readline()
    finally:
        await _close(writer)


async def good_client(ep: Endpoint, n: int, first: int) -> list[float]:
    """`n` sequential well-formed POSTs, each must be answered 200 within 2 s; their latencies."""
    took = []
    async with httpx.AsyncClient(timeout=5.0, trust_env=False) as http:
        for i in range(first, first + n):
            start = time.monotonic()
            async with asyncio.timeout(2.0):
                r = await http.post(ep.url + "ingest", content=orjson.dumps(envelope(i)),
                                    headers={"Content-Type": "application/json"})
            took.append(time.monotonic() - start)
            assert r.status_code == 200, r.text
    return took


async def hostile_round(ep: Endpoint, rng: random.Random, *, noise: int, slow: int, oversized: int) -> None:
    stop = asyncio.Event()
    slowloris = [asyncio.create_task(slowloris_client(ep, stop)) for _ in range(slow)]
    try:
        await asyncio.gather(*(random_bytes_client(ep, random.Random(rng.random())) for _ in range(noise)))
        statuses = await asyncio.gather(*(oversized_client(ep, oversized) for _ in range(1)))
        assert all(s.startswith(b"HTTP/1.1 413") for s in statuses), statuses
    finally:
        stop.set()
        await asyncio.gather(*slowloris)


@pytest.fixture
async def endpoint():
    ep = Endpoint(parse_endpoint_settings({"max_body_bytes": SMALL_CAP}, None, ()), journal_size=JOURNAL)
    await ep.start()
    try:
        yield ep
    finally:
        await ep.stop()


async def test_good_client_is_served_while_hostile_clients_pile_on(endpoint: Endpoint) -> None:
    ep = endpoint
    rng = random.Random(8)
    stop = asyncio.Event()
    idle: list[asyncio.StreamWriter] = []
    slowloris: list[asyncio.Task[None]] = []
    try:
        for _ in range(idle_budget()):
            _, writer = await asyncio.open_connection(ep.host, ep.port)
            idle.append(writer)
        slowloris = [asyncio.create_task(slowloris_client(ep, stop)) for _ in range(10)]

        async def noise() -> None:
            while not stop.is_set():
                await asyncio.gather(*(random_bytes_client(ep, random.Random(rng.random())) for _ in range(20)))

        noisy = asyncio.create_task(noise())
        big = asyncio.create_task(oversized_client(ep, BODY_CAP + (2 << 20)))   # over the buffer cap: drained
        took = await good_client(ep, 50, first=0)
        assert (await big).startswith(b"HTTP/1.1 413")
        stop.set()
        await noisy
    finally:
        stop.set()
        await asyncio.gather(*slowloris, return_exceptions=True)
        for writer in idle:
            await _close(writer)

    assert len(took) == 50 and max(took) < 2.0
    # Hostile bodies never reach the ledger; the journal is the ring it was sized to be.
    assert ep.ledger.messages == 50 and ep.stats()["unique_messages"] == 50
    assert len(ep.requests()) <= JOURNAL
    # And the endpoint still answers once they are gone.
    assert await good_client(ep, 3, first=1000)


async def test_memory_stays_bounded_over_repeated_hostile_rounds(endpoint: Endpoint) -> None:
    ep = endpoint
    rng = random.Random(88)
    round_ = dict(noise=40, slow=5, oversized=SMALL_CAP * 3)
    await hostile_round(ep, rng, **round_)                 # warm up: first-use allocations, caches
    await good_client(ep, 5, first=0)
    tracemalloc.start()
    try:
        await hostile_round(ep, rng, **round_)
        await good_client(ep, 5, first=100)
        before = tracemalloc.take_snapshot()
        for r in range(4):
            await hostile_round(ep, rng, **round_)
            await good_client(ep, 5, first=200 + 10 * r)
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert growth < 3 * 1024 * 1024, [str(s) for s in after.compare_to(before, "lineno")[:10]]
    assert len(ep.requests()) <= JOURNAL
    assert ep.ledger.messages == 30


async def test_slowloris_and_silent_connections_are_closed_by_the_keepalive_timer() -> None:
    # A client that never finishes its headers, or never sends a byte, must not hold a connection forever:
    # the keep-alive timer (120 s by default; short here) closes both, while a good client keeps its answers.
    ep = Endpoint(keepalive_timeout=0.5)
    await ep.start()
    try:
        silent_reader, silent = await asyncio.open_connection(ep.host, ep.port)
        slow_reader, slow = await asyncio.open_connection(ep.host, ep.port)
        slow.write(b"POST /ingest HTTP/1.1\r\nHost: h\r\n")
        start = time.monotonic()
        closed_after: list[float] = []

        async def dribble() -> None:
            while not slow.is_closing():
                slow.write(b"X-Slow: a\r\n")
                with contextlib.suppress(ConnectionError):
                    await slow.drain()
                await asyncio.sleep(0.05)

        async def wait_closed(reader: asyncio.StreamReader) -> None:
            await _drain_answer(reader, 10.0)   # returns at EOF or reset, i.e. when the server closed
            closed_after.append(time.monotonic() - start)

        dribbler = asyncio.create_task(dribble())
        try:
            await asyncio.gather(wait_closed(silent_reader), wait_closed(slow_reader), good_client(ep, 5, 0))
        finally:
            dribbler.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await dribbler
            await _close(silent)
            await _close(slow)
        assert len(closed_after) == 2 and max(closed_after) < 5.0, closed_after
    finally:
        await ep.stop()


@pytest.mark.parametrize("sent", [b"", b'{"a": 1234'], ids=["no-body-at-all", "part-of-the-body"])
async def test_a_stalled_request_body_gets_408_and_is_not_counted(monkeypatch, sent: bytes) -> None:
    # Headers promise 100 bytes; none or 10 arrive, then nothing: aiohttp alone would wait for ever.
    from sinkbench.endpoint import admin

    monkeypatch.setattr(admin, "BODY_STALL_TIMEOUT", 0.3)
    ep = Endpoint()
    await ep.start()
    try:
        reader, writer = await asyncio.open_connection(ep.host, ep.port)
        try:
            writer.write(b"POST /ingest HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n" + sent)
            await writer.drain()
            # Up to the answer's body only: aiohttp then lingers up to 10 s reading what the client still owes.
            async with asyncio.timeout(5.0):
                answer = await reader.readuntil(b"stalled")
        finally:
            await _close(writer)
        assert answer.startswith(b"HTTP/1.1 408"), answer
        stats = ep.stats()
        assert (stats["requests"], stats["messages"]) == (0, 0)
        await good_client(ep, 3, 0)
    finally:
        await ep.stop()


async def test_an_absolute_form_admin_call_is_an_admin_call() -> None:
    # `POST http://host/__sinkbench/reset` is the admin API, not a data request counted by the ledger.
    ep = Endpoint()
    await ep.start()
    try:
        await good_client(ep, 2, 0)
        reader, writer = await asyncio.open_connection(ep.host, ep.port)
        try:
            writer.write(f"POST http://{ep.host}:{ep.port}/__sinkbench/reset HTTP/1.1\r\nHost: h\r\n"
                         f"Content-Length: 0\r\nConnection: close\r\n\r\n".encode())
            answer = await _drain_answer(reader, 5.0)
        finally:
            await _close(writer)
        assert answer.startswith(b"HTTP/1.1 200") and b'"status":"ok"' in answer, answer
        assert (ep.stats()["requests"], ep.stats()["messages"]) == (0, 0)
    finally:
        await ep.stop()


async def test_stop_does_not_wait_for_a_client_stuck_in_its_tls_handshake() -> None:
    ep = Endpoint(parse_endpoint_settings({"tls": True}, None, ()))
    await ep.start()
    reader, writer = await asyncio.open_connection(ep.host, ep.port)
    try:
        writer.write(b"\x16\x03\x01\x02\x00\x01")   # the start of a ClientHello, and then nothing
        await writer.drain()
        await asyncio.sleep(0.1)
        began = time.monotonic()
        await asyncio.wait_for(ep.stop(), 10)
        assert time.monotonic() - began < 3.0
    finally:
        await _close(writer)
