"""The embedded mock endpoint: an aiohttp server that breaks on purpose (docs/endpoint.md).

aiohttp's low-level server is used rather than an `Application`: its routing
is the settings' own (fault rules and routes match method, path and headers,
`matching.py`), and the handler needs the transport itself for the actions
below HTTP (RST, close, garbage). aiohttp does not decode Content-Encoding
here: `encoding.py` does, bounded, and the journal keeps the wire size.

The request path is kept short because the endpoint must never be the
bottleneck (bench/endpoint_throughput.py): one body read, one compiled decision (`faults.Policy`), one
ledger update, one journal append, one answer. Every action that gives no
answer hands aiohttp a response whose `prepare` reports a dropped connection,
which aiohttp treats as the client having gone away: nothing is written and
nothing is logged.
"""

from __future__ import annotations

import asyncio
import email.utils
import errno
import logging
import math
import socket
import struct
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.web_request import BaseRequest

from sinkbench.clock import Clock, RealClock
from sinkbench.endpoint import admin
from sinkbench.endpoint.encoding import BodyEncodingError, decode
from sinkbench.endpoint.errors import PortInUse
from sinkbench.endpoint.faults import Decision, Policy
from sinkbench.endpoint.journal import Journal, keepable_headers
from sinkbench.endpoint.ledger import Ledger, Recognizer
from sinkbench.endpoint.settings import BODY_CAP, EndpointSettings, RetryAfter
from sinkbench.errors import BenchError, InputError, Where

if TYPE_CHECKING:
    from sinkbench.endpoint.tls import TlsMaterial

ADMIN_PREFIX = "/__sinkbench/"
MALFORMED = b"\x00\x17\xff sinkbench: this is not HTTP \xfe\r\n\r\n\x00"
# A compressed body larger than this is decoded in a worker thread, so the event loop keeps answering.
DECODE_INLINE = 64 * 1024
# Longer than the idle timeout of the sink's connection pool (90 s in Iggy), so
# the endpoint never closes a pooled connection the client is about to reuse:
# that race would show as transport errors the scenario never asked for. It is
# also what ends a slowloris client: since aiohttp 3.14.4 the timer runs from
# the connection's start, and a request whose headers never complete leaves the
# connection idle in aiohttp's eyes, so it is closed when the timer fires.
KEEPALIVE_TIMEOUT = 120.0
HANDSHAKE_TIMEOUT = 10.0
STOP_GRACE = 0.5

log = logging.getLogger(__name__)


def _quiet_logger() -> logging.Logger:
    # aiohttp logs every malformed request from a client at ERROR with a
    # traceback; surviving bad clients is the endpoint's job, not news. A
    # logger outside the hierarchy, above CRITICAL, keeps that off stderr.
    quiet = logging.Logger("sinkbench.endpoint.aiohttp", level=logging.CRITICAL + 1)
    quiet.propagate = False
    return quiet


class _NoAnswer(web.StreamResponse):
    """What the handler returns when the action already dealt with the connection."""

    async def prepare(self, request: BaseRequest) -> None:  # type: ignore[override]
        raise ConnectionResetError("no answer, by design")

    async def write_eof(self, data: bytes = b"") -> None:
        return None


class _Counters:
    __slots__ = ("requests", "bytes", "by_status", "faults", "routes", "repeats")

    def __init__(self) -> None:
        self.requests = 0
        self.repeats = 0      # requests whose every message had arrived before (an external sink's retries)
        self.bytes = 0
        self.by_status: dict[str, int] = {}
        self.faults: dict[int, int] = {}
        self.routes: dict[int, int] = {}


def _retry_after_value(ra: RetryAfter, wall: float) -> str:
    if ra.as_date:
        return email.utils.formatdate(wall + ra.seconds, usegmt=True)
    return str(math.ceil(ra.seconds))  # delta-seconds is a whole number (RFC 9110 §10.2.3)


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


async def _read_body(request: BaseRequest, cap: int) -> tuple[bytes | None, int]:
    """The whole body and its size; None for the body when over `cap` (read to the end, not kept).

    TimeoutError when the body stops arriving for `admin.BODY_STALL_TIMEOUT`: aiohttp waits for ever on
    a client that stopped sending, or on chunking or Content-Encoding that breaks after the headers.
    """
    content = request.content
    if content.is_eof():  # the whole body is here already (the usual case): no timer to set
        return await _read_arrived(content, cap)
    stall = admin.BODY_STALL_TIMEOUT
    loop = asyncio.get_running_loop()
    async with asyncio.timeout_at(loop.time() + stall) as deadline:  # one timer, moved on at every chunk
        chunk = await content.readany()
        if not chunk or content.is_eof():
            return chunk, len(chunk)
        size = len(chunk)
        parts: list[bytes] | None = [chunk]
        while True:
            deadline.reschedule(loop.time() + stall)
            chunk = await content.readany()
            if not chunk:
                break
            size += len(chunk)
            if parts is not None:
                if size > cap:
                    parts = None
                else:
                    parts.append(chunk)
    return (b"".join(parts) if parts is not None else None), size


async def _read_arrived(content: Any, cap: int) -> tuple[bytes | None, int]:
    parts: list[bytes] = []
    size = 0
    while chunk := await content.readany():
        size += len(chunk)
        parts.append(chunk)
    if size > cap:
        return None, size
    return (parts[0] if len(parts) == 1 else b"".join(parts)), size


def _closing(status: int, text: str) -> web.Response:
    resp = web.Response(status=status, text=text)
    resp.force_close()  # the rest of the stream cannot be framed
    return resp


def _abort(request: BaseRequest) -> None:
    """Drop the connection with a TCP RST: SO_LINGER 0, then close."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


class Endpoint:
    """The mock endpoint, serving in the current event loop.

    `clock` drives time windows, the rate limit, latency and journal times
    (inject a ManualClock in tests). Request numbers and the clock count from
    `start()` or the last `reset()`. `secret_values` are hidden wherever they
    appear in the journal (the bench passes its `${VAR}` expansions).
    `port` defaults to the settings' `port` (0: a free one).
    """

    def __init__(self, settings: EndpointSettings | None = None, *, clock: Clock | None = None,
                 host: str = "127.0.0.1", port: int | None = None, journal_size: int = 1000,
                 keepalive_timeout: float = KEEPALIVE_TIMEOUT, secret_values: Iterable[str] = ()) -> None:
        self._settings = settings or EndpointSettings()
        self._configured = self._settings   # what `reset()` goes back to
        self._keepalive_timeout = keepalive_timeout
        self._clock: Clock = clock or RealClock()
        self.host = host
        self.port = self._settings.port if port is None else port
        self._journal = Journal(journal_size, secret_values)
        self._ledger = Ledger()
        self._seen = Ledger()      # every message that arrived, accepted or not: what makes a request a repeat
        self._recognizer = Recognizer.of(self._settings)
        self._counters = _Counters()
        self._number = 0
        self._t0 = self._clock.now()
        self._policy = Policy(self._settings, self._t0)
        self._body_cap = max(BODY_CAP, self._settings.max_body_bytes)
        self._tls: TlsMaterial | None = None
        self._web: web.Server | None = None
        self._listener: asyncio.Server | None = None
        self._stopping: asyncio.Event | None = None

    # --- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        if self._listener is not None:
            raise RuntimeError("endpoint already started")
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        ssl_ctx = None
        if self._settings.tls:
            from sinkbench.endpoint.tls import generate  # cryptography only when TLS is asked for

            self._tls = generate(self.host)
            ssl_ctx = self._tls.server_context()
        self._web = web.Server(
            self._handle,
            handler_cancellation=True,  # a client that goes away cancels its hang/delay
            access_log=None,
            logger=_quiet_logger(),
            keepalive_timeout=self._keepalive_timeout,
            max_line_size=8190,
            max_field_size=8190,
            max_headers=128,
            auto_decompress=False,  # encoding.py decodes, bounded (see the module's docstring)
        )
        try:
            self._listener = await loop.create_server(
                self._web, self.host, self.port, ssl=ssl_ctx, backlog=1024,
                # A client that never finishes its TLS handshake is dropped (aiohttp's keep-alive timer starts
                # only once the handshake is done).
                ssl_handshake_timeout=HANDSHAKE_TIMEOUT if ssl_ctx is not None else None)
        except OSError as exc:
            self._cleanup_tls()
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(self.host, self.port) from None
            raise BenchError(f"mock endpoint cannot listen on {self.host}:{self.port}: "
                             f"{exc.strerror or exc}") from None
        # With port 0 the system picked one (for a name bound to several addresses, the first's).
        self.port = self._listener.sockets[0].getsockname()[1]
        self.reset()

    async def stop(self) -> None:
        """Stop listening, end hanging requests and close every connection."""
        if self._listener is None:
            return
        assert self._stopping is not None and self._web is not None
        self._stopping.set()
        self._listener.close()
        # Connections first: on Python 3.12+ wait_closed() waits for all of them, also one still in its
        # TLS handshake, which aiohttp never saw and so does not close: abort those (3.13+) and bound the wait.
        await self._web.shutdown(STOP_GRACE)
        abort_clients = getattr(self._listener, "abort_clients", None)
        if abort_clients is not None:
            abort_clients()
        try:
            await asyncio.wait_for(self._listener.wait_closed(), STOP_GRACE)
        except TimeoutError:
            pass
        self._listener = None
        self._cleanup_tls()

    def _cleanup_tls(self) -> None:
        if self._tls is not None:
            self._tls.remove()
            self._tls = None

    async def __aenter__(self) -> Endpoint:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- what the bench and the admin API see --------------------------------

    @property
    def url(self) -> str:
        scheme = "https" if self._settings.tls else "http"
        return f"{scheme}://{_url_host(self.host)}:{self.port}/"

    @property
    def admin_url(self) -> str:
        return self.url.rstrip("/") + ADMIN_PREFIX

    @property
    def ca_pem_path(self) -> str | None:
        return str(self._tls.ca_pem_path) if self._tls is not None else None

    @property
    def settings(self) -> EndpointSettings:
        return self._settings

    def apply(self, settings: EndpointSettings) -> None:
        """Replace the settings; the next request sees them. `tls` cannot change while running.

        Before `start()` they become the configured settings, which `reset()` restores; once it runs they
        last until the next change or reset.
        """
        if settings.tls != self._settings.tls and self._listener is not None:
            raise InputError(f"tls cannot change while the endpoint runs (it is {str(self._settings.tls).lower()})",
                             Where(key="tls"))
        if settings.port not in (self._settings.port, self.port) and self._listener is not None:
            raise InputError(f"port cannot change while the endpoint runs (it listens on {self.port})",
                             Where(key="port"))
        self._policy = Policy(settings, self._clock.now(), previous=self._policy)
        self._body_cap = max(BODY_CAP, settings.max_body_bytes)
        if (settings.identify, settings.token) != (self._settings.identify, self._settings.token):
            self._recognizer = Recognizer.of(settings)
        self._settings = settings
        if self._listener is None:
            self._configured = settings

    @property
    def configured(self) -> EndpointSettings:
        """The settings the endpoint started with, which `reset()` restores."""
        return self._configured

    def reset(self) -> None:
        """Back to the start: the configured settings again (undoing every PUT and PATCH), journal, counters
        and ledger cleared, request numbers, the clock and the seed restarted."""
        self._settings = self._configured
        self._recognizer = Recognizer.of(self._configured)
        self._body_cap = max(BODY_CAP, self._configured.max_body_bytes)
        self._journal.clear()
        self._ledger = Ledger()
        self._seen = Ledger()
        self._counters = _Counters()
        self._number = 0
        self._t0 = self._clock.now()
        self._policy = Policy(self._settings, self._t0)

    def stats(self) -> dict[str, Any]:
        c = self._counters
        faults = {str(i): 0 for i in range(len(self._settings.faults))}
        faults.update({str(i): n for i, n in sorted(c.faults.items())})
        routes = {str(i): 0 for i in range(len(self._settings.routes))}
        routes.update({str(i): n for i, n in sorted(c.routes.items())})
        return {
            "requests": c.requests,
            # Statuses answered, as strings; actions that send no answer
            # (reset, hang, close, malformed) are counted under their name.
            "by_status": dict(sorted(c.by_status.items())),
            "faults": faults,
            **({"routes": routes} if routes else {}),
            "messages": self._ledger.messages,
            "unique_messages": self._ledger.unique,
            "duplicates": self._ledger.duplicates,
            "bytes": c.bytes,  # request bodies received, accepted or not
            "repeats": c.repeats,  # requests whose messages had all arrived before (accepted or not)
        }

    def requests(self, limit: int | None = None) -> list[dict[str, Any]]:
        return self._journal.last(limit)

    @property
    def ledger(self) -> Ledger:
        return self._ledger

    @property
    def recognizer(self) -> Recognizer:
        return self._recognizer

    # --- the request path ----------------------------------------------------

    async def _handle(self, request: BaseRequest) -> web.StreamResponse:
        try:
            path = request.raw_path
            # An absolute-form request line (POST http://host/__sinkbench/reset) is an admin call too.
            if path.startswith(ADMIN_PREFIX) or (not path.startswith("/")
                                                 and request.rel_url.raw_path.startswith(ADMIN_PREFIX)):
                return await admin.handle(self, request)
            return await self._serve(request)
        except (asyncio.CancelledError, ConnectionError):
            raise
        except web.RequestPayloadError:  # a broken body (bad chunking, bad gzip): the client's fault
            return _closing(400, "sinkbench mock endpoint: unreadable request body\n")
        except TimeoutError:  # the body stopped arriving (see _read_body)
            return _closing(408, f"sinkbench mock endpoint: request body stalled for "
                                 f"{admin.BODY_STALL_TIMEOUT:g} s\n")
        except Exception:
            # aiohttp's own logger is silenced (see _quiet_logger), so a bug here must speak for itself.
            log.exception("mock endpoint: error handling %s %s", request.method, request.raw_path)
            return web.Response(status=500, text="sinkbench mock endpoint: internal error\n")

    async def _serve(self, request: BaseRequest) -> web.StreamResponse:
        body, size = await _read_body(request, self._body_cap)
        headers = request.headers
        coded = headers.get("Content-Encoding")
        refused: BodyEncodingError | None = None
        decoded_size = size
        if coded is not None and body is not None:
            try:
                body = await self._decode(body, coded)
            except BodyEncodingError as exc:
                refused, body = exc, None
            # Past the cap (a decompression bomb): at least one byte over, so a 413 follows as for a large body.
            decoded_size = len(body) if body is not None else self._body_cap + 1
        clock = self._clock
        now = clock.now()
        self._number = number = self._number + 1
        t = now - self._t0
        policy = self._policy
        if refused is None:
            decision = policy.decide(number, t, now, decoded_size, request)
        else:   # the client's fault: no rule applies to a body that cannot be read
            decision = Decision("answer", refused.status, f"sinkbench mock endpoint: {refused}\n".encode(),
                                label=str(refused.status))

        content_type = headers.get("Content-Type")
        messages: int | None = None
        repeat = False
        if body is not None:
            ids = self._recognizer.identities(content_type, body)
            messages = len(ids)
            # A repeat sends again messages that all arrived before: how an external sink's retries show.
            repeat = bool(ids) and self._seen.holds_all(ids)
            self._seen.add(ids)
            # Counted now, before any wait: a request the endpoint processed
            # counts even if its answer reaches the client too late (docs/endpoint.md).
            if decision.accepted:
                self._ledger.add(ids)
        elif refused is not None:
            messages = 0

        c = self._counters
        c.requests += 1
        c.bytes += size
        c.repeats += repeat
        label = decision.label
        c.by_status[label] = c.by_status.get(label, 0) + 1
        if decision.fault >= 0:
            c.faults[decision.fault] = c.faults.get(decision.fault, 0) + 1
        if decision.route >= 0:
            c.routes[decision.route] = c.routes.get(decision.route, 0) + 1
        self._journal.record((number, t, request.method, request.raw_path, keepable_headers(request.raw_headers),
                              content_type, size, messages, decision.status or decision.kind))

        kind = decision.kind
        if kind == "answer":
            wait = decision.wait + self._policy.sample_latency() if decision.latency else decision.wait
            if wait > 0:
                await clock.sleep(wait)
            return self._response(decision, clock)
        if kind == "slow_body":
            return await self._slow_body(request, decision, clock)
        return await self._no_answer(request, kind)

    async def _decode(self, body: bytes, coded: str) -> bytes | None:
        if len(body) <= DECODE_INLINE:
            return decode(body, coded, self._body_cap)
        return await asyncio.to_thread(decode, body, coded, self._body_cap)

    def _response(self, d: Decision, clock: Clock) -> web.Response:
        if d.retry_after is None and not d.body and d.content_type is None:
            return web.Response(status=d.status)
        headers = {"Retry-After": _retry_after_value(d.retry_after, clock.wall())} if d.retry_after else {}
        if d.content_type is not None:  # a route's, as written (aiohttp's content_type= refuses a charset)
            headers["Content-Type"] = d.content_type
            return web.Response(status=d.status, body=d.body, headers=headers)
        return web.Response(status=d.status, body=d.body, headers=headers or None,
                            content_type="text/plain" if d.body else None)

    async def _slow_body(self, request: BaseRequest, d: Decision, clock: Clock) -> web.StreamResponse:
        resp = web.StreamResponse(status=d.status)
        resp.content_type = "text/plain"
        resp.content_length = len(d.body)
        if d.retry_after is not None:
            resp.headers["Retry-After"] = _retry_after_value(d.retry_after, clock.wall())
        await resp.prepare(request)
        steps = max(1, min(len(d.body), 10))
        chunk = -(-len(d.body) // steps)
        for i in range(steps):
            await clock.sleep(d.wait / steps)
            await resp.write(d.body[i * chunk:(i + 1) * chunk])
        await resp.write_eof()
        return resp

    async def _no_answer(self, request: BaseRequest, kind: str) -> web.StreamResponse:
        transport = request.transport
        if kind == "reset":
            _abort(request)
        elif kind == "close":
            if transport is not None:
                transport.close()
        elif kind == "malformed":
            if transport is not None:
                transport.write(MALFORMED)
                transport.close()
        elif kind == "hang":
            # Until the client goes away (aiohttp then cancels this handler)
            # or the endpoint stops; then the connection is dropped unanswered.
            assert self._stopping is not None
            await self._stopping.wait()
            _abort(request)
        return _NoAnswer()
