"""Iggy connector files: `type`, `key`, `[[streams]]` and `[plugin_config]`.

Also accepts a bare `[plugin_config]` table (a file whose top level holds
`url`), so a snippet can be benched without the connector around it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sinkbench.config.load import (
    LoadedSink,
    Locate,
    apply_env_overrides,
    env_overrides,
    parse_env_value,
    resolve_sink,
    table_locator,
)
from sinkbench.durations import DurationError, parse_duration
from sinkbench.errors import InputError, InputErrors, Where
from sinkbench.model import Schema
from sinkbench.tomlsrc import TomlSource, load_toml

RUNTIME_BATCH_LENGTH = 1000
RUNTIME_POLL_INTERVAL = 0.005


@dataclass(frozen=True)
class StreamEntry:
    """One `[[streams]]` entry: what the runtime consumes for the sink."""

    stream: str = "bench"
    topics: tuple[str, ...] = ("events",)
    schema: Schema = Schema.JSON
    batch_length: int = RUNTIME_BATCH_LENGTH
    poll_interval: float = RUNTIME_POLL_INTERVAL
    consumer_group: str | None = None


@dataclass(frozen=True)
class Connector:
    path: str
    key: str
    streams: tuple[StreamEntry, ...]
    sink: LoadedSink
    source: TomlSource
    bare: bool   # the file was a bare plugin_config table


def _stream_overrides(key: str, env: Mapping[str, str]) -> dict[str, tuple[Any, str]]:
    prefix = f"IGGY_CONNECTORS_SINK_{key.upper()}_STREAMS_0_"
    return {name[len(prefix):].lower(): (parse_env_value(v), name) for name, v in env.items()
            if name.startswith(prefix) and len(name) > len(prefix)}


def _parse_stream(entry: Mapping[str, Any], src: TomlSource, index: int, overrides: Mapping[str, tuple[Any, str]]) -> StreamEntry:
    errors: list[InputError] = []
    data = dict(entry)
    if index == 0:
        for k, (v, _) in overrides.items():
            data[k] = [str(x) for x in v] if k == "topics" and isinstance(v, list) else v

    def where(k: str):
        return src.where("streams", index, k)

    def text(k: str, default: str | None) -> str | None:
        v = data.get(k, default)
        if v is not None and not isinstance(v, str):
            errors.append(InputError(f"expected a string, got {v!r}", where(k)))
            return default
        return v

    stream = text("stream", "bench") or "bench"
    topics_raw = data.get("topics", ["events"])
    if not isinstance(topics_raw, list) or not topics_raw or not all(isinstance(t, str) and t for t in topics_raw):
        errors.append(InputError("expected a non-empty list of topic names", where("topics")))
        topics_raw = ["events"]
    schema_raw = text("schema", "json") or "json"
    try:
        schema = Schema(schema_raw)
    except ValueError:
        errors.append(InputError(f"unknown schema '{schema_raw}' (expected one of: {', '.join(s.value for s in Schema)})", where("schema")))
        schema = Schema.JSON
    batch_length = data.get("batch_length", RUNTIME_BATCH_LENGTH)
    if not isinstance(batch_length, int) or isinstance(batch_length, bool) or batch_length < 1:
        errors.append(InputError(f"expected a positive integer, got {batch_length!r}", where("batch_length")))
        batch_length = RUNTIME_BATCH_LENGTH
    poll = text("poll_interval", None)
    poll_interval = RUNTIME_POLL_INTERVAL
    if poll is not None:
        try:
            poll_interval = parse_duration(poll)
        except DurationError as exc:
            errors.append(InputError(str(exc), where("poll_interval")))
    group = text("consumer_group", None)
    if errors:
        raise InputErrors(errors)
    return StreamEntry(stream, tuple(topics_raw), schema, batch_length, poll_interval, group)


def _env_aware(locate: Locate, origins: Mapping[str, str]) -> Locate:
    """A key set by an environment override is located at the variable, not the file."""

    def where(key: str) -> Where:
        origin = origins.get(key, "")
        if origin.startswith("env "):
            return Where(file=f"environment variable {origin[4:]}", key=f"plugin_config.{key}")
        return locate(key)

    return where


def connector_from_source(src: TomlSource, env: Mapping[str, str] | None = None) -> Connector:
    env = os.environ if env is None else env
    data = src.data
    if "plugin_config" not in data:
        if "url" in data:
            sink = resolve_sink(data, table_locator(src, ()), env=env)
            return Connector(src.name, Path(src.name).stem, (StreamEntry(),), sink, src, bare=True)
        raise src.error("no [plugin_config] table (nor a bare table with 'url'): not an HTTP sink connector file")
    errors: list[InputError] = []
    if data.get("type", "sink") != "sink":
        errors.append(src.error(f"type must be \"sink\", got {data.get('type')!r}", "type"))
    key = data.get("key")
    if key is None:
        key = Path(src.name).stem
    elif not isinstance(key, str) or not key:
        errors.append(src.error("expected a non-empty string", "key"))
        key = Path(src.name).stem
    table = data["plugin_config"]
    if not isinstance(table, dict):
        raise src.error("expected a table", "plugin_config")
    origins: dict[str, str] = {}
    table = apply_env_overrides(table, env_overrides(key, env), origins)
    sink = None
    try:
        sink = resolve_sink(table, _env_aware(table_locator(src, ("plugin_config",)), origins), env=env, origins=origins)
    except InputErrors as exc:
        errors.extend(exc.errors)
    streams: list[StreamEntry] = []
    raw_streams = data.get("streams", [])
    if not isinstance(raw_streams, list):
        errors.append(src.error("expected [[streams]] entries", "streams"))
        raw_streams = []
    overrides = _stream_overrides(key, env)
    for i, entry in enumerate(raw_streams):
        try:
            streams.append(_parse_stream(entry, src, i, overrides))
        except InputErrors as exc:
            errors.extend(exc.errors)
    if errors:
        raise InputErrors(errors)
    assert sink is not None
    return Connector(src.name, key, tuple(streams) or (StreamEntry(),), sink, src, bare=False)


def load_connector(path: str | Path, env: Mapping[str, str] | None = None) -> Connector:
    return connector_from_source(load_toml(path), env)
