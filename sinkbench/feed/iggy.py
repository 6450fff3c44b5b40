"""Producing a stream's messages into a live Iggy server, as a real sink's feed (docs/fidelity.md).

The opposite direction of `sinkbench.sources.iggy`: each message of a stream
(synthetic, recorded) is sent to its stream, topic and partition with the
apache-iggy SDK, keeping its id, user headers (with their kinds) and payload
bytes. The server assigns offsets and timestamps; an origin timestamp cannot
be set through the Python SDK (its `SendMessage` takes data, headers and id).

Facts measured against iggy-server 0.9.0-edge.5 with apache-iggy 0.9.0 (the
`real_iggy` tests):
- partitions are numbered from 0;
- `send_messages(stream, topic, partition_id, [...])` keeps the ids given;
- the SDK's `create_topic` is refused by that server ("Unsupported option
  key: "): the 0.9.0 SDK sends topic options the newer server does not know.
  Streams (`create_stream`) work; topics are created by the server's REST API
  or an administrator.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from sinkbench.model import HeaderKind, HeaderValue, Message, Schema

# sinkbench's header kind → the SDK's class name (apache_iggy.HeaderValue.<name>).
_SDK_NAMES: dict[HeaderKind, str] = {
    HeaderKind.RAW: "Raw", HeaderKind.STRING: "String", HeaderKind.BOOL: "Bool",
    HeaderKind.INT8: "Int8", HeaderKind.INT16: "Int16", HeaderKind.INT32: "Int32", HeaderKind.INT64: "Int64",
    HeaderKind.INT128: "Int128", HeaderKind.UINT8: "UnsignedInt8", HeaderKind.UINT16: "UnsignedInt16",
    HeaderKind.UINT32: "UnsignedInt32", HeaderKind.UINT64: "UnsignedInt64", HeaderKind.UINT128: "UnsignedInt128",
    HeaderKind.FLOAT32: "Float32", HeaderKind.FLOAT64: "Float64",
}


def payload_bytes(payload: Any, schema: Schema) -> bytes:
    """The bytes a producer sends for a model payload: compact JSON, UTF-8 text, or the bytes as they are."""
    if schema is Schema.JSON:
        return orjson.dumps(payload)
    if schema is Schema.TEXT:
        return payload.encode("utf-8")
    return bytes(payload)


def sdk_header(value: HeaderValue, sdk: Any) -> Any:
    """A model header value as the SDK's typed `HeaderValue`."""
    return getattr(sdk.HeaderValue, _SDK_NAMES[value.kind])(value.value)


def send_message(message: Message, schema: Schema, sdk: Any) -> Any:
    """One model message as an SDK `SendMessage` (id, headers with their kinds, payload bytes)."""
    headers = None
    if message.headers:
        headers = {sdk.HeaderKey.String(key): sdk_header(value, sdk) for key, value in message.headers.items()}
    return sdk.SendMessage(payload_bytes(message.payload, schema), user_headers=headers, id=message.id)


async def produce(client: Any, stream: str, topic: str, partition: int, messages: Iterable[Message],
                  schema: Schema, *, batch: int = 1000, sdk: Any = None) -> int:
    """Send `messages` to one partition in batches of `batch`; returns how many were sent."""
    if sdk is None:
        import apache_iggy as sdk
    sent = 0
    chunk: list[Any] = []
    for message in messages:
        chunk.append(send_message(message, schema, sdk))
        if len(chunk) >= batch:
            await client.send_messages(stream, topic, partition, chunk)
            sent += len(chunk)
            chunk = []
    if chunk:
        await client.send_messages(stream, topic, partition, chunk)
        sent += len(chunk)
    return sent
