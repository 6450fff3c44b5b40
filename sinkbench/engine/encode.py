"""Request bodies exactly as the Iggy HTTP sink builds them (docs/sink.md).

Payload conversion, the metadata envelope, header forwarding and the four
batch modes. orjson does the serialising: it writes compact JSON, turns NaN
and ±Infinity into null as the connector does, and refuses integers outside
64 bits — which makes such a message "unencodable", the skip path (docs/sink.md).

Every object's keys are written sorted, at every depth: the connector turns
each value into a serde_json `Value`, whose maps are ordered by key, so the
real connector sends `{"iggy_id":…,"iggy_offset":…,"iggy_partition_id":…}`
whatever order the payload or the envelope was built in (checked against the
real connector by tests/real_iggy).
"""

from __future__ import annotations

import base64
import functools
import re
import struct
from decimal import Decimal
from typing import Any

import orjson

from sinkbench.config.settings import BatchMode, SinkSettings
from sinkbench.model import BatchMetadata, HeaderKind, HeaderValue, Message, Schema, TopicMetadata


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


class EncodeError(Exception):
    """A message whose body cannot be built; it is skipped and counted."""


def format_rust_float(value: float, kind: HeaderKind = HeaderKind.FLOAT64) -> str:
    """A float written as Rust's `Display` does: shortest round-trip digits, no exponent, no `.0`."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if kind is HeaderKind.FLOAT32:
        target = struct.unpack("<f", struct.pack("<f", value))[0]
        digits = next(f"{value:.{p}g}" for p in range(1, 10)
                      if struct.unpack("<f", struct.pack("<f", float(f"{value:.{p}g}")))[0] == target)
    else:
        digits = repr(value)
    text = format(Decimal(digits), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def header_to_json(h: HeaderValue) -> Any:
    kind = h.kind
    if kind is HeaderKind.RAW:
        return {"data": base64.b64encode(h.value).decode("ascii"), "iggy_header_encoding": "base64"}  # type: ignore[arg-type]
    if kind is HeaderKind.BOOL:
        return "true" if h.value else "false"
    if kind in (HeaderKind.FLOAT32, HeaderKind.FLOAT64):
        return format_rust_float(float(h.value), kind)  # type: ignore[arg-type]
    if kind is HeaderKind.STRING:
        return h.value
    return str(int(h.value))  # type: ignore[arg-type]


def convert_payload(payload: Any, schema: Schema) -> Any:
    """The payload's JSON value (docs/sink.md, payload conversion)."""
    if schema is Schema.JSON:
        return payload
    if schema is Schema.TEXT:
        return payload
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return {"data": base64.b64encode(payload).decode("ascii"), "iggy_payload_encoding": "base64"}


class Encoder:
    """Builds bodies for one sink's settings; one instance per sink, reused for every batch."""

    def __init__(self, settings: SinkSettings) -> None:
        self.mode = settings.batch_mode
        self.include_metadata = settings.include_metadata
        self.include_checksum = settings.include_checksum
        self.include_origin_timestamp = settings.include_origin_timestamp

    def value(self, msg: Message, topic: TopicMetadata, meta: BatchMetadata) -> Any:
        payload = convert_payload(msg.payload, meta.schema)
        if not self.include_metadata:
            return payload
        md: dict[str, Any] = {
            "iggy_id": f"{msg.id:032x}",
            "iggy_offset": msg.offset,
            "iggy_timestamp": msg.timestamp,
            "iggy_stream": topic.stream,
            "iggy_topic": topic.topic,
            "iggy_partition_id": meta.partition_id,
        }
        if self.include_checksum:
            md["iggy_checksum"] = msg.checksum
        if self.include_origin_timestamp:
            md["iggy_origin_timestamp"] = msg.origin_timestamp
        if msg.headers:
            md["iggy_headers"] = {k: header_to_json(v) for k, v in msg.headers.items()}
        return {"metadata": md, "payload": payload}

    def message_body(self, msg: Message, topic: TopicMetadata, meta: BatchMetadata) -> bytes:
        """The body of one request in a per-message mode (individual, raw)."""
        try:
            if self.mode is BatchMode.RAW:
                return raw_bytes(msg.payload, meta.schema)
            return _dumps(self.value(msg, topic, meta))
        except (TypeError, ValueError, orjson.JSONEncodeError) as exc:
            raise EncodeError(f"message at offset {msg.offset} cannot be serialised: {exc}") from exc

    def encode_values(self, messages: list[Message], topic: TopicMetadata,
                      meta: BatchMetadata) -> tuple[list[bytes], list[int], list[tuple[int, str]]]:
        """Each message's compact JSON, for the batch modes: (encoded, kept indices, skipped (index, reason)).

        The whole batch is tried in one comprehension first (the common case,
        several times cheaper per message than a guarded loop); only a batch
        holding an unencodable message goes one by one to find it.
        """
        try:
            return self._encode_all(messages, topic, meta), list(range(len(messages))), []
        except (TypeError, ValueError, orjson.JSONEncodeError):
            pass
        out: list[bytes] = []
        kept: list[int] = []
        skipped: list[tuple[int, str]] = []
        for i, msg in enumerate(messages):
            try:
                out.append(_dumps(self.value(msg, topic, meta)))
                kept.append(i)
            except (TypeError, ValueError, orjson.JSONEncodeError) as exc:
                skipped.append((i, f"message at offset {msg.offset} cannot be serialised: {exc}"))
        return out, kept, skipped

    def _encode_all(self, messages: list[Message], topic: TopicMetadata, meta: BatchMetadata) -> list[bytes]:
        dumps = functools.partial(orjson.dumps, option=orjson.OPT_SORT_KEYS)
        return [dumps(v) for v in self._values(messages, topic, meta)]

    def _values(self, messages: list[Message], topic: TopicMetadata, meta: BatchMetadata) -> list[Any]:
        """Each message's JSON value (envelope or payload), for one serialisation per message or per batch."""
        schema = meta.schema
        if not self.include_metadata:
            if schema is Schema.JSON or schema is Schema.TEXT:
                return [m.payload for m in messages]
            return [convert_payload(m.payload, schema) for m in messages]
        if self.include_checksum or self.include_origin_timestamp or schema not in (Schema.JSON, Schema.TEXT) \
                or any(m.headers for m in messages):
            value = self.value
            return [value(m, topic, meta) for m in messages]
        stream, name, partition = topic.stream, topic.topic, meta.partition_id
        return [{"metadata": {"iggy_id": f"{m.id:032x}", "iggy_offset": m.offset, "iggy_timestamp": m.timestamp,
                              "iggy_stream": stream, "iggy_topic": name, "iggy_partition_id": partition},
                 "payload": m.payload} for m in messages]

    def batch_body(self, messages: list[Message], topic: TopicMetadata, meta: BatchMetadata) -> bytes | None:
        """The whole body of a batch (json_array, or ndjson with the envelope) in one serialisation: the same
        bytes as joining each message's, without a thousand calls and a thousand small buffers. None when a
        message cannot be encoded or ndjson's lines cannot be told apart for sure; the per-message path
        (`encode_values`, `join`) then decides.

        An ndjson body is the JSON array of the envelopes with the commas between them made newlines. Those
        commas are the n - 1 places where one envelope ends and the next begins: `},{"metadata":{"iggy_`
        (keys are sorted, so every envelope starts so). The same bytes can only occur elsewhere inside a
        payload (an object whose first key is "metadata" in a list), and then they occur more than n - 1
        times, which sends the batch the per-message way.
        """
        ndjson = self.mode is BatchMode.NDJSON
        if ndjson and not self.include_metadata:
            return None
        try:
            array = orjson.dumps(self._values(messages, topic, meta), option=orjson.OPT_SORT_KEYS)
        except (TypeError, ValueError, orjson.JSONEncodeError):
            return None
        if not ndjson:
            return array
        if array.count(_BETWEEN_ENVELOPES) != len(messages) - 1:
            return None
        return array[1:-1].replace(_BETWEEN_ENVELOPES, _LINE_BETWEEN_ENVELOPES) + b"\n"

    def join(self, encoded: list[bytes]) -> bytes:
        """One batch body from already encoded values."""
        if self.mode is BatchMode.NDJSON:
            # One join, one copy: the empty last item gives the trailing newline.
            encoded.append(b"")
            body = b"\n".join(encoded)
            encoded.pop()
            return body
        return b"".join((b"[", b",".join(encoded), b"]"))


_BETWEEN_ENVELOPES = b'},{"metadata":{"iggy_'
_LINE_BETWEEN_ENVELOPES = b'}\n{"metadata":{"iggy_'

# A JSON string, or an exponent's plus sign (outside strings, "e+" occurs only in numbers).
_STRING_OR_EXPONENT_PLUS = re.compile(rb'"(?:[^"\\]|\\.)*"|(?<=[0-9])e\+')


def _no_exponent_plus(m: re.Match[bytes]) -> bytes:
    return m.group(0) if m.group(0).startswith(b'"') else b"e"


def raw_bytes(payload: Any, schema: Schema) -> bytes:
    """Raw mode: the payload's own bytes; JSON re-serialised compactly, text as UTF-8.

    Raw mode writes the runtime's own JSON value back (simd-json), not a serde_json one: keys
    keep their order, and exponents have no plus sign (`1e20`, where the other modes write
    `1e+20` as orjson does) — both as the real connector sends them (tests/real_iggy).
    """
    if schema is Schema.JSON:
        body = orjson.dumps(payload)
        return _STRING_OR_EXPONENT_PLUS.sub(_no_exponent_plus, body) if b"e+" in body else body
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return bytes(payload)
