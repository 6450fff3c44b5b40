"""How many requests a second the mock endpoint answers, beside a bare aiohttp server in the same run.

The goal (issue 19): the endpoint, with 3 fault rules, the ledger and the journal
on, answers >= 1.5x the requests of a bare aiohttp server under the same load
(the faster of aiohttp's web.Application and low-level Server), and >= 20,000
req/s under 32 keep-alive connections. Each server under test runs in its own
process, and so does the load generator, so on a 2-core machine each gets a
core; the script itself only waits. Beside req/s, each server's CPU time per
request is printed: on a shared machine the steadier figure.

The load generator is a plain asyncio protocol that keeps one request in
flight per connection (wrk's model, written in Python because wrk is not
installed). With `--client aiohttp` it is an aiohttp ClientSession loop
instead, which costs more CPU per request and so measures the client as much
as the server; both are printed with `--client both`.

Bodies are 500-byte individual-mode envelopes with distinct ids, so the
ledger does real work. Every measurement is bounded: `--seconds` (default 5)
after a 1 s warm-up. The servers are measured in turns, `--rounds` times
(default 3), and the median is printed, because a shared machine's noise
moves single figures by tens of percent; beside req/s, the server process's
CPU time per request is printed, which the noise moves less.

A fourth server, a bare asyncio protocol answering a canned response without
any HTTP framework, shows what Python can do at all on this machine: the
ceiling that the loopback's system calls leave. With `--wiremock PATH` (the
standalone jar of WireMock 3.13, e.g. from the npm package `wiremock`, never
part of this repository) WireMock joins the table, answering 200 to every
request from one catch-all stub, its request journal capped like ours.

Ingest: the whole runs' hot path is ndjson batches of 1000 messages (500-byte
Iggy envelopes). Measured two ways: over the loopback (4 connections posting
such batches to the endpoint process, beside a bare aiohttp server reading the
same bodies), and in one process with no sockets (the endpoint's request path
alone: HTTP parsing, decision, ledger, journal), as messages per second of one
core. Then the ledger alone on 1,000,000 messages, as before.

    .venv/bin/python bench/endpoint_throughput.py [--seconds 5] [--rounds 3] [--connections 32]
                                                  [--client raw|aiohttp|both] [--wiremock JAR]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import re
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from sinkbench.endpoint.process import EndpointProcess
from sinkbench.endpoint.settings import parse_endpoint_settings

GOAL = 20_000
GOAL_RATIO = 1.5          # the endpoint against the faster bare aiohttp server
GOAL_INGEST = 150_000     # ndjson messages a second, one core
INGEST_CONNECTIONS = 4
INGEST_BATCHES = 64       # distinct batch bodies the ingest load cycles through
WARMUP = 1.0
BODIES = 4096
_CL = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)

FAULTS_DOC = {
    # Three rules that are checked on every request; two of them act now and then,
    # so the fault path itself is measured too, not only the fall-through.
    "faults": [
        {"after": "1h", "until": "2h", "action": "status", "status": 503},  # window not reached: checked, never acts
        {"every": 1000, "action": "status", "status": 503, "retry_after": "1s", "body": "busy"},
        {"probability": 0.001, "action": "status", "status": 500},  # one seeded draw per request
    ],
    "seed": 7,
}


def make_bodies(n: int = BODIES, size: int = 500) -> list[bytes]:
    out = []
    for i in range(n):
        envelope = {
            "metadata": {"iggy_id": f"{i:032x}", "iggy_offset": i, "iggy_timestamp": 1_710_064_800_000_000 + i,
                         "iggy_stream": "bench", "iggy_topic": "events", "iggy_partition_id": 0},
            "payload": {"n": i, "pad": ""},
        }
        pad = size - len(orjson.dumps(envelope))
        envelope["payload"]["pad"] = "x" * max(0, pad)
        out.append(orjson.dumps(envelope))
    return out


def ndjson_batches(count: int, batch: int = 1000) -> list[bytes]:
    """`count` ndjson bodies of `batch` distinct envelopes each, offsets running on from body to body."""
    template = make_bodies(batch)
    return [_shifted(template, b, batch) for b in range(count)]


def _shifted(template: list[bytes], b: int, batch: int) -> bytes:
    """Batch `b`: distinct messages (the batch number goes into the id), the offsets running on."""
    prefix = f"{b:08x}".encode()
    return b"\n".join(line.replace(b'"iggy_id":"00000000', b'"iggy_id":"' + prefix)
                      .replace(b'"iggy_offset":%d,' % i, b'"iggy_offset":%d,' % (b * batch + i))
                      for i, line in enumerate(template)) + b"\n"


def http_posts(bodies: list[bytes], content_type: str, host: str = "127.0.0.1:80") -> list[bytes]:
    return [(f"POST /ingest HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
             f"Content-Length: {len(b)}\r\n\r\n").encode() + b for b in bodies]


# --- servers under test (each in its own process) -----------------------------


class _Canned(asyncio.Protocol):
    """No HTTP framework: find each request's end, answer a fixed response."""

    RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while (end := self.buf.find(b"\r\n\r\n")) >= 0:
            m = _CL.search(self.buf, 0, end)
            total = end + 4 + (int(m.group(1)) if m else 0)
            if len(self.buf) < total:
                return
            self.buf = self.buf[total:]
            self.transport.write(self.RESPONSE)  # type: ignore[attr-defined]


def _bare_server(kind: str, ready: Any) -> None:
    from aiohttp import web

    async def handler(request: web.BaseRequest) -> web.Response:
        await request.read()
        return web.Response()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        if kind == "app":
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", handler)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        elif kind == "canned":
            listener = await loop.create_server(_Canned, "127.0.0.1", 0, backlog=1024)
            port = listener.sockets[0].getsockname()[1]
        else:
            server = web.Server(handler, access_log=None)
            listener = await loop.create_server(server, "127.0.0.1", 0, backlog=1024)
            port = listener.sockets[0].getsockname()[1]
        ready.send(port)
        await asyncio.Event().wait()

    asyncio.run(main())


class BareServer:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        parent, child = mp.get_context("spawn").Pipe()
        self._conn = parent
        self._proc = mp.get_context("spawn").Process(target=_bare_server, args=(kind, child), daemon=True)

    def __enter__(self) -> BareServer:
        self._proc.start()
        self.url = f"http://127.0.0.1:{self._conn.recv()}/"
        self.pid = self._proc.pid
        return self

    def __exit__(self, *exc: object) -> None:
        self._proc.terminate()
        self._proc.join(5)


class WireMock:
    """WireMock standalone (`java -jar`), answering 200 to every request from one catch-all stub."""

    def __init__(self, jar: str) -> None:
        self.jar = jar

    def __enter__(self) -> WireMock:
        import json
        import socket
        import subprocess
        import tempfile
        import urllib.request

        self._root = tempfile.TemporaryDirectory(prefix="sinkbench-wiremock-")
        mappings = Path(self._root.name) / "mappings"
        mappings.mkdir()
        (mappings / "any.json").write_text(json.dumps(
            {"request": {"method": "ANY", "urlPattern": ".*"}, "response": {"status": 200}}))
        with socket.socket() as s:  # a free port (WireMock prints none it picked itself)
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self._proc = subprocess.Popen(
            ["java", "-jar", self.jar, "--port", str(port), "--bind-address", "127.0.0.1",
             "--root-dir", self._root.name, "--disable-banner", "--max-request-journal-entries", "1000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{port}/"
        self.pid = self._proc.pid
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(self.url + "__admin/health", timeout=1):
                    break
            except OSError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    self.__exit__()
                    raise RuntimeError(f"WireMock did not start from {self.jar}") from None
                time.sleep(0.2)
        return self

    def __exit__(self, *exc: object) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(10)
        except Exception:
            self._proc.kill()
        self._root.cleanup()


# --- load generators (run in their own process) -------------------------------

class _Conn(asyncio.Protocol):
    """One keep-alive connection with one request in flight, like a wrk connection."""

    def __init__(self, requests: list[bytes], start: int, stats: dict[str, Any]) -> None:
        self.requests = requests
        self.i = start
        self.stats = stats
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.lost = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.transport.write(self.requests[self.i % len(self.requests)])
        self.i += 1

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            m = _CL.search(self.buf, 0, end)
            total = end + 4 + (int(m.group(1)) if m else 0)
            if len(self.buf) < total:
                return
            status = self.buf[9:12]
            self.buf = self.buf[total:]
            if self.stats["measuring"]:
                self.stats["n"] += 1
                if status != b"200":
                    self.stats["other"] += 1
            if self.stats["stop"]:
                assert self.transport is not None
                self.transport.close()
                return
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)


async def _raw_load(url: str, connections: int, seconds: float, ingest: bool = False) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    host, port = url.split("//")[1].rstrip("/").split(":")
    if ingest:
        requests = http_posts(ndjson_batches(INGEST_BATCHES), "application/x-ndjson", f"{host}:{port}")
    else:
        requests = http_posts(make_bodies(), "application/json", f"{host}:{port}")
    stats: dict[str, Any] = {"n": 0, "other": 0, "measuring": False, "stop": False}
    protos = []
    for c in range(connections):
        _, proto = await loop.create_connection(
            lambda c=c: _Conn(requests, c * (len(requests) // connections), stats), host, int(port))
        protos.append(proto)
    await asyncio.sleep(WARMUP)
    stats["measuring"] = True
    t0 = time.perf_counter()
    await asyncio.sleep(seconds)
    stats["measuring"] = False
    elapsed = time.perf_counter() - t0
    stats["stop"] = True
    await asyncio.wait([p.lost for p in protos], timeout=2)
    return {"rps": stats["n"] / elapsed, "non_200": stats["other"], "requests": stats["n"]}


async def _aiohttp_load(url: str, connections: int, seconds: float) -> dict[str, Any]:
    import aiohttp

    bodies = make_bodies()
    stats = {"n": 0, "other": 0}
    measuring = False
    stop = False

    async def worker(session: aiohttp.ClientSession, k: int) -> None:
        i = k * (len(bodies) // connections)
        while not stop:
            async with session.post(url + "ingest", data=bodies[i % len(bodies)],
                                    headers={"Content-Type": "application/json"}) as r:
                await r.read()
            i += 1
            if measuring:
                stats["n"] += 1
                if r.status != 200:
                    stats["other"] += 1

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = [asyncio.create_task(worker(session, k)) for k in range(connections)]
        await asyncio.sleep(WARMUP)
        measuring = True
        t0 = time.perf_counter()
        await asyncio.sleep(seconds)
        measuring = False
        elapsed = time.perf_counter() - t0
        stop = True
        await asyncio.wait(tasks, timeout=5)
    return {"rps": stats["n"] / elapsed, "non_200": stats["other"], "requests": stats["n"]}


def _load_process(client: str, url: str, connections: int, seconds: float, out: Any) -> None:
    if client == "ingest":
        out.send(asyncio.run(_raw_load(url, connections, seconds, ingest=True)))
        return
    load = _raw_load if client == "raw" else _aiohttp_load
    out.send(asyncio.run(load(url, connections, seconds)))


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def measure(client: str, url: str, connections: int, seconds: float, server_pid: int) -> dict[str, Any]:
    """Load `url` from another process; add the server's CPU time per request over the measured window."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_load_process, args=(client, url, connections, seconds, child))
    proc.start()
    # The load process measures [WARMUP, WARMUP + seconds] after connecting; sample the
    # server's CPU over the middle of that window (start-up of the load process varies).
    time.sleep(WARMUP + 0.8)
    assert proc.pid is not None
    cpu0, load0, t0 = _cpu_seconds(server_pid), _cpu_seconds(proc.pid), time.monotonic()
    time.sleep(max(0.5, seconds - 1.0))
    cpu1, load1, t1 = _cpu_seconds(server_pid), _cpu_seconds(proc.pid), time.monotonic()
    result = parent.recv()
    proc.join(10)
    result["cpu_us"] = (cpu1 - cpu0) / max(1.0, result["rps"] * (t1 - t0)) * 1e6
    result["cpu_share"] = (cpu1 - cpu0) / (t1 - t0)
    result["load_share"] = (load1 - load0) / (t1 - t0)
    return result


# --- the ledger alone -----------------------------------------------------------


def ledger_figures(metadata: bool, total: int = 1_000_000, batch: int = 1000) -> tuple[float, float]:
    """Seconds and MB of RSS growth to ledger `total` ndjson messages, measured in a fresh process.

    With `metadata` the messages are envelopes with contiguous offsets (kept as runs), else bare payloads
    (kept as one hash each)."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_ledger_process, args=(metadata, total, batch, child))
    proc.start()
    result = parent.recv()
    proc.join(10)
    return result


def _ledger_process(metadata: bool, total: int, batch: int, out: Any) -> None:
    from sinkbench.endpoint.ledger import Ledger, Recognizer

    ledger = Ledger()
    recognizer = Recognizer()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    elapsed = 0.0
    template = make_bodies(batch)
    for b in range(total // batch):
        body = _shifted(template, b, batch)
        if not metadata:  # a bare payload, still distinct
            body = b"\n".join(orjson.dumps(orjson.loads(line)["metadata"]) for line in body.split(b"\n")[:-1]) + b"\n"
        t0 = time.perf_counter()
        ledger.add(recognizer.identities("application/x-ndjson", body))
        elapsed += time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert ledger.unique == total, ledger.unique
    out.send((elapsed, (after - before) / 1024))


# --- the endpoint's request path alone, in one process ------------------------


class _NullTransport(asyncio.Transport):
    """Takes the answers and drops them: what is measured is the request path, not the loopback."""

    def __init__(self) -> None:
        super().__init__()
        self.answers = 0

    def write(self, data: Any) -> None:
        self.answers += 1

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def is_closing(self) -> bool:
        return False


def request_path_figure(batches: int = 300, batch: int = 1000) -> tuple[float, float]:
    """(ndjson messages/s, individual requests/s) through the endpoint's request path on one core, no sockets:
    HTTP parsing, the 3-fault decision, ledger, journal and the encoded answer. Measured in a fresh process."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_request_path_process, args=(batches, batch, child))
    proc.start()
    result = parent.recv()
    proc.join(10)
    return result


def _request_path_process(batches: int, batch: int, out: Any) -> None:
    from sinkbench.endpoint.http1 import HttpServer
    from sinkbench.endpoint.server import Endpoint

    async def main() -> tuple[float, float]:
        figures = []
        for requests, messages in ((http_posts(ndjson_batches(batches, batch), "application/x-ndjson"), batch),
                                   (http_posts(make_bodies(), "application/json") * 25, 1)):
            endpoint = Endpoint(parse_endpoint_settings(FAULTS_DOC, None, ()))
            protocol = HttpServer(endpoint, keepalive_timeout=120.0)()
            transport = _NullTransport()
            protocol.connection_made(transport)
            t0 = time.process_time()
            for request in requests:
                protocol.data_received(request)
                # The endpoint reads a request's messages in the loop's next turn, after the answer: let it.
                await asyncio.sleep(0)
            stats = endpoint.stats()
            cpu = time.process_time() - t0
            assert transport.answers == len(requests), transport.answers
            assert stats["requests"] == len(requests)
            protocol.connection_lost(None)
            figures.append(len(requests) * messages / cpu)
        return figures[0], figures[1]

    out.send(asyncio.run(main()))


SERVERS = (
    ("canned", "bare asyncio protocol, canned answer (ceiling)"),
    ("app", "bare aiohttp web.Application"),
    ("server", "bare aiohttp low-level Server"),
    ("endpoint", "sinkbench endpoint: 3 faults, ledger, journal"),
    ("wiremock", "WireMock 3.13 standalone, one catch-all stub"),
)


def one_round(client: str, connections: int, seconds: float, wiremock: str | None,
              kinds: tuple[str, ...] = ("canned", "app", "server", "endpoint", "wiremock")) -> dict[str, dict[str, Any]]:
    settings = parse_endpoint_settings(FAULTS_DOC, None, ())
    out = {}
    for kind in kinds:
        if kind == "endpoint":
            with EndpointProcess(settings) as ep:
                assert ep.url is not None and ep.pid is not None
                out[kind] = measure(client, ep.url, connections, seconds, ep.pid)
        elif kind == "wiremock":
            if wiremock is None:
                continue
            with WireMock(wiremock) as wm:
                measure(client, wm.url, connections, seconds, wm.pid)  # the JIT's warm-up, not counted
                out[kind] = measure(client, wm.url, connections, seconds, wm.pid)
        else:
            with BareServer(kind) as bare:
                out[kind] = measure(client, bare.url, connections, seconds, bare.pid)
    return out


def _median(rounds: list[dict[str, dict[str, Any]]], kind: str, key: str) -> float:
    return statistics.median(r[kind][key] for r in rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per server and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--client", choices=("raw", "aiohttp", "both"), default="raw")
    parser.add_argument("--wiremock", metavar="JAR", help="WireMock 3.13's standalone jar, to add it to the table")
    parser.add_argument("--no-ingest", action="store_true", help="skip the ndjson ingest figures")
    parser.add_argument("--no-ledger-check", action="store_true", help="skip the 1,000,000-message ledger figure")
    args = parser.parse_args()
    clients = ["raw", "aiohttp"] if args.client == "both" else [args.client]
    if args.wiremock is not None and not Path(args.wiremock).is_file():
        print(f"--wiremock {args.wiremock}: no such file", file=sys.stderr)
        return 2

    print(f"mock endpoint throughput: {args.connections} keep-alive connections, {args.seconds:g} s per "
          f"measurement after {WARMUP:g} s warm-up, median of {args.rounds} rounds; {os.cpu_count()} CPUs; "
          "each server and the load generator in its own process")
    # Other work on the machine moves every figure below; say how busy it was.
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    if args.wiremock is None:
        print("WireMock: not measured (give --wiremock PATH_TO_wiremock-standalone-3.13.x.jar; "
              "`npm install wiremock@3.13` ships it)")
    for client in clients:
        label = "raw asyncio sockets, one request in flight per connection" if client == "raw" \
            else "aiohttp ClientSession"
        print(f"\nload generator: {label}; 500-byte JSON bodies, one message each")
        rounds = [one_round(client, args.connections, args.seconds, args.wiremock) for _ in range(args.rounds)]
        med: dict[str, float] = {}
        cpu: dict[str, float] = {}
        for kind, name in SERVERS:
            if kind not in rounds[0]:
                continue
            rps = [r[kind]["rps"] for r in rounds]
            cpu[kind] = _median(rounds, kind, "cpu_us")
            share = _median(rounds, kind, "cpu_share")
            med[kind] = statistics.median(rps)
            spread = ", ".join(f"{x:,.0f}" for x in rps)
            load = _median(rounds, kind, "load_share")
            print(f"  {name:<47} {med[kind]:>7,.0f} req/s  ({spread})  server CPU {cpu[kind]:4.0f} us/req, "
                  f"{share:.0%} of a core; load generator {load:.0%}")
        faults = sum(r["endpoint"]["non_200"] for r in rounds)
        rps = med["endpoint"]
        bare = max(("app", "server"), key=lambda k: med[k])
        ratio = rps / med[bare]
        print(f"  endpoint answers that came from faults: {faults}")
        print(f"  endpoint / bare web.Application: {rps / med['app']:.2f}x; endpoint / bare low-level Server: "
              f"{rps / med['server']:.2f}x; endpoint / canned ceiling: {rps / med['canned']:.0%}"
              + (f"; endpoint / WireMock: {rps / med['wiremock']:.2f}x" if "wiremock" in med else ""))
        print(f"  server CPU per request, bare aiohttp ({bare}) / endpoint: {cpu[bare] / cpu['endpoint']:.2f}x")
        print(f"  goal: endpoint >= {GOAL_RATIO:g}x the faster bare aiohttp server ({bare}): {ratio:.2f}x, "
              f"{'met' if ratio >= GOAL_RATIO else 'NOT met'}")
        print(f"  goal >= {GOAL:,} req/s: {'met' if rps >= GOAL else 'NOT met'}")
    if not args.no_ingest:
        print(f"\ningest: ndjson batches of 1000 envelopes (~500 KB a body), {INGEST_CONNECTIONS} connections, "
              f"median of {args.rounds} rounds")
        rounds = [one_round("ingest", INGEST_CONNECTIONS, args.seconds, None, ("server", "endpoint"))
                  for _ in range(args.rounds)]
        for kind, name in (("server", "bare aiohttp low-level Server (reads the body)"),
                           ("endpoint", "sinkbench endpoint: 3 faults, ledger, journal")):
            msgs = _median(rounds, kind, "rps") * 1000
            per_msg = _median(rounds, kind, "cpu_us") / 1000
            print(f"  {name:<47} {msgs:>9,.0f} msg/s  server CPU {per_msg:.2f} us/msg "
                  f"(one core: {1e6 / per_msg:,.0f} msg/s)")
        ndjson, individual = request_path_figure()
        print(f"  endpoint request path alone, no sockets, one core: ndjson batch of 1000 ingest {ndjson:,.0f} "
              f"msg/s (goal well over {GOAL_INGEST:,}: {'met' if ndjson >= GOAL_INGEST else 'NOT met'}); "
              f"individual {individual:,.0f} req/s")
    print("load average at end:   {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    if not args.no_ledger_check:
        print("\nledger alone: 1,000,000 distinct ndjson messages, 1,000 per body:")
        for metadata, label in ((True, "envelopes (addresses, kept as runs)"), (False, "bare payloads (hashes)")):
            seconds, mb = ledger_figures(metadata)
            print(f"  {label:<36} {seconds:5.2f} s ({1_000_000 / seconds:>9,.0f} msg/s), "
                  f"peak RSS growth {mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
