"""The admin API under `/__sinkbench/` (DESIGN.md §4), served by the endpoint itself.

Admin calls are not requests of the run: they are not numbered, journaled or
counted. `PUT /__sinkbench/endpoint` validates the whole document first and
changes nothing when it is wrong (400 with the reason, naming the key). The
client side of this API is `sinkbench.endpoint.client`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from aiohttp.web_request import BaseRequest

from sinkbench.endpoint.settings import parse_endpoint_settings, settings_to_dict
from sinkbench.errors import InputError

if TYPE_CHECKING:
    from sinkbench.endpoint.server import Endpoint

MAX_ADMIN_BODY = 1024 * 1024


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(data), content_type="application/json")


def _error(message: str, status: int = 400, **extra: str) -> web.Response:
    resp = _json({"error": message}, status)
    for name, value in extra.items():
        resp.headers[name] = value
    return resp


def _method_not_allowed(allowed: str) -> web.Response:
    return _error(f"method not allowed here (use {allowed})", 405, Allow=allowed)


async def _settings_document(request: BaseRequest) -> dict[str, Any] | str:
    """The JSON object in the body, or the reason it is not one."""
    too_large = f"settings document larger than {MAX_ADMIN_BODY} bytes"
    if request.content_length is not None and request.content_length > MAX_ADMIN_BODY:
        return too_large
    parts, size = [], 0
    while chunk := await request.content.readany():  # the body may come in several pieces
        size += len(chunk)
        if size > MAX_ADMIN_BODY:
            return too_large
        parts.append(chunk)
    raw = b"".join(parts)
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return f"body is not valid JSON: {exc}"
    if not isinstance(doc, dict):
        return "expected a JSON object with the keys of [endpoint]"
    return doc


async def _put_settings(endpoint: Endpoint, request: BaseRequest) -> web.Response:
    doc = await _settings_document(request)
    if isinstance(doc, str):
        return _error(doc)
    # `tls` is fixed at start; a document that leaves it out keeps the running value.
    if "tls" not in doc:
        doc = {**doc, "tls": endpoint.settings.tls}
    try:
        settings = parse_endpoint_settings(doc, None, ())
        endpoint.apply(settings)
    except InputError as exc:
        return _error(str(exc))
    return _json(settings_to_dict(endpoint.settings))


def _limit(request: BaseRequest) -> int | None | str:
    raw = request.query.get("limit")
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        return f"limit must be a whole number, got {raw!r}"
    if value < 0:
        return f"limit must be >= 0, got {value}"
    return value


async def handle(endpoint: Endpoint, request: BaseRequest) -> web.Response:
    name = request.path[len("/__sinkbench/"):].rstrip("/")
    method = request.method
    if name == "health":
        return _json({"status": "ok"}) if method in ("GET", "HEAD") else _method_not_allowed("GET")
    if name == "stats":
        return _json(endpoint.stats()) if method == "GET" else _method_not_allowed("GET")
    if name == "requests":
        if method != "GET":
            return _method_not_allowed("GET")
        limit = _limit(request)
        if isinstance(limit, str):
            return _error(limit)
        return _json(endpoint.requests(limit))
    if name == "endpoint":
        if method == "GET":
            return _json(settings_to_dict(endpoint.settings))
        if method == "PUT":
            return await _put_settings(endpoint, request)
        return _method_not_allowed("GET, PUT")
    if name == "reset":
        if method != "POST":
            return _method_not_allowed("POST")
        endpoint.reset()
        return _json({"status": "ok"})
    return _error(f"no admin call {request.path!r} (health, stats, requests, endpoint, reset)", 404)
