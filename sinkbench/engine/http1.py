"""Sending one HTTP/1.1 request on a pooled keep-alive connection and reading its whole answer.

The engine's default HTTP/1.1 client. At one request in flight a general client's per-request machinery
(request and response objects, header multidicts, a body-writer task, a payload stream, timers) cost more
CPU than the rest of a sink's work together (bench/transport_compare.py). Here a connection is an asyncio
Protocol over httptools (llhttp, the parser aiohttp's client uses too): the request goes out in one write
(two past 64 KiB), the answer is parsed as it arrives, and the waiting request gets one future's result.

What it does, kept as the aiohttp client the engine sent through before (tests/engine/test_transport_wire.py
and tests/engine/test_http1_client.py compare the two byte for byte):

- the request: `METHOD path?query HTTP/1.1` (the path and query as yarl keeps them), `Host` (the port only
  when not the scheme's default), the sink's headers in their order, `Accept: */*` unless the sink sets
  one, `Authorization: Basic` from credentials in the URL, `Content-Length` for a body, and 0 for a
  bodiless request of a method other than GET, HEAD, OPTIONS, TRACE or DELETE (reqwest's rule). Nothing
  else: no User-Agent, Accept-Encoding, Connection or Content-Type of its own. Unlike aiohttp, a sink's
  `Expect: 100-continue` is not waited on: the body goes at once, as reqwest (hyper) sends it;
- the answer: interim 1xx answers skipped, bodies framed by Content-Length, chunked or the connection's
  end, none for HEAD, 204 and 304; header lines as leniently as aiohttp reads them, within its limits (a
  status line or header field of 8190 bytes, 128 fields). The body is returned
  as it came: not decompressed (reqwest as the connector builds it has no decompression features);
- keep-alive per origin (scheme, host, port; one TLS context per pool), as many connections as requests
  in flight, idle ones kept `idle_timeout` seconds and the most recently released reused first. A
  connection is not reused when the server closed it, answered `Connection: close` or HTTP/1.0 without
  keep-alive, sent bytes nobody asked for, or when its answer was not read to the end (an error, a
  cancelled request);
- failures as exceptions whose kind `transport.classify_error` reads as it read aiohttp's: a refused, unknown
  or unreachable host is `ConnectFailed` (its TLS errors chained), a connection closed before the answer's
  head was complete is `ServerDisconnected` (or `ConnectionLost` with the OS's error chained), and an answer
  that is not HTTP or whose body was cut short is `BadAnswer`.

The request's time limit is the caller's: `deadline` (the event loop's clock) bounds connecting and the
answer, so one attempt needs no task cancellation unless it connects.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import Callable, Mapping

import httptools
from yarl import URL

# Methods after which aiohttp, like reqwest, sends no `Content-Length: 0` without a body; DELETE joins them
# (aiohttp would send it; reqwest does not).
_NO_EMPTY_LENGTH = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "DELETE"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_LINE = 8190       # a status line, as aiohttp's client reads it
MAX_FIELD = 8190      # a header's name or value
MAX_HEADERS = 128
_COALESCE = 1 << 16   # a body up to this size goes out in the head's write
_CACHE = 64           # request heads and URLs kept parsed (a sink sends to one URL with one set of headers)

Answer = tuple[int, str | None, str | None, bytes]   # status, Location, Retry-After, the whole body
Key = tuple[str, str, int]


class HttpClientError(Exception):
    """A request that got no whole answer."""


class ConnectFailed(HttpClientError):
    """No connection (refused, unknown host, unreachable, TLS handshake): the cause is chained."""


class ServerDisconnected(HttpClientError):
    """The server closed the connection before the answer's head was complete."""


class ConnectionLost(HttpClientError):
    """The OS reported the connection lost (reset, broken pipe) before the answer's head: the cause is chained."""


class BadAnswer(HttpClientError):
    """An answer that is not HTTP/1.x, or whose body ended before its length."""


class Target:
    """A URL as this client sends to it: parsed once."""

    __slots__ = ("key", "host", "port", "tls", "request_target", "host_header", "authorization")

    def __init__(self, url: str) -> None:
        parsed = URL(url)
        scheme = parsed.scheme
        if scheme not in _DEFAULT_PORTS:
            raise ValueError(f"not an http or https URL: {url!r}")
        if not parsed.raw_host:
            raise ValueError(f"no host in URL: {url!r}")
        self.host = parsed.raw_host
        self.port = parsed.port or _DEFAULT_PORTS[scheme]
        self.tls = scheme == "https"
        self.key: Key = (scheme, self.host, self.port)
        self.request_target = parsed.raw_path_qs
        self.host_header = parsed.host_port_subcomponent or self.host
        self.authorization: str | None = None   # from credentials in the URL
        if parsed.raw_user or parsed.raw_password:
            # aiohttp's BasicAuth: latin-1, like reqwest's basic_auth on a URL's credentials.
            pair = f"{parsed.user or ''}:{parsed.password or ''}".encode("latin-1")
            self.authorization = "Basic " + base64.b64encode(pair).decode("ascii")


def encode_head(method: str, target: Target, headers: Mapping[str, str], has_body: bool) -> tuple[bytes, bool]:
    """The request head, and whether `Content-Length: <len(body)>` and the blank line still follow it (else
    the head is complete). Raises ValueError for a header that would break the head (CR or LF in it)."""
    fields: list[list[str]] = [["Host", target.host_header]]
    lowered: dict[str, int] = {"host": 0}
    for name, value in headers.items():
        low = name.lower()
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
            raise ValueError(f"newline or carriage return in the header {name!r}")
        at = lowered.get(low)
        if at is not None:
            # The sink's Host takes the URL's place, first; a name again in other letters replaces the first
            # one, name and value, where it was (aiohttp's session merged headers so).
            fields[at] = [name, value]
            continue
        lowered[low] = len(fields)
        fields.append([name, value])
    if "accept" not in lowered:
        fields.append(["Accept", "*/*"])
    if target.authorization is not None:
        if "authorization" in lowered:      # aiohttp's refusal, word for word
            raise ValueError("Cannot combine AUTHORIZATION header with AUTH argument or credentials encoded in URL")
        fields.append(["Authorization", target.authorization])
    add_length = False
    if "content-length" not in lowered:
        if has_body:
            add_length = True
        elif method not in _NO_EMPTY_LENGTH:
            fields.append(["Content-Length", "0"])
    elif not has_body and method == "DELETE" and fields[lowered["content-length"]][1] == "0":
        del fields[lowered["content-length"]]
    head = f"{method} {target.request_target} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in fields)
    if not add_length:
        head += "\r\n"
    return head.encode("utf-8"), add_length


def _body_length(line: bytes) -> bool:
    """Whether a Transfer-Encoding value frames the body (chunked last), rather than the connection's end."""
    return line.rsplit(b",", 1)[-1].strip().lower() == b"chunked"


class _Connection(asyncio.Protocol):
    """One keep-alive connection: sends a request, parses its answer, resolves the request's future."""

    def __init__(self, key: Key, loop: asyncio.AbstractEventLoop) -> None:
        self.key = key
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.reusable = False
        self.idle_since = 0.0
        self.gone: asyncio.Future[None] = loop.create_future()   # resolved when the connection is lost
        self._parser = _parser(self)
        self._waiter: asyncio.Future[Answer] | None = None
        self._head_only = False
        self._reset()

    def _reset(self) -> None:
        self._status = 0
        self._location: str | None = None
        self._retry_after: str | None = None
        self._body: list[bytes] = []
        self._headers_done = False
        self._framed = False       # the body has a length (Content-Length, chunked), not the connection's end
        self._count = 0
        self._status_line = 0

    # --- the request ---

    def send(self, head: bytes, body: bytes | None, head_only: bool) -> asyncio.Future[Answer]:
        self._waiter = waiter = self.loop.create_future()
        self._head_only = head_only
        self.reusable = False
        self._reset()
        transport = self.transport
        assert transport is not None
        if body and len(body) > _COALESCE:
            transport.write(head)
            transport.write(body)
        else:
            transport.write(head + body if body else head)
        return waiter

    def close(self) -> None:
        self.reusable = False
        if self.transport is not None:
            self.transport.close()

    # --- asyncio.Protocol ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            self.close()           # bytes nobody asked for: what follows on this connection is unknown
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            cause = exc.__context__ if isinstance(exc, httptools.HttpParserCallbackError) else exc
            self._fail(BadAnswer(f"invalid HTTP answer: {cause}"), cause)
            self.close()
            return
        if self._waiter is None and self._head_only:
            # The parser was told nothing of the HEAD request and waits for a body that never comes.
            self._parser = _parser(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.reusable = False
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            if self._headers_done and not self._framed:
                self._finish(False)              # a body that ends with the connection (aiohttp: even on a reset)
            elif self._headers_done:
                # Named by the body, not by the reset that may have cut it (as aiohttp names it): protocol.
                lost = f" ({exc!r})" if exc is not None else ""
                self._fail(BadAnswer(f"the answer's body ended before its length{lost}"), None)
            elif exc is None:
                self._fail(ServerDisconnected("Server disconnected"), None)
            else:
                self._fail(ConnectionLost(f"Connection lost: {exc}"), exc)
        if not self.gone.done():
            self.gone.set_result(None)

    def eof_received(self) -> bool:
        return False    # close: the server has finished with this connection

    # --- httptools callbacks ---

    def on_message_begin(self) -> None:
        if self._waiter is None:
            self.close()           # another answer right behind the one asked for: nobody asked for it
            return
        self._reset()

    def on_status(self, reason: bytes) -> None:
        self._status_line += len(reason)      # (llhttp may hand the reason over in pieces)
        if self._status_line > MAX_LINE:
            raise BadAnswer("an answer's status line over 8190 bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count += 1
        if self._count > MAX_HEADERS or len(name) > MAX_FIELD or len(value) > MAX_FIELD:
            raise BadAnswer("an answer's headers over the limits (128 fields of 8190 bytes)")
        low = name.lower()
        if low == b"content-length":
            self._framed = True
        elif low == b"transfer-encoding":
            self._framed = _body_length(value)
        elif low == b"location":
            if self._location is None:
                self._location = value.decode("utf-8", "surrogateescape")
        elif low == b"retry-after":
            if self._retry_after is None:
                self._retry_after = value.decode("utf-8", "surrogateescape")

    def on_headers_complete(self) -> None:
        self._status = self._parser.get_status_code()
        self._headers_done = True
        if self._head_only and self._status >= 200:
            self._finish(self._parser.should_keep_alive())

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._status < 200 and self._status != 101:
            self._reset()                            # an interim answer: the real one follows
            return
        self._finish(self._parser.should_keep_alive() and self._status != 101)

    # --- the end of an answer ---

    def _finish(self, keep_alive: bool) -> None:
        waiter = self._waiter
        if waiter is None:
            return                 # an answer nobody waits for (the connection is closing already)
        self._waiter = None
        self.reusable = keep_alive and not self.lost
        body = self._body
        content = body[0] if len(body) == 1 else b"".join(body)
        if not waiter.done():
            waiter.set_result((self._status, self._location, self._retry_after, content))

    def _fail(self, exc: HttpClientError, cause: BaseException | None) -> None:
        waiter = self._waiter
        self._waiter = None
        self.reusable = False
        exc.__cause__ = cause
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)


def _parser(conn: _Connection) -> httptools.HttpResponseParser:
    parser = httptools.HttpResponseParser(conn)
    # As aiohttp's client reads answers outside its debug mode.
    parser.set_dangerous_leniencies(lenient_headers=True, lenient_optional_cr_before_lf=True,
                                    lenient_spaces_after_chunk_size=True)
    return parser


class Http1Pool:
    """Keep-alive HTTP/1.1 connections by origin, and `request` to send on them. See the module docstring."""

    def __init__(self, tls: Callable[[], ssl.SSLContext], idle_timeout: float) -> None:
        self._make_tls = tls
        self._tls: ssl.SSLContext | None = None
        self._idle_timeout = idle_timeout
        self._idle: dict[Key, list[_Connection]] = {}
        self._open: set[_Connection] = set()
        self._targets: dict[str, Target] = {}
        self._heads: dict[tuple[object, ...], tuple[bytes, bool]] = {}
        self._timer: asyncio.TimerHandle | None = None

    async def request(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
                      deadline: float | None = None) -> Answer:
        """Sends one request and reads its whole answer; raises TimeoutError at `deadline` (loop time)."""
        target = self._targets.get(url)
        if target is None:
            target = self._target(url)
        head, add_length = self._head(method, target, headers, body is not None)
        if add_length:
            head += b"Content-Length: %d\r\n\r\n" % len(body)  # type: ignore[arg-type]
        conn = self._reuse(target.key)
        if conn is None:
            conn = await self._connect(target, deadline)
        waiter = conn.send(head, body, method == "HEAD")
        timer = None if deadline is None else conn.loop.call_at(deadline, _expire, waiter)
        try:
            answer = await waiter
        except BaseException:
            conn.close()           # an answer not read to its end leaves the connection unusable
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if conn.reusable:
            self._release(conn)
        else:
            conn.close()
        return answer

    def tls_context(self) -> ssl.SSLContext:
        """The pool's TLS context, made on first use: loading the system's trust store takes some 50 ms, which
        a sink sending plain HTTP never needs."""
        if self._tls is None:
            self._tls = self._make_tls()
        return self._tls

    def _target(self, url: str) -> Target:
        if len(self._targets) >= _CACHE:      # redirect targets could be endless; the sink's own URL stays cheap
            self._targets.clear()
        target = self._targets[url] = Target(url)
        return target

    def _head(self, method: str, target: Target, headers: Mapping[str, str], has_body: bool) -> tuple[bytes, bool]:
        # The sink sends the same headers to the same URL every time: the head is encoded once.
        key = (method, target, has_body, *headers.items())
        cached = self._heads.get(key)
        if cached is None:
            if len(self._heads) >= _CACHE:
                self._heads.clear()
            cached = self._heads[key] = encode_head(method, target, headers, has_body)
        return cached

    def _reuse(self, key: Key) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()                  # the most recently released
            if not conn.lost and conn.transport is not None and not conn.transport.is_closing():
                if conn.loop.time() - conn.idle_since <= self._idle_timeout:
                    return conn
            conn.close()
        return None

    async def _connect(self, target: Target, deadline: float | None) -> _Connection:
        loop = asyncio.get_running_loop()
        conn = _Connection(target.key, loop)
        try:
            async with asyncio.timeout_at(deadline):
                await loop.create_connection(
                    lambda: conn, target.host, target.port, ssl=self.tls_context() if target.tls else None,
                    server_hostname=target.host.rstrip(".") if target.tls else None, happy_eyeballs_delay=0.25)
        except OSError as exc:     # refused, unknown host, unreachable, TLS handshake (ssl.SSLError is one)
            if isinstance(exc, TimeoutError) and deadline is not None and loop.time() >= deadline:
                raise                                          # the attempt's time ran out while connecting
            raise ConnectFailed(f"Cannot connect to host {target.host}:{target.port}: {exc}") from exc
        self._open.add(conn)
        conn.gone.add_done_callback(lambda _: self._open.discard(conn))
        return conn

    def _release(self, conn: _Connection) -> None:
        loop = conn.loop
        conn.idle_since = loop.time()
        self._idle.setdefault(conn.key, []).append(conn)
        if self._timer is None:
            self._timer = loop.call_at(conn.idle_since + self._idle_timeout, self._expire_idle, loop)

    def _expire_idle(self, loop: asyncio.AbstractEventLoop) -> None:
        """Closes connections idle for longer than the idle timeout, as aiohttp's and reqwest's pools do."""
        self._timer = None
        now = loop.time()
        oldest: float | None = None
        for key, idle in list(self._idle.items()):
            keep = []
            for conn in idle:
                if conn.lost or now - conn.idle_since >= self._idle_timeout:
                    conn.close()
                else:
                    keep.append(conn)
                    oldest = conn.idle_since if oldest is None else min(oldest, conn.idle_since)
            if keep:
                self._idle[key] = keep
            else:
                del self._idle[key]
        if oldest is not None:
            self._timer = loop.call_at(oldest + self._idle_timeout, self._expire_idle, loop)

    async def aclose(self) -> None:
        """Closes every connection, idle or busy, and waits (briefly) until they are gone."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._idle.clear()
        conns = list(self._open)
        for conn in conns:
            conn.close()
        pending = [c.gone for c in conns if not c.gone.done()]
        if pending:
            await asyncio.wait(pending, timeout=2.0)
        for conn in conns:
            if not conn.gone.done() and conn.transport is not None:
                conn.transport.abort()   # a TLS close still waiting for its peer
        if pending:
            await asyncio.sleep(0)       # their connection_lost runs now, not after the loop is gone


def _expire(waiter: asyncio.Future[Answer]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())
