"""The endpoint's settings: the `[endpoint]` table (docs/endpoint.md).

One parser serves the scenario file, a TOML file given to `sinkbench mock
--config` and the JSON documents of the admin API, so every source rejects the
same mistakes with the same words. Errors name the key (and, from a file, the
line); unknown keys are errors with a "did you mean" hint, because a typo in a
fault rule would otherwise quietly bench the wrong failure.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sinkbench.durations import DurationError, format_duration, parse_duration
from sinkbench.errors import InputError, InputErrors, Where
from sinkbench.tomlsrc import TomlSource, load_toml

Action = Literal["status", "delay", "reset", "hang", "close", "malformed", "slow_body"]
ACTIONS: tuple[str, ...] = ("status", "delay", "reset", "hang", "close", "malformed", "slow_body")
DISTRIBUTIONS: tuple[str, ...] = ("uniform", "lognormal")

# Which action keys each action accepts; `status` requires `status`, `delay`
# and `slow_body` require `delay`. A key that does not apply is an error: a
# `status = 503` under `action = "reset"` is a misunderstanding worth naming.
_ACTION_KEYS: dict[str, frozenset[str]] = {
    "status": frozenset({"status", "retry_after", "body", "accept"}),
    "delay": frozenset({"delay", "accept"}),
    "reset": frozenset({"accept"}),
    "hang": frozenset({"accept"}),
    "close": frozenset({"accept"}),
    "malformed": frozenset({"accept"}),
    "slow_body": frozenset({"delay", "status", "retry_after", "body", "accept"}),
}
_REQUIRED: dict[str, tuple[str, ...]] = {"status": ("status",), "delay": ("delay",), "slow_body": ("delay",)}
# What a request is matched by (faults and routes alike), as WireMock's request matching does.
_REQUEST_KEYS = ("method", "path", "path_prefix", "path_regex", "headers")
_PATH_KEYS = ("path", "path_prefix", "path_regex")
_MATCHER_KEYS = ("after", "until", "requests", "every", "probability", *_REQUEST_KEYS)
_FAULT_KEYS = (*_MATCHER_KEYS, "action", "status", "retry_after", "body", "delay", "accept")
_ROUTE_KEYS = (*_REQUEST_KEYS, "status", "body", "content_type")
_TOP_KEYS = ("status", "latency", "max_body_bytes", "tls", "rate_limit", "faults", "routes", "seed", "port",
             "identify", "token")
_RATE_KEYS = ("requests_per_second", "burst", "retry_after")
IDENTIFY: tuple[str, ...] = ("iggy", "token", "hash")
# The synthetic source's tokens match it (sources/synthetic.py): "sb-" and 16 hex digits.
DEFAULT_TOKEN = "sb-[0-9a-f]{16}"

KeyPath = tuple[str | int, ...]

# The most body the endpoint holds in memory for one request. With
# `max_body_bytes = 0` a larger body is answered 413 (and read to the end, so
# the client sees the answer, not a reset); a larger `max_body_bytes` raises it.
BODY_CAP = 32 * 1024 * 1024
# Bounds that keep every setting usable: a year of delay or window (past it,
# an HTTP-date Retry-After leaves the calendar and a lognormal latency
# overflows a float), and a rate no endpoint can see (past 2**64 it could not
# even be shown back by the admin API).
MAX_DURATION = 365 * 86400.0
MAX_RATE = 1e9
# A pattern is for recognising a token or a path, not a program: longer ones are refused, which also keeps
# the admin API's parser (run off the event loop) from spending long on a hostile document.
MAX_REGEX = 1000
# Header names and values as aiohttp accepts them (its own line limit is 8190 bytes).
MAX_HEADER_VALUE = 8190
_TOKEN_CHARS = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@dataclass(frozen=True, slots=True)
class Latency:
    """Added before every normal answer. `fixed` uses `value`; the others draw per request."""

    distribution: Literal["fixed", "uniform", "lognormal"] = "fixed"
    value: float = 0.0  # fixed
    min: float = 0.0  # uniform
    max: float = 0.0
    median: float = 0.0  # lognormal
    sigma: float = 0.0

    @property
    def is_zero(self) -> bool:
        return self.distribution == "fixed" and self.value == 0.0


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """A Retry-After header: whole seconds, or (`as_date`) an HTTP-date `seconds` ahead."""

    seconds: float
    as_date: bool = False


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A token bucket: `burst` tokens, refilled at `requests_per_second`."""

    requests_per_second: float
    burst: int
    retry_after: RetryAfter = RetryAfter(1.0)


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    """One entry of a matcher's `headers`: the header (any spelling) equals `value`, or fully matches `regex`."""

    name: str
    value: str | None = None
    regex: str | None = None


@dataclass(frozen=True, slots=True)
class RequestMatch:
    """Which requests a fault or route applies to; a part left as None (or empty) is not checked.

    Paths are compared without the query, percent-decoded; `path_regex` and a header's `regex` must match
    the whole text (as WireMock's `matches` does).
    """

    methods: tuple[str, ...] | None = None
    path: str | None = None
    path_prefix: str | None = None
    path_regex: str | None = None
    headers: tuple[HeaderMatch, ...] = ()


@dataclass(frozen=True, slots=True)
class Route:
    """One `[[endpoint.routes]]` entry: the default answer for the requests it matches."""

    match: RequestMatch
    status: int = 200
    body: str | None = None
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class Fault:
    """One `[[endpoint.faults]]` rule. A matcher left as None is not checked."""

    action: Action
    after: float | None = None
    until: float | None = None
    requests: tuple[int, int] | None = None
    every: int | None = None
    probability: float | None = None
    status: int | None = None
    retry_after: RetryAfter | None = None
    body: str | None = None
    delay: float | None = None
    accept: bool = False
    match: RequestMatch | None = None


@dataclass(frozen=True, slots=True)
class EndpointSettings:
    """The whole `[endpoint]` table.

    A status is any of 100..599 and is sent as given: a 1xx is an interim
    answer, after which a client waits for a final one that never comes (it
    behaves like `hang`, but answered); a 204 or 304 goes without its body.
    """

    status: int = 200
    latency: Latency = Latency()
    max_body_bytes: int = 0
    tls: bool = False
    rate_limit: RateLimit | None = None
    faults: tuple[Fault, ...] = field(default_factory=tuple)
    seed: int = 0
    port: int = 0                  # 0: a free port, chosen at start
    identify: str = "iggy"         # iggy | token | hash: how the ledger knows a message (docs/endpoint.md)
    token: str = DEFAULT_TOKEN     # identify = "token": every match in an accepted body is one message
    routes: tuple[Route, ...] = field(default_factory=tuple)


# --- parsing ---------------------------------------------------------------


class _Ctx:
    """Builds errors for one document: from a TOML file (with lines) or from JSON."""

    def __init__(self, source: TomlSource | None) -> None:
        self.source = source

    def error(self, message: str, path: KeyPath) -> InputError:
        if self.source is not None:
            return self.source.error(message, *path)
        key = ".".join(str(k) if isinstance(k, str) else f"[{k}]" for k in path).replace(".[", "[")
        return InputError(message, Where(key=key or None))


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def _check_keys(ctx: _Ctx, table: dict[str, Any], allowed: tuple[str, ...], path: KeyPath) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (expected one of: {', '.join(allowed)})"
            raise ctx.error(f"unknown key '{key}'{hint}", (*path, key))


def _shown(value: int | float) -> str:
    # str() of an int past 4,300 digits raises; nobody needs to read one back.
    return str(value) if not isinstance(value, int) or value.bit_length() <= 128 else "a number that large"


def _int(ctx: _Ctx, value: Any, path: KeyPath, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ctx.error(f"expected an integer, got {_type_name(value)}", path)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise ctx.error(f"{_shown(value)} is out of range (expected {bounds})", path)
    return value


def _number(ctx: _Ctx, value: Any, path: KeyPath, hi: float = MAX_RATE) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            (isinstance(value, float) and not math.isfinite(value)):
        raise ctx.error(f"expected a number, got {_shown(value) if isinstance(value, (int, float)) else repr(value)}",
                        path)
    if abs(value) > hi:
        raise ctx.error(f"{_shown(value)} is out of range (expected at most {hi:g})", path)
    return float(value)


def _bool(ctx: _Ctx, value: Any, path: KeyPath) -> bool:
    if not isinstance(value, bool):
        raise ctx.error(f"expected true or false, got {_type_name(value)}", path)
    return value


def _duration(ctx: _Ctx, value: Any, path: KeyPath) -> float:
    # Rounded to the nanosecond, humantime's finest unit, so "225000us" and "225ms"
    # are the same setting (their float products differ in the last bit).
    try:
        seconds = round(parse_duration(value), 9)
    except DurationError as exc:
        raise ctx.error(str(exc), path) from None
    if seconds > MAX_DURATION:
        raise ctx.error(f"{value!r} is out of range (expected at most 365d)", path)
    return seconds


def _retry_after(ctx: _Ctx, value: Any, path: KeyPath) -> RetryAfter:
    # An integer is taken as seconds, the way the header itself is written.
    if isinstance(value, int) and not isinstance(value, bool):
        return RetryAfter(float(_int(ctx, value, path, lo=0, hi=int(MAX_DURATION))))
    if isinstance(value, str) and value.startswith("date:"):
        rest = value[len("date:"):].strip()
        if not rest.startswith("+"):
            raise ctx.error(f"invalid retry_after {value!r} (expected \"date:+<duration>\", e.g. \"date:+2s\")", path)
        return RetryAfter(_duration(ctx, rest[1:], path), as_date=True)
    if not isinstance(value, str):
        raise ctx.error(f"expected a duration such as \"2s\" or \"date:+2s\", got {_type_name(value)}", path)
    return RetryAfter(_duration(ctx, value, path))


def _latency(ctx: _Ctx, value: Any, path: KeyPath) -> Latency:
    if isinstance(value, str):
        return Latency("fixed", value=_duration(ctx, value, path))
    if not isinstance(value, dict):
        raise ctx.error(f"expected a duration such as \"2ms\" or a table with 'distribution', "
                        f"got {_type_name(value)}", path)
    dist = value.get("distribution")
    if dist is None:
        raise ctx.error("missing 'distribution' (uniform or lognormal; "
                        "a fixed latency is a duration such as \"2ms\")", path)
    if dist not in DISTRIBUTIONS:
        raise ctx.error(f"unknown distribution {dist!r} (expected one of: uniform, lognormal; "
                        "a fixed latency is a duration such as \"2ms\")", (*path, "distribution"))
    if dist == "uniform":
        _check_keys(ctx, value, ("distribution", "min", "max"), path)
        for key in ("min", "max"):
            if key not in value:
                raise ctx.error(f"missing '{key}' for a uniform latency", path)
        lo = _duration(ctx, value["min"], (*path, "min"))
        hi = _duration(ctx, value["max"], (*path, "max"))
        if lo > hi:
            raise ctx.error(f"min ({value['min']}) is greater than max ({value['max']})", (*path, "min"))
        return Latency("uniform", min=lo, max=hi)
    _check_keys(ctx, value, ("distribution", "median", "sigma"), path)
    for key in ("median", "sigma"):
        if key not in value:
            raise ctx.error(f"missing '{key}' for a lognormal latency", path)
    median = _duration(ctx, value["median"], (*path, "median"))
    sigma = _number(ctx, value["sigma"], (*path, "sigma"))
    if sigma < 0 or sigma > 10:
        raise ctx.error(f"sigma {sigma} is out of range (expected 0..10)", (*path, "sigma"))
    return Latency("lognormal", median=median, sigma=sigma)


def _rate_limit(ctx: _Ctx, value: Any, path: KeyPath) -> RateLimit:
    if not isinstance(value, dict):
        raise ctx.error(f"expected a table, got {_type_name(value)}", path)
    _check_keys(ctx, value, _RATE_KEYS, path)
    if "requests_per_second" not in value:
        raise ctx.error("missing 'requests_per_second'", path)
    rps = _number(ctx, value["requests_per_second"], (*path, "requests_per_second"))
    if rps <= 0:
        raise ctx.error(f"{value['requests_per_second']} is out of range (expected > 0)",
                        (*path, "requests_per_second"))
    # Default burst: one second's worth, so a steady sender under the rate is never refused.
    burst = _int(ctx, value["burst"], (*path, "burst"), lo=1, hi=int(MAX_RATE)) if "burst" in value \
        else max(1, math.ceil(rps))
    retry_after = _retry_after(ctx, value["retry_after"], (*path, "retry_after")) if "retry_after" in value \
        else RetryAfter(1.0)
    return RateLimit(rps, burst, retry_after)


def _regex(ctx: _Ctx, value: Any, path: KeyPath) -> str:
    """A regular expression (Python's `re` syntax) that compiles, of at most MAX_REGEX characters."""
    if not isinstance(value, str):
        raise ctx.error(f"expected a regular expression (a string), got {_type_name(value)}", path)
    if not value:
        raise ctx.error("an empty regular expression matches everything; leave the key out instead", path)
    if len(value) > MAX_REGEX:
        raise ctx.error(f"regular expression of {len(value)} characters is too long (at most {MAX_REGEX})", path)
    try:
        re.compile(value)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        raise ctx.error(f"invalid regular expression: {str(exc) or type(exc).__name__}", path) from None
    return value


def _min_width(pattern: str) -> int:
    """The fewest characters a match of `pattern` can have (0: it can match the empty string)."""
    try:
        from re import _parser as parser  # type: ignore[attr-defined]  # Python 3.11+
    except ImportError:  # pragma: no cover - older Pythons
        import sre_parse as parser  # type: ignore[no-redef]
    return int(parser.parse(pattern).getwidth()[0])


def _token(ctx: _Ctx, value: Any, path: KeyPath) -> str:
    """The token pattern: searched in request bodies as bytes, so ASCII; and never matching nothing,
    which would count messages that are not there."""
    pattern = _regex(ctx, value, path)
    if not pattern.isascii():
        raise ctx.error("the token pattern must be ASCII (bodies are searched as bytes; "
                        "write other characters as \\xNN escapes)", path)
    try:
        re.compile(pattern.encode("ascii"))
        width = _min_width(pattern)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        raise ctx.error(f"invalid regular expression for bytes: {str(exc) or type(exc).__name__}", path) from None
    if width == 0:
        raise ctx.error(f"{pattern!r} can match the empty string; a token must be at least one character "
                        f"(e.g. the default {DEFAULT_TOKEN!r})", path)
    return pattern


def _methods(ctx: _Ctx, value: Any, path: KeyPath) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ctx.error(f"expected a method such as \"POST\" or a non-empty list of methods, got "
                        f"{_type_name(value)}", path)
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or not _TOKEN_CHARS.fullmatch(item) or len(item) > 64:
            raise ctx.error(f"not an HTTP method: {_clip(item)}", path)
        if item.upper() not in out:
            out.append(item.upper())
    return tuple(out)


def _clip(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "…"


def _path(ctx: _Ctx, value: Any, path: KeyPath) -> str:
    if not isinstance(value, str):
        raise ctx.error(f"expected a path such as \"/ingest\", got {_type_name(value)}", path)
    if not value.startswith("/"):
        raise ctx.error(f"a path starts with '/', got {_clip(value)}", path)
    if "?" in value:
        raise ctx.error("paths are matched without the query: leave out '?' and what follows", path)
    if len(value) > MAX_HEADER_VALUE:
        raise ctx.error(f"path of {len(value)} characters is too long (at most {MAX_HEADER_VALUE})", path)
    return value


def _headers(ctx: _Ctx, value: Any, path: KeyPath) -> tuple[HeaderMatch, ...]:
    if not isinstance(value, dict) or not value:
        raise ctx.error(f"expected a table of header name = value (or = {{ regex = \"...\" }}), "
                        f"got {_type_name(value) if value != {} else 'an empty table'}", path)
    out: list[HeaderMatch] = []
    seen: dict[str, str] = {}
    for name, want in value.items():
        at = (*path, name)
        if not _TOKEN_CHARS.fullmatch(name) or len(name) > 256:
            raise ctx.error(f"not a header name: {_clip(name)}", at)
        if name.lower() in seen:
            raise ctx.error(f"header '{name}' is given twice (as '{seen[name.lower()]}' too; "
                            "header names are matched in any case)", at)
        seen[name.lower()] = name
        if isinstance(want, str):
            if len(want) > MAX_HEADER_VALUE:
                raise ctx.error(f"value of {len(want)} characters is too long (at most {MAX_HEADER_VALUE})", at)
            out.append(HeaderMatch(name, value=want))
        elif isinstance(want, dict):
            _check_keys(ctx, want, ("regex",), at)
            if "regex" not in want:
                raise ctx.error("missing 'regex'", at)
            out.append(HeaderMatch(name, regex=_regex(ctx, want["regex"], (*at, "regex"))))
        else:
            raise ctx.error(f"expected the exact value (a string) or {{ regex = \"...\" }}, "
                            f"got {_type_name(want)}", at)
    return tuple(out)


def _request_match(ctx: _Ctx, table: dict[str, Any], path: KeyPath) -> RequestMatch | None:
    """The request matchers of a fault or route; None when it has none."""
    if not any(k in table for k in _REQUEST_KEYS):
        return None
    given = [k for k in _PATH_KEYS if k in table]
    if len(given) > 1:
        raise ctx.error(f"give one of path, path_prefix and path_regex, not {' and '.join(given)}",
                        (*path, given[1]))
    methods = _methods(ctx, table["method"], (*path, "method")) if "method" in table else None
    exact = _path(ctx, table["path"], (*path, "path")) if "path" in table else None
    prefix = _path(ctx, table["path_prefix"], (*path, "path_prefix")) if "path_prefix" in table else None
    regex = _regex(ctx, table["path_regex"], (*path, "path_regex")) if "path_regex" in table else None
    headers = _headers(ctx, table["headers"], (*path, "headers")) if "headers" in table else ()
    return RequestMatch(methods, exact, prefix, regex, headers)


def _route(ctx: _Ctx, value: Any, path: KeyPath) -> Route:
    if not isinstance(value, dict):
        raise ctx.error(f"expected a table, got {_type_name(value)}", path)
    _check_keys(ctx, value, _ROUTE_KEYS, path)
    match = _request_match(ctx, value, path)
    if match is None:
        raise ctx.error(f"a route needs at least one of {', '.join(_REQUEST_KEYS)} (the endpoint's own "
                        "'status' is the answer for every request no route takes)", path)
    status = _int(ctx, value["status"], (*path, "status"), 100, 599) if "status" in value else 200
    body = None
    if "body" in value:
        if not isinstance(value["body"], str):
            raise ctx.error(f"expected a string, got {_type_name(value['body'])}", (*path, "body"))
        body = value["body"]
    content_type = None
    if "content_type" in value:
        ct = value["content_type"]
        if not isinstance(ct, str) or not ct or not ct.isascii() or not ct.isprintable() or len(ct) > 256:
            raise ctx.error(f"expected a media type such as \"application/json\", got {_clip(ct)}",
                            (*path, "content_type"))
        content_type = ct
    return Route(match, status, body, content_type)


def _fault(ctx: _Ctx, value: Any, path: KeyPath) -> Fault:
    if not isinstance(value, dict):
        raise ctx.error(f"expected a table, got {_type_name(value)}", path)
    _check_keys(ctx, value, _FAULT_KEYS, path)
    if "action" not in value:
        raise ctx.error(f"missing 'action' (one of: {', '.join(ACTIONS)})", path)
    action = value["action"]
    if action not in ACTIONS:
        close = difflib.get_close_matches(str(action), ACTIONS, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(ACTIONS)}"
        raise ctx.error(f"unknown action {action!r} ({hint})", (*path, "action"))
    allowed = _ACTION_KEYS[action]
    for key in value:
        if key not in _MATCHER_KEYS and key != "action" and key not in allowed:
            raise ctx.error(f"'{key}' does not apply to action '{action}' "
                            f"(it takes: {', '.join(sorted(allowed))})", (*path, key))
    for key in _REQUIRED.get(action, ()):
        if key not in value:
            raise ctx.error(f"action '{action}' needs '{key}'", path)

    after = _duration(ctx, value["after"], (*path, "after")) if "after" in value else None
    until = _duration(ctx, value["until"], (*path, "until")) if "until" in value else None
    if after is not None and until is not None and until <= after:
        raise ctx.error(f"until ({value['until']}) must be later than after ({value['after']})", (*path, "until"))
    requests = None
    if "requests" in value:
        rq = value["requests"]
        if not isinstance(rq, list) or len(rq) != 2:
            raise ctx.error("expected [first, last] request numbers, e.g. [10, 20]", (*path, "requests"))
        a = _int(ctx, rq[0], (*path, "requests"), lo=1)
        b = _int(ctx, rq[1], (*path, "requests"), lo=1)
        if a > b:
            raise ctx.error(f"first request number {a} is greater than last {b}", (*path, "requests"))
        requests = (a, b)
    every = _int(ctx, value["every"], (*path, "every"), lo=1) if "every" in value else None
    probability = None
    if "probability" in value:
        probability = _number(ctx, value["probability"], (*path, "probability"))
        if not 0.0 <= probability <= 1.0:
            raise ctx.error(f"{value['probability']} is out of range (expected 0..1)", (*path, "probability"))
    status = _int(ctx, value["status"], (*path, "status"), 100, 599) if "status" in value else None
    retry_after = _retry_after(ctx, value["retry_after"], (*path, "retry_after")) if "retry_after" in value else None
    body = None
    if "body" in value:
        if not isinstance(value["body"], str):
            raise ctx.error(f"expected a string, got {_type_name(value['body'])}", (*path, "body"))
        body = value["body"]
    delay = _duration(ctx, value["delay"], (*path, "delay")) if "delay" in value else None
    accept = _bool(ctx, value["accept"], (*path, "accept")) if "accept" in value else False
    match = _request_match(ctx, value, path)
    return Fault(action=action, after=after, until=until, requests=requests, every=every,
                 probability=probability, status=status, retry_after=retry_after, body=body,
                 delay=delay, accept=accept, match=match)


def parse_endpoint_settings(
    data: dict[str, Any], source: TomlSource | None = None, path: KeyPath = ("endpoint",)
) -> EndpointSettings:
    """Validate one `[endpoint]` table (or admin-API JSON document) into settings.

    `source` gives errors their file and line; `path` is where `data` sits in
    that file (use `()` for an admin-API document, whose keys are top-level).
    """
    ctx = _Ctx(source)
    if not isinstance(data, dict):
        raise ctx.error(f"expected a table, got {_type_name(data)}", path)
    errors: list[InputError] = []

    def checked(parse: Callable[[], Any], default: Any) -> Any:
        # Every key is checked and every problem reported, not just the first.
        try:
            return parse()
        except InputError as exc:
            errors.append(exc)
            return default

    checked(lambda: _check_keys(ctx, data, _TOP_KEYS, path), None)
    status = checked(lambda: _int(ctx, data["status"], (*path, "status"), 100, 599), 200) if "status" in data else 200
    latency = checked(lambda: _latency(ctx, data["latency"], (*path, "latency")), Latency()) \
        if "latency" in data else Latency()
    max_body = checked(lambda: _int(ctx, data["max_body_bytes"], (*path, "max_body_bytes"), lo=0), 0) \
        if "max_body_bytes" in data else 0
    tls = checked(lambda: _bool(ctx, data["tls"], (*path, "tls")), False) if "tls" in data else False
    rate_limit = checked(lambda: _rate_limit(ctx, data["rate_limit"], (*path, "rate_limit")), None) \
        if "rate_limit" in data else None
    faults = checked(lambda: _list_of(ctx, data["faults"], (*path, "faults"), _fault, "[[endpoint.faults]]",
                                      checked), ()) if "faults" in data else ()
    routes = checked(lambda: _list_of(ctx, data["routes"], (*path, "routes"), _route, "[[endpoint.routes]]",
                                      checked), ()) if "routes" in data else ()
    seed = checked(lambda: _int(ctx, data["seed"], (*path, "seed"), lo=0), 0) if "seed" in data else 0
    port = checked(lambda: _int(ctx, data["port"], (*path, "port"), 0, 65535), 0) if "port" in data else 0
    identify = checked(lambda: _identify(ctx, data["identify"], (*path, "identify")), None) \
        if "identify" in data else "iggy"
    token = DEFAULT_TOKEN
    if "token" in data:
        if identify not in (None, "token"):
            errors.append(ctx.error(f"'token' applies only with identify = \"token\" (identify is \"{identify}\")",
                                    (*path, "token")))
        else:
            token = checked(lambda: _token(ctx, data["token"], (*path, "token")), DEFAULT_TOKEN)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputErrors(errors)
    return EndpointSettings(status=status, latency=latency, max_body_bytes=max_body, tls=tls,
                            rate_limit=rate_limit, faults=tuple(faults), seed=seed, port=port,
                            identify=identify or "iggy", token=token, routes=routes)


def _identify(ctx: _Ctx, value: Any, path: KeyPath) -> str:
    if value not in IDENTIFY:
        close = difflib.get_close_matches(str(value), IDENTIFY, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(IDENTIFY)}"
        raise ctx.error(f"unknown identify {_clip(value)} ({hint})", path)
    return str(value)


def _list_of(ctx: _Ctx, raw: Any, path: KeyPath, parse: Callable[[_Ctx, Any, KeyPath], Any], shape: str,
             checked: Callable[[Callable[[], Any], Any], Any]) -> tuple[Any, ...]:
    """Each table of a list parsed; a bad one is reported (through `checked`) and left out."""
    if not isinstance(raw, list):
        raise ctx.error(f"expected a list of tables ({shape}), got {_type_name(raw)}", path)
    out = []
    for i, item in enumerate(raw):
        parsed = checked(lambda item=item, i=i: parse(ctx, item, (*path, i)), None)
        if parsed is not None:
            out.append(parsed)
    return tuple(out)


def load_endpoint_file(path: str | Path) -> EndpointSettings:
    """Settings from a TOML file's `[endpoint]` table (a scenario or a file of its own).

    Other tables are not this module's business and are ignored; a file
    without `[endpoint]` gives the defaults.
    """
    source = load_toml(path)
    if "endpoint" not in source.data:
        return EndpointSettings()
    return parse_endpoint_settings(source.data["endpoint"], source, ("endpoint",))


# --- back to a document ------------------------------------------------------


def _fmt(seconds: float) -> str:
    """A duration string that parses back to the same value (format_duration stops at ms)."""
    text = format_duration(seconds)
    if math.isclose(parse_duration(text), seconds, rel_tol=0, abs_tol=1e-12):
        return text
    us = round(seconds * 1e6)
    if math.isclose(us * 1e-6, seconds, rel_tol=0, abs_tol=1e-12):
        return f"{us}us"
    return f"{round(seconds * 1e9)}ns"


def _fmt_retry_after(ra: RetryAfter) -> str:
    return f"date:+{_fmt(ra.seconds)}" if ra.as_date else _fmt(ra.seconds)


def _latency_to_value(lat: Latency) -> str | dict[str, Any]:
    if lat.distribution == "uniform":
        return {"distribution": "uniform", "min": _fmt(lat.min), "max": _fmt(lat.max)}
    if lat.distribution == "lognormal":
        return {"distribution": "lognormal", "median": _fmt(lat.median), "sigma": lat.sigma}
    return _fmt(lat.value)


def _match_to_dict(m: RequestMatch | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if m is None:
        return out
    if m.methods is not None:
        out["method"] = m.methods[0] if len(m.methods) == 1 else list(m.methods)
    for key, value in (("path", m.path), ("path_prefix", m.path_prefix), ("path_regex", m.path_regex)):
        if value is not None:
            out[key] = value
    if m.headers:
        out["headers"] = {h.name: h.value if h.value is not None else {"regex": h.regex} for h in m.headers}
    return out


def _route_to_dict(r: Route) -> dict[str, Any]:
    out = _match_to_dict(r.match)
    out["status"] = r.status
    if r.body is not None:
        out["body"] = r.body
    if r.content_type is not None:
        out["content_type"] = r.content_type
    return out


def _fault_to_dict(f: Fault) -> dict[str, Any]:
    out: dict[str, Any] = _match_to_dict(f.match)
    if f.after is not None:
        out["after"] = _fmt(f.after)
    if f.until is not None:
        out["until"] = _fmt(f.until)
    if f.requests is not None:
        out["requests"] = list(f.requests)
    if f.every is not None:
        out["every"] = f.every
    if f.probability is not None:
        out["probability"] = f.probability
    out["action"] = f.action
    if f.status is not None:
        out["status"] = f.status
    if f.retry_after is not None:
        out["retry_after"] = _fmt_retry_after(f.retry_after)
    if f.body is not None:
        out["body"] = f.body
    if f.delay is not None:
        out["delay"] = _fmt(f.delay)
    if f.accept:
        out["accept"] = True
    return out


def settings_to_dict(settings: EndpointSettings) -> dict[str, Any]:
    """The settings as a JSON-able document of the `[endpoint]` shape; parses back to equal settings."""
    out: dict[str, Any] = {
        "status": settings.status,
        "latency": _latency_to_value(settings.latency),
        "max_body_bytes": settings.max_body_bytes,
        "tls": settings.tls,
    }
    if settings.rate_limit is not None:
        rl = settings.rate_limit
        rps = int(rl.requests_per_second) if rl.requests_per_second.is_integer() else rl.requests_per_second
        out["rate_limit"] = {"requests_per_second": rps, "burst": rl.burst,
                             "retry_after": _fmt_retry_after(rl.retry_after)}
    out["faults"] = [_fault_to_dict(f) for f in settings.faults]
    out["seed"] = settings.seed
    # The newer keys only when set, so the document of an endpoint that does not use them stays as it was.
    if settings.routes:
        out["routes"] = [_route_to_dict(r) for r in settings.routes]
    if settings.port:
        out["port"] = settings.port
    if settings.identify != "iggy":
        out["identify"] = settings.identify
    if settings.identify == "token":
        out["token"] = settings.token
    return out
