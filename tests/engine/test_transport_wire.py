"""What the engine's HTTP client puts on the wire, pinned for each of its transports.

The default transport (our own HTTP/1.1 client, sinkbench/engine/http1.py), aiohttp's client
(`backend="aiohttp"`, kept to compare with) and httpx's own (`backend="httpx"`, also the HTTP/2 one) must
send the same requests and read the same answers: exactly the headers the connector's reqwest sends,
redirects followed as the engine always did, errors sorted into the same kinds. A raw asyncio server records each
request's head and body byte for byte, so nothing a client library adds goes unseen.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from sinkbench.clock import ManualClock
from sinkbench.config.settings import SinkSettings
from sinkbench.engine import HttpSink, Outcome
from sinkbench.engine.transport import Transport, TransportError
from sinkbench.model import BatchMetadata, Message, Schema, TopicMetadata

BACKENDS = ("http1", "aiohttp", "httpx")
TOPIC = TopicMetadata("s", "t")
META = BatchMetadata(0, 0, Schema.JSON)


@dataclass
class Seen:
    method: str
    target: str
    headers: dict[str, str]        # lower-cased names
    body: bytes
    peer: int                      # the client's port: which connection carried it


@dataclass
class Last:
    """An answer after which the server closes the connection."""
    raw: bytes


Answer = Callable[[Seen, int], Awaitable[bytes | Last | None]]   # the raw answer, or None to close without one


def ok(status: int = 200, body: bytes = b"ok", extra: str = "") -> bytes:
    return (f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{extra}\r\n").encode() + body


@dataclass
class RawServer:
    answer: Answer
    seen: list[Seen] = field(default_factory=list)
    port: int = 0

    def url(self, path: str = "/ingest", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if line:
                        name, value = line.split(":", 1)
                        assert name.lower() not in headers, f"header {name} sent twice"
                        headers[name.lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                seen = Seen(method, target, headers, body, writer.get_extra_info("peername")[1])
                self.seen.append(seen)
                raw = await self.answer(seen, len(self.seen))
                if raw is None:
                    break
                writer.write(raw.raw if isinstance(raw, Last) else raw)
                await writer.drain()
                if isinstance(raw, Last):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def raw_server(answer: Answer) -> AsyncIterator[RawServer]:
    srv = RawServer(answer)
    server = await asyncio.start_server(srv.handle, "127.0.0.1", 0)
    srv.port = server.sockets[0].getsockname()[1]
    try:
        yield srv
    finally:
        server.close()


async def always_ok(seen: Seen, n: int) -> bytes:
    if seen.method == "HEAD":     # an answer to HEAD carries no body, only its length
        return b"HTTP/1.1 200 X\r\nContent-Length: 2\r\n\r\n"
    return ok()


def sink(settings: SinkSettings, backend: str) -> HttpSink:
    return HttpSink(settings, clock=ManualClock(), rng=random.Random(0),
                    transport_factory=lambda s: Transport(s, backend))


def messages(n: int) -> list[Message]:
    return [Message(id=i + 1, offset=i, timestamp=1, payload={"n": i}) for i in range(n)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode,ctype", [("individual", "application/json"), ("ndjson", "application/x-ndjson"),
                                        ("json_array", "application/json"), ("raw", "application/octet-stream")])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
async def test_exactly_the_sinks_headers_and_accept(backend: str, mode: str, ctype: str, method: str):
    async with raw_server(always_ok) as srv:
        s = sink(SinkSettings(url=srv.url(), batch_mode=mode, method=method,
                              headers=(("X-Custom", "yes"), ("Authorization", "Bearer t"))), backend)
        await s.open()
        result = await s.consume(TOPIC, META, messages(2))
        await s.close()
    assert result.outcomes == [Outcome.DELIVERED] * 2
    for seen in srv.seen:
        assert seen.method == method and seen.target == "/ingest"
        assert seen.headers == {"host": f"127.0.0.1:{srv.port}", "accept": "*/*", "content-type": ctype,
                                "content-length": str(len(seen.body)), "x-custom": "yes",
                                "authorization": "Bearer t"}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("method", ["HEAD", "GET", "POST", "DELETE"])
async def test_health_check_headers(backend: str, method: str):
    # No Content-Type on a bodiless request: aiohttp under httpx used to add application/octet-stream to a
    # POST health check, which reqwest does not send.
    async with raw_server(always_ok) as srv:
        s = sink(SinkSettings(url=srv.url(), health_check_enabled=True, health_check_method=method,
                              headers=(("X-Custom", "yes"),)), backend)
        await s.open()
        await s.close()
    [seen] = srv.seen
    expected = {"host": f"127.0.0.1:{srv.port}", "accept": "*/*", "x-custom": "yes"}
    if method == "POST":
        expected["content-length"] = "0"
    assert seen.method == method and seen.headers == expected and seen.body == b""


def redirecting(status: int, location: str) -> Answer:
    async def answer(seen: Seen, n: int) -> bytes:
        if seen.target == "/ingest":
            return ok(status, b"moved", f"Location: {location}\r\n")
        return ok()
    return answer


# (status, method) → the method and whether the body (with Content-Type and Content-Length) went along to the new
# location, as the connector's reqwest 0.13 (tower-http's redirect layer) does it: seen by a server in
# tests/real_iggy/test_differential_redirects.py.
REDIRECTS = {
    (301, "POST"): ("GET", False), (302, "POST"): ("GET", False), (303, "POST"): ("GET", False),
    (307, "POST"): ("POST", True), (308, "POST"): ("POST", True),
    (301, "PUT"): ("PUT", True), (302, "PUT"): ("PUT", True), (303, "PUT"): ("GET", False),
    (307, "PUT"): ("PUT", True), (308, "PUT"): ("PUT", True),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("status,method", sorted(REDIRECTS))
async def test_redirects_change_method_and_body_as_reqwest_does(backend: str, status: int, method: str):
    async with raw_server(redirecting(status, "/next?x=1")) as srv:
        s = sink(SinkSettings(url=srv.url(), batch_mode="ndjson", method=method,
                              headers=(("X-Custom", "yes"), ("Cookie", "a=b"))), backend)
        await s.open()
        result = await s.consume(TOPIC, META, messages(2))
        await s.close()
    assert result.ok and s.stats.requests == 1          # one attempt, however many hops
    first, second = srv.seen
    new_method, keeps_body = REDIRECTS[(status, method)]
    assert second.method == new_method and second.target == "/next?x=1"
    expected = dict(first.headers)
    assert expected["cookie"] == "a=b"               # the same origin: a configured Cookie goes along
    if not keeps_body:
        del expected["content-length"], expected["content-type"]
    expected["referer"] = srv.url()                  # the request before, by its URL
    assert second.headers == expected
    assert second.body == (first.body if keeps_body else b"")


@pytest.mark.parametrize("backend", BACKENDS)
async def test_redirect_to_another_origin_drops_authorization(backend: str):
    async with raw_server(always_ok) as other, raw_server(redirecting(307, other.url("/there"))) as srv:
        s = sink(SinkSettings(url=srv.url(), headers=(("Authorization", "Bearer t"), ("X-Custom", "yes"))), backend)
        await s.open()
        assert (await s.consume(TOPIC, META, messages(1))).ok
        await s.close()
    [seen] = other.seen
    assert seen.method == "POST" and "authorization" not in seen.headers and seen.headers["x-custom"] == "yes"
    assert seen.headers["host"] == f"127.0.0.1:{other.port}" and seen.body == srv.seen[0].body


@pytest.mark.parametrize("backend", BACKENDS)
async def test_ten_redirects_are_followed_an_eleventh_is_an_error(backend: str):
    async def endless(seen: Seen, n: int) -> bytes:
        hop = int(seen.target.rsplit("/", 1)[1]) if seen.target.startswith("/hop/") else 0
        if seen.target == "/hop/10":
            return ok(200) if ten_is_final else ok(307, b"", "Location: /hop/11\r\n")
        return ok(307, b"", f"Location: /hop/{hop + 1}\r\n")

    for ten_is_final in (True, False):
        async with raw_server(endless) as srv:
            t = Transport(SinkSettings(url=srv.url()), backend)
            try:
                if ten_is_final:
                    assert (await t.attempt("POST", srv.url(), {}, b"x")).status == 200
                else:
                    with pytest.raises(TransportError) as err:
                        await t.attempt("POST", srv.url(), {}, b"x")
                    assert err.value.kind == "protocol"
            finally:
                await t.aclose()
        assert len(srv.seen) == 11 and all(s.body == b"x" for s in srv.seen)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_redirect_without_location_is_the_answer(backend: str):
    async def answer(seen: Seen, n: int) -> bytes:
        return ok(302, b"nowhere")

    async with raw_server(answer) as srv:
        t = Transport(SinkSettings(url=srv.url()), backend)
        reply = await t.attempt("POST", srv.url(), {}, b"x")
        await t.aclose()
    assert (reply.status, reply.excerpt) == (302, b"nowhere") and len(srv.seen) == 1


@pytest.mark.parametrize("backend", BACKENDS)
async def test_reply_status_retry_after_and_a_500_byte_excerpt(backend: str):
    async def answer(seen: Seen, n: int) -> bytes:
        return ok(503, b"y" * 2000, "Retry-After: 7\r\n") if n == 1 else ok(200, b"z" * 10)

    async with raw_server(answer) as srv:
        t = Transport(SinkSettings(url=srv.url()), backend)
        first = await t.attempt("POST", srv.url(), {}, b"x")
        second = await t.attempt("POST", srv.url(), {}, b"x")
        await t.aclose()
    assert (first.status, first.retry_after, first.excerpt) == (503, "7", b"y" * 500)
    assert (second.status, second.retry_after, second.excerpt) == (200, None, b"z" * 10)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_answers_read_fully_so_one_connection_carries_every_request(backend: str):
    async def answer(seen: Seen, n: int) -> bytes:
        return ok(200, b"q" * 100_000)

    async with raw_server(answer) as srv:
        t = Transport(SinkSettings(url=srv.url()), backend)
        for _ in range(5):
            assert (await t.attempt("POST", srv.url(), {}, b"x")).status == 200
        await t.aclose()
    assert len(srv.seen) == 5 and len({s.peer for s in srv.seen}) == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _close(seen: Seen, n: int) -> bytes | None:
    return None


async def _garbage(seen: Seen, n: int) -> Last:
    return Last(b"NOT HTTP AT ALL\r\n\r\n")


async def _short_body(seen: Seen, n: int) -> Last:
    return Last(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")


async def _hang(seen: Seen, n: int) -> bytes:
    await asyncio.sleep(5)
    return ok()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("fault,kinds", [(_close, ("reset", "reset", "reset")),
                                         (_garbage, ("protocol", "protocol", "reset")),
                                         (_short_body, ("protocol", "protocol", "reset")),
                                         (_hang, ("timeout", "timeout", "timeout"))])
async def test_error_kinds(backend: str, fault: Answer, kinds: tuple[str, str, str]):
    # `kinds`: (http1, aiohttp, httpx) — httpx has always named a garbled answer differently.
    kind = kinds[BACKENDS.index(backend)]
    async with raw_server(fault) as srv:
        t = Transport(SinkSettings(url=srv.url(), timeout=0.3), backend)
        with pytest.raises(TransportError) as err:
            await t.attempt("POST", srv.url(), {}, b"x")
        await t.aclose()
    assert err.value.kind == kind


@pytest.mark.parametrize("backend", BACKENDS)
async def test_refused_is_connect(backend: str):
    url = f"http://127.0.0.1:{free_port()}/ingest"
    t = Transport(SinkSettings(url=url), backend)
    with pytest.raises(TransportError) as err:
        await t.attempt("POST", url, {}, b"x")
    await t.aclose()
    assert err.value.kind == "connect"


@pytest.mark.parametrize("backend", BACKENDS)
async def test_slow_body_past_the_timeout_is_timeout(backend: str):
    # One total timeout for the attempt, answer body included (reqwest's `timeout`).
    async def answer(seen: Seen, n: int) -> bytes:
        return b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab"

    async with raw_server(answer) as srv:
        t = Transport(SinkSettings(url=srv.url(), timeout=0.3), backend)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TransportError) as err:
            await t.attempt("POST", srv.url(), {}, b"x")
        await t.aclose()
    assert err.value.kind == "timeout" and 0.25 < loop.time() - started < 2.0
