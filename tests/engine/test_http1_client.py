"""The engine's own HTTP/1.1 client (sinkbench/engine/http1.py) against aiohttp's, which it replaced.

Differential: the same requests through `Transport(backend="aiohttp")` and `Transport(backend="http1")` reach
a raw socket server as the same bytes, and the same raw answers read as the same replies and error kinds.
Then what only the pool shows: which connection carries a request, when one is closed, and that nothing is
left open or pending when the transport closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
import trustme

from sinkbench.config.settings import Profile, SinkSettings
from sinkbench.config.tls import TlsFileError
from sinkbench.engine import transport as transport_module
from sinkbench.engine.http1 import (
    BadAnswer,
    ConnectFailed,
    ConnectionLost,
    Http1Pool,
    HttpClientError,
    ServerDisconnected,
    Target,
    _Connection,
    encode_head,
)
from sinkbench.engine.transport import Reply, Transport, TransportError, classify_error

# An answer: the raw bytes to write after a request (None: close without answering), and whether to close
# after writing them.
Reply_ = tuple[bytes | None, bool]
Answerer = Callable[["Request", int], Awaitable[Reply_]]


@dataclass
class Request:
    raw: bytes            # head and body exactly as received
    method: str
    conn: int             # which connection carried it (1, 2, ... in the order they were accepted)


@dataclass
class Server:
    answer: Answerer
    requests: list[Request] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)       # connections the client closed (EOF seen)
    port: int = 0
    host: str = "127.0.0.1"
    _conns: int = 0

    def url(self, path: str = "/ingest") -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns += 1
        conn = self._conns
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    self.closed.append(conn)
                    return
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                request = Request(head + body, head.split(b" ", 1)[0].decode(), conn)
                self.requests.append(request)
                raw, close = await self.answer(request, len(self.requests))
                if raw is None:
                    return
                writer.write(raw)
                await writer.drain()
                if close:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def serving(answer: Answerer, host: str = "127.0.0.1") -> AsyncIterator[Server]:
    srv = Server(answer, host=host)
    server = await asyncio.start_server(srv.handle, host, 0)
    srv.port = server.sockets[0].getsockname()[1]
    try:
        yield srv
    finally:
        server.close()


def fixed(raw: bytes | None, close: bool = False) -> Answerer:
    async def answer(request: Request, n: int) -> Reply_:
        return raw, close
    return answer


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


# --- requests: the same bytes on the wire --------------------------------------------------------------

HEADER_SETS = [
    {},
    {"X-Custom": "yes", "Content-Type": "application/json"},
    {"Accept": "application/json", "X-A": "1"},
    {"Host": "example.org", "X-A": "1"},
    {"Authorization": "Bearer t", "Cookie": "a=b"},
    {"X-Unicode": "h\u00e9llo", "X-Empty": ""},
    {"X-A": "1", "x-a": "2"},
    {"Content-Length": "0"},
]
BODIES = [None, b"", b"{\"n\":1}", b"x" * 200_000]
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
PATHS = ["/ingest", "/a%20b/c?x=%2F&y=1", "/a b/\u00e9?q=\u00e9 1&k", "", "/p?", "/f#frag", "/x;y=1?a=b"]


async def _wire(backend: str, requests: list[tuple[str, str, dict[str, str], bytes | None]],
                host: str = "127.0.0.1", userinfo: str = "") -> list[bytes]:
    async def answer(request: Request, n: int) -> Reply_:
        return (OK[:-2] if request.method == "HEAD" else OK), False

    async with serving(answer, host) as srv:
        t = Transport(SinkSettings(url=srv.url()), backend)
        try:
            for method, path, headers, body in requests:
                url = srv.url(path)
                if userinfo:
                    url = url.replace("://", f"://{userinfo}@")
                reply = await t.attempt(method, url, headers, body)
                assert reply.status == 200
        finally:
            await t.aclose()
        return [r.raw.replace(str(srv.port).encode(), b"PORT") for r in srv.requests]


def _combinations() -> list[tuple[str, str, dict[str, str], bytes | None]]:
    out = []
    for i, method in enumerate(METHODS):
        for j, headers in enumerate(HEADER_SETS):
            for k, body in enumerate(BODIES):
                if body and (method in ("GET", "HEAD", "OPTIONS") or "Content-Length" in headers):
                    continue          # neither client is asked for these; a wrong length would garble the stream
                out.append((method, PATHS[(i + j + k) % len(PATHS)], headers, body))
    return out


async def test_the_same_request_bytes_as_aiohttp():
    requests = _combinations()
    ours, theirs = await _wire("http1", requests), await _wire("aiohttp", requests)
    assert len(ours) == len(requests)
    for request, mine, reference in zip(requests, ours, theirs):
        assert mine == reference, request


@pytest.mark.parametrize("userinfo", ["alice:s3cret", "al%20ice:p%C3%A4ss", "bob", ":only-password"])
async def test_url_credentials_as_aiohttp_sends_them(userinfo: str):
    # (The sink takes credentials out of its URL; a redirect's Location can still carry some.)
    requests = [("POST", "/ingest", {"X-A": "1"}, b"x"), ("GET", "/", {}, None)]
    ours = await _wire("http1", requests, userinfo=userinfo)
    assert ours == await _wire("aiohttp", requests, userinfo=userinfo)
    assert b"Authorization: Basic " in ours[0]


async def test_url_credentials_beside_an_authorization_header_are_refused_as_aiohttp_refuses_them():
    kinds = []
    async with serving(fixed(OK)) as srv:
        url = srv.url().replace("://", "://u:p@")
        for backend in ("http1", "aiohttp"):
            t = Transport(SinkSettings(url=srv.url()), backend)
            with pytest.raises(TransportError) as err:
                await t.attempt("POST", url, {"Authorization": "Bearer t"}, b"x")
            await t.aclose()
            kinds.append(str(err.value))
    assert kinds[0] == kinds[1] and kinds[0].startswith("protocol: ValueError: Cannot combine AUTHORIZATION")
    assert srv.requests == []


def _ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6(), reason="this machine has no IPv6 loopback")
async def test_ipv6_host_as_aiohttp_sends_it():
    requests = [("POST", "/ingest?q=1", {"X-A": "1"}, b"x")]
    ours = await _wire("http1", requests, host="::1")
    assert ours == await _wire("aiohttp", requests, host="::1")
    assert b"Host: [::1]:PORT\r\n" in ours[0]


def test_host_header_leaves_out_the_default_port():
    assert Target("http://example.org:80/x").host_header == "example.org"
    assert Target("https://example.org:443/x").host_header == "example.org"
    assert Target("https://example.org:80/x").host_header == "example.org:80"
    assert Target("http://[::1]/x").host_header == "[::1]"
    assert Target("http://B\u00fccher.example/x").host_header == "xn--bcher-kva.example"
    assert Target("http://example.org").request_target == "/"


def test_a_newline_in_a_header_is_refused():
    with pytest.raises(ValueError, match="X-Bad"):
        encode_head("POST", Target("http://h/"), {"X-Bad": "a\r\nInjected: 1"}, True)


# --- answers: the same replies ----------------------------------------------------------------------------

ANSWERS = {
    "content-length": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "chunked": b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    "chunked with trailer": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
    "interim answers first": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: </a>\r\n\r\n"
                             b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok",
    "204 with a length": b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
    "304": b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
    "retry-after": b"HTTP/1.1 503 Busy\r\nRetry-After: 7\r\nRetry-After: 9\r\nContent-Length: 4\r\n\r\nbusy",
    "location on a 200": b"HTTP/1.1 200 OK\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n",
    "bare LF lines": b"HTTP/1.1 200 OK\nContent-Length: 3\n\nabc",
    "no reason phrase": b"HTTP/1.1 429 \r\nContent-Length: 0\r\n\r\n",
    "long body": b"HTTP/1.1 500 Oops\r\nContent-Length: 3000\r\n\r\n" + b"e" * 3000,
    "latin-1 header": b"HTTP/1.1 503 X\r\nRetry-After: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n",
}
# Answers that end with the connection (the body runs to its end).
CLOSING = {
    "http/1.0 to close": b"HTTP/1.0 200 OK\r\n\r\nuntil the end",
    "http/1.1 to close": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
    "connection close with length": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc",
}


async def _replies(backend: str, raw: bytes, close: bool, method: str = "POST") -> tuple[list[Reply], list[int]]:
    """Two requests answered `raw`: the replies, and which connection carried each."""
    async with serving(fixed(raw, close)) as srv:
        t = Transport(SinkSettings(url=srv.url()), backend)
        try:
            replies = [await t.attempt(method, srv.url(), {}, b"x" if method != "HEAD" else None)
                       for _ in range(2)]
        finally:
            await t.aclose()
        return replies, [r.conn for r in srv.requests]


@pytest.mark.parametrize("name", sorted(ANSWERS))
async def test_the_same_replies_as_aiohttp_on_one_connection(name: str):
    ours = await _replies("http1", ANSWERS[name], False)
    assert ours == await _replies("aiohttp", ANSWERS[name], False)
    assert ours[1] == [1, 1]                          # kept alive: both on the first connection


@pytest.mark.parametrize("name", sorted(CLOSING))
async def test_answers_that_close_read_to_the_end_and_are_not_reused(name: str):
    ours = await _replies("http1", CLOSING[name], True)
    assert ours == await _replies("aiohttp", CLOSING[name], True)
    assert ours[1] == [1, 2]
    assert ours[0][0].status == 200 and ours[0][0].excerpt in (b"until the end", b"abc")


async def test_http10_keep_alive_is_reused():
    raw = b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"
    ours = await _replies("http1", raw, False)
    assert ours == await _replies("aiohttp", raw, False) and ours[1] == [1, 1]


@pytest.mark.parametrize("length", [b"Content-Length: 2\r\n", b"Transfer-Encoding: chunked\r\n", b""])
async def test_head_answers_carry_no_body(length: bytes):
    raw = b"HTTP/1.1 200 OK\r\n" + length + b"\r\n"
    ours = await _replies("http1", raw, False, method="HEAD")
    assert ours == await _replies("aiohttp", raw, False, method="HEAD")
    assert ours[0][0].excerpt == b""
    # A HEAD answer without a length cannot show where it ends: neither client reuses its connection.
    assert ours[1] == ([1, 1] if length else [1, 2])


async def test_compressed_answers_are_not_decompressed():
    # Deliberately unlike aiohttp: reqwest, as the connector builds it (no gzip/deflate features), hands the
    # body over as it came, and the sink's logged excerpt is that body.
    packed = gzip.compress(b"the plain text")
    raw = b"HTTP/1.1 500 X\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (len(packed), packed)
    (reply, _), _ = await _replies("http1", raw, False)
    assert reply.excerpt == packed
    (theirs, _), _ = await _replies("aiohttp", raw, False)
    assert theirs.excerpt == b"the plain text"


# --- errors: the same kinds ---------------------------------------------------------------------------------

FAULTS = {
    "closed before answering": (None, False),
    "closed mid-head": (b"HTTP/1.1 200 OK\r\nContent-Len", True),
    "closed after an interim answer": (b"HTTP/1.1 100 Continue\r\n\r\n", True),
    "body cut short": (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b", True),
    "chunked cut short": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", True),
    "not http": (b"NOT HTTP AT ALL\r\n\r\n", True),
    "bad chunk size": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", True),
    "two lengths": (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok", True),
    "status line over 8190 bytes": (b"HTTP/1.1 200 " + b"O" * 8200 + b"\r\nContent-Length: 0\r\n\r\n", True),
    "header over 8190 bytes": (b"HTTP/1.1 200 OK\r\nX-Long: " + b"v" * 8200 + b"\r\nContent-Length: 0\r\n\r\n", True),
    "129 headers": (b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(128))
                    + b"Content-Length: 0\r\n\r\n", True),
}


async def _kind(backend: str, raw: bytes | None, close: bool) -> str:
    async with serving(fixed(raw, close)) as srv:
        t = Transport(SinkSettings(url=srv.url(), timeout=2), backend)
        try:
            with pytest.raises(TransportError) as err:
                await t.attempt("POST", srv.url(), {}, b"x")
        finally:
            await t.aclose()
        return err.value.kind


def _rst_handler(raw: bytes | None) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        if raw:
            writer.write(raw)
            await writer.drain()
            await asyncio.sleep(0.1)   # read by the client before the reset, which would discard it
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        writer.transport.abort()      # SO_LINGER 0: the close is a reset
    return handle


@pytest.mark.parametrize("name", sorted(FAULTS))
async def test_the_same_error_kinds_as_aiohttp(name: str):
    raw, close = FAULTS[name]
    ours = await _kind("http1", raw, close)
    assert ours == await _kind("aiohttp", raw, close)
    assert ours == ("reset" if name.startswith("closed") else "protocol")


@pytest.mark.parametrize("raw,kind", [(None, "reset"), (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc", "protocol")])
async def test_a_reset_is_named_as_aiohttp_names_it(raw: bytes | None, kind: str):
    server = await asyncio.start_server(_rst_handler(raw), "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/ingest"
    kinds = []
    for backend in ("http1", "aiohttp"):
        t = Transport(SinkSettings(url=url, timeout=2), backend)
        with pytest.raises(TransportError) as err:
            await t.attempt("POST", url, {}, b"x")
        await t.aclose()
        kinds.append(err.value.kind)
    server.close()
    assert kinds == [kind, kind]


async def test_limits_are_aiohttps():
    # Just inside aiohttp's limits, an answer is read (the tests above hold the ones just past them).
    raw = (b"HTTP/1.1 200 " + b"O" * 8100 + b"\r\nX-Long: " + b"v" * 8100 + b"\r\n"
           + b"".join(b"X-%d: 1\r\n" % i for i in range(126)) + b"Content-Length: 2\r\n\r\nok")
    ours = await _replies("http1", raw, False)
    assert ours == await _replies("aiohttp", raw, False) and ours[0][0].excerpt == b"ok"


async def test_expect_100_continue_is_not_waited_on():
    # Deliberately unlike aiohttp (which holds the body back until a 100 Continue): reqwest sends it at once,
    # and a server that sends no interim answer (the mock endpoint sends none) still gets the body.
    async with serving(fixed(OK)) as srv:
        t = Transport(SinkSettings(url=srv.url(), timeout=2))
        reply = await t.attempt("POST", srv.url(), {"Expect": "100-continue"}, b"body")
        await t.aclose()
    assert reply.status == 200 and srv.requests[0].raw.endswith(b"\r\n\r\nbody")


async def test_an_unknown_host_is_connect():
    t = Transport(SinkSettings(url="http://no-such-host.invalid/x", timeout=5))
    with pytest.raises(TransportError) as err:
        await t.attempt("POST", "http://no-such-host.invalid/x", {}, b"x")
    await t.aclose()
    assert err.value.kind == "connect"


# --- the pool ----------------------------------------------------------------------------------------------------

async def test_a_connection_the_server_closed_while_idle_is_not_reused():
    async def answer(request: Request, n: int) -> Reply_:
        return OK, n == 1               # the first connection closes after its answer, saying nothing

    async with serving(answer) as srv:
        t = Transport(SinkSettings(url=srv.url()))
        assert (await t.attempt("POST", srv.url(), {}, b"x")).status == 200
        await asyncio.sleep(0.05)       # the server's FIN arrives while the connection is idle
        assert (await t.attempt("POST", srv.url(), {}, b"x")).status == 200
        await t.aclose()
    assert [r.conn for r in srv.requests] == [1, 2]


async def test_a_connection_closed_unannounced_under_a_request_is_reset():
    # The server closes the pooled connection just as the next request goes out: as with aiohttp, not retried.
    async def answer(request: Request, n: int) -> Reply_:
        return (OK, False) if n == 1 else (None, True)

    for backend in ("http1", "aiohttp"):
        async with serving(answer) as srv:
            t = Transport(SinkSettings(url=srv.url()), backend)
            assert (await t.attempt("POST", srv.url(), {}, b"x")).status == 200
            with pytest.raises(TransportError) as err:
                await t.attempt("POST", srv.url(), {}, b"x")
            await t.aclose()
        assert err.value.kind == "reset", backend


async def test_the_most_recently_released_connection_is_reused_first():
    gate = asyncio.Event()

    async def answer(request: Request, n: int) -> Reply_:
        if n <= 2:
            await gate.wait() if n == 2 else None
            if n == 1:
                await asyncio.sleep(0.05)
                gate.set()
        return OK, False

    async with serving(answer) as srv:
        t = Transport(SinkSettings(url=srv.url()))
        # Two at once: two connections. The first answered first, so the second is the most recently released.
        await asyncio.gather(t.attempt("POST", srv.url(), {}, b"1"), t.attempt("POST", srv.url(), {}, b"2"))
        order = [r.conn for r in srv.requests]
        await t.attempt("POST", srv.url(), {}, b"3")
        await t.aclose()
    released_last = order[1]
    assert srv.requests[2].conn == released_last and len({r.conn for r in srv.requests}) == 2


async def test_idle_connections_close_after_the_idle_timeout():
    async with serving(fixed(OK)) as srv:
        pool = Http1Pool(ssl.create_default_context, idle_timeout=0.2)
        assert (await pool.request("POST", srv.url(), {}, b"x"))[0] == 200
        await asyncio.sleep(0.1)
        assert (await pool.request("POST", srv.url(), {}, b"x"))[0] == 200      # still idle in time: reused
        assert srv.closed == []
        await asyncio.sleep(0.5)
        assert srv.closed == [1]                                              # closed by the pool's timer
        assert (await pool.request("POST", srv.url(), {}, b"x"))[0] == 200
        await pool.aclose()
    assert [r.conn for r in srv.requests] == [1, 1, 2]


async def test_a_request_out_of_time_closes_its_connection():
    async def answer(request: Request, n: int) -> Reply_:
        if n == 1:
            await asyncio.sleep(0.6)
        return OK, False

    async with serving(answer) as srv:
        t = Transport(SinkSettings(url=srv.url(), timeout=0.3))
        with pytest.raises(TransportError) as err:
            await t.attempt("POST", srv.url(), {}, b"x")
        assert err.value.kind == "timeout" and str(err.value) == "no answer within 0.3s"
        assert (await t.attempt("POST", srv.url(), {}, b"x")).status == 200
        await t.aclose()
    assert [r.conn for r in srv.requests] == [1, 2]        # the late answer's connection was not reused


async def test_a_cancelled_request_closes_its_connection():
    started = asyncio.Event()

    async def answer(request: Request, n: int) -> Reply_:
        if n == 1:
            started.set()
            await asyncio.sleep(5)
        return OK, False

    async with serving(answer) as srv:
        t = Transport(SinkSettings(url=srv.url()))
        task = asyncio.create_task(t.attempt("POST", srv.url(), {}, b"x"))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await t.attempt("POST", srv.url(), {}, b"x")).status == 200
        await t.aclose()
    assert [r.conn for r in srv.requests] == [1, 2]


async def test_bytes_nobody_asked_for_end_the_connection():
    async def answer(request: Request, n: int) -> Reply_:
        return (OK + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" if n == 1 else OK), False

    async with serving(answer) as srv:
        t = Transport(SinkSettings(url=srv.url()))
        assert (await t.attempt("POST", srv.url(), {}, b"x")).excerpt == b"ok"
        await asyncio.sleep(0.05)
        assert (await t.attempt("POST", srv.url(), {}, b"x")).excerpt == b"ok"
        await t.aclose()
    assert [r.conn for r in srv.requests] == [1, 2]


async def test_aclose_closes_every_connection_and_leaves_no_task():
    gate = asyncio.Event()

    async def answer(request: Request, n: int) -> Reply_:
        if n <= 3:
            await gate.wait()
        return OK, False

    async with serving(answer) as srv:
        t = Transport(SinkSettings(url=srv.url()))
        sends = [asyncio.create_task(t.attempt("POST", srv.url(), {}, b"x")) for _ in range(3)]
        while len(srv.requests) < 3:
            await asyncio.sleep(0.01)
        gate.set()
        await asyncio.gather(*sends)
        before = asyncio.all_tasks()
        await t.aclose()
        await asyncio.sleep(0.05)
        assert sorted(srv.closed) == [1, 2, 3]
        assert asyncio.all_tasks() <= before


async def test_the_timeout_bounds_the_whole_attempt_redirects_included():
    # Each hop answers in 0.2 s, inside a 0.5 s timeout; four of them are not.
    async def answer(request: Request, n: int) -> Reply_:
        await asyncio.sleep(0.2)
        return b"HTTP/1.1 307 X\r\nLocation: /next%d\r\nContent-Length: 0\r\n\r\n" % n, False

    async with serving(answer) as srv:
        t = Transport(SinkSettings(url=srv.url(), timeout=0.5))
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TransportError) as err:
            await t.attempt("POST", srv.url(), {}, b"x")
        elapsed = loop.time() - started
        await t.aclose()
    assert err.value.kind == "timeout" and 0.45 < elapsed < 0.7 and len(srv.requests) == 3


async def test_the_timeout_bounds_connecting():
    # A server that accepts but never completes the TLS handshake: the attempt's timeout ends the wait.
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/x"
    t = Transport(SinkSettings(url=url, timeout=0.3))
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TransportError) as err:
        await t.attempt("POST", url, {}, b"x")
    await t.aclose()
    server.close()
    assert err.value.kind == "timeout" and loop.time() - started < 1.0


def test_an_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="unknown HTTP backend 'curl'"):
        Transport(SinkSettings(url="http://h/"), "curl")


# --- TLS context: made when it can be needed -------------------------------------------------------------------

def _counting(monkeypatch: pytest.MonkeyPatch) -> list[SinkSettings]:
    made: list[SinkSettings] = []
    real = transport_module.ssl_context

    def counted(settings: SinkSettings) -> ssl.SSLContext:
        made.append(settings)
        return real(settings)

    monkeypatch.setattr(transport_module, "ssl_context", counted)
    return made


async def test_plain_http_makes_no_tls_context_until_a_redirect_leads_to_https(monkeypatch):
    made = _counting(monkeypatch)
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)

    async def tls_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(1)
        writer.write(OK)
        await writer.drain()
        writer.close()

    tls_server = await asyncio.start_server(tls_ok, "127.0.0.1", 0, ssl=server_ctx)
    https_url = f"https://127.0.0.1:{tls_server.sockets[0].getsockname()[1]}/there"
    async with serving(fixed(b"HTTP/1.1 307 X\r\nLocation: %s\r\nContent-Length: 0\r\n\r\n" % https_url.encode())) as srv:
        t = Transport(SinkSettings(url=srv.url(), tls_danger_accept_invalid_certs=True))
        assert made == []                        # plain HTTP: no trust store loaded at open
        assert (await t.attempt("POST", srv.url(), {}, b"x")).status == 200
        assert len(made) == 1                    # the redirect to https made it, once
        await t.aclose()
    tls_server.close()


def test_https_and_tls_files_make_the_context_at_once(monkeypatch, tmp_path):
    made = _counting(monkeypatch)
    Transport(SinkSettings(url="https://example.org/x"))
    assert len(made) == 1
    # A TLS file that cannot be read is reported when the transport is made (the sink's open), not at a request.
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(TlsFileError, match="missing.pem"):
        Transport(SinkSettings(url="http://example.org/x", profile=Profile.ENHANCED, tls_ca_file=missing))


# --- kinds of the client's own exceptions ------------------------------------------------------------------------

def _caused(exc: BaseException, cause: BaseException) -> BaseException:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize("exc,kind", [
    (_caused(ConnectFailed("x"), ConnectionRefusedError(111, "refused")), "connect"),
    (_caused(ConnectFailed("x"), socket.gaierror(-2, "Name or service not known")), "connect"),
    (_caused(ConnectFailed("x"), OSError(113, "No route to host")), "connect"),
    (_caused(ConnectFailed("x"), ssl.SSLCertVerificationError(1, "certificate verify failed")), "tls"),
    (ServerDisconnected("Server disconnected"), "reset"),
    (_caused(ConnectionLost("x"), ConnectionResetError(104, "reset")), "reset"),
    # A broken pipe while sending: aiohttp's ClientOSError, always counted as a timeout (see classify_error).
    (_caused(ConnectionLost("x"), BrokenPipeError(32, "Broken pipe")), "timeout"),
    (BadAnswer("x"), "protocol"),
])
def test_the_clients_failures_have_aiohttps_kinds(exc: BaseException, kind: str):
    assert classify_error(exc) == kind


class _FakeTransport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


@pytest.mark.parametrize("lost,kind", [(BrokenPipeError(32, "Broken pipe"), "timeout"),
                                       (ConnectionResetError(104, "reset"), "reset"), (None, "reset")])
async def test_a_connection_lost_before_the_answer_keeps_its_cause(lost: Exception | None, kind: str):
    conn = _Connection(("http", "h", 80), asyncio.get_running_loop())
    conn.connection_made(_FakeTransport())  # type: ignore[arg-type]
    waiter = conn.send(b"POST / HTTP/1.1\r\n\r\n", b"x", False)
    conn.connection_lost(lost)
    with pytest.raises(HttpClientError) as err:
        await waiter
    assert err.value.__cause__ is lost and classify_error(err.value) == kind and conn.lost and not conn.reusable
