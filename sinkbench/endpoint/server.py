"""The embedded mock endpoint: an HTTP server that breaks on purpose (docs/endpoint.md).

HTTP framing is `http1.py`'s (an asyncio protocol over httptools); this module is the endpoint's
decisions. Its routing is the settings' own (fault rules and routes match method, path and headers,
`matching.py`), and the handler gets the transport itself for the actions below HTTP (RST, close,
garbage). Content-Encoding is decoded here, bounded (`encoding.py`), and the journal keeps the wire size.

The request path is kept short because the endpoint must never be the bottleneck
(bench/endpoint_throughput.py): the body arrives whole, then one compiled decision (`faults.Policy`),
one ledger update, one journal append, one answer — all in the call that received the request's last
bytes, with no task, unless the answer has to wait (latency, `delay`, `slow_body`, `hang`, a body big
enough to decode in a worker thread, admin calls). Actions that give no answer return `NO_ANSWER`.
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

from sinkbench.clock import Clock, RealClock
from sinkbench.endpoint import admin
from sinkbench.endpoint.encoding import BodyEncodingError, decode
from sinkbench.endpoint.errors import PortInUse
from sinkbench.endpoint.faults import Decision, Policy
from sinkbench.endpoint.http1 import NO_ANSWER, SENT, Answer, HttpServer, Request, Response
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
# also what ends a slowloris client: the timer runs from the connection's start
# and from each answer, and a request whose head never completes does not stop it.
KEEPALIVE_TIMEOUT = 120.0
HANDSHAKE_TIMEOUT = 10.0
STOP_GRACE = 0.5
# Distinct fixed answers remembered with their encoded heads (routes and faults make a handful).
_MAX_CACHED_ANSWERS = 256

log = logging.getLogger(__name__)


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


def _abort(request: Request) -> None:
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


def _text(status: int, text: str, *, close: bool = False) -> Response:
    return Response(status, text.encode(), [("Content-Type", "text/plain")], close=close)


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
        self._pending: list[tuple[Any, ...]] = []   # answered requests not yet in the ledger: `_settle`
        self._number = 0
        self._t0 = self._clock.now()
        self._policy = Policy(self._settings, self._t0)
        self._answers: dict[tuple[Any, ...], Response] = {}
        self._body_cap = max(BODY_CAP, self._settings.max_body_bytes)
        self._tls: TlsMaterial | None = None
        self._http: HttpServer | None = None
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
        self._http = HttpServer(self, keepalive_timeout=self._keepalive_timeout)
        try:
            self._listener = await loop.create_server(
                self._http, self.host, self.port, ssl=ssl_ctx, backlog=1024,
                # A client that never finishes its TLS handshake is dropped (the keep-alive timer starts
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
        assert self._stopping is not None and self._http is not None
        self._stopping.set()  # hanging requests end now
        self._listener.close()
        # Connections first: on Python 3.12+ wait_closed() waits for all of them, also one still in its
        # TLS handshake, which the HTTP layer never saw and so does not close: abort those (3.13+) and bound
        # the wait.
        await self._http.shutdown(STOP_GRACE)
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
        self._pending = []      # answered before the reset: cleared with the rest
        self._ledger = Ledger()
        self._seen = Ledger()
        self._counters = _Counters()
        self._number = 0
        self._t0 = self._clock.now()
        self._policy = Policy(self._settings, self._t0)

    def stats(self) -> dict[str, Any]:
        self._settle()
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
        self._settle()
        return self._journal.last(limit)

    @property
    def ledger(self) -> Ledger:
        self._settle()
        return self._ledger

    @property
    def recognizer(self) -> Recognizer:
        return self._recognizer

    # --- what the HTTP layer asks (http1.Handler) ------------------------------

    def body_cap(self, request: Request) -> int:
        """How much of a body to keep: past it, the body is counted and the answer says it was too large."""
        return admin.MAX_ADMIN_BODY if _is_admin(request) else self._body_cap

    def stall_timeout(self) -> float:
        return admin.BODY_STALL_TIMEOUT

    def stalled(self, request: Request) -> Response:
        """The answer to a body that stopped arriving (not a request of the run: not counted)."""
        if _is_admin(request):
            return admin.stalled()
        return _text(408, f"sinkbench mock endpoint: request body stalled for {admin.BODY_STALL_TIMEOUT:g} s\n",
                     close=True)

    def unreadable(self, request: Request, reason: str) -> Response:
        """The answer to a body whose framing broke (bad chunking): the client's fault, not counted."""
        if _is_admin(request):
            return admin.unreadable(reason)
        return _text(400, "sinkbench mock endpoint: unreadable request body\n", close=True)

    # --- the request path ----------------------------------------------------

    def handle(self, request: Request) -> Answer:
        try:
            if _is_admin(request):
                return admin.handle(self, request)
            return self._serve(request)
        except Exception:
            log.exception("mock endpoint: error handling %s %s", request.method, request.raw_path)
            return _text(500, "sinkbench mock endpoint: internal error\n")

    def _serve(self, request: Request) -> Answer:
        body, size = request.body, request.body_size
        coded = request.headers.value(b"content-encoding") if body is not None else None
        if coded is None:
            return self._decide(request, body, size, size, None)
        if len(body) > DECODE_INLINE:  # type: ignore[arg-type]
            return self._serve_decoded_later(request, body, size, coded)  # type: ignore[arg-type]
        try:
            decoded = decode(body, coded, self._body_cap)  # type: ignore[arg-type]
        except BodyEncodingError as exc:
            return self._decide(request, None, size, self._body_cap + 1, exc)
        # Past the cap (a decompression bomb): at least one byte over, so a 413 follows as for a large body.
        return self._decide(request, decoded, size, len(decoded) if decoded is not None else self._body_cap + 1,
                            None)

    async def _serve_decoded_later(self, request: Request, body: bytes, size: int, coded: str) -> Answer:
        try:
            decoded = await asyncio.to_thread(decode, body, coded, self._body_cap)
        except BodyEncodingError as exc:
            answer = self._decide(request, None, size, self._body_cap + 1, exc)
        else:
            answer = self._decide(request, decoded, size,
                                  len(decoded) if decoded is not None else self._body_cap + 1, None)
        return await answer if asyncio.iscoroutine(answer) else answer

    def _decide(self, request: Request, body: bytes | None, size: int, decoded_size: int,
                refused: BodyEncodingError | None) -> Answer:
        clock = self._clock
        now = clock.now()
        self._number = number = self._number + 1
        t = now - self._t0
        if refused is None:
            decision = self._policy.decide(number, t, now, decoded_size, request)
        else:   # the client's fault: no rule applies to a body that cannot be read
            decision = Decision("answer", refused.status, f"sinkbench mock endpoint: {refused}\n".encode(),
                                label=str(refused.status))

        c = self._counters
        c.requests += 1
        c.bytes += size
        label = decision.label
        c.by_status[label] = c.by_status.get(label, 0) + 1
        if decision.fault >= 0:
            c.faults[decision.fault] = c.faults.get(decision.fault, 0) + 1
        if decision.route >= 0:
            c.routes[decision.route] = c.routes.get(decision.route, 0) + 1
        # The messages go into the ledger after the answer is written (see `_settle`).
        pending = self._pending
        content_type = request.headers.value(b"content-type")
        pending.append((body, content_type, refused is not None, decision.accepted, self._recognizer,
                        (number, t, request.method, request.raw_path,
                         keepable_headers(request.raw_headers, request.headers_size), content_type, size),
                        decision.status or decision.kind))
        if len(pending) == 1:
            try:
                asyncio.get_running_loop().call_soon(self._settle)
            except RuntimeError:   # called outside a loop (a test driving the handler by hand)
                self._settle()

        kind = decision.kind
        if kind == "answer":
            wait = decision.wait + self._policy.sample_latency() if decision.latency else decision.wait
            if wait > 0:
                return self._answer_later(decision, wait)
            return self._response(decision)
        if kind == "slow_body":
            return self._slow_body(request, decision)
        if kind == "hang":
            return self._hang(request)
        transport = request.transport
        if kind == "reset":
            _abort(request)
        elif transport is not None:
            if kind == "malformed":
                transport.write(MALFORMED)
            transport.close()  # "close", and after the garbage
        return NO_ANSWER

    def _settle(self) -> None:
        """Put the messages of the requests answered so far into the ledger and the journal, in order.

        Recognising a batch's messages (parsing a thousand envelopes) costs more than everything else the
        endpoint does for it, and no answer depends on it: the decision is taken on the request alone. Done
        in the call that received the request, it would hold the answer back and add the endpoint's
        bookkeeping to the sink's latency, so a sink that waits for its answer before building the next
        batch (every Iggy sink, one request in flight) would be timed with the instrument's cost in it. It
        runs in the event loop's next turn instead, while the answer travels, before the loop reads
        anything else; everything that reads the ledger, journal or counters settles first, so nobody
        ever sees an answered request missing from them. A request counts even if its answer reaches
        the client too late (docs/endpoint.md).
        """
        pending, self._pending = self._pending, []
        for body, content_type, refused, accepted, recognizer, request, status in pending:
            messages: int | None = None
            if body is not None:
                ids = recognizer.identities(content_type, body)
                messages = len(ids)
                # A repeat sends again messages that all arrived before: how an external sink's retries show.
                if ids and self._seen.holds_all(ids):
                    self._counters.repeats += 1
                self._seen.add(ids)
                if accepted:
                    self._ledger.add(ids)
            elif refused:
                messages = 0
            self._journal.record((*request, messages, status))

    async def _answer_later(self, decision: Decision, wait: float) -> Response:
        await self._clock.sleep(wait)
        return self._response(decision)

    def _response(self, d: Decision) -> Response:
        if d.retry_after is not None and d.retry_after.as_date:  # the only answer that changes with time
            return self._build(d)
        key = (d.status, d.body, d.content_type, d.retry_after)
        answers = self._answers
        response = answers.get(key)
        if response is None:
            if len(answers) >= _MAX_CACHED_ANSWERS:
                answers.clear()
            response = answers[key] = self._build(d)
        return response

    def _build(self, d: Decision) -> Response:
        headers = [("Retry-After", _retry_after_value(d.retry_after, self._clock.wall()))] if d.retry_after else []
        if d.content_type is not None:  # a route's, as written
            headers.append(("Content-Type", d.content_type))
        elif d.body:
            headers.append(("Content-Type", "text/plain"))
        return Response(d.status, d.body, headers)

    async def _slow_body(self, request: Request, d: Decision) -> Answer:
        clock = self._clock
        headers = [("Retry-After", _retry_after_value(d.retry_after, clock.wall()))] if d.retry_after else []
        headers.append(("Content-Type", "text/plain"))
        request.send_head(d.status, headers, len(d.body))
        steps = max(1, min(len(d.body), 10))
        chunk = -(-len(d.body) // steps)
        for i in range(steps):
            await clock.sleep(d.wait / steps)
            request.send(d.body[i * chunk:(i + 1) * chunk])
            await request.drain()
        return SENT

    async def _hang(self, request: Request) -> Answer:
        # Until the client goes away (the HTTP layer then cancels this)
        # or the endpoint stops; then the connection is dropped unanswered.
        assert self._stopping is not None
        await self._stopping.wait()
        _abort(request)
        return NO_ANSWER


def _is_admin(request: Request) -> bool:
    path = request.raw_path
    # An absolute-form request line (POST http://host/__sinkbench/reset) is an admin call too.
    return path.startswith(ADMIN_PREFIX) or (not path.startswith("/")
                                             and request.rel_url.raw_path.startswith(ADMIN_PREFIX))
