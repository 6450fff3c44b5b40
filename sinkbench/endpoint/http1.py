"""HTTP/1.1 framing for the mock endpoint: an asyncio Protocol over httptools (llhttp), no framework.

The endpoint must answer faster than any sink can send (bench/endpoint_throughput.py), and an HTTP
framework's per-request machinery — a task, a request object with its URL parsed, a response object,
timers — costs more than the endpoint's own work. Here a request whose body has arrived is handed to the
handler at once, in `data_received`, and a handler that can answer without waiting (nearly every one)
returns its `Response` there too: no task, no timer, one write. Only a handler that waits (latency,
`delay`, `slow_body`, `hang`, admin calls) returns a coroutine, which runs as a task that the client
leaving cancels.

What this layer does, kept as aiohttp's server did it for the endpoint:

- whole bodies are buffered before the handler runs (the endpoint always reads them whole), up to the
  handler's cap for that request (`Handler.body_cap`); past it the rest is counted, not kept;
- a body that stops arriving for `Handler.stall_timeout()` seconds, or whose chunking breaks after the
  head, is the handler's to answer (`Handler.stalled`, `Handler.unreadable`); the connection then closes;
- a request line over 8190 bytes, a header field over 8190 or more than 128 headers, and anything
  llhttp refuses before the head is complete, get a plain `400` and the connection closes;
- keep-alive for `keepalive_timeout` seconds from the last answer (or the connection's start): a client
  that never completes a request head (slowloris) is closed then too; HTTP/1.0 and `Connection: close`
  are honoured; pipelined requests are answered in order;
- `Expect: 100-continue` gets no interim answer (aiohttp's low-level server sent none either): clients
  send the body after their own short wait.

Content-Encoding is not decoded here (encoding.py does, bounded), and nothing is logged for a client's
bad bytes: surviving bad clients is the endpoint's job, not news.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections import deque
from collections.abc import Awaitable, Iterator
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, Protocol

import httptools
from yarl import URL

MAX_LINE = 8190       # request target
MAX_FIELD = 8190      # a header's name or value
MAX_HEADERS = 128
# Complete requests waiting behind one whose handler is still running before reading pauses.
MAX_QUEUED = 16

RawHeaders = tuple[tuple[bytes, bytes], ...]

log = logging.getLogger(__name__)


class _Sentinel:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


# A handler's result when it dealt with the connection itself (reset, close, garbage, a hang that ended):
# nothing is written, and the connection is done.
NO_ANSWER = _Sentinel("NO_ANSWER")
# A handler's result when it wrote its answer itself (`Request.send_head` / `send`): the connection goes on.
SENT = _Sentinel("SENT")


class Headers:
    """A request's headers, read case-insensitively (values as aiohttp gave them: UTF-8, bad bytes escaped).

    `names` are the raw names lower-cased once, as they arrive, so a lookup is a scan in C."""

    __slots__ = ("_raw", "_names")

    def __init__(self, raw: RawHeaders, names: list[bytes]) -> None:
        self._raw = raw
        self._names = names

    def get(self, name: str, default: str | None = None) -> str | None:
        want = name.lower().encode("latin-1")
        if want not in self._names:
            return default
        return self._raw[self._names.index(want)][1].decode("utf-8", "surrogateescape")

    def value(self, lowered: bytes) -> str | None:
        """The first value of the header named `lowered` (lower-case bytes): `get` without the name's encoding,
        for the names the endpoint reads on every request."""
        names = self._names
        return self._raw[names.index(lowered)][1].decode("utf-8", "surrogateescape") if lowered in names else None

    def getall(self, name: str, default: list[str]) -> list[str]:
        want = name.lower().encode("latin-1")
        if want not in self._names:
            return default
        return [v.decode("utf-8", "surrogateescape") for k, (_, v) in zip(self._names, self._raw) if k == want]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower().encode("latin-1") in self._names

    def __iter__(self) -> Iterator[str]:
        return (k.decode("latin-1") for k, _ in self._raw)

    def __len__(self) -> int:
        return len(self._raw)


class Request:
    """One request, its body read whole (None past the handler's cap; `body_size` counts every byte)."""

    __slots__ = ("method", "raw_path", "version", "raw_headers", "headers_size", "headers", "keep_alive", "body",
                 "body_size", "_protocol", "_url", "_bodiless")

    def __init__(self, method: str, raw_path: str, version: str, raw_headers: RawHeaders, names: list[bytes],
                 headers_size: int, keep_alive: bool, protocol: HttpProtocol) -> None:
        self.method = method
        self.raw_path = raw_path
        self.version = version
        self.raw_headers = raw_headers
        self.headers_size = headers_size  # the names' and values' bytes, summed
        self.headers = Headers(raw_headers, names)
        self.keep_alive = keep_alive
        self.body: bytes | None = b""
        self.body_size = 0
        self._protocol = protocol
        self._url: URL | None = None
        self._bodiless = False

    @property
    def rel_url(self) -> URL:
        """The target as aiohttp read it: path and query (an absolute-form target made relative)."""
        if self._url is None:
            self._url = _relative_url(self.raw_path)
        return self._url

    @property
    def path(self) -> str:
        """Percent-decoded, without the query."""
        return self.rel_url.path

    @property
    def query(self) -> Any:
        return self.rel_url.query

    @property
    def transport(self) -> asyncio.Transport | None:
        return self._protocol.transport

    def send_head(self, status: int, headers: list[tuple[str, str]], content_length: int) -> None:
        """Start an answer whose body follows in `send` calls (`content_length` bytes in all)."""
        self._bodiless = bodiless(status)
        self._protocol.write_head(self, status, headers, None if self._bodiless else content_length)

    def send(self, data: bytes) -> None:
        if self.method != "HEAD" and not self._bodiless:
            self._protocol.write(data)

    async def drain(self) -> None:
        await self._protocol.drain()


def _relative_url(raw: str) -> URL:
    if raw.startswith("/"):
        path, _, fragment = raw.partition("#")
        path, _, query = path.partition("?")
        return URL.build(path=path, query_string=query, fragment=fragment, encoded=True)
    try:
        url = URL(raw, encoded=True)
    except ValueError:
        return URL.build(path=raw, encoded=True)
    return url.relative() if url.absolute else url


_REASONS = MappingProxyType({s.value: s.phrase for s in HTTPStatus})


def bodiless(status: int) -> bool:
    """Statuses whose answers have no body, and so no Content-Length (RFC 9110 §6.4.1), as aiohttp sent them."""
    return status < 200 or status == 204 or status == 304


class Response:
    """A whole answer. Built once and reused where it never changes (the endpoint's usual answers): its
    head, but for the Date, is encoded once per kind of request (version, keep-alive, HEAD)."""

    __slots__ = ("status", "body", "headers", "close", "_heads")

    def __init__(self, status: int = 200, body: bytes = b"", headers: list[tuple[str, str]] | None = None,
                 *, close: bool = False) -> None:
        self.status = status
        self.body = body
        self.headers = headers or []
        self.close = close  # the stream after this answer cannot be framed: close the connection
        self._heads: dict[tuple[str, bool, bool], bytes] = {}

    def head(self, version: str, keep_alive: bool, head_only: bool) -> bytes:
        """Status line and headers up to the Date line (which the writer adds)."""
        key = (version, keep_alive, head_only)
        data = self._heads.get(key)
        if data is None:
            length = len(self.body) if (self.body or not head_only) and not bodiless(self.status) else None
            data = self._heads[key] = _encode_head(self.status, self.headers, version, keep_alive, length)
        return data

    def payload(self, head_only: bool) -> bytes:
        """What follows the head on the wire."""
        return b"" if head_only or bodiless(self.status) else self.body


def _encode_head(status: int, headers: list[tuple[str, str]], version: str, keep_alive: bool,
                 length: int | None) -> bytes:
    lines = [f"HTTP/{version} {status} {_REASONS.get(status, '')}"]
    lines += [f"{name}: {value}" for name, value in headers]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if not keep_alive:
        if version == "1.1":
            lines.append("Connection: close")
    elif version == "1.0":
        lines.append("Connection: keep-alive")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8", "surrogateescape")


# What a handler gives back: the answer now, NO_ANSWER or SENT, or a coroutine giving one of those later.
Answer = Response | _Sentinel | Awaitable[Response | _Sentinel]


class Handler(Protocol):
    """What the server calls; the endpoint (server.py) is one."""

    def handle(self, request: Request) -> Answer: ...

    def body_cap(self, request: Request) -> int: ...

    def stall_timeout(self) -> float: ...

    def stalled(self, request: Request) -> Response: ...

    def unreadable(self, request: Request, reason: str) -> Response: ...


class _DateLine:
    """The Date header line, made once a second."""

    __slots__ = ("second", "line")

    def __init__(self) -> None:
        self.second = -1
        self.line = b""

    def get(self) -> bytes:
        now = time.time()
        second = int(now)
        if second != self.second:
            self.second = second
            self.line = b"Date: " + email.utils.formatdate(second, usegmt=True).encode() + b"\r\n\r\n"
        return self.line


_METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
                                    "CONNECT")}
_VERSIONS = {"1.1": "1.1", "1.0": "1.0"}


class _HeadError(Exception):
    """A request head over the limits: answered 400 with this text."""


def _plain(status: int, text: str) -> Response:
    return Response(status, text.encode(), [("Content-Type", "text/plain; charset=utf-8")], close=True)


class HttpServer:
    """Makes a protocol per connection and knows them all, so `shutdown` can end them."""

    def __init__(self, handler: Handler, *, keepalive_timeout: float) -> None:
        self.handler = handler
        self.keepalive_timeout = keepalive_timeout
        self.connections: set[HttpProtocol] = set()
        self.date = _DateLine()

    def __call__(self) -> HttpProtocol:
        return HttpProtocol(self)

    async def shutdown(self, grace: float) -> None:
        """Close idle connections now; give running handlers `grace` seconds, then cancel them and drop
        their connections; return once every connection is gone (or after `grace` more)."""
        for conn in list(self.connections):
            conn.close_if_idle()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while any(c.busy for c in self.connections) and loop.time() < deadline:
            await asyncio.sleep(0.01)
        tasks = [t for c in list(self.connections) if (t := c.abort()) is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        deadline = loop.time() + grace
        while self.connections and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for conn in list(self.connections):  # a TLS close still waiting for its peer
            conn.abort()
        await asyncio.sleep(0)  # their connection_lost runs now, not after the loop is gone


class HttpProtocol(asyncio.Protocol):
    """One connection. See the module's docstring."""

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._handler = server.handler
        self._handle = server.handler.handle
        self._loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._closing = False      # the transport is closing: nothing more is written
        self._reading = True       # requests are still read (not after an answer that closes)
        # The request being read (head complete, body arriving), and the head being read.
        self._current: Request | None = None
        self._parts: list[bytes] | None = None
        self._cap = 0
        self._url = b""
        self._raw: list[tuple[bytes, bytes]] = []
        self._names: list[bytes] = []
        self._size = 0
        self._in_head = False
        self._partial = 0          # bytes of an unfinished header line (bounded: a slowloris header)
        self._head_error: str | None = None
        # Complete requests not answered yet, and the task of the handler that is running.
        self._queue: deque[Request | tuple[Request | None, Response]] = deque()
        self._task: asyncio.Task[None] | None = None
        self._paused_reading = False
        self._paused_writing = False
        self._drained: asyncio.Future[None] | None = None
        # Keep-alive: one timer per connection, moved on only when it fires (not per request).
        self._idle_since = self._loop.time()
        self._keepalive: asyncio.TimerHandle | None = None
        self._stall: asyncio.TimerHandle | None = None
        self._body_at = 0.0

    @property
    def busy(self) -> bool:
        """A request is being read or handled."""
        return self._current is not None or self._task is not None or bool(self._queue)

    # --- asyncio.Protocol ------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._server.connections.add(self)
        timeout = self._server.keepalive_timeout
        self._keepalive = self._loop.call_at(self._idle_since + timeout, self._on_keepalive)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._reading = False
        self._server.connections.discard(self)
        self._queue.clear()
        self._current = None
        for timer in (self._keepalive, self._stall):
            if timer is not None:
                timer.cancel()
        self._keepalive = self._stall = None
        if self._task is not None:
            self._task.cancel()  # a hang or a delay whose client went away
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self.transport = None

    def eof_received(self) -> bool | None:
        return None  # as aiohttp: the client is done; close (a running handler is cancelled)

    def pause_writing(self) -> None:
        # A client that sends and does not read its answers: stop reading until it does.
        self._paused_writing = True
        if self.transport is not None and not self._paused_reading:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        self._paused_writing = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        if self.transport is not None and not self._paused_reading:
            self.transport.resume_reading()

    def data_received(self, data: bytes) -> None:
        if not self._reading:
            return
        raw, headers = self._raw, len(self._raw)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # Upgrade (and CONNECT) are not served: the request is answered, and the connection then closes,
            # since what follows is no longer HTTP/1.1.
            self._reading = False
            if self._queue:
                self._queue[-1].keep_alive = False  # type: ignore[union-attr]
            else:
                self._fail(None, _plain(400, "Upgrade is not supported"))
                return
        except httptools.HttpParserError as exc:
            self._parse_error(exc)
            return
        if self._in_head:  # a head that did not arrive whole (rare): bound its unfinished line
            # No header completed in this chunk: the line goes on. Else what follows the last one is at most
            # this chunk.
            self._partial = self._partial + len(data) if self._raw is raw and len(raw) == headers else len(data)
            if self._partial > MAX_LINE + MAX_FIELD + 4:
                self._fail(None, _plain(400, f"Got more than {MAX_FIELD} bytes when reading a header line."))
                return
        if self._current is not None:  # a body that did not arrive whole: watch for a stall
            self._body_at = self._loop.time()
            if self._stall is None:
                self._arm_stall(self._body_at)
        if self._queue and self._task is None:
            self._run_queue()

    # --- httptools callbacks ---------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_head = True
        self._url = b""
        self._raw = []
        self._names = []
        self._size = 0

    def on_url(self, url: bytes) -> None:
        url = self._url + url if self._url else url
        if len(url) > MAX_LINE:
            self._head_error = f"Got more than {MAX_LINE} bytes when reading the request target."
            raise _HeadError
        self._url = url

    def on_header(self, name: bytes, value: bytes) -> None:
        raw = self._raw
        n, v = len(name), len(value)
        if n > MAX_FIELD or v > MAX_FIELD:
            self._head_error = f"Got more than {MAX_FIELD} bytes when reading a header."
            raise _HeadError
        if len(raw) >= MAX_HEADERS:
            self._head_error = "Too many headers received"
            raise _HeadError
        raw.append((name, value.rstrip(b" \t")))  # llhttp keeps trailing whitespace; HTTP does not
        self._names.append(name.lower())
        self._size += n + v

    def on_headers_complete(self) -> None:
        self._in_head = False
        parser = self._parser
        method = parser.get_method()
        version = parser.get_http_version()
        names = self._names
        if version == "1.1" and b"host" not in names:
            self._head_error = "Missing 'Host' header in request."
            raise _HeadError
        request = Request(_METHODS.get(method) or method.decode("ascii", "replace"),
                          self._url.decode("utf-8", "surrogateescape"), _VERSIONS.get(version, version),
                          tuple(self._raw), names, self._size, parser.should_keep_alive(), self)
        self._current = request
        self._parts = []
        self._cap = self._handler.body_cap(request)

    def on_body(self, body: bytes) -> None:
        request = self._current
        assert request is not None
        size = request.body_size = request.body_size + len(body)
        parts = self._parts
        if parts is not None:
            if size > self._cap:
                self._parts = None
            else:
                parts.append(body)

    def on_message_complete(self) -> None:
        request = self._current
        assert request is not None
        parts = self._parts
        request.body = None if parts is None else (parts[0] if len(parts) == 1 else b"".join(parts))
        self._current = None
        self._parts = None
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        self._queue.append(request)
        if len(self._queue) > MAX_QUEUED and not self._paused_reading and self.transport is not None:
            self._paused_reading = True
            self.transport.pause_reading()

    # --- answering -------------------------------------------------------------------------------------

    def _run_queue(self) -> None:
        queue = self._queue
        while queue and self._task is None and not self._closing:
            item = queue.popleft()
            if type(item) is tuple:  # the last answer this connection gets: its stream cannot be framed
                self._answer(*item)
                return
            request = item
            try:
                result = self._handle(request)
            except Exception:
                log.exception("mock endpoint: error handling %s %s", request.method, request.raw_path)
                result = _plain(500, "sinkbench mock endpoint: internal error\n")
            if type(result) is Response:
                self._answer(request, result)
            elif result is NO_ANSWER:
                self._closing = True
            elif result is SENT:
                self._answered(request, False)
            else:
                self._task = self._loop.create_task(self._handle_request(request, result))  # type: ignore[arg-type]
        if self._paused_reading and len(queue) <= MAX_QUEUED // 2 and self._reading:
            self._paused_reading = False
            if self.transport is not None and not self._paused_writing:
                self.transport.resume_reading()

    async def _handle_request(self, request: Request, pending: Awaitable[Response | _Sentinel]) -> None:
        try:
            result = await pending
        except asyncio.CancelledError:
            self._task = None
            return  # the client went away, or the endpoint stops
        except Exception:
            log.exception("mock endpoint: error handling %s %s", request.method, request.raw_path)
            result = _plain(500, "sinkbench mock endpoint: internal error\n")
        self._task = None
        if self._closing:
            return
        if type(result) is Response:
            self._answer(request, result)
        elif result is NO_ANSWER:
            self._closing = True
            return
        else:
            self._answered(request, False)
        if self._queue:
            self._run_queue()

    def _answer(self, request: Request | None, response: Response) -> None:
        transport = self.transport
        if transport is None:
            return
        if request is None:  # a request whose head could not be read
            transport.write(response.head("1.0", False, False) + self._server.date.get() + response.body)
            self._answered(None, True)
            return
        keep = request.keep_alive and not response.close
        head_only = request.method == "HEAD"
        data = response.head(request.version, keep, head_only) + self._server.date.get()
        transport.write(data + response.payload(head_only) if response.body else data)
        self._answered(request, not keep)

    def _answered(self, request: Request | None, close: bool) -> None:
        if close or request is None or not request.keep_alive:
            self._closing = True
            self._reading = False
            self._queue.clear()
            if self.transport is not None:
                self.transport.close()
        else:
            self._idle_since = self._loop.time()

    def write_head(self, request: Request, status: int, headers: list[tuple[str, str]], length: int | None
                   ) -> None:
        if self.transport is not None:
            head = _encode_head(status, headers, request.version, request.keep_alive, length)
            self.transport.write(head + self._server.date.get())

    def write(self, data: bytes) -> None:
        if self.transport is not None and data:
            self.transport.write(data)

    async def drain(self) -> None:
        if self._paused_writing and self.transport is not None:
            self._drained = self._loop.create_future()
            await self._drained

    # --- errors and timers -----------------------------------------------------------------------------

    def _parse_error(self, exc: httptools.HttpParserError) -> None:
        reason = self._head_error
        if reason is None:
            cause = exc.__context__ if isinstance(exc, httptools.HttpParserCallbackError) else None
            if cause is not None and not isinstance(cause, _HeadError):
                log.error("mock endpoint: HTTP parser callback failed", exc_info=cause)
            reason = str(exc) or type(exc).__name__
        request = self._current
        if request is not None:  # the head was fine; its body's framing broke
            self._fail(request, self._handler.unreadable(request, reason))
        else:
            self._fail(None, _plain(400, reason))

    def _fail(self, request: Request | None, response: Response) -> None:
        """Answer with `response` after the requests before it, then close: nothing more is read."""
        self._reading = False
        self._current = None
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None
        self._queue.append((request, response))
        if self._task is None:
            self._run_queue()

    def _arm_stall(self, since: float) -> None:
        self._stall = self._loop.call_at(since + self._handler.stall_timeout(), self._on_stall)

    def _on_stall(self) -> None:
        self._stall = None
        request = self._current
        if request is None or self._closing:
            return
        if self._loop.time() - self._body_at < self._handler.stall_timeout():
            self._arm_stall(self._body_at)
            return
        self._fail(request, self._handler.stalled(request))

    def _on_keepalive(self) -> None:
        self._keepalive = None
        if self.transport is None:
            return
        timeout = self._server.keepalive_timeout
        now = self._loop.time()
        if self.busy:
            # A request in hand: its handler, or the body stall timer, decides; look again later.
            self._keepalive = self._loop.call_at(now + timeout, self._on_keepalive)
        elif now - self._idle_since >= timeout:
            # Idle, or a head that never completes (slowloris): the connection is done.
            self._closing = True
            self._reading = False
            self.transport.close()
        else:
            self._keepalive = self._loop.call_at(self._idle_since + timeout, self._on_keepalive)

    # --- shutdown --------------------------------------------------------------------------------------

    def close_if_idle(self) -> None:
        if not self.busy and self.transport is not None:
            self._closing = True
            self._reading = False
            self.transport.close()

    def abort(self) -> asyncio.Task[None] | None:
        """Cancel the running handler and drop the connection; the task to wait for."""
        self._closing = True
        self._reading = False
        task = self._task
        if task is not None:
            task.cancel()
        if self.transport is not None:
            self.transport.abort()
        return task

