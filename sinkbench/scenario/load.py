"""Reading a scenario file (docs/scenario.md): every section and key checked, errors naming file, line and key.

`--set section.key=value` overrides are applied to the parsed document before
validation, so an override is checked exactly like a key in the file, and an
error in one names `--set` instead of a line.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sinkbench.config.connector import Connector, load_connector
from sinkbench.config.load import apply_env_overrides, env_overrides, resolve_sink
from sinkbench.config.settings import ALL_KEYS
from sinkbench.durations import DurationError, parse_duration
from sinkbench.endpoint.settings import EndpointSettings, parse_endpoint_settings
from sinkbench.errors import InputError, InputErrors, Where
from sinkbench.metrics.expect import parse_expectations
from sinkbench.model import Schema
from sinkbench.runtime import OffsetCommit, RuntimeSettings
from sinkbench.scenario.external import (
    EXTERNAL_KEYS,
    KINDS,
    NOT_KNOWN,
    parse_external,
    parse_feed,
    sink_kind,
)
from sinkbench.scenario.model import MOCK, ExternalSink, Scenario, SourceSpec
from sinkbench.sources.recorded import speed_factor
from sinkbench.tomlsrc import TomlSource, load_toml, parse_toml, parse_value

SECTIONS = ("scenario", "source", "runtime", "sink", "endpoint", "expect", "feed")
SCENARIO_KEYS = ("name", "description", "seed", "timeout")
RUNTIME_KEYS = ("batch_length", "poll_interval", "offset_commit")
SOURCE_KEYS = {
    "synthetic": ("kind", "count", "rate", "schema", "payload_bytes", "stream", "topics", "partitions", "headers"),
    "recorded": ("kind", "path", "speed"),
    "iggy": ("kind", "connection", "stream", "topics", "consumer_group", "count"),
}
DEFAULT_TIMEOUT = 120.0
# A stand-in that passes URL validation while the embedded endpoint's address is not known yet.
MOCK_PLACEHOLDER = "http://127.0.0.1:1/ingest"


def _hint(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" — did you mean '{close[0]}'?" if close else ""


# Where a key without its section goes (`--set max_retries=5`, `--vary batch_length=100,500`): the settings
# under test, a [sink] key or one of the [runtime] keys; the two sections share no name.
SHORT_KEY_SECTIONS = ("sink", "runtime")


def _section_keys(section: str) -> frozenset[str]:
    if section == "scenario":
        return frozenset(SCENARIO_KEYS)
    if section == "source":
        return frozenset(k for keys in SOURCE_KEYS.values() for k in keys if k != "kind")
    if section == "runtime":
        return frozenset(RUNTIME_KEYS)
    if section == "sink":
        return frozenset(ALL_KEYS) | frozenset(EXTERNAL_KEYS)
    return frozenset()


def qualify_key(parts: list[str], flag: str = "--set", sections: Sequence[str] = SECTIONS) -> list[str]:
    """A dotted key with its section: `max_retries` → sink.max_retries, `batch_length` → runtime.batch_length.

    One grammar for `--set` and `--vary`: a key without a section is a [sink] key, or a [runtime] one for
    batch_length, poll_interval and offset_commit. `sections` are those the flag can change; a name that
    one of the others has too (`timeout`: [scenario] and [sink]) is ambiguous, an error naming both. A key
    that names no section it could be is returned as it is, for the caller's "unknown" error.
    """
    if not parts or parts[0] in SECTIONS:
        return parts
    name = parts[0]
    owners = [s for s in SHORT_KEY_SECTIONS if s in sections and name in _section_keys(s)
              and (s != "runtime" or len(parts) == 1)]
    others = [s for s in sections if s not in SHORT_KEY_SECTIONS and name in _section_keys(s)]
    where = Where(file=flag, key=".".join(parts))
    if owners and others:
        named = " or ".join(f"{s}.{'.'.join(parts)}" for s in (*others, *owners))
        raise InputError(f"'{'.'.join(parts)}' is ambiguous: {named}? Write the section", where)
    if owners:
        return [owners[0], *parts]
    if others:
        raise InputError(f"'{name}' is a [{others[0]}] key: write {others[0]}.{'.'.join(parts)} (only [sink] and "
                         "[runtime] keys may leave out their section)", where)
    return parts


def parse_set(item: str) -> tuple[list[str], Any]:
    """`sink.max_retries=5` (or `max_retries=5`) → (["sink", "max_retries"], 5).

    Values are TOML values; bare words are strings. The key's section may be left out as `--vary`
    allows (`qualify_key`).
    """
    if "=" not in item:
        raise InputError(f"expected KEY=VALUE, got {item!r}", Where(file="--set"))
    key, _, raw = item.partition("=")
    path = [p.strip() for p in key.strip().split(".")]
    if all(path):
        path = qualify_key(path)
    if len(path) < 2 or not all(path):
        raise InputError(f"expected a dotted key such as sink.batch_mode, got {key!r}", Where(file="--set", key=key))
    return path, parse_value(raw)


class _Doc:
    """The scenario's data with a locator that knows which keys came from `--set`."""

    def __init__(self, src: TomlSource, overrides: Sequence[str]) -> None:
        self.src = src
        self.data = src.data
        self.overridden: set[tuple[str, ...]] = set()
        for item in overrides:
            path, value = parse_set(item)
            if path[0] not in SECTIONS:
                raise InputError(f"unknown section '{path[0]}'{_hint(path[0], SECTIONS)}", Where(file="--set", key=".".join(path)))
            table = self.data
            for part in path[:-1]:
                nxt = table.setdefault(part, {})
                if not isinstance(nxt, dict):
                    raise InputError(f"'{part}' is not a table", Where(file="--set", key=".".join(path)))
                table = nxt
            table[path[-1]] = value
            self.overridden.add(tuple(path))

    def where(self, *path: str | int) -> Where:
        strs = tuple(str(p) for p in path)
        for n in range(len(strs), 0, -1):
            if strs[:n] in self.overridden:
                return Where(file="--set", key=".".join(strs))
        return self.src.where(*path)

    def error(self, message: str, *path: str | int) -> InputError:
        return InputError(message, self.where(*path))


def _type_name(v: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a table"}.get(type(v), type(v).__name__)


def _table(doc: _Doc, name: str, errors: list[InputError]) -> dict[str, Any]:
    v = doc.data.get(name, {})
    if not isinstance(v, dict):
        errors.append(doc.error(f"expected a table [{name}], got {_type_name(v)}", name))
        return {}
    return v


def _check_keys(doc: _Doc, section: str, table: Mapping[str, Any], allowed: Sequence[str],
                errors: list[InputError], what: str | None = None) -> None:
    for key in table:
        if key not in allowed:
            errors.append(doc.error(f"unknown key '{key}' in [{section}]{' for ' + what if what else ''}"
                                    f"{_hint(key, allowed)}", section, key))


def _duration(doc: _Doc, table: Mapping[str, Any], section: str, key: str, default: float,
              errors: list[InputError]) -> float:
    if key not in table:
        return default
    v = table[key]
    if not isinstance(v, str):
        errors.append(doc.error(f"expected a duration string such as \"30s\", got {_type_name(v)} {v!r}", section, key))
        return default
    try:
        return parse_duration(v)
    except DurationError as exc:
        errors.append(doc.error(str(exc), section, key))
        return default


def _int(doc: _Doc, table: Mapping[str, Any], section: str, key: str, default: int, errors: list[InputError],
         minimum: int = 0) -> int:
    if key not in table:
        return default
    v = table[key]
    if not isinstance(v, int) or isinstance(v, bool):
        errors.append(doc.error(f"expected an integer, got {_type_name(v)} {v!r}", section, key))
        return default
    if v < minimum:
        errors.append(doc.error(f"must be at least {minimum}, got {v}", section, key))
        return default
    return v


def _holds_no_message(path: Path) -> bool:
    """Whether a stream file has a header and no message line (reads at most a few lines, never the file)."""
    from sinkbench.sources.recorded import read_stream
    try:
        for _ in read_stream(path):
            return False
    except InputError:
        return False      # a bad header or line: the run (and validate) report it where it is
    return True


def _synthetic_errors(doc: _Doc, opts: dict[str, Any], errors: list[InputError]) -> None:
    """Every bad synthetic key, not just the first: the source checks its arguments one by one and
    stops at the first bad one, so each bad key is reported, set aside, and the rest checked again."""
    from sinkbench.sources.synthetic import SyntheticSource
    trial = dict(opts)
    for _ in range(len(opts) + 1):
        try:
            SyntheticSource(**trial, seed=0, start_us=0, where_file=doc.src.name)
            return
        except InputError as exc:
            path = (exc.where.key or "source").split(".")[1:]
            errors.append(doc.error(exc.message, "source", *path))
            key = path[0] if path else None
            if key == "count" and "count" in trial:
                trial["count"] = 1
            elif key in trial and key != "count":
                del trial[key]            # the source's own default stands in while the rest are checked
            else:
                return


def _source(doc: _Doc, table: dict[str, Any], base: Path, connector: Connector | None,
            errors: list[InputError], warnings: list[str]) -> SourceSpec:
    kind = table.get("kind", "synthetic")
    if kind not in SOURCE_KEYS:
        errors.append(doc.error(f"unknown source kind {kind!r} (expected one of: synthetic, recorded, iggy)"
                                f"{_hint(str(kind), list(SOURCE_KEYS))}", "source", "kind"))
        return SourceSpec("synthetic", {"count": 0})
    _check_keys(doc, "source", table, SOURCE_KEYS[kind], errors, f"kind = \"{kind}\"")
    opts = {k: v for k, v in table.items() if k != "kind"}
    if kind == "recorded":
        raw = opts.get("path")
        if not isinstance(raw, str) or not raw:
            errors.append(doc.error("a recorded source needs path = \"streams/FILE.jsonl\" (relative to the scenario)",
                                    "source", "path"))
            return SourceSpec(kind, opts)
        path = (base / raw) if not os.path.isabs(raw) else Path(raw)
        if path.is_dir():
            errors.append(doc.error(f"is a directory, not a stream file: {path}", "source", "path"))
        elif not path.is_file():
            errors.append(doc.error(f"stream file not found: {path}", "source", "path"))
        elif _holds_no_message(path):
            warnings.append(str(doc.error(f"the stream {path.name} holds no messages (only its header): "
                                          "the run will send nothing", "source", "path")))
        try:
            speed_factor(opts.get("speed", "max"), where_file=doc.src.name)
        except InputError as exc:
            errors.append(doc.error(exc.message, "source", "speed"))
        return SourceSpec(kind, opts, path)
    if kind == "synthetic":
        first = connector.streams[0] if connector else None
        opts.setdefault("stream", first.stream if first else "bench")
        opts.setdefault("topics", list(first.topics) if first else ["events"])
        if "schema" not in opts and first is not None and first.schema in (Schema.JSON, Schema.TEXT, Schema.RAW):
            opts["schema"] = str(first.schema)
        if "count" not in opts:
            errors.append(doc.error("a synthetic source needs 'count'", "source", "count"))
            return SourceSpec(kind, opts)
        if any(k not in SOURCE_KEYS[kind] for k in table):
            return SourceSpec(kind, opts)   # the unknown key is reported; its value cannot be checked
        # Build to validate every argument; the run builds its own with the run's start time.
        _synthetic_errors(doc, opts, errors)
        if opts["count"] == 0:
            warnings.append(str(doc.error("count = 0: the source is empty and the run will send nothing",
                                          "source", "count")))
        return SourceSpec(kind, opts)
    # kind = "iggy": a live Iggy server (sources/iggy.py). Nothing connects until the run starts; the
    # connection is checked here and kept as an IggyConnection, a str that shows itself redacted.
    from sinkbench.sources.iggy import ConnectionStringError, parse_connection
    first = connector.streams[0] if connector else None
    if "connection" not in opts:
        errors.append(doc.error("an iggy source needs connection = \"iggy+tcp://USER:PASSWORD@HOST:8090\"",
                                "source", "connection"))
    else:
        raw = opts["connection"]
        try:
            if isinstance(raw, str) and "${" in raw:
                # `${IGGY_PASSWORD}` keeps the secret out of the file (this function is not handed the
                # loader's env mapping, so it reads the process environment).
                from sinkbench.config.load import expand_env
                raw, _ = expand_env(raw, os.environ, doc.where("source", "connection"))
            opts["connection"] = parse_connection(raw)
        except ConnectionStringError as exc:
            errors.append(doc.error(str(exc), "source", "connection"))
        except InputError as exc:
            errors.append(exc)
    if first is not None:
        opts.setdefault("stream", first.stream)
        opts.setdefault("topics", list(first.topics))
        if first.consumer_group:
            opts.setdefault("consumer_group", first.consumer_group)
    # The connectors runtime's default group is "iggy-connect-sink-<key>"; without a connector file, "sinkbench".
    opts.setdefault("consumer_group", f"iggy-connect-sink-{connector.key}" if connector else "sinkbench")
    for key in ("stream", "consumer_group"):
        value = opts.get(key)
        if value is None:
            errors.append(doc.error(f"an iggy source needs '{key}' (or a connector file's [[streams]])", "source", key))
        elif not isinstance(value, str) or not value.strip():
            errors.append(doc.error(f"expected a non-empty string, got {_type_name(value)} {value!r}", "source", key))
    topics = opts.get("topics")
    if topics is None:
        errors.append(doc.error("an iggy source needs topics = [\"...\"] (or a connector file's [[streams]])",
                                "source", "topics"))
    elif (not isinstance(topics, list) or not topics
          or not all(isinstance(t, str) and t.strip() for t in topics)):
        errors.append(doc.error(f"expected a non-empty list of topic names, got {topics!r}", "source", "topics"))
    elif len(set(topics)) != len(topics):
        errors.append(doc.error(f"a topic is listed twice in {topics!r}", "source", "topics"))
    if "count" in opts:
        opts["count"] = _int(doc, table, "source", "count", 0, errors, minimum=1) or None
    # The payload is decoded per the stream's schema: the connector's [[streams]] entry's, else JSON.
    opts["schema"] = first.schema.value if first is not None else Schema.JSON.value
    return SourceSpec(kind, opts)


def _runtime(doc: _Doc, table: dict[str, Any], connector: Connector | None, errors: list[InputError]) -> RuntimeSettings:
    _check_keys(doc, "runtime", table, RUNTIME_KEYS, errors)
    first = connector.streams[0] if connector else None
    batch_length = _int(doc, table, "runtime", "batch_length", first.batch_length if first else 1000, errors, minimum=1)
    poll = _duration(doc, table, "runtime", "poll_interval", first.poll_interval if first else 0.005, errors)
    commit_raw = table.get("offset_commit", "after_polling")
    try:
        commit = OffsetCommit(commit_raw)
    except ValueError:
        errors.append(doc.error(f"unknown offset_commit {commit_raw!r} (expected after_polling or after_consuming)",
                                "runtime", "offset_commit"))
        commit = OffsetCommit.AFTER_POLLING
    return RuntimeSettings(batch_length=batch_length, poll_interval=poll, offset_commit=commit)


def scenario_from_source(src: TomlSource, overrides: Sequence[str] = (), env: Mapping[str, str] | None = None) -> Scenario:
    env = os.environ if env is None else env
    doc = _Doc(src, overrides)
    base = Path(src.name).resolve().parent
    errors: list[InputError] = []
    warnings: list[str] = []
    for section in doc.data:
        if section not in SECTIONS:
            errors.append(doc.error(f"unknown section [{section}]{_hint(section, SECTIONS)}", section))

    meta = _table(doc, "scenario", errors)
    _check_keys(doc, "scenario", meta, SCENARIO_KEYS, errors)
    name = meta.get("name", Path(src.name).stem)
    description = meta.get("description", "")
    for key, value in (("name", name), ("description", description)):
        if not isinstance(value, str):
            errors.append(doc.error(f"expected a string, got {_type_name(value)}", "scenario", key))
    seed = _int(doc, meta, "scenario", "seed", 0, errors)
    timeout = _duration(doc, meta, "scenario", "timeout", DEFAULT_TIMEOUT, errors)
    if "timeout" in meta and timeout <= 0:
        errors.append(doc.error("must be longer than 0s", "scenario", "timeout"))

    sink_table = _table(doc, "sink", errors)
    kind = sink_kind(sink_table)
    if kind not in KINDS or not isinstance(sink_table.get("kind", "engine"), str):
        errors.append(doc.error(f"unknown sink kind {sink_table.get('kind')!r} (expected engine or external)"
                                f"{_hint(str(sink_table.get('kind')), KINDS)}", "sink", "kind"))
    external: ExternalSink | None = None
    if kind == "external":
        # A program under test: none of the engine's keys apply, and it delivers to the embedded endpoint.
        external = parse_external(doc, sink_table, base, env, errors, ALL_KEYS)
        sink_table = {"url": MOCK}
        if "runtime" in doc.data:
            errors.append(doc.error("[runtime] sets how sinkbench's own engine polls and commits; an external sink "
                                    "is fed by [feed] and batches as it is configured to", "runtime"))
    elif "feed" in doc.data:
        errors.append(doc.error("[feed] feeds an external sink: it needs [sink] kind = \"external\"", "feed"))
    connector: Connector | None = None
    if "connector" in sink_table:
        raw = sink_table["connector"]
        if not isinstance(raw, str) or not raw:
            errors.append(doc.error("expected the path of an Iggy connector file", "sink", "connector"))
        else:
            path = base / raw if not os.path.isabs(raw) else Path(raw)
            try:
                connector = load_connector(path, env)
                warnings.extend(str(w) for w in connector.sink.warnings)
            except InputErrors as exc:
                errors.extend(exc.errors)
            except InputError as exc:
                errors.append(exc if exc.where.file else doc.error(exc.message, "sink", "connector"))

    source = _source(doc, _table(doc, "source", errors), base, connector, errors, warnings)
    runtime = _runtime(doc, _table(doc, "runtime", errors), connector, errors)

    own = {k: v for k, v in sink_table.items() if k not in ("connector", "kind")}
    for key in own:
        if key not in ALL_KEYS:
            errors.append(doc.error(f"unknown key '{key}' in [sink]{_hint(key, ALL_KEYS)}", "sink", key))
    merged: dict[str, Any] = _connector_effective(connector, env) if connector else {}
    merged.update({k: v for k, v in own.items() if k in ALL_KEYS})
    url = merged.get("url")
    mock = url == MOCK
    if mock:
        merged["url"] = MOCK_PLACEHOLDER
    connector_keys = set(merged) - set(own)

    def locate(key: str) -> Where:
        top = key.split(".", 1)[0]
        if connector is not None and top in connector_keys:
            prefix = () if connector.bare else ("plugin_config",)
            return connector.source.where(*prefix, *key.split(".", 1))
        return doc.where("sink", *key.split(".", 1))

    sink = None
    try:
        sink = resolve_sink(merged, locate, env=env, unknown_is_error=False)
    except InputErrors as exc:
        errors.extend(exc.errors)
    if sink is not None:
        warnings.extend(str(w) for w in sink.warnings if str(w) not in warnings)
    feed = None
    if external is not None:
        if source.kind == "iggy":
            errors.append(doc.error("an external sink is fed from a synthetic or recorded stream; kind = \"iggy\" "
                                    "here would consume a live server (to produce into one, use [feed] kind = "
                                    "\"iggy\")", "source", "kind"))
        feed = parse_feed(doc, doc.data.get("feed"), base, env, errors, has_command=bool(external.command))
        if sink is not None:    # the journal and reports hide the command's secrets as they hide the sink's
            sink = dataclasses.replace(sink, settings=dataclasses.replace(
                sink.settings, secret_values=sink.settings.secret_values | external.secret_values))

    endpoint = EndpointSettings(seed=seed)
    if "endpoint" in doc.data:
        try:
            endpoint = parse_endpoint_settings(doc.data["endpoint"], _LocatingSource(doc), ("endpoint",))
        except InputErrors as exc:
            errors.extend(exc.errors)
        except InputError as exc:
            errors.append(exc)
        if isinstance(doc.data["endpoint"], dict) and "seed" not in doc.data["endpoint"]:
            endpoint = dataclasses.replace(endpoint, seed=seed)
        if not mock:
            at = doc.where("endpoint")
            warnings.append(f"{Where(file=at.file, line=at.line)}: [endpoint] is ignored: the sink's url is not \"mock\"")

    if source.kind == "synthetic" and endpoint.identify == "token":
        # The source puts a token in each message (bench.build_source); the endpoint must find exactly it.
        from sinkbench.sources.synthetic import token_problem
        problem = token_problem(endpoint.token, source.options, seed)
        if problem is not None:
            errors.append(doc.error(problem, "endpoint", "token"))

    expectations = []
    expect_table = _table(doc, "expect", errors)
    try:
        expectations = parse_expectations(expect_table, where=lambda metric, index: _expect_where(doc, metric, index))
    except InputErrors as exc:
        errors.extend(exc.errors)
    if not mock and expectations:
        from sinkbench.metrics.expect import check_known
        errors.extend(check_known(expectations, {
            "lost": "the endpoint is a real URL, whose ledger the bench cannot read",
            "duplicates": "the endpoint is a real URL, whose ledger the bench cannot read"}))
    if external is not None and expectations:
        from sinkbench.metrics.expect import check_known
        errors.extend(check_known(expectations, NOT_KNOWN))

    if errors:
        raise InputErrors(errors)
    assert sink is not None
    return Scenario(name=name, description=description, file=src.name, seed=seed, timeout=timeout, source=source,
                    runtime=runtime, sink=sink, mock=mock, endpoint=endpoint, expectations=tuple(expectations),
                    warnings=tuple(warnings), sink_table=merged if external is None else {},
                    external=external, feed=feed)


def _connector_effective(connector: Connector, env: Mapping[str, str]) -> dict[str, Any]:
    """The connector's plugin_config as a plain table, its environment overrides applied."""
    table = connector.source.data if connector.bare else connector.source.data.get("plugin_config", {})
    return apply_env_overrides(dict(table), env_overrides(connector.key, env), {})


def _expect_where(doc: _Doc, metric: str, index: int | None) -> Where:
    key = f"expect.{metric}" + (f"[{index}]" if index is not None else "")
    if ("expect", metric) in doc.overridden or tuple(["expect", *metric.split(".")]) in doc.overridden:
        return Where(file="--set", key=key)
    # `latency.delivery = ...` unquoted is a nested table: try both spellings.
    for path in (("expect", metric), ("expect", *metric.split("."))):
        if path in doc.src.lines:
            return Where(file=doc.src.name, line=doc.src.lines[path], key=key)
    return Where(file=doc.src.name, line=doc.src.line("expect"), key=key)


class _LocatingSource:
    """Makes the endpoint parser's errors name `--set` for overridden keys."""

    def __init__(self, doc: _Doc) -> None:
        self._doc = doc
        self.name = doc.src.name

    def where(self, *path: str | int) -> Where:
        return self._doc.where(*path)

    def error(self, message: str, *path: str | int) -> InputError:
        return self._doc.error(message, *path)

    def line(self, *path: str | int) -> int | None:
        return self._doc.src.line(*path)


def scenario_seed(src: TomlSource) -> int | None:
    """A file's `[scenario] seed`, None when it sets none; raises InputError naming its line when it is bad.

    The endpoint of a scenario draws from it unless `[endpoint]` sets its own seed, whether the scenario
    runs or `sinkbench mock --config` serves its endpoint alone.
    """
    meta = src.data.get("scenario")
    if not isinstance(meta, dict) or "seed" not in meta:
        return None
    errors: list[InputError] = []
    seed = _int(_Doc(src, ()), meta, "scenario", "seed", 0, errors)
    if errors:
        raise errors[0]
    return seed


def load_scenario(path: str | Path, overrides: Sequence[str] = (), env: Mapping[str, str] | None = None) -> Scenario:
    return scenario_from_source(load_toml(path), overrides, env)


def scenario_from_text(text: str, name: str = "scenario.toml", overrides: Sequence[str] = (),
                       env: Mapping[str, str] | None = None) -> Scenario:
    return scenario_from_source(parse_toml(text, name), overrides, env)
