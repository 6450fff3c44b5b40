"""Shared pieces of the benchmark scripts: a bare server in its own process, timing."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).parent


@contextlib.contextmanager
def bare_server() -> Iterator[str]:
    """Starts bench/_bare_server.py in another process; yields its base URL."""
    proc = subprocess.Popen([sys.executable, str(HERE / "_bare_server.py")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}/ingest"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:>10,.0f}/s"
