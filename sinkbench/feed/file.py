"""`[feed] kind = "file"`: one line per message appended to a file the sink follows (docs/external.md).

The file is emptied when the run starts, so a follower (a log shipper tailing
it) sees only this run's lines; each group of lines that fall due together is
written and flushed before the run counts them as fed, so a fed message is in
the file for any reader.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO

from sinkbench.errors import BenchError
from sinkbench.feed.base import Fed
from sinkbench.feed.line import LineFormat
from sinkbench.sources.base import SourceMessage, SourceTopic


class FileFeed:
    needs_stdin = False

    def __init__(self, path: Path, fmt: str = "payload") -> None:
        self.path = path
        self._format = LineFormat(fmt)
        self._file: IO[bytes] | None = None

    @property
    def description(self) -> str:
        return f"lines ({self._format.fmt}) appended to {self.path}"

    async def open(self, topics: Sequence[SourceTopic] = ()) -> None:
        try:
            self._file = open(self.path, "wb")
        except OSError as exc:
            raise BenchError(f"[feed] path {self.path}: cannot write: {exc.strerror or exc}") from None

    def attach(self, process: object) -> None:
        """The sink's process (unused: the sink reads the file by itself)."""

    async def send(self, items: Sequence[SourceMessage]) -> list[Fed]:
        """Append one line per message and flush; returns each line (without its newline)."""
        assert self._file is not None, "open() first"
        lines = [self._format.line(item) for item in items]
        self._file.write(b"".join(line + b"\n" for line in lines))
        self._file.flush()
        return [Fed(line) for line in lines]

    async def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
