"""Loading `[plugin_config]`: types, defaults, `${VAR}` expansion, env overrides, warnings.

A table comes from a connector file, a bare table, or a scenario's `[sink]`.
Each problem becomes an `InputError` naming the key and, where the TOML text
gives it, the file and line. Iggy's construction-time warnings are collected
as `ConfigWarning`s for the caller to show, never printed from here.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sinkbench.config.settings import (
    ALL_KEYS,
    ENHANCED_KEYS,
    TRANSIENT_STATUSES,
    BatchMode,
    Jitter,
    Method,
    Profile,
    RetryAfter,
    SinkSettings,
    open_problems,
)
from sinkbench.durations import DurationError, parse_duration
from sinkbench.errors import InputError, InputErrors, Where
from sinkbench.tomlsrc import TomlSource

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class ConfigWarning:
    message: str
    where: Where = field(default_factory=Where)

    def __str__(self) -> str:
        prefix = str(self.where)
        return f"{prefix}: {self.message}" if prefix else self.message


@dataclass(frozen=True)
class LoadedSink:
    settings: SinkSettings
    warnings: tuple[ConfigWarning, ...]
    origins: Mapping[str, str]   # key → where its value came from (file:line, env VAR, default)


Locate = Callable[[str], Where]


def expand_env(value: str, env: Mapping[str, str], where: Where) -> tuple[str, list[str]]:
    """`${NAME}` → its value; a missing variable is an error naming it."""
    found: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in env:
            raise InputError(f"environment variable {name} is not set (used as ${{{name}}})", where)
        found.append(env[name])
        return env[name]

    return _VAR.sub(sub, value), found


def parse_env_value(text: str) -> Any:
    """The Iggy runtime's reading of an override: bool, number, [list] or string."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    stripped = text.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        inner = stripped[1:-1]
        items, cur, quote = [], "", None
        for c in inner:
            if quote:
                if c == quote:
                    quote = None
                else:
                    cur += c
            elif c in "\"'":
                quote = c
            elif c == ",":
                items.append(cur.strip())
                cur = ""
            else:
                cur += c
        if cur.strip():
            items.append(cur.strip())
        return [parse_env_value(i) if not isinstance(parse_env_value(i), list) else i for i in items]
    return text


def env_overrides(connector_key: str, env: Mapping[str, str]) -> dict[str, tuple[Any, str]]:
    """`IGGY_CONNECTORS_SINK_<KEY>_PLUGIN_CONFIG_<FIELD>` → {field: (value, variable)}.

    Nested keys are accepted (`..._HEADERS_AUTHORIZATION`), which the Iggy
    runtime does not do: there they become a flat key that is ignored.
    """
    prefix = f"IGGY_CONNECTORS_SINK_{connector_key.upper()}_PLUGIN_CONFIG_"
    out: dict[str, tuple[Any, str]] = {}
    for name, raw in env.items():
        if name.startswith(prefix) and len(name) > len(prefix):
            out[name[len(prefix):].lower()] = (parse_env_value(raw), name)
    return out


def apply_env_overrides(table: dict[str, Any], overrides: Mapping[str, tuple[Any, str]],
                        origins: dict[str, str]) -> dict[str, Any]:
    table = dict(table)
    for field_name, (value, var) in sorted(overrides.items()):
        if field_name in ALL_KEYS:
            table[field_name] = value
            origins[field_name] = f"env {var}"
        elif field_name.startswith("headers_"):
            wanted = field_name[len("headers_"):]
            headers = dict(table.get("headers") or {})
            # Match an existing header case-insensitively, '_' standing for '-'.
            match = next((h for h in headers if h.lower().replace("-", "_") == wanted), None)
            name = match or wanted.replace("_", "-")
            headers[name] = str(value) if not isinstance(value, str) else value
            table["headers"] = headers
            origins[f"headers.{name}"] = f"env {var}"
        else:
            table[field_name] = value
            origins[field_name] = f"env {var}"
    return table


def _type_name(v: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(v), type(v).__name__)


U32_MAX = 2**32 - 1
# TOML integers are signed 64-bit: a bigger one is not TOML to the Iggy runtime's parser, so that is the most
# any key can hold in a connector file, even a u64 one.
TOML_INT_MAX = 2**63 - 1


def shown_int(v: int) -> str:
    # str() of an int past 4,300 digits raises; nobody needs to read one back whole.
    return str(v) if v.bit_length() <= 128 else "a number far past 64 bits"


class _Reader:
    """Reads typed keys from the table, collecting every error rather than stopping at the first."""

    def __init__(self, table: Mapping[str, Any], locate: Locate) -> None:
        self.table = table
        self.locate = locate
        self.errors: list[InputError] = []

    def err(self, key: str, message: str) -> None:
        self.errors.append(InputError(message, self.locate(key)))

    def get(self, key: str, kind: type | tuple[type, ...], describe: str, default: Any) -> Any:
        if key not in self.table:
            return default
        v = self.table[key]
        ok = isinstance(v, kind) and not (isinstance(v, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)))
        if not ok:
            self.err(key, f"expected {describe}, got {_type_name(v)} {v!r}")
            return default
        return v

    def boolean(self, key: str, default: bool) -> bool:
        return self.get(key, bool, "true or false", default)

    def integer(self, key: str, default: int, minimum: int | None = None, maximum: int = TOML_INT_MAX) -> int:
        """An integer a connector file can hold, within the Rust type of the key (`maximum` for u32 keys)."""
        v = self.get(key, int, "an integer", default)
        if minimum is not None and v < minimum:
            self.err(key, f"must be at least {minimum}, got {shown_int(v)}")
            return default
        if v > maximum:
            self.err(key, f"must be at most {maximum}, got {shown_int(v)}")
            return default
        return v

    def duration(self, key: str, default: float) -> float:
        v = self.get(key, str, "a duration string such as \"500ms\" or \"10s\"", None)
        if v is None:
            return default
        try:
            return parse_duration(v)
        except DurationError as exc:
            self.err(key, f"{exc} (the Iggy sink would silently use its default here)")
            return default

    def choice(self, key: str, enum: type, default: Any) -> Any:
        v = self.get(key, str, "a string", None)
        if v is None:
            return default
        try:
            return enum(v)
        except ValueError:
            allowed = ", ".join(e.value for e in enum)
            hint = difflib.get_close_matches(v, [e.value for e in enum], n=1)
            extra = f" — did you mean '{hint[0]}'?" if hint else ""
            self.err(key, f"unknown value '{v}' (expected one of: {allowed}){extra}")
            return default

    def status_set(self, key: str, default: frozenset[int], validate_range: bool) -> frozenset[int]:
        v = self.get(key, list, "a list of status codes", None)
        if v is None:
            return default
        codes = []
        for i, c in enumerate(v):
            if not isinstance(c, int) or isinstance(c, bool):
                self.err(key, f"item {i + 1}: expected an integer status code, got {c!r}")
                continue
            if validate_range and not 100 <= c <= 599:
                self.err(key, f"status code {c} is out of range 100..599")
            codes.append(c)
        return frozenset(codes)

    def optional_str(self, key: str) -> str | None:
        v = self.get(key, str, "a string", None)
        if v is not None and not v:
            self.err(key, "must not be empty")
            return None
        if v is not None and "\x00" in v:
            # No path or name can hold one: a run would die at the first use of it.
            self.err(key, "must not contain a NUL character")
            return None
        return v


def beside(path: str | None, where: Where) -> str | None:
    """A relative path named in a file is relative to that file's folder, as a scenario's `source.path` is;
    one given on the command line (`--set`), in the environment or in a form, to the working directory."""
    if path is None or os.path.isabs(path) or not where.file:
        return path
    named_in = Path(where.file)
    if not named_in.is_file():
        return path
    return str(named_in.resolve().parent / path)


def _file_problems(s: SinkSettings) -> list[tuple[str, str]]:
    """The files the enhanced profile's keys name, checked now rather than at the first use mid-run."""
    if not s.enhanced:
        return []
    from sinkbench.config.tls import tls_problems
    from sinkbench.outfile import write_problem
    problems = tls_problems(s)
    if s.dead_letter_path:
        problem = write_problem(s.dead_letter_path, make_folders=False, append=True)
        if problem:
            problems.append(("dead_letter_path", f"{s.dead_letter_path}: {problem}"))
    return problems


def resolve_sink(table: Mapping[str, Any], locate: Locate, *, env: Mapping[str, str] | None = None,
                 unknown_is_error: bool = False, origins: dict[str, str] | None = None) -> LoadedSink:
    """Builds settings from a `[plugin_config]`-shaped table.

    Raises `InputErrors` listing every problem. Env overrides must already be
    applied; `${VAR}` references are expanded here.
    """
    env = os.environ if env is None else env
    origins = dict(origins or {})
    errors: list[InputError] = []
    warnings: list[ConfigWarning] = []
    secrets: set[str] = set()

    def expand(key: str, value: str) -> str:
        try:
            out, found = expand_env(value, env, locate(key))
        except InputError as exc:
            errors.append(exc)
            return value
        secrets.update(found)
        return out

    data: dict[str, Any] = {}
    for key, value in table.items():
        data[key] = expand(key, value) if isinstance(value, str) else value
    raw_headers = data.get("headers", {})
    headers: list[tuple[str, str]] = []
    if not isinstance(raw_headers, Mapping):
        errors.append(InputError(f"expected a table of header names to values, got {_type_name(raw_headers)}", locate("headers")))
    else:
        for name, value in raw_headers.items():
            if not isinstance(value, str):
                errors.append(InputError(f"expected a string, got {_type_name(value)} {value!r}", locate(f"headers.{name}")))
                continue
            headers.append((str(name), expand(f"headers.{name}", value)))

    for key in data:
        if key not in ALL_KEYS:
            hint = difflib.get_close_matches(key, ALL_KEYS, n=1)
            msg = f"unknown key '{key}'" + (f" — did you mean '{hint[0]}'?" if hint else "")
            if unknown_is_error:
                errors.append(InputError(msg, locate(key)))
            else:
                warnings.append(ConfigWarning(msg + " (the Iggy sink ignores it)", locate(key)))

    r = _Reader(data, locate)
    profile = r.choice("profile", Profile, Profile.IGGY)
    if profile is Profile.IGGY:
        for key in ENHANCED_KEYS:
            if key in data:
                r.err(key, f"'{key}' is a sinkbench key, valid only with profile = \"enhanced\" "
                           "(the Iggy sink has no such setting)")
    url = data.get("url")
    if url is None:
        r.err("url", "missing required key 'url'")
        url = ""
    elif not isinstance(url, str):
        r.err("url", f"expected a string, got {_type_name(url)}")
        url = ""

    retry_delay = r.duration("retry_delay", 1.0)
    max_retry_delay = r.duration("max_retry_delay", 30.0)
    if retry_delay > max_retry_delay:
        warnings.append(ConfigWarning(
            f"retry_delay ({retry_delay:g}s) is greater than max_retry_delay ({max_retry_delay:g}s); "
            "the two are swapped, as the Iggy sink does", locate("retry_delay")))
        retry_delay, max_retry_delay = max_retry_delay, retry_delay
    multiplier = r.integer("retry_backoff_multiplier", 2, maximum=U32_MAX)
    if multiplier < 1:
        warnings.append(ConfigWarning(
            f"retry_backoff_multiplier {multiplier} is below 1 and is clamped to 1, as the Iggy sink does",
            locate("retry_backoff_multiplier")))
        multiplier = 1

    settings = SinkSettings(
        url=url,
        method=r.choice("method", Method, Method.POST),
        timeout=r.duration("timeout", 30.0),
        max_payload_size_bytes=r.integer("max_payload_size_bytes", 10_485_760, minimum=0),
        headers=tuple(headers),
        batch_mode=r.choice("batch_mode", BatchMode, BatchMode.INDIVIDUAL),
        include_metadata=r.boolean("include_metadata", True),
        include_checksum=r.boolean("include_checksum", False),
        include_origin_timestamp=r.boolean("include_origin_timestamp", False),
        health_check_enabled=r.boolean("health_check_enabled", False),
        health_check_method=r.choice("health_check_method", Method, Method.HEAD),
        max_retries=r.integer("max_retries", 3, minimum=0, maximum=U32_MAX),
        retry_delay=retry_delay,
        retry_backoff_multiplier=multiplier,
        max_retry_delay=max_retry_delay,
        success_status_codes=r.status_set("success_status_codes", frozenset({200, 201, 202, 204}), validate_range=False),
        tls_danger_accept_invalid_certs=r.boolean("tls_danger_accept_invalid_certs", False),
        max_connections=r.integer("max_connections", 10, minimum=0),
        verbose_logging=r.boolean("verbose_logging", False),
        profile=profile,
        retry_after=r.choice("retry_after", RetryAfter, RetryAfter.HONOR),
        jitter=r.choice("jitter", Jitter, Jitter.FULL),
        retry_statuses=r.status_set("retry_statuses", TRANSIENT_STATUSES, validate_range=True),
        max_in_flight=r.integer("max_in_flight", 1, minimum=1, maximum=1024),
        split_oversize_batches=r.boolean("split_oversize_batches", False),
        dead_letter_path=beside(r.optional_str("dead_letter_path"), locate("dead_letter_path")),
        tls_ca_file=beside(r.optional_str("tls_ca_file"), locate("tls_ca_file")),
        tls_client_cert=beside(r.optional_str("tls_client_cert"), locate("tls_client_cert")),
        tls_client_key=beside(r.optional_str("tls_client_key"), locate("tls_client_key")),
        http2=r.boolean("http2", False),
        secret_values=frozenset(secrets),
    )
    errors.extend(r.errors)
    if settings.tls_client_key and not settings.tls_client_cert:
        errors.append(InputError("tls_client_key needs tls_client_cert", locate("tls_client_key")))
    reported = {e.where.key for e in errors}
    for key, message in open_problems(settings):
        if str(locate(key).key) not in reported:
            errors.append(InputError(message, locate(key)))
    reported = {e.where.key for e in errors}
    for key, message in _file_problems(settings):
        if str(locate(key).key) not in reported:
            errors.append(InputError(message, locate(key)))
    if errors:
        raise InputErrors(errors)
    warnings.extend(construction_warnings(settings, data, locate))
    for key in table:
        origins.setdefault(key, str(locate(key)) or "given")
    return LoadedSink(settings, tuple(warnings), origins)


def construction_warnings(s: SinkSettings, data: Mapping[str, Any], locate: Locate) -> list[ConfigWarning]:
    """The warnings the Iggy sink logs in `new()` and `open()` (the swap and clamp come from the reader)."""
    out: list[ConfigWarning] = []
    if s.tls_danger_accept_invalid_certs:
        out.append(ConfigWarning("TLS certificate validation is DISABLED (tls_danger_accept_invalid_certs = true); "
                                 "use only for development", locate("tls_danger_accept_invalid_certs")))
    if s.batch_mode is BatchMode.RAW and s.include_metadata:
        out.append(ConfigWarning("include_metadata is ignored in raw batch mode: payloads are sent as raw bytes",
                                 locate("include_metadata" if "include_metadata" in data else "batch_mode")))
    if s.method in (Method.GET, Method.HEAD) and s.batch_mode is not BatchMode.INDIVIDUAL:
        out.append(ConfigWarning(f"method {s.method} with batch_mode {s.batch_mode}: a request body will be sent "
                                 f"with {s.method}, which many servers ignore", locate("method")))
    overlap = sorted(s.success_status_codes & s.transient_statuses)
    if overlap:
        out.append(ConfigWarning(f"success_status_codes contains transient status(es) {overlap}: treated as "
                                 "success, disabling retry for them", locate("success_status_codes")))
    for name, _ in s.headers:
        if name.lower() == "content-type":
            out.append(ConfigWarning(f"custom '{name}' header in [headers] is ignored. Content-Type is set by "
                                     f"batch_mode ({s.batch_mode} -> '{s.batch_mode.content_type}')",
                                     locate(f"headers.{name}")))
    return out


def table_locator(source: TomlSource | None, prefix: tuple[str | int, ...], label: str | None = None) -> Locate:
    """Locate keys of a table inside a TOML source (or nowhere, for in-memory tables)."""

    def locate(key: str) -> Where:
        path = prefix + tuple(key.split(".", 1)) if "." in key else prefix + (key,)
        if source is None:
            return Where(file=label, key=".".join(str(p) for p in path))
        return source.where(*path)

    return locate
