"""The scenario keys of an external sink: `[sink] kind = "external"` and `[feed]` (docs/external.md).

Kept apart from `load.py`, which reads the engine's sink: here the sink is a
program and the feed how its input reaches it. Every key is checked; each
problem is an InputError naming the file, line and key, collected so that
`validate` lists them all.

`${VAR}` in `command`, `env`, `ready` and the feed's `connection` expand from
the environment when the file is loaded (a missing one is an error), and their
values are secrets, as in the engine's `[sink]`. `${SINKBENCH_ENDPOINT_URL}` and
`${SINKBENCH_ENDPOINT_PORT}` stay as written: the run fills them in once the
embedded endpoint listens.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from sinkbench.durations import DurationError, parse_duration
from sinkbench.errors import InputError, Where
from sinkbench.scenario.model import ExternalSink, FeedSpec, Ready

KINDS = ("engine", "external")
EXTERNAL_KEYS = ("kind", "command", "env", "ready", "settle")
READY_KEYS = ("url", "log", "timeout")
FEED_KINDS = ("iggy", "file", "stdin")
FEED_KEYS = {
    "iggy": ("kind", "connection", "create", "http"),
    "file": ("kind", "path", "format"),
    "stdin": ("kind", "format"),
}
FORMATS = ("payload", "jsonl")
ENDPOINT_URL = "SINKBENCH_ENDPOINT_URL"
ENDPOINT_PORT = "SINKBENCH_ENDPOINT_PORT"
ENDPOINT_VARS = (ENDPOINT_URL, ENDPOINT_PORT)
DEFAULT_SETTLE = 5.0
# What the bench cannot know of a program under test: an expectation on these is an error (exit 2).
NOT_KNOWN = {
    "failed": "an external sink's failures are its own secret: the bench sees only what reaches the endpoint "
              "(use lost)",
    "skipped": "an external sink's skipped messages are its own secret: the bench sees only what reaches the "
               "endpoint (use lost)",
    "latency.request": "the time a request takes is measured inside the external sink, which the bench cannot "
                       "see (use latency.delivery)",
}
DEFAULT_READY_TIMEOUT = 30.0

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Environment variables whose values are credentials by their name, even when written literally.
_SECRET_NAME = re.compile(r"token|secret|password|passwd|pwd|api[-_]?key|apikey|credential|auth", re.IGNORECASE)


class Locator(Protocol):
    def error(self, message: str, *path: str | int) -> InputError: ...

    def where(self, *path: str | int) -> Where: ...


def type_name(v: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a table"}.get(type(v), type(v).__name__)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def sink_kind(table: Mapping[str, Any]) -> str:
    """`[sink] kind` as written ("engine" when absent; the caller reports a bad value)."""
    kind = table.get("kind", "engine")
    return kind if isinstance(kind, str) else "engine"


class _Expander:
    """`${VAR}` from the environment, keeping the endpoint's own variables for the run; collects the secrets."""

    def __init__(self, env: Mapping[str, str], doc: Locator, errors: list[InputError]) -> None:
        self.env = env
        self.doc = doc
        self.errors = errors
        self.secrets: set[str] = set()

    def __call__(self, value: str, *path: str | int) -> str:
        def sub(m: re.Match[str]) -> str:
            name = m.group(1)
            if name in ENDPOINT_VARS:
                return m.group(0)
            if name not in self.env:
                raise InputError(f"environment variable {name} is not set (used as ${{{name}}})",
                                 self.doc.where(*path))
            if self.env[name]:
                self.secrets.add(self.env[name])
            return self.env[name]

        try:
            return _VAR.sub(sub, value)
        except InputError as exc:
            self.errors.append(exc)
            return value


def _duration(doc: Locator, value: Any, errors: list[InputError], *path: str | int) -> float | None:
    if not isinstance(value, str):
        errors.append(doc.error(f"expected a duration string such as \"5s\", got {type_name(value)} {value!r}", *path))
        return None
    try:
        seconds = parse_duration(value)
    except DurationError as exc:
        errors.append(doc.error(str(exc), *path))
        return None
    return seconds


def parse_external(doc: Locator, table: Mapping[str, Any], base: Path, env: Mapping[str, str],
                   errors: list[InputError], engine_keys: tuple[str, ...]) -> ExternalSink:
    """`[sink]` with kind = "external". `engine_keys` are the engine's keys, which are errors here."""
    for key in table:
        if key in EXTERNAL_KEYS:
            continue
        if key in engine_keys or key == "connector":
            errors.append(doc.error(f"'{key}' is a setting of sinkbench's own engine; with kind = \"external\" "
                                    "the sink under test has its own configuration (see docs/external.md)",
                                    "sink", key))
        else:
            import difflib
            close = difflib.get_close_matches(key, EXTERNAL_KEYS, n=1)
            hint = f" — did you mean '{close[0]}'?" if close else ""
            errors.append(doc.error(f"unknown key '{key}' in [sink] for kind = \"external\"{hint}", "sink", key))
    expand = _Expander(env, doc, errors)

    command: list[str] = []
    before = len(errors)
    if "command" in table:
        raw = table["command"]
        if isinstance(raw, str):
            errors.append(doc.error(f"expected a list of strings such as [\"my-sink\", \"--config\", \"sink.toml\"] "
                                    f"(no shell is involved), got the string {raw!r}", "sink", "command"))
        elif not isinstance(raw, list) or not raw:
            errors.append(doc.error(f"expected a non-empty list of strings, got {type_name(raw)} {raw!r}",
                                    "sink", "command"))
        else:
            for i, part in enumerate(raw):
                if not isinstance(part, str):
                    errors.append(doc.error(f"expected a string, got {type_name(part)} {part!r}",
                                            "sink", "command", i))
                else:
                    command.append(expand(part, "sink", "command", i))
            if command and not command[0]:
                errors.append(doc.error("the program name is empty", "sink", "command", 0))
    command_ok = len(errors) == before

    env_pairs: list[tuple[str, str]] = []
    if "env" in table:
        raw_env = table["env"]
        if not isinstance(raw_env, dict):
            errors.append(doc.error(f"expected a table of NAME = \"value\", got {type_name(raw_env)}", "sink", "env"))
        else:
            for name, value in raw_env.items():
                if not _ENV_NAME.match(name):
                    errors.append(doc.error(f"not a usable environment variable name: {name!r}", "sink", "env", name))
                elif isinstance(value, (bool, int, float)):
                    # An environment holds strings: a number or boolean is passed as TOML writes it.
                    env_pairs.append((name, str(value).lower() if isinstance(value, bool) else str(value)))
                elif not isinstance(value, str):
                    errors.append(doc.error(f"expected a string, a number or a boolean, got {type_name(value)} "
                                            f"{value!r}", "sink", "env", name))
                else:
                    expanded = expand(value, "sink", "env", name)
                    if is_secret_name(name) and expanded:
                        expand.secrets.add(expanded)
                    env_pairs.append((name, expanded))

    ready = _ready(doc, table.get("ready"), expand, errors, has_command=bool(command)) if "ready" in table else Ready()
    settle = DEFAULT_SETTLE
    if "settle" in table:
        value = _duration(doc, table["settle"], errors, "sink", "settle")
        if value is not None and value <= 0:
            errors.append(doc.error("must be longer than 0s", "sink", "settle"))
        elif value is not None:
            settle = value
    if command and command_ok:     # a command written right: is its program there?
        problem = program_problem(command[0], base, dict(env_pairs), env)
        if problem:
            errors.append(doc.error(problem, "sink", "command", 0))
    return ExternalSink(command=tuple(command), env=tuple(env_pairs), ready=ready, settle=settle, cwd=base,
                        secret_values=frozenset(expand.secrets))


def _ready(doc: Locator, raw: Any, expand: _Expander, errors: list[InputError], *, has_command: bool) -> Ready:
    if isinstance(raw, str):
        if raw.startswith(("http://", "https://", "${")):
            return Ready(url=expand(raw, "sink", "ready"))
        seconds = _duration(doc, raw, errors, "sink", "ready")
        return Ready(delay=seconds or 0.0)
    if not isinstance(raw, dict):
        errors.append(doc.error(f"expected a duration (\"5s\"), {{ url = \"http://...\" }} or {{ log = \"regex\" }}, "
                                f"got {type_name(raw)} {raw!r}", "sink", "ready"))
        return Ready()
    for key in raw:
        if key not in READY_KEYS:
            errors.append(doc.error(f"unknown key '{key}' in ready (url, log, timeout)", "sink", "ready", key))
    given = [k for k in ("url", "log") if k in raw]
    if len(given) != 1:
        errors.append(doc.error("ready needs exactly one of url = \"http://...\" (answers 2xx when ready) or "
                                "log = \"regex\" (a line of the command's output)", "sink", "ready"))
        return Ready()
    timeout = DEFAULT_READY_TIMEOUT
    if "timeout" in raw:
        value = _duration(doc, raw["timeout"], errors, "sink", "ready", "timeout")
        if value is not None and value <= 0:
            errors.append(doc.error("must be longer than 0s", "sink", "ready", "timeout"))
        elif value is not None:
            timeout = value
    key = given[0]
    value = raw[key]
    if not isinstance(value, str) or not value:
        errors.append(doc.error(f"expected a non-empty string, got {type_name(value)} {value!r}", "sink", "ready", key))
        return Ready()
    if key == "url":
        url = expand(value, "sink", "ready", "url")
        if not url.startswith(("http://", "https://", "${")):
            errors.append(doc.error(f"expected an http:// or https:// URL, got {value!r}", "sink", "ready", "url"))
        return Ready(url=url, timeout=timeout)
    if not has_command:
        errors.append(doc.error("ready = { log = ... } watches the command's output, but [sink] has no command",
                                "sink", "ready", "log"))
    try:
        re.compile(value)
    except re.error as exc:
        errors.append(doc.error(f"not a valid regular expression: {exc}", "sink", "ready", "log"))
    return Ready(log=value, timeout=timeout)


def program_problem(program: str, cwd: Path, own_env: Mapping[str, str], env: Mapping[str, str]) -> str | None:
    """Why `program` cannot be started, or None. A name holding the endpoint's variables is checked at run."""
    if any(f"${{{v}}}" in program for v in ENDPOINT_VARS):
        return None
    if "/" in program:
        path = Path(program) if os.path.isabs(program) else cwd / program
        if not path.is_file():
            return f"program not found: {path}"
        if not os.access(path, os.X_OK):
            return f"program is not executable: {path}"
        return None
    search = own_env.get("PATH", env.get("PATH", os.defpath))
    if shutil.which(program, path=search) is None:
        return f"program {program!r} not found on PATH"
    return None


def parse_feed(doc: Locator, raw: Any, base: Path, env: Mapping[str, str], errors: list[InputError],
               *, has_command: bool) -> FeedSpec | None:
    """`[feed]` of an external sink; None when it is missing (an error is recorded)."""
    if raw is None:
        errors.append(InputError("an external sink needs a [feed] section: kind = \"iggy\", \"file\" or \"stdin\" "
                                 "(how the stream reaches it; see docs/external.md)", doc.where("sink", "kind")))
        return None
    if not isinstance(raw, dict):
        errors.append(doc.error(f"expected a table [feed], got {type_name(raw)}", "feed"))
        return None
    kind = raw.get("kind")
    if kind not in FEED_KINDS:
        what = "needs kind" if kind is None else f"unknown feed kind {kind!r}"
        errors.append(doc.error(f"{what} (expected one of: iggy, file, stdin)", "feed", *(("kind",) if kind else ())))
        return None
    allowed = FEED_KEYS[kind]
    for key in raw:
        if key not in allowed:
            errors.append(doc.error(f"unknown key '{key}' in [feed] for kind = \"{kind}\" ({', '.join(allowed)})",
                                    "feed", key))
    opts: dict[str, Any] = {}
    if kind in ("file", "stdin"):
        fmt = raw.get("format", "payload")
        if fmt not in FORMATS:
            errors.append(doc.error(f"unknown format {fmt!r} (payload: the payload as a line; jsonl: the stream "
                                    "line of docs/streams.md)", "feed", "format"))
        opts["format"] = fmt
    if kind == "stdin":
        if not has_command:
            errors.append(doc.error("kind = \"stdin\" writes to the command's standard input, but [sink] has no "
                                    "command", "feed", "kind"))
        return FeedSpec(kind, opts)
    if kind == "file":
        path = raw.get("path")
        if not isinstance(path, str) or not path:
            errors.append(doc.error("a file feed needs path = \"in.log\" (relative to the scenario)", "feed", "path"))
            return FeedSpec(kind, opts)
        resolved = Path(path) if os.path.isabs(path) else base / path
        if resolved.is_dir():
            errors.append(doc.error(f"is a directory, not a file: {resolved}", "feed", "path"))
        elif not resolved.parent.is_dir():
            errors.append(doc.error(f"its folder does not exist: {resolved.parent}", "feed", "path"))
        return FeedSpec(kind, opts, resolved)
    # kind = "iggy"
    from sinkbench.sources.iggy import ConnectionStringError, parse_connection
    if "connection" not in raw:
        errors.append(doc.error("an iggy feed needs connection = \"iggy+tcp://USER:PASSWORD@HOST:8090\"", "feed",
                                "connection"))
    else:
        expand = _Expander(env, doc, errors)
        text = raw["connection"]
        if isinstance(text, str):
            text = expand(text, "feed", "connection")
        try:
            opts["connection"] = parse_connection(text)
        except ConnectionStringError as exc:
            errors.append(doc.error(str(exc), "feed", "connection"))
    create = raw.get("create", False)
    if not isinstance(create, bool):
        errors.append(doc.error(f"expected true or false, got {type_name(create)} {create!r}", "feed", "create"))
        create = False
    opts["create"] = create
    if "http" in raw:
        http = raw["http"]
        if isinstance(http, str):
            http = _Expander(env, doc, errors)(http, "feed", "http")
        if not isinstance(http, str) or not http.startswith(("http://", "https://")):
            errors.append(doc.error(f"expected the server's HTTP API address such as \"http://127.0.0.1:3000\", "
                                    f"got {http!r}", "feed", "http"))
        else:
            opts["http"] = http.rstrip("/")
    return FeedSpec(kind, opts)


def fill_endpoint(text: str, url: str, port: int) -> str:
    """`text` with the endpoint's variables filled in (the run's, once the endpoint listens)."""
    return text.replace(f"${{{ENDPOINT_URL}}}", url).replace(f"${{{ENDPOINT_PORT}}}", str(port))
