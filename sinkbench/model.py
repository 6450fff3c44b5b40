"""The message model: what the Iggy connectors runtime hands a sink (docs/streams.md, docs/sink.md)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Schema(StrEnum):
    JSON = "json"
    TEXT = "text"
    RAW = "raw"
    PROTO = "proto"
    FLATBUFFER = "flatbuffer"
    AVRO = "avro"

    @property
    def is_bytes(self) -> bool:
        return self not in (Schema.JSON, Schema.TEXT)


class HeaderKind(StrEnum):
    RAW = "raw"
    STRING = "string"
    BOOL = "bool"
    INT8 = "int8"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    INT128 = "int128"
    UINT8 = "uint8"
    UINT16 = "uint16"
    UINT32 = "uint32"
    UINT64 = "uint64"
    UINT128 = "uint128"
    FLOAT32 = "float32"
    FLOAT64 = "float64"


INT_RANGES: dict[HeaderKind, tuple[int, int]] = {
    HeaderKind.INT8: (-(2**7), 2**7 - 1),
    HeaderKind.INT16: (-(2**15), 2**15 - 1),
    HeaderKind.INT32: (-(2**31), 2**31 - 1),
    HeaderKind.INT64: (-(2**63), 2**63 - 1),
    HeaderKind.INT128: (-(2**127), 2**127 - 1),
    HeaderKind.UINT8: (0, 2**8 - 1),
    HeaderKind.UINT16: (0, 2**16 - 1),
    HeaderKind.UINT32: (0, 2**32 - 1),
    HeaderKind.UINT64: (0, 2**64 - 1),
    HeaderKind.UINT128: (0, 2**128 - 1),
}

U64_MAX = 2**64 - 1
U128_MAX = 2**128 - 1


@dataclass(frozen=True, slots=True)
class HeaderValue:
    """One user header value with its Iggy kind.

    `value` is `bytes` for RAW, `str` for STRING, `bool` for BOOL, `int` for
    the integer kinds and `float` for the float kinds.
    """

    kind: HeaderKind
    value: str | bool | int | float | bytes

    @classmethod
    def string(cls, value: str) -> HeaderValue:
        return cls(HeaderKind.STRING, value)


@dataclass(slots=True)
class Message:
    """A consumed message. `payload` is a JSON value (json), str (text) or bytes."""

    id: int
    offset: int
    timestamp: int
    payload: Any
    origin_timestamp: int = 0
    checksum: int = 0
    headers: Mapping[str, HeaderValue] | None = None
    partition: int = 0


@dataclass(frozen=True, slots=True)
class TopicMetadata:
    stream: str
    topic: str


@dataclass(frozen=True, slots=True)
class BatchMetadata:
    partition_id: int
    current_offset: int
    schema: Schema = Schema.JSON


@dataclass(slots=True)
class Batch:
    """What one poll hands the sink: messages of one topic with their metadata."""

    topic: TopicMetadata
    meta: BatchMetadata
    messages: list[Message] = field(default_factory=list)


def default_message_id(stream: str, topic: str, partition: int, offset: int) -> int:
    """The id a recorded line without one gets: first 16 bytes of SHA-256, big-endian (docs/streams.md)."""
    digest = hashlib.sha256(f"{stream}/{topic}/{partition}/{offset}".encode()).digest()
    return int.from_bytes(digest[:16], "big")


def format_id(message_id: int) -> str:
    """The id as Iggy writes it: 32 lowercase hex digits, zero-padded, no dashes."""
    return f"{message_id:032x}"
