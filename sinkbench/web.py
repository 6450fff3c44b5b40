"""`sinkbench --web [SCENARIO]`: the interactive session in a browser, served by textual-serve (docs/html.md).

Each browser tab that opens the page gets its own session: textual-serve
starts `sinkbench [SCENARIO]` in a child process with Textual's web driver,
so the browser shows the very screen the terminal would, every key included.

It listens on 127.0.0.1 unless told otherwise; another address needs
--allow-remote and prints a warning, as `sinkbench mock` does, since whoever
reaches the page drives a session that can write files. Two guards hold
even on loopback: a request must name this machine in its Host header (a
web page elsewhere cannot reach the server through DNS rebinding), and the
session's websocket must be opened from this page's own origin (another
site open in the same browser cannot drive it). The page textual-serve
renders asks a font of a public CDN; the font is served locally too, so that
link is dropped and the page loads nothing from elsewhere.

Stops on Ctrl-C or SIGTERM (exit 0); 2 for bad options or a scenario that
does not load (checked before anything listens); 3 when it cannot listen.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shlex
import sys
from typing import Any

USAGE = "sinkbench --web [SCENARIO] [--port P] [--host H] [--allow-remote]"
DEFAULT_PORT = 8000
_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}
_LINK = re.compile(r"<link\b[^>]*?href=\"([^\"]*)\"[^>]*>", re.S)


def build_parser() -> argparse.ArgumentParser:
    from sinkbench.endpoint.command import _port

    parser = argparse.ArgumentParser(
        prog="sinkbench --web", usage=USAGE,
        description="Serve the interactive session in a browser: open the address it prints. Each tab gets its "
                    "own session of SCENARIO (default: the bundled quickstart, as `sinkbench` alone).",
        epilog="reference: docs/html.md (this option), docs/cli.md")
    parser.add_argument("scenario", nargs="?", metavar="SCENARIO", help="scenario file (TOML)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; others need --allow-remote)")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                        help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host: anyone who reaches it drives a session, which can "
                             "write files")
    return parser


def session_command(scenario: str | None) -> str:
    """The shell command textual-serve runs for each browser tab: this Python, this sinkbench."""
    argv = [sys.executable, "-m", "sinkbench.cli"]
    if scenario is not None:
        # A path starting with "-" would read as an option.
        argv.append(f"./{scenario}" if scenario.startswith("-") else scenario)
    return shlex.join(argv)


def host_name(host_header: str) -> str:
    """The name in a Host header, without its port or IPv6 brackets, lowercased."""
    name = host_header.strip().lower()
    if name.startswith("["):
        return name[1:name.find("]")] if "]" in name else name[1:]
    return name.rsplit(":", 1)[0] if name.count(":") == 1 else name


def origin_matches(origin: str | None, host_header: str) -> bool:
    """A websocket's Origin is this page's own (http or https, same host and port). No Origin: not a browser."""
    if origin is None:
        return True
    from urllib.parse import urlsplit

    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host_header.strip().lower()


def local_links_only(page: str, host_header: str) -> str:
    """The page without the <link> elements that load from another host (textual-serve's CDN font)."""
    from urllib.parse import urlsplit

    def keep(m: re.Match[str]) -> str:
        netloc = urlsplit(m.group(1)).netloc.lower()
        return m.group(0) if netloc in ("", host_header.strip().lower()) else ""

    return _LINK.sub(keep, page)


def _free_port(host: str) -> int:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _server(command: str, host: str, port: int, *, loopback: bool) -> Any:
    import logging

    from aiohttp import web
    from textual_serve.server import Server

    class SessionServer(Server):
        def initialize_logging(self) -> None:
            # textual-serve logs every request at INFO; only what goes wrong is worth a line.
            logging.basicConfig(level=logging.WARNING, format="sinkbench --web: %(message)s")

        async def on_startup(self, app: web.Application) -> None:
            # aiohttp runs this before it listens: the address is announced once a connection is accepted,
            # so whoever reads the line (a person, a script, a test) can connect at once.
            app["announce"] = asyncio.get_running_loop().create_task(_announce())

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.middlewares.append(guard)
            app.on_cleanup.append(_collect_session_pipes)
            return app

        async def handle_index(self, request: web.Request) -> web.StreamResponse:
            # The page tells the browser where the websocket is: at the address the browser used.
            self.public_url = f"{request.scheme}://{request.host}"
            return await super().handle_index(request)

    async def _announce() -> None:
        deadline = asyncio.get_running_loop().time() + 10.0
        while True:
            try:
                _, writer = await asyncio.open_connection(host, port)
            except OSError:
                if asyncio.get_running_loop().time() > deadline:
                    break      # say it anyway: the server's own error, if any, has been printed
                await asyncio.sleep(0.01)
                continue
            writer.close()
            break
        shown = f"[{host}]" if ":" in host else host
        print(f"sinkbench --web: the session is at http://{shown}:{port}/ (each tab gets its own; "
              "Ctrl-C stops)", flush=True)

    async def _collect_session_pipes(app: web.Application) -> None:
        # A session's subprocess pipes are dropped when its websocket handler ends; collected after the
        # loop closes, their __del__ schedules on a closed loop and prints a traceback at SIGTERM. Collect
        # them while the loop still runs, and let their close callbacks run.
        import gc
        gc.collect()
        await asyncio.sleep(0)

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        if loopback and host_name(request.host) not in _LOCAL_NAMES:
            return web.Response(status=403, text="this server answers only to localhost\n")
        if request.path == "/ws" and not origin_matches(request.headers.get("Origin"), request.host):
            return web.Response(status=403, text="the session opens only from its own page\n")
        response = await handler(request)
        if request.path == "/" and isinstance(response, web.Response) and response.text:
            response.text = local_links_only(response.text, request.host)
        return response

    return SessionServer(command, host=host, port=port, title="sinkbench")


def main(argv: list[str]) -> int:
    from sinkbench.endpoint.command import _is_loopback
    from sinkbench.errors import InputError
    from sinkbench.tui.session import default_scenario, open_scenario

    args = build_parser().parse_args(argv)
    loopback = _is_loopback(args.host)
    if not loopback:
        if not args.allow_remote:
            print(f"sinkbench --web: refusing to listen on {args.host}, which is not a loopback address: anyone "
                  "who can reach it could drive the session, which writes files; add --allow-remote if that is "
                  "what you want", file=sys.stderr)
            return 2
        print(f"sinkbench --web: warning: listening on {args.host}; anyone who can reach it can drive the "
              "session and write files as you", file=sys.stderr)
    try:   # the same check the session makes, before anything listens: a bad file fails here, not in a tab
        default_scenario() if args.scenario is None else open_scenario(args.scenario)
    except InputError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2
    try:
        port = args.port or _free_port(args.host)
        _server(session_command(args.scenario), args.host, port, loopback=loopback).serve()
    except OSError as exc:
        hint = " (choose another with --port, or --port 0 for any free one)" if "in use" in str(exc) else ""
        print(f"sinkbench --web: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}{hint}",
              file=sys.stderr)
        return 3
    return 0
