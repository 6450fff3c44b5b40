"""One line of a recorded stream (docs/streams.md) to and from a `Message`.

This module knows the format of a single line and nothing about files: it
decodes already-parsed JSON objects and encodes lines as bytes. Errors are
`LineError(message, key)`; the file layer (`recorded.py`) adds the file name
and line number.

Choices the format leaves open, made here:

- Unknown keys are errors (a typo like `offest` must not pass), with a
  "did you mean" when one is close.
- Header keys and string/raw header values must be 1..255 bytes, as Iggy's
  `HeaderKey::new` and `HeaderValue::from` require: a stream Iggy could not
  have produced is refused rather than replayed.
- Integer header values are JSON integers or decimal strings; the writer uses
  strings for `int128`/`uint128` because JSON readers (orjson, serde_json)
  turn integers beyond 64 bits into floats.
- Float header values are JSON numbers, or the strings `"NaN"`, `"inf"`,
  `"-inf"` (JSON has no literal for them). A `float32` value is rounded to the
  nearest float32, the value a real Iggy header would hold.
- `payload_encoding` is allowed (and required) only with a bytes schema;
  base64 is standard alphabet with padding.
- A topic has one schema: the same stream/topic with two schemas in one file
  is an error.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import math
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

import orjson

from sinkbench.model import (
    INT_RANGES,
    U64_MAX,
    U128_MAX,
    HeaderKind,
    HeaderValue,
    Message,
    Schema,
    default_message_id,
)
from sinkbench.sources.base import SourceTopic

FORMAT_VERSION = 1
U32_MAX = 2**32 - 1
MAX_HEADER_BYTES = 255

HEADER_KEYS = frozenset({"sinkbench_stream", "stream", "topic", "schema", "recorded_at", "source"})
LINE_KEYS = frozenset({
    "stream", "topic", "schema", "partition", "offset", "id", "timestamp",
    "origin_timestamp", "checksum", "headers", "payload", "payload_encoding",
})
_LINE_KEYS_SUPERSET = LINE_KEYS.issuperset

_DECIMAL = re.compile(r"[+-]?[0-9]+")
_FLOAT_WORDS = MappingProxyType({"nan": math.nan, "inf": math.inf, "+inf": math.inf, "-inf": -math.inf,
                                 "infinity": math.inf, "+infinity": math.inf, "-infinity": -math.inf})
_FLOAT32_MAX = struct.unpack("<f", b"\xff\xff\x7f\x7f")[0]
_MISSING: Any = object()
_VALUE_CACHE_SIZE = 4096
_SCHEMAS = ", ".join(s.value for s in Schema)
_KINDS = ", ".join(k.value for k in HeaderKind)


class LineError(ValueError):
    """A problem with one line; `key` names the field (dotted for nested ones)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.key = key


@dataclass(frozen=True, slots=True)
class StreamHeader:
    """The first line of a stream file: the defaults every message line inherits."""

    stream: str
    topic: str
    schema: Schema = Schema.JSON
    recorded_at: str | None = None
    source: str | None = None

    @property
    def default_topic(self) -> SourceTopic:
        return SourceTopic(self.stream, self.topic, self.schema)


# ---------------------------------------------------------------- decoding


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _unknown_keys(obj: Mapping[str, Any], allowed: frozenset[str], what: str) -> LineError:
    unknown = sorted(set(obj) - allowed)
    name = unknown[0]
    close = difflib.get_close_matches(name, sorted(allowed), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f"; allowed: {', '.join(sorted(allowed))}"
    more = f" (and {len(unknown) - 1} more unknown)" if len(unknown) > 1 else ""
    return LineError(f"unknown key '{name}' on {what}{hint}{more}", name)


def _name(obj: dict[str, Any], key: str) -> str:
    value = obj[key]
    if type(value) is not str:
        raise LineError(f"must be a string, got {_type_name(value)}", key)
    if not value:
        raise LineError("must not be empty", key)
    return value


def _schema(value: Any, key: str = "schema") -> Schema:
    try:
        return Schema(value)
    except ValueError:
        raise LineError(f"unknown schema {value!r} (one of: {_SCHEMAS})", key) from None


def parse_header(obj: Any) -> StreamHeader:
    """The header line, already parsed from JSON."""
    if type(obj) is not dict:
        raise LineError(f"the first line must be the stream header, a JSON object; got {_type_name(obj)}")
    if "sinkbench_stream" not in obj:
        raise LineError(
            "the first line must be the stream header "
            '{"sinkbench_stream": 1, "stream": ..., "topic": ..., "schema": ...}; '
            "it has no 'sinkbench_stream'", "sinkbench_stream")
    version = obj["sinkbench_stream"]
    if type(version) is not int or version != FORMAT_VERSION:
        raise LineError(f"unsupported stream format version {version!r} (this sinkbench reads {FORMAT_VERSION})",
                        "sinkbench_stream")
    if not obj.keys() <= HEADER_KEYS:
        raise _unknown_keys(obj, HEADER_KEYS, "the header")
    for key in ("stream", "topic"):
        if key not in obj:
            raise LineError(f"the header needs '{key}' (the default for every message line)", key)
    stream, topic = _name(obj, "stream"), _name(obj, "topic")
    schema = _schema(obj["schema"]) if "schema" in obj else Schema.JSON
    recorded_at = obj.get("recorded_at")
    if recorded_at is not None:
        if type(recorded_at) is not str:
            raise LineError(f"must be an ISO 8601 date-time string, got {_type_name(recorded_at)}", "recorded_at")
        try:
            datetime.fromisoformat(recorded_at)
        except ValueError:
            raise LineError(f"not an ISO 8601 date-time: {recorded_at!r}", "recorded_at") from None
    source = obj.get("source")
    if source is not None and type(source) is not str:
        raise LineError(f"must be a string, got {_type_name(source)}", "source")
    return StreamHeader(stream, topic, schema, recorded_at, source)


def _bad_uint(key: str, value: Any, maximum: int) -> LineError:
    bits = "128" if maximum == U128_MAX else "64" if maximum == U64_MAX else "32"
    if value is _MISSING:
        return LineError("required key is missing", key)
    if type(value) is float and value.is_integer() and value > 0:
        # orjson reads integers past 2^64 - 1 as floats.
        return LineError(f"must be an unsigned {bits}-bit integer; {value:.0f} is out of range", key)
    if type(value) is int:
        return LineError(f"must be an unsigned {bits}-bit integer (0..{maximum}), got {value}", key)
    return LineError(f"must be an unsigned {bits}-bit integer, got {_type_name(value)}", key)


def _b64(value: Any, key: str) -> bytes:
    if type(value) is not str:
        raise LineError(f"must be a base64 string, got {_type_name(value)}", key)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise LineError(f"invalid base64 ({exc})", key) from None


def _check_bytes_len(data: bytes, key: str, what: str) -> None:
    if not 0 < len(data) <= MAX_HEADER_BYTES:
        raise LineError(f"{what} must be 1..{MAX_HEADER_BYTES} bytes (as in Iggy), got {len(data)}", key)


def decode_header_value(value: Any, key: str) -> HeaderValue:
    """One header value as written in a line; `key` is the dotted path for errors."""
    if type(value) is str:
        if len(value) > 63 or not value:  # only long strings can exceed 255 UTF-8 bytes
            _check_bytes_len(value.encode(), key, "a string header value")
        return HeaderValue(HeaderKind.STRING, value)
    if type(value) is not dict:
        raise LineError(f"a header value must be a string or an object with 'kind', got {_type_name(value)}", key)
    if "kind" not in value:
        raise LineError("a header value object needs 'kind'", key)
    try:
        kind = HeaderKind(value["kind"])
    except ValueError:
        raise LineError(f"unknown header kind {value['kind']!r} (one of: {_KINDS})", key) from None
    field = "base64" if kind is HeaderKind.RAW else "value"
    if value.keys() != {"kind", field}:
        extra = sorted(set(value) - {"kind", field})
        if extra:
            raise LineError(f"unexpected key '{extra[0]}' in a {kind.value} header value "
                            f"(expected {{\"kind\": \"{kind.value}\", \"{field}\": ...}})", key)
        raise LineError(f"a {kind.value} header value needs '{field}'", key)
    raw = value[field]
    if kind is HeaderKind.RAW:
        data = _b64(raw, key)
        _check_bytes_len(data, key, "a raw header value")
        return HeaderValue(kind, data)
    if kind is HeaderKind.STRING:
        if type(raw) is not str:
            raise LineError(f"a string header value must be a string, got {_type_name(raw)}", key)
        _check_bytes_len(raw.encode(), key, "a string header value")
        return HeaderValue(kind, raw)
    if kind is HeaderKind.BOOL:
        if type(raw) is not bool:
            raise LineError(f"a bool header value must be true or false, got {_type_name(raw)}", key)
        return HeaderValue(kind, raw)
    if kind in INT_RANGES:
        return HeaderValue(kind, _int_value(kind, raw, key))
    return HeaderValue(kind, _float_value(kind, raw, key))


def _int_value(kind: HeaderKind, raw: Any, key: str) -> int:
    if type(raw) is str and _DECIMAL.fullmatch(raw):
        number = int(raw)
    elif type(raw) is int:
        number = raw
    else:
        hint = " (write values beyond 64 bits as decimal strings)" if type(raw) is float else ""
        raise LineError(f"an {kind.value} header value must be an integer or a decimal string, "
                        f"got {_type_name(raw)}{hint}", key)
    low, high = INT_RANGES[kind]
    if not low <= number <= high:
        raise LineError(f"{number} is out of range for {kind.value} ({low}..{high})", key)
    return number


def _float_value(kind: HeaderKind, raw: Any, key: str) -> float:
    if type(raw) is str and raw.lower() in _FLOAT_WORDS:
        number = _FLOAT_WORDS[raw.lower()]
    elif type(raw) in (int, float):
        number = float(raw)
    else:
        raise LineError(f"a {kind.value} header value must be a number or \"NaN\", \"inf\", \"-inf\", "
                        f"got {_type_name(raw)}", key)
    if kind is HeaderKind.FLOAT32:
        if math.isfinite(number) and abs(number) > _FLOAT32_MAX:
            raise LineError(f"{number!r} is out of range for float32", key)
        number = struct.unpack("<f", struct.pack("<f", number))[0]
    return number


class LineDecoder:
    """Decodes message lines against a header, remembering each topic's schema.

    The same `SourceTopic` object is returned for every line of a topic, so
    consumers can group by identity cheaply.
    """

    __slots__ = ("header", "_default", "_topics", "_values")

    def __init__(self, header: StreamHeader) -> None:
        self.header = header
        self._default = header.default_topic
        self._topics: dict[tuple[str, str], SourceTopic] = {(header.stream, header.topic): self._default}
        # Header values repeat from line to line and HeaderValue (frozen) is costly to build;
        # immutable, so one instance can serve every line that has the same value.
        self._values: dict[Any, HeaderValue] = {}

    @property
    def topics(self) -> list[SourceTopic]:
        """Every topic seen so far, in order of first appearance."""
        return list(self._topics.values())

    def _headers(self, headers: Any) -> dict[str, HeaderValue]:
        if type(headers) is not dict:
            raise LineError(f"must be an object of header name → value, got {_type_name(headers)}", "headers")
        cache = self._values
        out: dict[str, HeaderValue] = {}
        for name, value in headers.items():
            if not name or len(name) > 63:  # only long names can exceed 255 UTF-8 bytes
                _check_bytes_len(name.encode(), f"headers.{name}", "a header name")
            if type(value) is dict:
                raw = value.get("value", value.get("base64"))
                if type(raw) is float:  # -0.0 == 0.0 and NaN != NaN: floats are not cached
                    out[name] = decode_header_value(value, f"headers.{name}")
                    continue
                # The type is part of the key: True == 1 must not share an entry.
                key: Any = (value.get("kind"), type(raw), raw, len(value))
            else:
                key = value
            try:
                decoded = cache.get(key)
            except TypeError:  # an unhashable value (a list): let the decoder say what is wrong
                decoded = None
            if decoded is None:
                decoded = decode_header_value(value, f"headers.{name}")
                if len(cache) >= _VALUE_CACHE_SIZE:
                    cache.clear()
                cache[key] = decoded
            out[name] = decoded
        return out

    def _topic(self, obj: dict[str, Any]) -> SourceTopic:
        header = self.header
        stream = _name(obj, "stream") if "stream" in obj else header.stream
        topic = _name(obj, "topic") if "topic" in obj else header.topic
        known = self._topics.get((stream, topic))
        if "schema" in obj:
            schema = _schema(obj["schema"])
        elif known is not None:
            schema = known.schema
        else:
            schema = header.schema
        if known is None:
            known = self._topics[(stream, topic)] = SourceTopic(stream, topic, schema)
        elif known.schema is not schema:
            raise LineError(f"topic {stream}/{topic} was {known.schema.value} earlier in the file; "
                            f"a topic has one schema", "schema")
        return known

    def decode(self, obj: Any) -> tuple[SourceTopic, Message]:
        """One message line, already parsed from JSON.

        This is the reader's hot loop (millions of lines): the common case is
        checked with as few operations as possible and the slow paths only
        run to say what is wrong.
        """
        if type(obj) is not dict:
            raise LineError(f"a message line must be a JSON object, got {_type_name(obj)}")
        if not _LINE_KEYS_SUPERSET(obj):
            if "sinkbench_stream" in obj:
                raise LineError("a second header line; only the first line may be a header", "sinkbench_stream")
            raise _unknown_keys(obj, LINE_KEYS, "a message line")
        topic = self._topic(obj) if ("stream" in obj or "topic" in obj or "schema" in obj) else self._default

        get = obj.get
        offset = get("offset", _MISSING)
        timestamp = get("timestamp", _MISSING)
        partition = get("partition", 0)
        origin = get("origin_timestamp", timestamp)
        checksum = get("checksum", 0)
        if not (type(offset) is int and type(timestamp) is int and type(partition) is int
                and type(origin) is int and type(checksum) is int
                and 0 <= offset <= U64_MAX and 0 <= timestamp <= U64_MAX and 0 <= partition <= U32_MAX
                and 0 <= origin <= U64_MAX and 0 <= checksum <= U64_MAX):
            for key, value, maximum in (("offset", offset, U64_MAX), ("timestamp", timestamp, U64_MAX),
                                        ("partition", partition, U32_MAX), ("origin_timestamp", origin, U64_MAX),
                                        ("checksum", checksum, U64_MAX)):
                if type(value) is not int or not 0 <= value <= maximum:
                    raise _bad_uint(key, value, maximum)
        raw_id = get("id")
        if raw_id is None:
            message_id = default_message_id(topic.stream, topic.topic, partition, offset)
        else:
            message_id = _parse_id(raw_id)
        headers = get("headers")
        if headers is not None:
            headers = self._headers(headers)
        payload = get("payload", _MISSING)
        if topic.schema is not Schema.JSON or payload is _MISSING or "payload_encoding" in obj:
            payload = _decode_payload(topic.schema, payload, get("payload_encoding"))
        return topic, Message(message_id, offset, timestamp, payload, origin, checksum, headers, partition)


def _parse_id(raw: Any) -> int:
    # bytes.fromhex skips whitespace, so 32 characters that give 16 bytes are exactly 32 hex digits.
    if type(raw) is str and len(raw) == 32:
        try:
            data = bytes.fromhex(raw)
        except ValueError:
            data = b""
        if len(data) == 16:
            return int.from_bytes(data, "big")
    shown = repr(raw) if type(raw) is str else _type_name(raw)
    raise LineError(f'must be 32 hex digits (a u128, e.g. "0000000000000000000000000000002a"), got {shown}', "id")


def _decode_payload(schema: Schema, payload: Any, encoding: Any) -> Any:
    if payload is _MISSING:
        raise LineError("required key is missing", "payload")
    if schema is Schema.JSON or schema is Schema.TEXT:
        if encoding is not None:
            raise LineError(f"only bytes schemas (raw, proto, flatbuffer, avro) take a payload_encoding; "
                            f"this topic is {schema.value}", "payload_encoding")
        if schema is Schema.TEXT and type(payload) is not str:
            raise LineError(f"a text payload must be a string, got {_type_name(payload)}", "payload")
        return payload
    if encoding != "base64":
        if encoding is None:
            raise LineError(f'a {schema.value} payload is bytes: write it as base64 with "payload_encoding": "base64"',
                            "payload_encoding")
        raise LineError(f"unsupported payload_encoding {encoding!r} (only \"base64\")", "payload_encoding")
    return _b64(payload, "payload")


# ---------------------------------------------------------------- encoding


def encode_header(header: StreamHeader) -> bytes:
    obj: dict[str, Any] = {"sinkbench_stream": FORMAT_VERSION, "stream": header.stream,
                           "topic": header.topic, "schema": header.schema.value}
    if header.recorded_at is not None:
        obj["recorded_at"] = header.recorded_at
    if header.source is not None:
        obj["source"] = header.source
    return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)


def encode_header_value(value: HeaderValue) -> Any:
    """The JSON form of a header value (validated: what is written must read back)."""
    kind, raw = value.kind, value.value
    if kind is HeaderKind.STRING:
        out: Any = raw
    elif kind is HeaderKind.RAW:
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise LineError(f"a raw header value must be bytes, got {type(raw).__name__}")
        out = {"kind": "raw", "base64": base64.b64encode(raw).decode("ascii")}
    elif kind in (HeaderKind.INT128, HeaderKind.UINT128):
        out = {"kind": kind.value, "value": str(raw) if type(raw) is int else raw}
    elif kind in (HeaderKind.FLOAT32, HeaderKind.FLOAT64) and isinstance(raw, float) and not math.isfinite(raw):
        out = {"kind": kind.value, "value": "NaN" if math.isnan(raw) else ("inf" if raw > 0 else "-inf")}
    else:
        out = {"kind": kind.value, "value": raw}
    checked = decode_header_value(out, "headers")
    if kind is HeaderKind.FLOAT32 and not (checked.value == raw or (math.isnan(raw) and math.isnan(checked.value))):
        raise LineError(f"float32 header value {raw!r} is not a float32 (nearest: {checked.value!r})")
    return out


def _encode_headers(headers: Mapping[str, HeaderValue], cache: dict[Any, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in headers.items():
        if type(name) is not str:
            raise LineError(f"header names must be strings, got {name!r}", "headers")
        if not name or len(name) > 63:  # only long names can exceed 255 UTF-8 bytes
            _check_bytes_len(name.encode("utf-8", "surrogatepass"), f"headers.{name}", "a header name")
        raw = value.value
        # Floats are not cached: -0.0 == 0.0 and NaN != NaN.
        if cache is None or type(raw) is float:
            out[name] = encode_header_value(value)
            continue
        key = (value.kind, type(raw), raw)  # the type too: True == 1 must not share an entry
        try:
            encoded = cache.get(key, _MISSING)
        except TypeError:  # an unhashable value: encode_header_value says what is wrong
            encoded = _MISSING
        if encoded is _MISSING:
            encoded = encode_header_value(value)
            if len(cache) >= _VALUE_CACHE_SIZE:
                cache.clear()
            cache[key] = encoded
        out[name] = encoded
    return out


def encode_line(header: StreamHeader, topic: SourceTopic, message: Message,
                header_cache: dict[Any, Any] | None = None) -> bytes:
    """One message line, newline-terminated. Key order is fixed so output is byte-stable.

    Raises `LineError` for a message that could not be read back (a value out
    of range, a payload of the wrong type for its schema, a JSON payload orjson
    cannot encode: integers beyond 64 bits, non-string keys, lone surrogates).
    NaN and ±Infinity inside a JSON payload are written as null, as the sink
    itself would send them. `header_cache` (owned by one writer) saves
    re-validating header values that repeat from message to message.
    """
    obj: dict[str, Any] = {}
    if topic.stream != header.stream:
        obj["stream"] = topic.stream
    if topic.topic != header.topic:
        obj["topic"] = topic.topic
    if topic.schema != header.schema:
        obj["schema"] = topic.schema.value
    partition, offset, message_id = message.partition, message.offset, message.id
    timestamp, origin, checksum = message.timestamp, message.origin_timestamp, message.checksum
    if not (type(partition) is int and type(offset) is int and type(message_id) is int and type(timestamp) is int
            and type(origin) is int and type(checksum) is int
            and 0 <= partition <= U32_MAX and 0 <= offset <= U64_MAX and 0 <= message_id <= U128_MAX
            and 0 <= timestamp <= U64_MAX and 0 <= origin <= U64_MAX and 0 <= checksum <= U64_MAX):
        for name, value, maximum in (("partition", partition, U32_MAX), ("offset", offset, U64_MAX),
                                     ("id", message_id, U128_MAX), ("timestamp", timestamp, U64_MAX),
                                     ("origin_timestamp", origin, U64_MAX), ("checksum", checksum, U64_MAX)):
            if type(value) is not int or not 0 <= value <= maximum:
                raise LineError(f"message {name} must be an integer in 0..{maximum}, got {value!r}", name)
    obj["partition"] = partition
    obj["offset"] = offset
    obj["id"] = f"{message_id:032x}"  # as model.format_id, inlined: this runs once per line
    obj["timestamp"] = timestamp
    obj["origin_timestamp"] = origin
    obj["checksum"] = checksum
    if message.headers is not None:
        obj["headers"] = _encode_headers(message.headers, header_cache)
    payload = message.payload
    if topic.schema.is_bytes:
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise LineError(f"a {topic.schema.value} payload must be bytes, got {type(payload).__name__}", "payload")
        obj["payload"] = base64.b64encode(payload).decode("ascii")
        obj["payload_encoding"] = "base64"
    elif topic.schema is Schema.TEXT and type(payload) is not str:
        raise LineError(f"a text payload must be a str, got {type(payload).__name__}", "payload")
    else:
        obj["payload"] = payload
    try:
        return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError as exc:
        raise LineError(f"cannot encode message at offset {offset}: {exc}", "payload") from None
