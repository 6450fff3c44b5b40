"""`python -m sinkbench.endpoint`: the endpoint as a child process of a bench run.

Protocol with `EndpointProcess` (the parent):

- stdin, first line: `{"settings": <settings_to_dict>, "secrets": [...]}` —
  the secret values to hide in the journal travel here, never on the command
  line, where `ps` would show them;
- stdout, one line: `{"ok": true, "url", "admin_url", "port", "ca_pem_path"}`
  once listening, or `{"ok": false, "error", "exit"}` (with `"port_in_use":
  true` when the port is taken) and the process exits;
- the endpoint runs until stdin closes — which also happens when the parent
  dies, however it dies, so the child never outlives it — or SIGTERM/SIGINT.

People run `sinkbench mock` instead; this entry point is for the bench.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from typing import Any

import orjson

from sinkbench.endpoint.errors import PortInUse
from sinkbench.endpoint.server import Endpoint
from sinkbench.endpoint.settings import parse_endpoint_settings
from sinkbench.errors import BenchError, InputError


def _read_line(fd: int) -> bytes:
    # Unbuffered, byte by byte up to the newline: what follows on stdin (only
    # its end) must stay in the pipe for the event loop to see.
    out = bytearray()
    while True:
        b = os.read(fd, 1)
        if not b or b == b"\n":
            return bytes(out)
        out += b


def _say(message: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(message) + b"\n")
    sys.stdout.buffer.flush()


async def _serve(endpoint: Endpoint, stdin_fd: int) -> None:
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    def on_stdin() -> None:
        try:
            data = os.read(stdin_fd, 4096)
        except OSError:
            data = b""
        if not data:
            done.set()

    loop.add_reader(stdin_fd, on_stdin)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    await endpoint.start()
    _say({"ok": True, "url": endpoint.url, "admin_url": endpoint.admin_url, "port": endpoint.port,
          "ca_pem_path": endpoint.ca_pem_path})
    try:
        await done.wait()
    finally:
        loop.remove_reader(stdin_fd)
        await endpoint.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sinkbench.endpoint")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None, help="default: the settings' port (0: a free one)")
    args = parser.parse_args(argv)
    from sinkbench.tuning import tune_process

    tune_process()   # large bodies, as in the bench process
    stdin_fd = sys.stdin.fileno()
    try:
        message = orjson.loads(_read_line(stdin_fd) or b"{}")
        if not isinstance(message, dict):
            raise InputError("the first line on stdin must be a JSON object")
        settings = parse_endpoint_settings(message.get("settings") or {}, None, ())
        secrets = [s for s in message.get("secrets") or () if isinstance(s, str)]
        endpoint = Endpoint(settings, host=args.host, port=args.port, secret_values=secrets)
        asyncio.run(_serve(endpoint, stdin_fd))
    except (InputError, orjson.JSONDecodeError) as exc:
        _say({"ok": False, "error": f"invalid endpoint settings: {exc}", "exit": 2})
        return 2
    except PortInUse as exc:
        _say({"ok": False, "error": str(exc), "exit": 3, "port_in_use": True})
        return 3
    except BenchError as exc:
        _say({"ok": False, "error": str(exc), "exit": 3})
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
