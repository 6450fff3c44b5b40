"""`sinkbench mock`: the mock endpoint alone, until interrupted (docs/cli.md).

Imported by `sinkbench.cli` at start-up for every command, so only argparse
is imported at the top; the server comes in when the command runs.
"""

from __future__ import annotations

import argparse

HELP = "run the mock endpoint alone, until interrupted"
DESCRIPTION = """\
Run sinkbench's mock HTTP endpoint on its own, to point a real connector (or
curl) at it. It answers every method and path with the configured status,
latency and faults, and counts the messages it accepts. The admin API under
/__sinkbench/ (health, stats, requests, endpoint, reset) shows what arrived
and changes the settings live. Stop it with Ctrl-C.

FILE is a scenario or any TOML file with an [endpoint] table (docs/endpoint.md);
a scenario's seed drives the endpoint's random choices (probability faults,
latency jitter) unless [endpoint] sets its own, as when the scenario runs.
Without --config the endpoint answers 200 to everything. The port is
--port, else the file's [endpoint] port, else 8080.

Example:

  $ cat broken.toml
  [endpoint]
  latency = "2ms"
  [[endpoint.faults]]
  every = 3
  action = "status"
  status = 503
  retry_after = "1s"

  $ sinkbench mock --port 8080 --config broken.toml
  mock endpoint: http://127.0.0.1:8080/
  admin API:     http://127.0.0.1:8080/__sinkbench/

  $ curl -s localhost:8080/__sinkbench/stats
  $ curl -s -X PATCH localhost:8080/__sinkbench/endpoint -d '{"status": 503}'   # faults kept
  $ curl -s -X POST localhost:8080/__sinkbench/reset     # back to the --config settings

Exit codes: 0 stopped by Ctrl-C or SIGTERM; 2 invalid --config file or
options, or the port asked for is taken; 3 the endpoint could not start.
"""
DEFAULT_PORT = 8080


def load_config(path: str):
    """The endpoint a --config file describes: its [endpoint] table, with the scenario's seed (when the
    file is a scenario whose [endpoint] sets none), as the endpoint has when the scenario runs."""
    import dataclasses

    from sinkbench.endpoint.settings import load_endpoint_file
    from sinkbench.scenario.load import scenario_seed
    from sinkbench.tomlsrc import load_toml

    settings = load_endpoint_file(path)
    src = load_toml(path)
    endpoint = src.data.get("endpoint")
    if isinstance(endpoint, dict) and "seed" in endpoint:
        return settings
    seed = scenario_seed(src)
    return settings if seed is None else dataclasses.replace(settings, seed=seed)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} out of range (0..65535; 0 picks a free one)")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; others need --allow-remote)")
    parser.add_argument("--port", type=_port, default=None,
                        help="port (default: the --config file's [endpoint] port, else 8080; 0 picks a free one)")
    parser.add_argument("--config", metavar="FILE", help="scenario or TOML file with an [endpoint] table")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback --host: anyone who reaches it can use the admin API")


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def _serve(endpoint: object) -> None:
    import asyncio
    import signal
    import sys

    from sinkbench.endpoint.server import Endpoint

    assert isinstance(endpoint, Endpoint)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await endpoint.start()
    print(f"mock endpoint: {endpoint.url}")
    print(f"admin API:     {endpoint.admin_url}")
    if endpoint.ca_pem_path:
        print(f"CA (PEM):      {endpoint.ca_pem_path}")
    print("Ctrl-C stops it.", flush=True)
    try:
        await stop.wait()
    finally:
        stats = endpoint.stats()
        await endpoint.stop()
        print(f"stopped: {stats['requests']} requests, {stats['messages']} messages accepted "
              f"({stats['unique_messages']} unique, {stats['duplicates']} duplicates)", flush=True)
        sys.stdout.flush()


def main(args: argparse.Namespace) -> int:
    import asyncio
    import sys

    from sinkbench.cli import Exit
    from sinkbench.endpoint.errors import PortInUse
    from sinkbench.endpoint.server import Endpoint
    from sinkbench.endpoint.settings import EndpointSettings
    from sinkbench.errors import BenchError, InputError

    if not _is_loopback(args.host):
        if not args.allow_remote:
            print(f"sinkbench mock: refusing to listen on {args.host}, which is not a loopback address: "
                  "anyone who can reach it could change the endpoint through its admin API; "
                  "add --allow-remote if that is what you want", file=sys.stderr)
            return Exit.INVALID_INPUT
        print(f"sinkbench mock: warning: listening on {args.host}; anyone who can reach it can use "
              "the admin API and change the endpoint's behaviour", file=sys.stderr)
    try:
        settings = load_config(args.config) if args.config else EndpointSettings()
    except InputError as exc:
        print(f"sinkbench mock: {exc}", file=sys.stderr)
        return Exit.INVALID_INPUT
    port = args.port if args.port is not None else (settings.port or DEFAULT_PORT)
    try:
        asyncio.run(_serve(Endpoint(settings, host=args.host, port=port)))
    except PortInUse as exc:
        # A port the user chose: their input to change, named where they wrote it.
        print(f"sinkbench mock: {_port_source(args)}: {exc} (choose another, or 0 for any free one)",
              file=sys.stderr)
        return Exit.INVALID_INPUT
    except BenchError as exc:
        print(f"sinkbench mock: {exc}", file=sys.stderr)
        return Exit.BENCH_ERROR
    return Exit.OK


def _port_source(args: argparse.Namespace) -> str:
    """Where the port came from: --port, the --config file's line, or the default."""
    if args.port is not None:
        return "--port"
    if args.config:
        from sinkbench.errors import Where
        from sinkbench.tomlsrc import load_toml

        src = load_toml(args.config)
        if isinstance(src.data.get("endpoint"), dict) and "port" in src.data["endpoint"]:
            return str(Where(file=args.config, line=src.line("endpoint", "port"), key="endpoint.port"))
    return f"the default port {DEFAULT_PORT} (set another with --port)"
