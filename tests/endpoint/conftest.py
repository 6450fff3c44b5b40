"""Fixtures for the endpoint tests: endpoints in the test's own loop, on a manual clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from sinkbench.clock import ManualClock
from sinkbench.endpoint.server import Endpoint
from sinkbench.endpoint.settings import parse_endpoint_settings

Serve = Callable[..., Awaitable[Endpoint]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def serve(clock: ManualClock) -> AsyncIterator[Serve]:
    """`await serve({...settings document...}, **Endpoint kwargs)`; stopped after the test."""
    started: list[Endpoint] = []

    async def _serve(doc: dict[str, Any] | None = None, **kwargs: Any) -> Endpoint:
        kwargs.setdefault("clock", clock)
        endpoint = Endpoint(parse_endpoint_settings(doc or {}, None, ()), **kwargs)
        await endpoint.start()
        started.append(endpoint)
        return endpoint

    yield _serve
    for endpoint in started:
        await endpoint.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0, trust_env=False) as client:
        yield client


async def raw_exchange(endpoint: Endpoint, data: bytes, timeout: float = 2.0) -> tuple[bytes, str]:
    """Send raw bytes; return what came back and how the connection ended: eof, reset or timeout."""
    reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port)
    writer.write(data)
    await writer.drain()
    received = b""
    try:
        async with asyncio.timeout(timeout):
            while chunk := await reader.read(65536):
                received += chunk
        outcome = "eof"
    except ConnectionResetError:
        outcome = "reset"
    except TimeoutError:
        outcome = "timeout"
    writer.close()
    try:
        await writer.wait_closed()
    except ConnectionError:
        pass
    return received, outcome


def post(body: bytes, content_type: str = "application/json", path: str = "/ingest") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body
