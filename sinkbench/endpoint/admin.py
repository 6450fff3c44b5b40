"""The admin API under `/__sinkbench/` (DESIGN.md §4), served by the endpoint itself.

Admin calls are not requests of the run: they are not numbered, journaled or
counted. `PUT /__sinkbench/endpoint` validates the whole document first and
changes nothing when it is wrong (400 with the reason, naming the key). The
client side of this API is `sinkbench.endpoint.client`.

Whatever a client sends, a wrong call gets a 4xx with a short JSON error, also
when its body stops arriving (after BODY_STALL_TIMEOUT). A settings document
is parsed off the event loop (a megabyte of bad fault rules takes seconds to
explain, and the data path must keep answering meanwhile), and applied only
once its answer is ready, so one that cannot be shown back is refused whole.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from aiohttp.web_request import BaseRequest

from sinkbench.endpoint.settings import parse_endpoint_settings, settings_to_dict
from sinkbench.errors import InputError, InputErrors

if TYPE_CHECKING:
    from sinkbench.endpoint.server import Endpoint
    from sinkbench.endpoint.settings import EndpointSettings

MAX_ADMIN_BODY = 1024 * 1024
# A settings document arrives at once; a body that stops arriving for this long never will.
BODY_STALL_TIMEOUT = 5.0
# The deepest settings document is four levels (faults → rule → requests →
# number). Far deeper ones are not settings, and near orjson's 1024 levels the
# parser's messages (which repr the value) would hit the recursion limit.
MAX_DEPTH = 16
# A rejected document is explained, not echoed: the first problems, each cut short.
MAX_PROBLEMS = 20
MAX_PROBLEM_CHARS = 500


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(data), content_type="application/json")


def _error(message: str, status: int = 400, **extra: str) -> web.Response:
    resp = _json({"error": message}, status)
    for name, value in extra.items():
        resp.headers[name] = value
    return resp


def _method_not_allowed(allowed: str) -> web.Response:
    return _error(f"method not allowed here (use {allowed})", 405, Allow=allowed)


def _clip(text: str, limit: int = MAX_PROBLEM_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _problems(exc: InputError) -> str:
    errors = exc.errors if isinstance(exc, InputErrors) else [exc]
    lines = [_clip(str(e)) for e in errors[:MAX_PROBLEMS]]
    if len(errors) > MAX_PROBLEMS:
        lines.append(f"… and {len(errors) - MAX_PROBLEMS} more problems")
    return "\n".join(lines)


def _depth_over(doc: Any, limit: int) -> bool:
    # Iterative: a recursive walk would itself hit the recursion limit it guards against.
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


async def _read_document(request: BaseRequest) -> bytes | web.Response:
    """The raw body, or the answer refusing it."""
    too_large = _error(f"settings document larger than {MAX_ADMIN_BODY} bytes")
    if request.content_length is not None and request.content_length > MAX_ADMIN_BODY:
        return too_large
    parts, size = [], 0
    try:
        while True:  # the body may come in several pieces
            async with asyncio.timeout(BODY_STALL_TIMEOUT):
                chunk = await request.content.readany()
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_ADMIN_BODY:
                return too_large
            parts.append(chunk)
    except web.RequestPayloadError:  # a Content-Encoding that does not decode
        return _unframed("unreadable request body (its Content-Encoding does not decode)", 400)
    except TimeoutError:
        # aiohttp leaves a body whose framing breaks after the handler started (a bad
        # chunk size, a deflate stream that never ends) waiting for ever; so does a client
        # that stops sending. Either way no more of it is coming.
        return _unframed(f"request body stalled: nothing for {BODY_STALL_TIMEOUT:g} s "
                         "(broken chunking or Content-Encoding, or a client that stopped sending)", 408)
    return b"".join(parts)


def _unframed(message: str, status: int) -> web.Response:
    resp = _error(message, status)
    resp.force_close()  # the rest of the stream cannot be framed
    return resp


def _prepare(raw: bytes, tls: bool) -> tuple[EndpointSettings, bytes] | str:
    """The settings in `raw` and the answer showing them back; or why the document is refused.

    Runs in a worker thread: it touches nothing of the endpoint.
    """
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return f"body is not valid JSON: {exc}"
    if not isinstance(doc, dict):
        return "expected a JSON object with the keys of [endpoint]"
    if _depth_over(doc, MAX_DEPTH):
        return f"settings document nested deeper than {MAX_DEPTH} levels"
    # `tls` is fixed at start; a document that leaves it out keeps the running value.
    if "tls" not in doc:
        doc["tls"] = tls
    try:
        settings = parse_endpoint_settings(doc, None, ())
        # Rendered before anything is applied: settings that cannot be shown back
        # (a rate of 1e20 per second becomes an integer past orjson's 64 bits) are refused whole.
        answer = orjson.dumps(settings_to_dict(settings))
    except InputError as exc:
        return _problems(exc)
    except (ArithmeticError, ValueError, orjson.JSONEncodeError):
        # The parser's own checks raise InputError; these come from Python on absurd
        # magnitudes (a duration of 400 digits overflows a float, 5000 exceed int()).
        return "settings document refused: a number or duration in it is too large to use"
    return settings, answer


async def _put_settings(endpoint: Endpoint, request: BaseRequest) -> web.Response:
    raw = await _read_document(request)
    if isinstance(raw, web.Response):
        return raw
    prepared = await asyncio.to_thread(_prepare, raw, endpoint.settings.tls)
    if isinstance(prepared, str):
        return _error(prepared)
    settings, answer = prepared
    try:
        endpoint.apply(settings)
    except InputError as exc:
        return _error(_problems(exc))
    return web.Response(body=answer, content_type="application/json")


def _limit(request: BaseRequest) -> int | None | str:
    given = request.query.getall("limit", [])
    if not given:
        return None
    if len(given) > 1:
        return "limit given more than once"
    raw = given[0]
    digits = raw.removeprefix("-")
    # Plain ASCII decimal only: int() would also take " 5", "1_000", "+5" and other scripts' digits.
    if not (digits.isascii() and digits.isdigit()):
        return f"limit must be a whole number, got {_clip(repr(raw), 100)}"
    digits = digits.lstrip("0") or "0"
    if raw.startswith("-") and digits != "0":
        return f"limit must be >= 0, got {_clip(raw, 100)}"
    # Past the journal's size every limit means all of it (and int() refuses 4300+ digits).
    return int(digits) if len(digits) <= 18 else 10 ** 18


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
    return _error(f"no admin call {_clip(repr(request.path), 200)} (health, stats, requests, endpoint, reset)", 404)
