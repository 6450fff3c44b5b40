"""A sent body must not outlive its request in cyclic garbage (issue 19: peak memory of a long run).

Through httpx over httpx-aiohttp about one request in five ended in a reference cycle (httpx's Request and
its ByteStream) holding its whole body until the collector next reached that generation, so a run's peak
memory depended on when collections happened to run: 67 MB on one machine, 170 MB on another for the same
million-message run. The engine's HTTP/1.1 path must leave no body in cyclic garbage.
"""

from __future__ import annotations

import asyncio
import gc
import random

from pytest_httpserver import HTTPServer

from sinkbench.config.settings import SinkSettings
from sinkbench.engine import HttpSink
from sinkbench.model import BatchMetadata, Message, Schema, TopicMetadata

MARKER = b"sinkbench-cyclic-garbage-marker"


def _bodies_in(garbage: list[object]) -> int:
    """Bytes objects holding MARKER reachable within three steps from the garbage."""
    found: set[int] = set()
    frontier = list(garbage)
    for _ in range(3):
        following: list[object] = []
        for obj in frontier:
            for ref in gc.get_referents(obj):
                if isinstance(ref, (bytes, bytearray)) and MARKER in ref:
                    found.add(id(ref))
                elif not isinstance(ref, (str, int, float, bytes, type)):
                    following.append(ref)
        frontier = following
    return len(found)


def test_sent_bodies_are_freed_with_their_requests(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/ingest", method="POST").respond_with_data("", status=200)
    sink = HttpSink(SinkSettings(url=httpserver.url_for("/ingest"), batch_mode="ndjson"), rng=random.Random(1))
    topic, meta = TopicMetadata("s", "t"), BatchMetadata(0, 0, Schema.JSON)
    batch = [Message(id=i + 1, offset=i, timestamp=i, payload={"pad": MARKER.decode() * 40}) for i in range(50)]

    async def go() -> None:
        await sink.open()
        for _ in range(30):
            result = await sink.consume(topic, meta, batch)
            assert result.ok
        await sink.close()

    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        asyncio.run(go())
        gc.collect()
        held = _bodies_in(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert held == 0, f"{held} request bodies of 30 were held by reference cycles"
