"""The external sink's command: started in its own process group, its output kept, stopped for sure.

The command runs in a new session (so its own process group: a Ctrl-C at the
terminal reaches the bench, which then stops the sink in order) with the
parent's environment plus the scenario's `env`. Its standard output and error
are read line by line into a bounded record — the first and the last
kilobytes — that the reports carry, secrets redacted, and that a
`ready = { log = ... }` watches.

Stopping is SIGTERM to the whole group, then SIGKILL to the group after a
grace period; the group is killed again once its leader is gone, so nothing
it started survives the run. On Linux the command is also told to die with
the bench (PR_SET_PDEATHSIG), so even a bench killed with SIGKILL leaves no
sink behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sinkbench.redact import redact_text

STOP_GRACE = 5.0
EXIT_POLL = 0.02
HEAD_BYTES = 64 * 1024
TAIL_BYTES = 192 * 1024
MAX_LINE = 64 * 1024


def _die_with_parent() -> None:   # pragma: no cover - runs in the child, between fork and exec
    """Linux: the kernel sends SIGKILL to this process when the bench's thread that started it dies."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except OSError:
        pass


@dataclass
class Output:
    """The command's output as kept: the first HEAD_BYTES, and the last TAIL_BYTES after them."""

    head: bytearray
    tail: deque[bytes]
    tail_bytes: int = 0
    dropped: int = 0

    def add(self, line: bytes) -> None:
        room = HEAD_BYTES - len(self.head)
        if room > 0 and not self.tail:
            self.head += line[:room]
            line = line[room:]
            if not line:
                return
        self.tail.append(line)
        self.tail_bytes += len(line)
        while self.tail_bytes > TAIL_BYTES and len(self.tail) > 1:
            gone = self.tail.popleft()
            self.tail_bytes -= len(gone)
            self.dropped += len(gone)

    def text(self, secrets: Sequence[str]) -> str:
        head = self.head.decode("utf-8", "replace")
        cut = f"\n[… {self.dropped} bytes of output not kept …]\n" if self.dropped else ""
        tail = b"".join(self.tail).decode("utf-8", "replace")
        return redact_text(head + cut + tail, secrets)


class SinkProcess:
    """One run of the external sink's command."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path | None, *, stdin: bool,
                 secrets: Sequence[str] = (), on_line: Callable[[str], None] | None = None) -> None:
        self.argv = list(argv)
        self.env = dict(env)
        self.cwd = cwd
        self.stdin = stdin
        self.secrets = tuple(secrets)
        self.on_line = on_line
        self.proc: asyncio.subprocess.Process | None = None
        self.output = Output(bytearray(), deque())
        self._reader: asyncio.Task[None] | None = None
        self._lines = asyncio.Condition()
        self._count = 0
        self._recent: deque[str] = deque(maxlen=1000)   # lines not yet looked at by a waiting `wait_log`

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode if self.proc is not None else None

    async def start(self) -> None:
        """Start the command; OSError (with its reason) when it cannot be."""
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv, cwd=self.cwd, env=self.env, start_new_session=True, preexec_fn=_die_with_parent,
            stdin=asyncio.subprocess.PIPE if self.stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, limit=MAX_LINE)
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        stream = self.proc.stdout
        while True:
            try:
                line = await stream.readline()
            except ValueError:      # a line longer than MAX_LINE: keep what fits
                line = await stream.read(MAX_LINE)
            if not line:
                break
            self.output.add(line)
            text = redact_text(line.decode("utf-8", "replace").rstrip("\r\n"), self.secrets)
            async with self._lines:
                self._recent.append(text)
                self._count += 1
                self._lines.notify_all()
            if self.on_line is not None:
                self.on_line(text)
        async with self._lines:
            self._lines.notify_all()

    async def wait_log(self, pattern: str) -> bool:
        """Wait for a line of output matching `pattern`; False when the output ends first."""
        regex = re.compile(pattern)
        async with self._lines:
            while True:
                while self._recent:
                    if regex.search(self._recent.popleft()):
                        return True
                if self._reader is None or self._reader.done():
                    return False
                await self._lines.wait()

    async def wait(self, timeout: float | None = None) -> int | None:
        """Wait for the command itself to exit (at most `timeout`); its exit code, None if it still runs.

        Not `Process.wait()`: asyncio answers that only once the output pipe is closed too, which a
        grandchild that inherited it can keep open for as long as it lives.
        """
        assert self.proc is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.proc.returncode is None:
            if deadline is not None and time.monotonic() >= deadline:
                return None
            await asyncio.sleep(EXIT_POLL)
        return self.proc.returncode

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """SIGTERM to the group, SIGKILL after `grace`; then the group once more, for anything left in it."""
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is None:
            _signal_group(proc.pid, signal.SIGTERM)
            if await self.wait(grace) is None:
                _signal_group(proc.pid, signal.SIGKILL)
                await self.wait()
        _signal_group(proc.pid, signal.SIGKILL)
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 2.0)
            except TimeoutError:
                self._reader.cancel()   # a grandchild kept the pipe open after the group died: stop reading
            self._reader = None
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()

    def kill_now(self) -> None:
        """Synchronously SIGKILL the group (for the last line of defence: an exception while unwinding)."""
        if self.proc is not None:
            _signal_group(self.proc.pid, signal.SIGKILL)

    def text(self) -> str:
        return self.output.text(self.secrets)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
