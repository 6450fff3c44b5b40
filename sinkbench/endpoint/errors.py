"""The endpoint's own error, kept apart so that the parent side (process.py, the CLI) can catch it
without importing the server and aiohttp."""

from __future__ import annotations

from sinkbench.errors import BenchError


class PortInUse(BenchError):
    """The port the settings (or the command line) fixed is taken by another program."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"mock endpoint cannot listen on {host}:{port}: the port is already in use")
        self.host = host
        self.port = port
