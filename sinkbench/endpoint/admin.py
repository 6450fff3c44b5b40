"""The admin API under `/__sinkbench/` (docs/endpoint.md), served by the endpoint itself.

| call | effect |
|---|---|
| `GET /__sinkbench/health` | `{"status": "ok"}` |
| `GET /__sinkbench/stats` | requests, answers by status, fault hits, accepted messages |
| `GET /__sinkbench/requests?limit=N` | the last N requests, oldest first |
| `GET /__sinkbench/endpoint` | the settings in force, as an `[endpoint]` document |
| `PUT /__sinkbench/endpoint` | **replace** the settings: a key left out takes its default |
| `PATCH /__sinkbench/endpoint` | **merge** into the settings in force (JSON merge patch, RFC 7396) |
| `POST /__sinkbench/reset` | back to the configured settings; journal, counters and ledger cleared |
| `POST /__sinkbench/ledger` | which of the given messages the ledger holds |

Replace or merge: `PUT {"status": 503}` leaves *only* that: the configured
faults, latency and rate limit are gone (their defaults apply) until the next
PUT, PATCH or reset. `PATCH {"status": 503}` changes the status and keeps the
rest. A merge patch is a JSON object; each of its keys replaces the key of that
name, `null` removes it (its default applies), an object merges into the
object it names, and anything else — a list too: `faults` is replaced whole —
replaces it. `tls` and `port` are fixed while the endpoint runs (a document
without them keeps them). Either way the result is validated whole before anything changes:
a wrong document gets 400 with the reasons, naming the keys, and changes
nothing; the answer to a good one is the settings now in force (as GET shows
them). Changes take effect for the next request; request numbers and time
windows keep counting from the start or the last reset.

`POST /__sinkbench/reset` restores the settings the endpoint was started
with (the scenario's `[endpoint]`, or `sinkbench mock --config`), so after
any number of PUTs and PATCHes it is the endpoint of the scenario again.

`POST /__sinkbench/ledger` asks about messages without fetching the ledger:

    {"addresses": [{"stream": "s", "topic": "t", "partition": 0, "offsets": [[0, 1000], [1200, 1300]]}],
     "identities": [123456789, ...], "tokens": ["sb-00c0ffee00c0ffee", ...]}

answers `{"held": N, "accepted": [n, ...], "address_duplicates": D}` (and, when
tokens were asked about, `"tokens": [n, ...]`: how often the message each
token names was accepted, under `identify = "token"`): `held`
counts the messages at those Iggy addresses (offset runs are half-open,
`[first, end)`) that the endpoint accepted at least once, `accepted` says
for each identity (the ledger's number for a message without metadata, as
`sinkbench.endpoint.ledger` computes it) how often it was accepted, and
`address_duplicates` is how many acceptances of addressed messages repeated
one already accepted. Runs keep the question small however many messages it
covers; a bigger question is split into several calls (the body limit is the
same 1 MiB).

Admin calls are not requests of the run: they are not numbered, journaled or
counted. The client side of this API is `sinkbench.endpoint.client`.

Whatever a client sends, a wrong call gets a 4xx with a short JSON error, also
when its body stops arriving (after BODY_STALL_TIMEOUT). A settings document
is parsed off the event loop (a megabyte of bad fault rules takes seconds to
explain, and the data path must keep answering meanwhile), and applied only
once its answer is ready, so one that cannot be shown back is refused whole.
A ledger question is answered on the loop, from the ledger as it is at that
moment: it is a lookup per identity or run, a few milliseconds for a full one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import orjson

from sinkbench.endpoint.encoding import BodyEncodingError, decode
from sinkbench.endpoint.http1 import Request, Response
from sinkbench.endpoint.ledger import U32_MAX, U64_MAX, token_identity
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


def _json(data: Any, status: int = 200, *, close: bool = False, **headers: str) -> Response:
    return Response(status, orjson.dumps(data), [("Content-Type", "application/json"), *headers.items()],
                    close=close)


def _error(message: str, status: int = 400, **headers: str) -> Response:
    return _json({"error": message}, status, **headers)


def _method_not_allowed(allowed: str) -> Response:
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


def _read_document(request: Request) -> bytes | Response:
    """The raw body (read whole, up to MAX_ADMIN_BODY, by the HTTP layer), or the answer refusing it."""
    raw = request.body
    too_large = _error(f"settings document larger than {MAX_ADMIN_BODY} bytes")
    if raw is None:
        return too_large
    coded = request.headers.get("Content-Encoding")
    if coded is None:
        return raw
    try:
        decoded = decode(raw, coded, MAX_ADMIN_BODY)
    except BodyEncodingError as exc:
        return _error(f"unreadable request body: {exc}", exc.status)
    return decoded if decoded is not None else too_large


def stalled() -> Response:
    """The answer to a body that stopped arriving: a client that stopped sending, or chunking or a deflate
    stream that never ends. Either way no more of it is coming, and the stream cannot be framed."""
    return _json({"error": f"request body stalled: nothing for {BODY_STALL_TIMEOUT:g} s "
                           "(broken chunking or Content-Encoding, or a client that stopped sending)"}, 408,
                 close=True)


def unreadable(reason: str) -> Response:
    """The answer to a body whose framing broke (the HTTP parser's `reason`)."""
    return _json({"error": f"unreadable request body: {_clip(reason, 200)}"}, 400, close=True)


def _object(raw: bytes, what: str, big_ints: bool = False) -> dict[str, Any] | str:
    """The JSON object in `raw`, or why it is refused. `big_ints`: integers past 64 bits kept exact."""
    try:
        # orjson reads an integer past 64 bits as a float; a ledger identity may be one (an address).
        doc = json.loads(raw) if big_ints else orjson.loads(raw)
    except (ValueError, RecursionError) as exc:
        return f"body is not valid JSON: {exc}"
    if not isinstance(doc, dict):
        return f"expected a JSON object with {what}"
    if _depth_over(doc, MAX_DEPTH):
        return f"document nested deeper than {MAX_DEPTH} levels"
    return doc


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: `patch` applied to `target` (neither is changed; the result shares no mutable part with `patch`)."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _prepare(raw: bytes, fixed: dict[str, Any], current: dict[str, Any] | None = None
             ) -> tuple[EndpointSettings, bytes] | str:
    """The settings in `raw` and the answer showing them back; or why the document is refused.

    `fixed`: the keys fixed at start (tls, port) with their running values, which a document that leaves
    them out keeps. `current` (the settings in force, as a document) makes `raw` a merge patch onto them;
    without it `raw` replaces them. Runs in a worker thread: it touches nothing of the endpoint.
    """
    doc = _object(raw, "the keys of [endpoint]")
    if isinstance(doc, str):
        return doc.replace("document nested", "settings document nested")
    if current is not None:
        doc = merge_patch(current, doc)
    for key, value in fixed.items():
        doc.setdefault(key, value)
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


async def _change_settings(endpoint: Endpoint, request: Request, merge: bool) -> Response:
    """PUT (replace) or PATCH (merge) the settings."""
    raw = _read_document(request)
    if isinstance(raw, Response):
        return raw
    # `tls` and `port` are fixed at start: a document that leaves them out keeps the running values.
    fixed = {"tls": endpoint.settings.tls, "port": endpoint.settings.port}
    args = (raw, fixed) + ((settings_to_dict(endpoint.settings),) if merge else ())
    prepared = await asyncio.to_thread(_prepare, *args)
    if isinstance(prepared, str):
        return _error(prepared)
    settings, answer = prepared
    try:
        endpoint.apply(settings)
    except InputError as exc:
        return _error(_problems(exc))
    return Response(200, answer, [("Content-Type", "application/json")])


def _limit(request: Request) -> int | None | str:
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


def handle(endpoint: Endpoint, request: Request) -> Response | Awaitable[Response]:
    """The answer to an admin call; a coroutine for the one that waits (a settings change)."""
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
        if method in ("PUT", "PATCH"):
            return _change_settings(endpoint, request, merge=method == "PATCH")
        return _method_not_allowed("GET, PUT, PATCH")
    if name == "ledger":
        if method != "POST":
            return _method_not_allowed("POST")
        raw = _read_document(request)
        if isinstance(raw, Response):
            return raw
        doc = _object(raw, 'the keys "addresses", "identities" and "tokens"', big_ints=True)
        answer = ledger_answer(endpoint, doc) if not isinstance(doc, str) else doc
        return _error(answer) if isinstance(answer, str) else _json(answer)
    if name == "reset":
        if method != "POST":
            return _method_not_allowed("POST")
        endpoint.reset()
        return _json({"status": "ok"})
    return _error(f"no admin call {_clip(repr(request.path), 200)} (health, stats, requests, endpoint, reset, ledger)",
                  404)


def _whole(value: Any, lo: int, hi: int) -> bool:
    return type(value) is int and lo <= value <= hi


def ledger_answer(endpoint: Endpoint, doc: dict[str, Any]) -> dict[str, Any] | str:
    """The answer to a ledger question (see the module's docstring), or what is wrong with it, naming the key."""
    unknown = sorted(set(doc) - {"addresses", "identities", "tokens"})
    if unknown:
        return f"unknown key {_clip(repr(unknown[0]), 100)} (addresses, identities, tokens)"
    addresses, identities = doc.get("addresses", []), doc.get("identities", [])
    if not isinstance(addresses, list):
        return "addresses: expected a list"
    if not isinstance(identities, list):
        return "identities: expected a list"
    tokens = doc.get("tokens")
    if tokens is not None and not isinstance(tokens, list):
        return "tokens: expected a list of strings"
    ledger, recognizer = endpoint.ledger, endpoint.recognizer
    held = 0
    for i, entry in enumerate(addresses):
        where = f"addresses[{i}]"
        if not isinstance(entry, dict) or set(entry) != {"stream", "topic", "partition", "offsets"}:
            return f'{where}: expected an object with the keys "stream", "topic", "partition", "offsets"'
        stream, topic, partition, offsets = entry["stream"], entry["topic"], entry["partition"], entry["offsets"]
        if not isinstance(stream, str) or not isinstance(topic, str):
            return f"{where}: stream and topic must be strings"
        if not _whole(partition, 0, U32_MAX):
            return f"{where}.partition: expected a whole number from 0 to {U32_MAX}"
        if not isinstance(offsets, list):
            return f"{where}.offsets: expected a list of [first, end] runs"
        base = recognizer.address(stream, topic, partition, 0)
        for j, run in enumerate(offsets):
            if not (isinstance(run, list) and len(run) == 2 and _whole(run[0], 0, U64_MAX + 1)
                    and _whole(run[1], run[0] if type(run[0]) is int else 0, U64_MAX + 1)):
                return f"{where}.offsets[{j}]: expected [first, end] with 0 <= first <= end <= 2^64"
            held += ledger.held(base + run[0], base + run[1])
    accepted = []
    for i, identity in enumerate(identities):
        if type(identity) is not int or identity < 0:
            return f"identities[{i}]: expected a whole number >= 0"
        accepted.append(ledger.accepted(identity))
    answer: dict[str, Any] = {"held": held, "accepted": accepted, "address_duplicates": ledger.address_duplicates}
    if tokens is not None:
        counts = []
        for i, token in enumerate(tokens):
            if not isinstance(token, str) or not token:
                return f"tokens[{i}]: expected a non-empty string"
            counts.append(ledger.accepted(token_identity(token)))
        answer["tokens"] = counts
    return answer
