"""What every feed of an external sink does, and what it says about each message it fed.

A feed is opened before the sink's command starts (a file is emptied, a
connection to Iggy made and the stream's topics checked or created, so a sink
that subscribes at start finds them), given the command's process
once it runs (`attach`: the stdin feed writes to it), handed the messages
that fall due together (`send`) and closed at the end (the stdin feed's EOF).
`send` answers, per message in order, what the sink will read: the bytes
(the line, or the payload produced into Iggy) and, for Iggy, the address the
server gave it — what the endpoint will know the message by.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sinkbench.sources.base import SourceMessage, SourceTopic

Address = tuple[str, str, int, int]     # stream, topic, partition, offset (as the Iggy server assigned it)


@dataclass(frozen=True, slots=True)
class Fed:
    data: bytes                          # the line (without its newline), or the payload's bytes
    address: Address | None = None       # the Iggy feed's


class Feed(Protocol):
    needs_stdin: bool

    @property
    def description(self) -> str: ...

    async def open(self, topics: Sequence[SourceTopic]) -> None: ...

    def attach(self, process: Any) -> None: ...

    async def send(self, items: Sequence[SourceMessage]) -> list[Fed]: ...

    async def close(self) -> None: ...
