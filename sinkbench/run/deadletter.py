"""The dead-letter file: every message whose delivery finally failed, as recorded-stream lines (§5)."""

from __future__ import annotations

from collections.abc import Sequence

from sinkbench.model import BatchMetadata, Message, TopicMetadata
from sinkbench.sources.base import SourceTopic
from sinkbench.sources.recorded import StreamWriter


class DeadLetterFile:
    """Opened on the first failure and appended to, so a run without failures leaves no file."""

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
        for m in messages:
            self._writer.write(st, m)
            self.written += 1
        self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
