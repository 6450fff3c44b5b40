"""The embedded mock endpoint (docs/endpoint.md): an HTTP server that breaks on purpose.

    settings    the [endpoint] table: parse, validate, back to a document
    faults      the decision for one request (compiled settings, seeded draws, rate limit, routes)
    matching    method, path and header matchers of faults and routes
    encoding    Content-Encoding (gzip, deflate) decoded, bounded
    ledger      which messages arrived and how often (by address, hash or token)
    journal     the last requests, secrets redacted
    server      Endpoint: the server in the current event loop, its decisions per request
    http1       HTTP/1.1 over httptools: framing, keep-alive, the request and response types
    intervals   sets of offset runs (the ledger's addresses)
    admin       the /__sinkbench/ API (server side); client: AdminClient
    process     EndpointProcess: the server in its own process
    tls         a throwaway CA and certificate
    command     `sinkbench mock`
    errors      PortInUse, catchable without loading the server

Names are loaded on first use, so importing this package (which `sinkbench
mock`'s argument parsing does) does not load aiohttp or httpx.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sinkbench.endpoint.client import AdminClient, AdminError
    from sinkbench.endpoint.errors import PortInUse
    from sinkbench.endpoint.process import EndpointProcess
    from sinkbench.endpoint.server import Endpoint
    from sinkbench.endpoint.settings import (
        EndpointSettings,
        Fault,
        Latency,
        RateLimit,
        RequestMatch,
        RetryAfter,
        Route,
        load_endpoint_file,
        parse_endpoint_settings,
        settings_to_dict,
    )

__all__ = [
    "AdminClient", "AdminError", "Endpoint", "EndpointProcess", "EndpointSettings", "Fault", "Latency",
    "PortInUse", "RateLimit", "RequestMatch", "RetryAfter", "Route", "load_endpoint_file",
    "parse_endpoint_settings", "settings_to_dict",
]

_EXPORTS = {
    "AdminClient": "client", "AdminError": "client",
    "EndpointProcess": "process", "PortInUse": "errors",
    "Endpoint": "server",
    "EndpointSettings": "settings", "Fault": "settings", "Latency": "settings", "RateLimit": "settings",
    "RetryAfter": "settings", "RequestMatch": "settings", "Route": "settings", "load_endpoint_file": "settings", "parse_endpoint_settings": "settings",
    "settings_to_dict": "settings",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sinkbench.endpoint' has no attribute {name!r}")
    return getattr(importlib.import_module(f"sinkbench.endpoint.{module}"), name)
