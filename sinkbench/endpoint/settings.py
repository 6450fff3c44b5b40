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
_MATCHER_KEYS = ("after", "until", "requests", "every", "probability")
_FAULT_KEYS = (*_MATCHER_KEYS, "action", "status", "retry_after", "body", "delay", "accept")
_TOP_KEYS = ("status", "latency", "max_body_bytes", "tls", "rate_limit", "faults", "seed")
_RATE_KEYS = ("requests_per_second", "burst", "retry_after")

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
    return Fault(action=action, after=after, until=until, requests=requests, every=every,
                 probability=probability, status=status, retry_after=retry_after, body=body,
                 delay=delay, accept=accept)


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
    faults: list[Fault] = []
    if "faults" in data:
        raw = data["faults"]
        if not isinstance(raw, list):
            errors.append(ctx.error(f"expected a list of tables ([[endpoint.faults]]), got {_type_name(raw)}",
                                    (*path, "faults")))
        else:
            for i, f in enumerate(raw):
                fault = checked(lambda f=f, i=i: _fault(ctx, f, (*path, "faults", i)), None)
                if fault is not None:
                    faults.append(fault)
    seed = checked(lambda: _int(ctx, data["seed"], (*path, "seed"), lo=0), 0) if "seed" in data else 0
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputErrors(errors)
    return EndpointSettings(status=status, latency=latency, max_body_bytes=max_body, tls=tls,
                            rate_limit=rate_limit, faults=tuple(faults), seed=seed)


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


def _fault_to_dict(f: Fault) -> dict[str, Any]:
    out: dict[str, Any] = {}
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
    return out
