"""Recorded streams (docs/streams.md): `.jsonl` and `.jsonl.gz` files, read and written streaming.

Reading never loads a file whole: lines are parsed one at a time (orjson) and
messages are yielded as they are decoded, so a 10-million-line file costs the
memory of one line. Gzip is recognised by its magic bytes (whatever the name).

Every problem is an `InputError` naming the file, the 1-based line and the
field; decompression and decoding errors (truncated gzip, corrupt data,
non-UTF-8 bytes, invalid JSON) are translated, never left as tracebacks.

Writing (`StreamWriter`) buffers complete lines and writes them to the file in
one call per flush; for gzip each flush is a complete gzip member (a file of
several members is valid gzip). So a writer that is interrupted — killed,
crashed, never closed — leaves a file that reads cleanly up to the last line
it flushed; only a kill in the middle of the write call itself can leave a
partial tail. The same property makes appending to a `.gz` file safe.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import orjson

from sinkbench.errors import InputError, Where
from sinkbench.model import Message, Schema
from sinkbench.sources.base import SourceMessage, SourceTopic
from sinkbench.sources.lines import (
    LineDecoder,
    LineError,
    StreamHeader,
    encode_header,
    encode_line,
    parse_header,
)

Speed = Literal["max", "realtime"] | float

GZIP_MAGIC = b"\x1f\x8b"
_READ_BUFFER = 1 << 20
_GZIP_CHUNK = 1 << 16
_BOM = b"\xef\xbb\xbf"
# What a damaged gzip stream raises while being read.
_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def speed_factor(speed: Speed, *, where_file: str | None = None) -> float | None:
    """None for "max" (everything due at once), else the replay speed-up (1.0 = as recorded)."""
    if speed == "max":
        return None
    if speed == "realtime":
        return 1.0
    if isinstance(speed, (int, float)) and not isinstance(speed, bool) and math.isfinite(speed) and speed > 0:
        return float(speed)
    raise InputError(f'speed must be "max", "realtime" or a positive number (times the recorded pace), got {speed!r}',
                     Where(file=where_file, key="source.speed"))


# ---------------------------------------------------------------- files


def _open_lines(path: Path, display: str, stack: ExitStack) -> Iterator[bytes]:
    """The file's lines (newline included, except perhaps on the last), gzip or plain."""
    try:
        raw = stack.enter_context(open(path, "rb", buffering=_READ_BUFFER))
    except FileNotFoundError:
        raise InputError("no such file", Where(file=display)) from None
    except IsADirectoryError:
        raise InputError("is a directory, not a stream file", Where(file=display)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", Where(file=display)) from None
    magic = raw.peek(2)[:2]
    if magic == GZIP_MAGIC:
        # GzipFile does not close a file object it was given; the stack does.
        return _gzip_lines(stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb")))
    if magic and display.endswith(".gz"):
        raise InputError("named .gz but is not gzip data", Where(file=display, line=1))
    return iter(raw)


def _gzip_lines(gz: gzip.GzipFile) -> Iterator[bytes]:
    """Lines of gzip data, each yielded as soon as it has been decompressed.

    `read1` returns what one step of decompression produced, so when the data
    turns out truncated or corrupt (EOFError, zlib.error, BadGzipFile) every
    complete line before the damage has already been yielded — a buffered
    `readline` would drop up to a buffer's worth of them. Splitting whole
    chunks in C is also faster than GzipFile's own line iteration.
    """
    pending = b""
    while data := gz.read1(_GZIP_CHUNK):
        pieces = (pending + data if pending else data).split(b"\n")
        pending = pieces.pop()
        for piece in pieces:
            yield piece + b"\n"
    if pending:
        yield pending


def _first_line(lines: Iterator[bytes], display: str) -> bytes:
    try:
        first = next(lines, b"")
    except _GZIP_ERRORS as exc:
        raise InputError(f"gzip data is truncated or corrupt before the first line ends ({exc})",
                         Where(file=display, line=1)) from None
    if not first:
        raise InputError('empty file: the first line must be the header {"sinkbench_stream": 1, ...}',
                         Where(file=display, line=1))
    return first[3:] if first.startswith(_BOM) else first


def _json_error(raw: bytes, exc: Exception, last_line: bool) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return f"not valid UTF-8: byte 0x{raw[bad.start]:02x} at column {bad.start + 1}"
    if last_line and not text.endswith("\n"):
        return f"invalid JSON ({exc}); the file ends in the middle of this line — was its writer interrupted?"
    return f"invalid JSON ({exc})"


def _header(first: bytes, display: str) -> StreamHeader:
    try:
        return parse_header(orjson.loads(first))
    except orjson.JSONDecodeError as exc:
        raise InputError(_json_error(first, exc, False), Where(file=display, line=1)) from None
    except LineError as exc:
        raise InputError(exc.message, Where(file=display, line=1, key=exc.key)) from None


def read_header(path: str | os.PathLike[str]) -> StreamHeader:
    """The header of a stream file (the first line only)."""
    display = os.fspath(path)
    with ExitStack() as stack:
        return _header(_first_line(_open_lines(Path(path), display, stack), display), display)


class _Errors:
    """Collects the first `limit` errors of a validation pass and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.shown: list[InputError] = []
        self.hidden = 0

    def add(self, error: InputError) -> None:
        if len(self.shown) < self.limit:
            self.shown.append(error)
        else:
            self.hidden += 1


def _scan(path: Path, display: str, factor: float | None, errors: _Errors | None) -> Iterator[SourceMessage]:
    """The messages of a file in line order, with their due times.

    With `errors` None the first problem raises; otherwise problems are
    collected and bad lines skipped (for `validate`). A bad header or damaged
    gzip data stops the scan either way: nothing after it can be trusted.
    """
    with ExitStack() as stack:
        lines = _open_lines(path, display, stack)
        try:
            decoder = LineDecoder(_header(_first_line(lines, display), display))
        except InputError as exc:
            if errors is None:
                raise
            errors.add(exc)
            return
        loads, decode = orjson.loads, decoder.decode
        scale = None if factor is None else 1e6 * factor
        first_ts: int | None = None
        last_due = 0.0
        lineno = 1
        try:
            for raw in lines:
                lineno += 1
                try:
                    topic, message = decode(loads(raw))
                except orjson.JSONDecodeError as exc:
                    if not raw.strip():
                        continue  # blank lines are harmless (a trailing one is common)
                    error = InputError(_json_error(raw, exc, not raw.endswith(b"\n")), Where(file=display, line=lineno))
                    if errors is None:
                        raise error from None
                    errors.add(error)
                    continue
                except LineError as exc:
                    error = InputError(exc.message, Where(file=display, line=lineno, key=exc.key))
                    if errors is None:
                        raise error from None
                    errors.add(error)
                    continue
                if scale is None:
                    due = 0.0
                else:
                    if first_ts is None:
                        first_ts = message.timestamp
                    # Out-of-order timestamps (interleaved partitions) never make time run backwards.
                    due = (message.timestamp - first_ts) / scale
                    if due < last_due:
                        due = last_due
                    last_due = due
                yield SourceMessage(topic, message, due)
        except _GZIP_ERRORS as exc:
            error = InputError(f"gzip data is truncated or corrupt after line {lineno}, the last complete line ({exc})",
                               Where(file=display, line=lineno + 1))
            if errors is None:
                raise error from None
            errors.add(error)


class RecordedSource:
    """A stream file replayed at a speed. Iterating re-reads the file from the start."""

    def __init__(self, path: Path, header: StreamHeader, speed: Speed, factor: float | None) -> None:
        self.path = path
        self.header = header
        self.speed = speed
        self._factor = factor
        pace = "at full speed" if factor is None else "in real time" if factor == 1.0 else f"at {factor:g}× speed"
        self.name = f"recorded {path.name} ({header.stream}/{header.topic}, {pace})"

    def topics(self) -> list[SourceTopic]:
        """The header's topic; lines may add others, which come in their `SourceMessage`s."""
        return [self.header.default_topic]

    def __iter__(self) -> Iterator[SourceMessage]:
        return _scan(self.path, os.fspath(self.path), self._factor, None)


def read_stream(path: str | os.PathLike[str], *, speed: Speed = "max") -> RecordedSource:
    """Open a stream file for replay. The header is read (and checked) now; lines as they are iterated.

    `speed`: "max" (every message due at once), "realtime" (the recorded
    pace, from `timestamp`) or a factor (4.0 = four times faster).
    """
    path = Path(path)
    factor = speed_factor(speed, where_file=os.fspath(path))
    return RecordedSource(path, read_header(path), speed, factor)


def validate_stream(path: str | os.PathLike[str], *, max_errors: int = 50) -> tuple[int, list[InputError]]:
    """Read a whole file; return its count of valid messages and its errors.

    At most `max_errors` errors are listed; if there were more, a last entry
    says how many were left out.
    """
    display = os.fspath(path)
    errors = _Errors(max_errors)
    try:
        count = sum(1 for _ in _scan(Path(path), display, None, errors))
    except InputError as exc:  # the file could not be opened at all
        return 0, [exc]
    shown = list(errors.shown)
    if errors.hidden:
        shown.append(InputError(f"... and {errors.hidden} more errors", Where(file=display)))
    return count, shown


# ---------------------------------------------------------------- writing


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == GZIP_MAGIC


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


class StreamWriter:
    """Writes a stream file: the header, then one line per `write`.

    Use as a context manager. Lines are buffered and written whole, `flush_bytes`
    at a time (and on `flush()`/`close()`), so an interrupted writer leaves a
    readable file (see the module docstring). Output is byte-stable: the same
    messages give the same bytes (gzip members carry no timestamp).

    `append=True` on an existing, non-empty file keeps its header (which must
    name the same stream, topic and schema) and adds lines after the existing
    ones; a missing or empty file is started fresh.
    """

    def __init__(self, path: str | os.PathLike[str], *, stream: str, topic: str, schema: Schema | str,
                 source: str | None = None, recorded_at: str | None = None, append: bool = False,
                 flush_bytes: int = 1 << 20) -> None:
        self.path = Path(path)
        display = os.fspath(path)
        if "\x00" in display:  # the OS refuses such a name with a ValueError, not an OSError
            raise InputError("cannot write: the path contains a NUL character",
                             Where(file=display.replace("\x00", "\\x00")))
        try:
            wanted = parse_header({"sinkbench_stream": 1, "stream": stream, "topic": topic, "schema": str(schema),
                                   **({"recorded_at": recorded_at} if recorded_at is not None else {}),
                                   **({"source": source} if source is not None else {})})
        except LineError as exc:
            raise InputError(exc.message, Where(file=display, key=exc.key)) from None
        self._flush_bytes = flush_bytes
        self._pending: list[bytes] = []
        self._pending_size = 0
        self.count = 0
        existing = append and self.path.is_file() and self.path.stat().st_size > 0
        if existing:
            header = read_header(self.path)
            for key in ("stream", "topic", "schema"):
                if getattr(header, key) != getattr(wanted, key):
                    raise InputError(f"cannot append: the file's header has {key} {str(getattr(header, key))!r}, "
                                     f"the writer was given {str(getattr(wanted, key))!r}",
                                     Where(file=display, line=1, key=key))
            self._gz = _is_gzip(self.path)
            if not self._gz and display.endswith(".gz"):
                raise InputError("cannot append: named .gz but is not gzip data", Where(file=display))
            if not self._gz and not _ends_with_newline(self.path):
                raise InputError("cannot append: the file ends in the middle of a line (an interrupted write?)",
                                 Where(file=display))
            self.header = header
        else:
            self._gz = display.endswith(".gz")
            self.header = wanted
        self._schemas: dict[tuple[str, str], Schema] = {(self.header.stream, self.header.topic): self.header.schema}
        self._default = self.header.default_topic
        self._header_cache: dict[Any, Any] = {}
        try:
            self._file: io.FileIO | None = open(self.path, "ab" if existing else "wb", buffering=0)
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror or exc}", Where(file=display)) from None
        if not existing:
            self._pending.append(encode_header(self.header))
            self.flush()  # a file with only a header is already a valid, empty stream

    def write(self, topic: SourceTopic | None, message: Message) -> None:
        """Add one message; `topic` None means the header's topic.

        Raises ValueError for a message that could not be read back (see
        `lines.encode_line`); nothing is written for it.
        """
        if self._file is None:
            raise ValueError("write to a closed StreamWriter")
        if topic is None:
            topic = self._default
        else:
            if not isinstance(topic.schema, Schema):
                topic = SourceTopic(topic.stream, topic.topic, Schema(topic.schema))
            known = self._schemas.setdefault((topic.stream, topic.topic), topic.schema)
            if known != topic.schema:
                raise LineError(f"topic {topic.stream}/{topic.topic} was written as {known.value}; "
                                f"a topic has one schema", "schema")
        line = encode_line(self.header, topic, message, self._header_cache)
        self._pending.append(line)
        self._pending_size += len(line)
        self.count += 1
        if self._pending_size >= self._flush_bytes:
            self.flush()

    def flush(self) -> None:
        """Write every buffered line to the file (as one gzip member for .gz)."""
        if not self._pending or self._file is None:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._pending_size = 0
        if self._gz:
            data = gzip.compress(data, compresslevel=6, mtime=0)
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            if not written:
                raise OSError(f"cannot write to {self.path}: the write made no progress")
            view = view[written:]

    def close(self) -> None:
        if self._file is None:
            return
        try:
            self.flush()
        finally:
            self._file.close()
            self._file = None

    def __enter__(self) -> StreamWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # Buffered lines are complete, so they are kept even when the block failed.
        self.close()
