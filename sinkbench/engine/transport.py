"""Sending one HTTP attempt through httpx, with the connector's pool and TLS settings.

Two httpx transports are available: httpx-aiohttp's (`aiohttp`, the default:
faster and steadier under concurrency, see bench/transport_compare.py) and
httpx's own (`httpx`, used for HTTP/2, which aiohttp does not speak). Each
attempt is bounded by `timeout` as a whole, like reqwest's total timeout —
httpx's timeouts are per phase, so the bound is an asyncio timeout around the
request and the reading of its answer.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from sinkbench.config.settings import POOL_IDLE_TIMEOUT_S, SinkSettings
from sinkbench.config.tls import ssl_context  # the loader checks the same files with it

EXCERPT_BYTES = 500


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


class _NoCookies(httpx.Cookies):
    """reqwest keeps no cookies unless its cookie store is enabled, which the Iggy sink does
    not do; httpx would keep and send them. Not reading them also saves about a fifth of
    the client's time per request (bench/engine_throughput.py)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


# reqwest, as the Iggy sink builds it, sends `Accept: */*` besides the sink's own headers and
# nothing else (seen by a server in tests/real_iggy); httpx would add these by default.
_NOT_REQWEST = ("user-agent", "accept-encoding", "connection")


def _without_cookies(client: httpx.AsyncClient) -> httpx.AsyncClient:
    # httpx offers no switch for this; its `cookies` setter would copy into a plain jar.
    client._cookies = _NoCookies()
    # The `headers` setter would merge with httpx's defaults, so they are taken out one by one.
    for name in _NOT_REQWEST:
        client.headers.pop(name, None)
    return client


def build_client(settings: SinkSettings, backend: str = "aiohttp") -> httpx.AsyncClient:
    ctx = ssl_context(settings)
    # reqwest: pool_max_idle_per_host = max_connections; concurrency is not limited.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=settings.max_connections,
                          keepalive_expiry=POOL_IDLE_TIMEOUT_S)
    timeout = httpx.Timeout(settings.timeout)
    if backend == "httpx" or (settings.enhanced and settings.http2):
        return _without_cookies(httpx.AsyncClient(verify=ctx, limits=limits, timeout=timeout,
                                                  http2=settings.enhanced and settings.http2,
                                                  follow_redirects=True, max_redirects=10, trust_env=False))

    def session() -> aiohttp.ClientSession:
        # aiohttp keeps every idle connection (no idle cap) until keepalive_timeout.
        connector = aiohttp.TCPConnector(limit=0, ssl=ctx, keepalive_timeout=POOL_IDLE_TIMEOUT_S)
        return aiohttp.ClientSession(connector=connector, skip_auto_headers=("User-Agent", "Accept-Encoding"),
                                     cookie_jar=aiohttp.DummyCookieJar())

    transport = AiohttpTransport(client=session)
    return _without_cookies(httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=True,
                                              max_redirects=10, trust_env=False))


def _chain(exc: BaseException) -> list[BaseException]:
    out = []
    while exc is not None and len(out) < 8:
        out.append(exc)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return out


def classify_error(exc: BaseException) -> str:
    """The kind of a transport failure, judged from the original exception.

    httpx-aiohttp maps a refused connection to httpx.ConnectTimeout, so the
    aiohttp exception underneath is what tells the kinds apart.
    """
    chain = _chain(exc)
    if any(isinstance(e, (ssl.SSLError, ssl.CertificateError, aiohttp.ClientSSLError)) for e in chain):
        return "tls"
    if any(isinstance(e, (aiohttp.ClientConnectorError, ConnectionRefusedError, httpx.ConnectError)) for e in chain):
        return "connect"
    if any(isinstance(e, (ConnectionResetError, aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError))
           for e in chain):
        return "reset"
    if any(isinstance(e, (TimeoutError, aiohttp.ServerTimeoutError, httpx.TimeoutException)) for e in chain):
        return "timeout"
    return "protocol"


class Transport:
    """One HTTP client per sink; `attempt` sends once and reads the answer."""

    def __init__(self, settings: SinkSettings, backend: str = "aiohttp") -> None:
        self.timeout = settings.timeout
        self.client = build_client(settings, backend)

    async def attempt(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Reply:
        try:
            async with asyncio.timeout(self.timeout):
                response = await self.client.request(method, url, headers=headers, content=body)
                excerpt = response.content[:EXCERPT_BYTES]
        except TimeoutError:
            raise TransportError("timeout", f"no answer within {self.timeout:g}s") from None
        except (httpx.HTTPError, aiohttp.ClientError, OSError, ssl.SSLError, ValueError) as exc:
            kind = classify_error(exc)
            root = _chain(exc)[-1]
            raise TransportError(kind, f"{kind}: {type(root).__name__}: {root}") from None
        return Reply(response.status_code, response.headers.get("retry-after"), excerpt)

    async def aclose(self) -> None:
        await self.client.aclose()
