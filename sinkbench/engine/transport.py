"""Sending one HTTP attempt, with the connector's pool, TLS, redirect and header rules.

HTTP/1.1 goes through the engine's own client (`backend="http1"`, the default; sinkbench/engine/http1.py): at
one request in flight it costs under half of aiohttp's client's CPU per request, and a fifth of httpx's
(bench/transport_compare.py measures them side by side). aiohttp's client (`backend="aiohttp"`) stays to
compare with. httpx's own transport (`backend="httpx"`) sends HTTP/2 (`enhanced` + `http2`). All put the
same requests on the wire and read the same answers (tests/engine/test_transport_wire.py,
tests/engine/test_http1_client.py; but http1 leaves a compressed answer compressed, as the connector's
reqwest does): the sink's headers plus `Accept: */*` as reqwest sends them, redirects
followed by reqwest's rules (`redirect`, one loop for all; checked against the real connector in
tests/real_iggy), no cookies kept. Each attempt is bounded by `timeout` as a whole, redirects and the
answer's body included, like reqwest's total timeout: by a deadline the http1 pool keeps itself, else an
asyncio timeout around it all."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import httpx
from yarl import URL

from sinkbench.config.settings import POOL_IDLE_TIMEOUT_S, SinkSettings
from sinkbench.config.tls import ssl_context  # the loader checks the same files with it
from sinkbench.engine.http1 import (
    ConnectFailed,
    ConnectionLost,
    Http1Pool,
    HttpClientError,
    ServerDisconnected,
)

EXCERPT_BYTES = 500
MAX_REDIRECTS = 10
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# http1: our own client (sinkbench/engine/http1.py), the default; aiohttp: its client, kept to compare with
# (bench/transport_compare.py, tests/engine/test_http1_client.py); httpx: httpx's own transport (HTTP/2 too).
BACKENDS = ("http1", "aiohttp", "httpx")


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    retry_after: str | None
    excerpt: bytes


class TransportError(Exception):
    """An attempt that got no HTTP answer. `kind`: timeout, connect, reset, tls, protocol."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


# --- httpx (HTTP/2, and `backend="httpx"`) ----------------------------------------

class _NoCookies(httpx.Cookies):
    """reqwest keeps no cookies unless its cookie store is enabled, which the Iggy sink does
    not do; httpx would keep and send them. Not reading them also saves about a fifth of
    the client's time per request."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


# reqwest, as the Iggy sink builds it, sends `Accept: */*` besides the sink's own headers and
# nothing else (seen by a server in tests/real_iggy); httpx would add these by default.
_NOT_REQWEST = ("user-agent", "accept-encoding", "connection")


def build_httpx_client(settings: SinkSettings) -> httpx.AsyncClient:
    # reqwest: pool_max_idle_per_host = max_connections; concurrency is not limited.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=settings.max_connections,
                          keepalive_expiry=POOL_IDLE_TIMEOUT_S)
    client = httpx.AsyncClient(verify=ssl_context(settings), limits=limits, timeout=httpx.Timeout(settings.timeout),
                               http2=settings.enhanced and settings.http2, follow_redirects=False,
                               trust_env=False)   # redirects: `redirect`, as on the aiohttp side
    # httpx offers no switch for this; its `cookies` setter would copy into a plain jar.
    client._cookies = _NoCookies()
    # The `headers` setter would merge with httpx's defaults, so they are taken out one by one.
    for name in _NOT_REQWEST:
        client.headers.pop(name, None)
    return client


# --- aiohttp (HTTP/1.1) --------------------------------------------------------------

class _Request(aiohttp.ClientRequest):
    """aiohttp adds `Content-Length: 0` to a bodiless DELETE; reqwest (hyper) and httpx only to a
    bodiless POST, PUT or PATCH, which aiohttp does too."""

    def update_body_from_data(self, body: Any, *args: Any, **kwargs: Any) -> None:
        super().update_body_from_data(body, *args, **kwargs)
        if body is None and self.method == "DELETE" and self.headers.get("Content-Length") == "0":
            del self.headers["Content-Length"]


def build_aiohttp_session(settings: SinkSettings) -> aiohttp.ClientSession:
    # Every idle connection is kept (aiohttp has no idle cap) until idle for 90 s; concurrency is not limited.
    connector = aiohttp.TCPConnector(limit=0, ssl=ssl_context(settings), keepalive_timeout=POOL_IDLE_TIMEOUT_S)
    # Content-Type is skipped too: aiohttp would add application/octet-stream to a bodiless POST; the
    # sink sets its own on every body. The timeout is the attempt's own (asyncio), so none here.
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                 skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
                                 timeout=aiohttp.ClientTimeout(total=None, connect=None, sock_read=None,
                                                               sock_connect=None),
                                 request_class=_Request)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or ""), parts.port or _DEFAULT_PORTS.get(scheme)


@dataclass(frozen=True, slots=True)
class Hop:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


def redirect(hop: Hop, status: int, location: str) -> Hop:
    """The request a redirect leads to, by the rules of the connector's client (reqwest 0.13 with
    tower-http's redirect layer; the real connector's requests are compared in tests/real_iggy).

    301 and 302 turn a POST into a GET without body, Content-Type, Content-Length, Content-Encoding or
    Transfer-Encoding (any other method goes on unchanged, body and all); 303 does that to every method
    (HEAD stays HEAD); 307 and 308 keep method, body and headers. To another origin (scheme, host or
    port) Authorization, Cookie, Cookie2, Proxy-Authorization and WWW-Authenticate are dropped. Every
    followed request names the one before in `Referer` (without user, password or fragment), except
    from https to http.
    """
    method, body, headers = hop.method, hop.body, dict(hop.headers)
    if (status in (301, 302) and method == "POST") or status == 303:
        if method != "HEAD":
            method = "GET"
        body = None
        headers = {k: v for k, v in headers.items() if k.lower() not in _PAYLOAD_HEADERS}
    try:
        url = urljoin(hop.url, location.strip())
        old, new = _origin(hop.url), _origin(url)
    except ValueError as exc:
        raise TransportError("reset", f"reset: invalid URL in Location header: {exc}") from None
    if new[0] not in _DEFAULT_PORTS:
        raise TransportError("protocol", f"protocol: redirect to an unsupported scheme: {new[0] or location!r}")
    drop = {"host", "referer"} | (_SENSITIVE_HEADERS if new != old else set())
    headers = {k: v for k, v in headers.items() if k.lower() not in drop}
    if not (old[0] == "https" and new[0] == "http"):
        headers["Referer"] = _referer(hop.url)
    return Hop(method, url, headers, body)


_PAYLOAD_HEADERS = frozenset({"content-type", "content-length", "content-encoding", "transfer-encoding"})
_SENSITIVE_HEADERS = frozenset({"authorization", "cookie", "cookie2", "proxy-authorization", "www-authenticate"})


def _referer(url: str) -> str:
    """`url` as reqwest names it in Referer: no user or password, no fragment, at least the path "/"."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS.get(parts.scheme.lower()) else f"{host}:{port}"
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{netloc}{parts.path or '/'}{query}"


# --- errors ----------------------------------------------------------------------

def _chain(exc: BaseException) -> list[BaseException]:
    out = []
    while exc is not None and len(out) < 8:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return out


def classify_error(exc: BaseException) -> str:
    """The kind of a transport failure, judged from the original exception."""
    chain = _chain(exc)
    if any(isinstance(e, (ssl.SSLError, ssl.CertificateError, aiohttp.ClientSSLError)) for e in chain):
        return "tls"
    if any(isinstance(e, (ConnectFailed, aiohttp.ClientConnectorError, ConnectionRefusedError, httpx.ConnectError))
           for e in chain):
        return "connect"
    if any(isinstance(e, (ConnectionResetError, ServerDisconnected, aiohttp.ServerDisconnectedError,
                          httpx.RemoteProtocolError)) for e in chain):
        return "reset"
    # Any other lost connection (a broken pipe while sending, say): httpx-aiohttp, which the engine
    # sent through before, turned every aiohttp.ClientConnectionError into httpx.ConnectTimeout, so
    # these have always been counted as timeouts; kept so that reports do not change meaning.
    if any(isinstance(e, (TimeoutError, ConnectionLost, aiohttp.ServerTimeoutError, aiohttp.ClientConnectionError,
                          httpx.TimeoutException)) for e in chain):
        return "timeout"
    return "protocol"


# One request, no redirect followed: (status, Location, Retry-After, the whole body).
_Answer = tuple[int, str | None, str | None, bytes]


class Transport:
    """One HTTP client per sink; `attempt` sends once (following redirects) and reads the answer."""

    def __init__(self, settings: SinkSettings, backend: str = "http1") -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown HTTP backend {backend!r} (one of {', '.join(BACKENDS)})")
        self.timeout = settings.timeout
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._pool: Http1Pool | None = None
        self._urls: dict[str, URL] = {}
        self.client: httpx.AsyncClient | None = None
        if backend == "httpx" or (settings.enhanced and settings.http2):
            self.client = build_httpx_client(settings)
            self._send = self._send_httpx
        elif backend == "http1":
            self._pool = Http1Pool(lambda: ssl_context(settings), POOL_IDLE_TIMEOUT_S)
            self._send = self._pool.request
            if urlsplit(settings.url).scheme.lower() == "https" or (
                    settings.enhanced and (settings.tls_ca_file or settings.tls_client_cert)):
                # The TLS context now, as the connector builds its client when it opens: the first message does
                # not wait for it, and a TLS file gone bad is reported by open(). Plain HTTP makes it only if a
                # redirect leads to https.
                self._pool.tls_context()
        else:
            # An aiohttp session belongs to the loop it was made on: made now when a loop runs (the sink opens
            # its transport in open(), as the connector builds its client when it opens, so the first message
            # does not wait for the TLS context and the session), else on the first request.
            self._send = self._send_aiohttp
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                pass
            else:
                self._session = build_aiohttp_session(settings)

    async def attempt(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Reply:
        try:
            if self._pool is not None:
                # The pool bounds connecting and each answer by the deadline itself: no task cancellation, no
                # asyncio timeout per attempt (a twentieth of a whole run's CPU at one in flight).
                return await self._follow(method, url, headers, body, asyncio.get_running_loop().time() + self.timeout)
            async with asyncio.timeout(self.timeout):
                return await self._follow(method, url, headers, body, None)
        except TimeoutError:
            raise TransportError("timeout", f"no answer within {self.timeout:g}s") from None
        except (httpx.HTTPError, aiohttp.ClientError, HttpClientError, OSError, ssl.SSLError, ValueError) as exc:
            kind = classify_error(exc)
            root = _chain(exc)[-1]
            raise TransportError(kind, f"{kind}: {type(root).__name__}: {root}") from None

    async def _follow(self, method: str, url: str, headers: dict[str, str], body: bytes | None,
                      deadline: float | None) -> Reply:
        """One attempt: the request, and the redirects it leads to, up to MAX_REDIRECTS."""
        hops = 0
        while True:
            status, location, retry_after, content = await self._send(method, url, headers, body, deadline)
            if location is None or status not in REDIRECT_STATUSES:
                return Reply(status, retry_after, content[:EXCERPT_BYTES])
            hops += 1
            if hops > MAX_REDIRECTS:
                raise TransportError("protocol", f"protocol: more than {MAX_REDIRECTS} redirects")
            hop = redirect(Hop(method, url, headers, body), status, location)
            method, url, headers, body = hop.method, hop.url, hop.headers, hop.body

    async def _send_httpx(self, method: str, url: str, headers: dict[str, str], body: bytes | None,
                          deadline: float | None) -> _Answer:
        assert self.client is not None
        response = await self.client.request(method, url, headers=headers, content=body)
        h = response.headers
        return response.status_code, h.get("location"), h.get("retry-after"), response.content

    def _url(self, url: str) -> URL:
        # yarl parses and re-quotes a URL string on every request; the sink sends to one URL all the time.
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) > 64:       # redirect targets could be endless; the sink's own URL stays cheap
                self._urls.clear()
            parsed = self._urls[url] = URL(url)
        return parsed

    async def _send_aiohttp(self, method: str, url: str, headers: dict[str, str], body: bytes | None,
                            deadline: float | None) -> _Answer:
        session = self._session
        if session is None:
            session = self._session = build_aiohttp_session(self._settings)
        async with session.request(method, self._url(url), headers=headers, data=body,
                                   allow_redirects=False) as response:
            content = await response.read()     # read to the end, so the connection goes back to the pool
            h = response.headers
            return response.status, h.get("Location"), h.get("Retry-After"), content

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
        if self.client is not None:
            await self.client.aclose()
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
