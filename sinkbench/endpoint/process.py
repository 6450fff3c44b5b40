"""The endpoint in its own OS process, so it never competes with the sink for a core (bench/endpoint_throughput.py).

The child is `python -m sinkbench.endpoint` (see `__main__`). It is given the
settings on stdin and stops when stdin closes; since only this object holds
the pipe's other end, the child also stops when the parent dies, even by
SIGKILL — no orphans. It runs in its own session so a Ctrl-C at the terminal
reaches the parent only, which can still read the endpoint's final stats
before stopping it.

`start()` and `stop()` block (briefly: the child's start-up, about half a
second); inside an event loop use `astart()`/`astop()` or `async with`.
"""

from __future__ import annotations

import asyncio
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import orjson

import sinkbench
from sinkbench.endpoint.errors import PortInUse
from sinkbench.endpoint.settings import EndpointSettings, settings_to_dict
from sinkbench.errors import BenchError

START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0


def _child_env() -> dict[str, str]:
    # The child must import this very sinkbench, installed or not.
    env = dict(os.environ)
    root = str(Path(sinkbench.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


class EndpointProcess:
    def __init__(self, settings: EndpointSettings | None = None, host: str = "127.0.0.1", port: int | None = None,
                 *, start_timeout: float = START_TIMEOUT, secret_values: Iterable[str] = ()) -> None:
        self.settings = settings or EndpointSettings()
        self._secret_values = sorted(set(secret_values))
        self.host = host
        self.port = self.settings.port if port is None else port   # 0: a free one
        self.start_timeout = start_timeout
        self.url: str | None = None
        self.admin_url: str | None = None
        self.ca_pem_path: str | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the child and return once it listens; BenchError with its reason if it cannot
        (PortInUse when the port is taken)."""
        if self._proc is not None:
            raise RuntimeError("endpoint process already started")
        self._stderr = tempfile.TemporaryFile()
        cmd = [sys.executable, "-m", "sinkbench.endpoint", "--host", self.host, "--port", str(self.port)]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                      env=_child_env(), start_new_session=True, close_fds=True, bufsize=0)
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(orjson.dumps({"settings": settings_to_dict(self.settings),
                                                 "secrets": self._secret_values}) + b"\n")
            ready = self._read_ready()
        except (BrokenPipeError, BenchError) as exc:
            reason = self._failure_reason(str(exc) if isinstance(exc, BenchError) else "")
            self._kill()
            raise BenchError(reason) from None
        if not ready.get("ok"):
            self._kill()
            if ready.get("port_in_use"):
                raise PortInUse(self.host, self.port)
            raise BenchError(str(ready.get("error") or "mock endpoint could not start"))
        self.url = ready["url"]
        self.admin_url = ready["admin_url"]
        self.port = int(ready["port"])
        self.ca_pem_path = ready.get("ca_pem_path")

    def _read_ready(self) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + self.start_timeout
        buf = bytearray()
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"mock endpoint did not start within {self.start_timeout:g} s")
            readable, _, _ = select.select([fd], [], [], left)
            if not readable:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                raise BenchError("")  # exited before saying it listens: the reason is on its stderr
            buf += chunk
        try:
            return orjson.loads(bytes(buf).split(b"\n", 1)[0])
        except orjson.JSONDecodeError:
            raise BenchError(f"mock endpoint said something unexpected: {bytes(buf)[:200]!r}") from None

    def _failure_reason(self, reason: str) -> str:
        if self._proc is not None:
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
        tail = ""
        if self._stderr is not None:
            self._stderr.seek(0)
            tail = self._stderr.read()[-2000:].decode("utf-8", "replace").strip()
        detail = reason or "mock endpoint exited before it was listening"
        return f"{detail}: {tail}" if tail else detail

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Ask the child to stop (close its stdin), wait, and kill it if it does not."""
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill()
        self._close_files()
        self._proc = None

    def _kill(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._close_files()
        self._proc = None

    def _close_files(self) -> None:
        proc = self._proc
        if proc is not None:
            for f in (proc.stdin, proc.stdout):
                if f is not None:
                    try:
                        f.close()
                    except OSError:
                        pass
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> EndpointProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    async def astop(self, timeout: float = STOP_TIMEOUT) -> None:
        await asyncio.to_thread(self.stop, timeout)

    async def __aenter__(self) -> EndpointProcess:
        await self.astart()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.astop()
