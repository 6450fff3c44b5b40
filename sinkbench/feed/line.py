"""One message as one line, for the feeds that write lines (`file`, `stdin`; docs/external.md).

`format = "payload"`: the payload itself — a JSON payload as compact JSON, a
text payload as it is, a bytes payload (raw, proto, ...) as base64 — so a log
shipper reads it as any log line. `format = "jsonl"`: the stream line of
docs/streams.md, self-contained (it names its stream and topic), for a sink
that wants the message's id, offset, headers and timestamps too.
"""

from __future__ import annotations

import base64

import orjson

from sinkbench.errors import InputError, Where
from sinkbench.model import Schema
from sinkbench.sources.base import SourceMessage
from sinkbench.sources.lines import LineError, StreamHeader, encode_line

FORMATS = ("payload", "jsonl")
# A header no message matches, so every line names its stream and topic (a line read alone is complete).
_NO_HEADER = StreamHeader(stream="", topic="", schema=Schema.JSON)


class LineFormat:
    """Turns a stream's messages into lines (without their newline)."""

    def __init__(self, fmt: str) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown line format {fmt!r}")
        self.fmt = fmt
        self._cache: dict = {}

    def line(self, item: SourceMessage) -> bytes:
        """The line for `item`; InputError naming `[feed] format` when the message cannot be one line."""
        message, topic = item.message, item.topic
        if self.fmt == "jsonl":
            try:
                return encode_line(_NO_HEADER, topic, message, self._cache)[:-1]
            except LineError as exc:
                raise InputError(f"message at offset {message.offset} of {topic.stream}/{topic.topic} cannot be "
                                 f"written as a stream line: {exc}", Where(key="feed.format")) from None
        payload = message.payload
        if topic.schema is Schema.JSON:
            try:
                return orjson.dumps(payload)
            except orjson.JSONEncodeError as exc:
                raise InputError(f"message at offset {message.offset}: its JSON payload cannot be encoded: {exc}",
                                 Where(key="feed.format")) from None
        if topic.schema is Schema.TEXT:
            data = payload.encode("utf-8")
            if b"\n" in data or b"\r" in data:
                raise InputError(f"message at offset {message.offset} of {topic.stream}/{topic.topic}: a text payload "
                                 "holding a line break cannot be fed as one line; use format = \"jsonl\"",
                                 Where(key="feed.format"))
            return data
        return base64.b64encode(bytes(payload))
