"""The sink settings form's fields and their validation, without any widget.

Validation is the config loader's own: the form's values are laid over the
sink's current `[plugin_config]` table and `resolve_sink` checks the result,
so each field shows exactly the error `sinkbench validate` would print for
that key. Text is read the way `--set` reads it (a TOML value; bare words are
strings), so `5` is an integer, `1s` a string and `abc` in `max_retries` gets
"expected an integer, got a string 'abc'". An empty field means "not set":
the key's default.

Headers are a list of (name, value) rows beside the fields. A secret one
(a credential header, or a value holding `${VAR}`) is masked on screen, and
what the form reports about a change never carries its value.

No Textual here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sinkbench.config.connector import RUNTIME_BATCH_LENGTH, RUNTIME_POLL_INTERVAL
from sinkbench.config.load import U32_MAX, LoadedSink, resolve_sink, shown_int
from sinkbench.config.settings import ENHANCED_KEYS, Method, SinkSettings
from sinkbench.durations import DurationError, format_duration, parse_duration
from sinkbench.errors import InputErrors, Where
from sinkbench.redact import REDACTED, is_secret_header, redact_text, redact_url
from sinkbench.runtime import RuntimeSettings
from sinkbench.tomlsrc import parse_value as toml_value

RUNTIME_KEYS = ("batch_length", "poll_interval")
LIST_KEYS = ("success_status_codes", "retry_statuses")
DURATION_KEYS = ("timeout", "retry_delay", "max_retry_delay", "poll_interval")


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    choices: tuple[str, ...] = ()     # a choice field when not empty
    enhanced: bool = False            # valid only with profile = "enhanced"
    hint: str = ""

    @property
    def runtime(self) -> bool:
        return self.key in RUNTIME_KEYS


FIELDS: tuple[Field, ...] = (
    Field("batch_mode", "batch mode", ("individual", "ndjson", "json_array", "raw")),
    Field("batch_length", "batch length", hint="messages per poll ([[streams]] batch_length)"),
    Field("poll_interval", "poll interval", hint="e.g. 5ms ([[streams]] poll_interval)"),
    Field("max_retries", "max retries", hint="retries after the first attempt"),
    Field("retry_delay", "retry delay", hint="base backoff, e.g. 200ms"),
    Field("retry_backoff_multiplier", "multiplier", hint="backoff exponent base (integer)"),
    Field("max_retry_delay", "max retry delay", hint="cap on each backoff, e.g. 30s"),
    Field("timeout", "timeout", hint="total time of one attempt, e.g. 30s"),
    Field("success_status_codes", "success codes", hint="e.g. 200, 201, 202, 204"),
    Field("url", "URL", hint="where the sink sends, e.g. http://host:8080/ingest"),
    Field("method", "method", tuple(str(m) for m in (Method.POST, Method.PUT, Method.PATCH, Method.GET,
                                                     Method.DELETE, Method.HEAD))),
    Field("profile", "profile", ("iggy", "enhanced")),
    Field("retry_after", "Retry-After", ("honor", "ignore"), enhanced=True),
    Field("jitter", "jitter", ("full", "equal", "none"), enhanced=True),
    Field("retry_statuses", "retry statuses", enhanced=True, hint="e.g. 429, 500, 502, 503, 504"),
    Field("max_in_flight", "max in flight", enhanced=True, hint="concurrent requests per topic"),
    Field("split_oversize_batches", "split oversize", ("false", "true"), enhanced=True),
    Field("dead_letter_path", "dead letters", enhanced=True, hint="file for messages that finally failed"),
    Field("http2", "HTTP/2", ("false", "true"), enhanced=True),
    Field("tls_ca_file", "TLS CA file", enhanced=True, hint="PEM file, beside the connector file if relative"),
    Field("tls_client_cert", "TLS client cert", enhanced=True, hint="PEM file (mutual TLS)"),
    Field("tls_client_key", "TLS client key", enhanced=True, hint="PEM file (mutual TLS)"),
)
FIELD_KEYS = tuple(f.key for f in FIELDS)
HEADERS = "headers"      # the error key of the headers editor, and the prefix of its changes ("headers.NAME")

Header = tuple[str, str]


def is_secret_value(name: str, value: str) -> bool:
    """Whether a header's value is masked: a credential header's, or one that names an environment variable."""
    return is_secret_header(name) or "${" in value


def shown_url(url: str) -> str:
    """A URL as the form shows it: credentials and token parameters as [redacted] (kept in the table)."""
    shown = redact_url(url)
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:    # userinfo: say it is there, so an edit cannot drop it unseen
        shown = shown.replace(f"{scheme}://", f"{scheme}://{REDACTED}@", 1)
    return shown


def is_secret_url(text: str) -> bool:
    """Whether typed URL text holds credentials or a token parameter (its input is masked then)."""
    return shown_url(text) != text


def initial_headers(table: Mapping[str, Any]) -> tuple[Header, ...]:
    """The headers the editor starts with: the table's, as written (a `${VAR}` stays unexpanded)."""
    raw = table.get(HEADERS)
    if not isinstance(raw, Mapping):
        return ()
    return tuple((str(k), value_text(v)) for k, v in raw.items())


def _shown_header(name: str, value: str | None) -> str:
    if value is None:
        return ""
    return REDACTED if is_secret_value(name, value) else value


def value_text(value: Any) -> str:
    """A table value as the form shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, frozenset, set)):
        items = sorted(value) if isinstance(value, (frozenset, set)) else value
        return ", ".join(str(v) for v in items)
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def initial_values(table: Mapping[str, Any], settings: SinkSettings, runtime: RuntimeSettings) -> dict[str, str]:
    """What each field shows first: the table's value as written, else the effective one."""
    out: dict[str, str] = {}
    for f in FIELDS:
        if f.key == "batch_length":
            out[f.key] = str(runtime.batch_length)
        elif f.key == "poll_interval":
            out[f.key] = format_duration(runtime.poll_interval)
        elif f.key in table:
            out[f.key] = value_text(table[f.key])
        else:
            v = getattr(settings, f.key)
            out[f.key] = format_duration(v) if f.key in DURATION_KEYS else value_text(v)
    # Its secrets are never on screen: the field shows them redacted, and leaving it so changes nothing.
    out["url"] = shown_url(out["url"])
    return out


def parse_value(key: str, text: str) -> Any:
    """A field's text as a table value, read the way `--set` reads values."""
    t = text.strip()
    if key in ("split_oversize_batches", "http2") and t in ("true", "false"):
        return t == "true"
    if key in LIST_KEYS and not t.startswith("["):
        t = f"[{t}]"
    return toml_value(t)


@dataclass(frozen=True)
class Validation:
    errors: dict[str, str]                      # field key → message; "" for one that names no field
    warnings: tuple[str, ...]
    table: dict[str, Any]                       # the new [plugin_config] table
    loaded: LoadedSink | None
    batch_length: int
    poll_interval: float
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)   # key → (before, after), as shown
    defaults: dict[str, str] = field(default_factory=dict)   # key cleared in the form → its default, as shown

    @property
    def ok(self) -> bool:
        return not self.errors and self.loaded is not None

    def describe(self, key: str) -> str:
        """One change as the toast and the timeline show it: "max_retries 5→3 (default)"."""
        before, after = self.changed[key]
        if key.startswith(f"{HEADERS}."):   # a header has no default: it is added, changed or removed
            return f"{key} = {after}" if not before else f"{key} removed" if not after else f"{key} {before}→{after}"
        if not after:
            # A cleared field means the key's default: say which value that is ("3→(default)" did not).
            default = self.defaults.get(key, "")
            after = f"{default} (default)" if default else "none (default)"
        return f"{key} {before or 'none'}→{after}"

    def label(self) -> str:
        """The timeline mark for these changes: "sink: max_retries 3→5, batch_mode ndjson→json_array"."""
        parts = [self.describe(k) for k in self.changed]
        return "sink: " + (", ".join(parts) if parts else "settings re-applied")


def validate(table: Mapping[str, Any], initial: Mapping[str, str], values: Mapping[str, str],
             runtime: RuntimeSettings, env: Mapping[str, str] | None = None, *,
             file: str | None = None, headers: Sequence[Header] | None = None) -> Validation:
    """Lays the fields that changed over `table` and checks the result with the config loader.

    `file` is the connector file a save writes into: a relative path typed in a field (dead letters,
    TLS files) means a path beside it, as it will once written there, so the live run and the saved
    file agree on what it names. `headers` are the editor's rows (None: the table's, unchanged).
    """
    env = os.environ if env is None else env
    new = dict(table)
    changed: dict[str, tuple[str, str]] = {}
    for f in FIELDS:
        before, after = initial.get(f.key, "").strip(), values.get(f.key, "").strip()
        if before != after:
            changed[f.key] = (before, after)
            if not f.runtime:
                if after:
                    new[f.key] = parse_value(f.key, after)
                else:
                    new.pop(f.key, None)
            if f.key == "url":   # credentials in a URL stay out of the toast and the timeline
                changed[f.key] = (shown_url(before), shown_url(after))
    errors: dict[str, str] = {}
    if "url" in changed and REDACTED in values.get("url", ""):
        errors["url"] = f"{REDACTED} stands for the URL's credentials or token: type the whole URL again"
    secrets: list[str] = []
    if headers is not None:
        secrets = [v.strip() for n, v in headers if is_secret_value(n.strip(), v.strip())]
        _lay_headers(new, table, headers, changed, errors)
    if values.get("profile", "iggy").strip() != "enhanced":
        # Enhanced keys are errors under profile "iggy": switching profile drops them.
        for key in ENHANCED_KEYS:
            new.pop(key, None)
    warnings: tuple[str, ...] = ()
    loaded = None
    try:
        loaded = resolve_sink(new, lambda key: Where(file=file, key=key), env=env)
        warnings = tuple(redact_text(w.message, secrets) for w in loaded.warnings)
    except InputErrors as exc:
        for e in exc.errors:
            key = (e.where.key or "").split(".", 1)[0]
            named = key in FIELD_KEYS or key == HEADERS
            # A loader message may quote a value: a secret header's is typed here in the clear.
            message = redact_text(e.message if named else str(e), secrets)
            errors.setdefault(key if named else "", message)
    batch_length = runtime.batch_length
    # An empty field is the key's default here too: the connectors runtime's (1000, "5ms").
    text = values.get("batch_length", str(batch_length))
    raw = parse_value("batch_length", text) if text.strip() else RUNTIME_BATCH_LENGTH
    if isinstance(raw, bool) or not isinstance(raw, int):
        errors["batch_length"] = f"expected an integer, got {_type_name(raw)} {raw!r}"
    elif raw < 1:
        errors["batch_length"] = f"must be at least 1, got {raw}"
    elif raw > U32_MAX:   # the runtime's batch_length is a u32
        errors["batch_length"] = f"must be at most {U32_MAX}, got {shown_int(raw)}"
    else:
        batch_length = raw
    poll_interval = runtime.poll_interval
    text = values.get("poll_interval", format_duration(poll_interval))
    raw = parse_value("poll_interval", text) if text.strip() else format_duration(RUNTIME_POLL_INTERVAL)
    if not isinstance(raw, str):
        errors["poll_interval"] = f"expected a duration string such as \"30s\", got {_type_name(raw)} {raw!r}"
    else:
        try:
            poll_interval = parse_duration(raw)
        except DurationError as exc:
            errors["poll_interval"] = str(exc)
    defaults = {key: _default_text(key, loaded.settings if loaded is not None else None)
                for key, (_, after) in changed.items() if not after}
    return Validation(errors=errors, warnings=warnings, table=new, loaded=loaded, batch_length=batch_length,
                      poll_interval=poll_interval, changed=changed, defaults=defaults)


def _lay_headers(new: dict[str, Any], table: Mapping[str, Any], rows: Sequence[Header],
                 changed: dict[str, tuple[str, str]], errors: dict[str, str]) -> None:
    """The editor's rows as the new table's `headers`, each changed one in `changed` as `headers.NAME`."""
    before = dict(initial_headers(table))
    after: dict[str, str] = {}
    seen: set[str] = set()
    for i, (name, value) in enumerate(rows, 1):
        name, value = name.strip(), value.strip()
        if not name and not value:
            continue          # an added row left empty is no header
        if not name:
            errors.setdefault(HEADERS, f"header {i}: a value without a name")
        elif name.lower() in seen:
            errors.setdefault(HEADERS, f"header '{name}' given twice (names are case-insensitive)")
        else:
            seen.add(name.lower())
            after[name] = value
    for name in [*before, *(n for n in after if n not in before)]:
        old, now = before.get(name), after.get(name)
        if old != now:
            changed[f"{HEADERS}.{name}"] = (_shown_header(name, old), _shown_header(name, now))
    if after:
        new[HEADERS] = after
    else:
        new.pop(HEADERS, None)


def _default_text(key: str, settings: SinkSettings | None) -> str:
    """The value a cleared field stands for, as the form shows values ("" when unknown or none)."""
    if key == "batch_length":
        return str(RUNTIME_BATCH_LENGTH)
    if key == "poll_interval":
        return format_duration(RUNTIME_POLL_INTERVAL)
    if settings is None or key.startswith(f"{HEADERS}."):   # errors, or a header: it has no default
        return ""
    value = getattr(settings, key)
    return format_duration(value) if key in DURATION_KEYS and value is not None else value_text(value)


def _type_name(v: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a table"}.get(type(v), type(v).__name__)
