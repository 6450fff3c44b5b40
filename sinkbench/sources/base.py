"""What every message source hands the runtime (docs/streams.md, docs/scenario.md).

A source is any object with a `name`, an `__iter__` that lazily yields
`SourceMessage`s in due order, and `topics()`. It is a Protocol rather than a
base class so the synthetic, recorded and (later) live Iggy sources share no
code they do not need, and tests can pass a plain list wrapper.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sinkbench.model import Message, Schema, TopicMetadata


@dataclass(frozen=True, slots=True)
class SourceTopic:
    """One topic a source feeds; the runtime runs one consumer per topic."""

    stream: str
    topic: str
    schema: Schema

    @property
    def metadata(self) -> TopicMetadata:
        return TopicMetadata(self.stream, self.topic)


@dataclass(slots=True)
class SourceMessage:
    """A message with its topic and the time it becomes available to a poll.

    `due` is seconds after the run's start (0.0 = at once). `message.partition`
    is set; the runtime groups by (topic, partition) when it builds batches.
    """

    topic: SourceTopic
    message: Message
    due: float = 0.0


@runtime_checkable
class Source(Protocol):
    name: str
    """A short description for reports and the screen."""

    def __iter__(self) -> Iterator[SourceMessage]:
        """Messages in due order, produced lazily (a source may be huge).

        Iterating again starts again from the first message.
        """
        ...

    def topics(self) -> list[SourceTopic]:
        """The topics known up front. A recorded stream knows only its header's
        topic before it is read; lines may add more, which then appear in the
        `SourceMessage`s themselves."""
        ...
