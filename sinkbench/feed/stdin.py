"""`[feed] kind = "stdin"`: one line per message on the sink command's standard input (docs/external.md).

A message counts as fed once its line is in the pipe (`drain()` returned); a
sink that reads slowly makes the feed wait, as a full pipe would make any
producer wait. `close()` closes the pipe: the sink reads end of file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sinkbench.feed.base import Fed
from sinkbench.feed.line import LineFormat
from sinkbench.sources.base import SourceMessage, SourceTopic

CLOSE_WAIT = 2.0   # seconds the sink gets to read what is left in the pipe at the end


class SinkGone(Exception):
    """The sink's standard input is closed: it exited, or closed it."""


class StdinFeed:
    needs_stdin = True

    def __init__(self, fmt: str = "payload") -> None:
        self._format = LineFormat(fmt)
        self._writer: asyncio.StreamWriter | None = None

    @property
    def description(self) -> str:
        return f"lines ({self._format.fmt}) on the command's standard input"

    async def open(self, topics: Sequence[SourceTopic] = ()) -> None:
        return None

    def attach(self, process: asyncio.subprocess.Process) -> None:
        """The sink's process, whose standard input the lines go to."""
        self._writer = process.stdin

    async def send(self, items: Sequence[SourceMessage]) -> list[Fed]:
        if self._writer is None:
            raise SinkGone("the sink's command was not started")
        lines = [self._format.line(item) for item in items]
        try:
            self._writer.write(b"".join(line + b"\n" for line in lines))
            await self._writer.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise SinkGone(f"the sink's standard input is closed ({exc.__class__.__name__})") from None
        return [Fed(line) for line in lines]

    async def close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        try:
            writer.close()
            # Lines still buffered are flushed first; a sink that stopped reading would keep that waiting.
            await asyncio.wait_for(writer.wait_closed(), CLOSE_WAIT)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except TimeoutError:
            writer.transport.abort()
