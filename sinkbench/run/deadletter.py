"""The dead-letter file: every message the sink finally failed or skipped, as recorded-stream lines (docs/streams.md).

Each line carries why in a header, `sinkbench-dead-letter-reason` (as Kafka
Connect's dead-letter queue does), so the file stays a stream that replays
as it is while saying what happened to each message: "HTTP 503 …",
"payload at offset 7 exceeds max size …".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sinkbench.model import BatchMetadata, HeaderValue, Message, TopicMetadata
from sinkbench.sources.base import SourceTopic
from sinkbench.sources.recorded import StreamWriter

REASON_HEADER = "sinkbench-dead-letter-reason"
MAX_HEADER_BYTES = 255     # an Iggy header value holds at most 255 bytes


def reason_value(reason: str) -> HeaderValue:
    """The reason as a header value: cut to 255 bytes on a character boundary, never empty."""
    data = (reason.strip() or "no reason given").encode()[:MAX_HEADER_BYTES]
    return HeaderValue.string(data.decode("utf-8", errors="ignore"))


def with_reason(message: Message, reason: str) -> Message:
    headers = dict(message.headers or {})
    headers[REASON_HEADER] = reason_value(reason)
    return dataclasses.replace(message, headers=headers)


class DeadLetterFile:
    """Opened on the first failure and appended to, so a run without failures leaves no file.

    The path was checked when the settings were read (its folder exists and can be written).
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._writer: StreamWriter | None = None
        self.written = 0

    def __call__(self, topic: TopicMetadata, meta: BatchMetadata, messages: Sequence[Message],
                 reasons: Sequence[str]) -> None:
        st = SourceTopic(topic.stream, topic.topic, meta.schema)
        if self._writer is None:
            import os
            self._writer = StreamWriter(self.path, stream=topic.stream, topic=topic.topic, schema=meta.schema,
                                        source="sinkbench dead letters", append=os.path.exists(self.path))
            self._writer.__enter__()
        for m, reason in zip(messages, reasons, strict=True):
            self._writer.write(st, with_reason(m, reason))
            self.written += 1
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
