"""How many requests a second the mock endpoint answers, beside a bare aiohttp server.

DESIGN.md §8: the endpoint alone under 32 keep-alive connections, with 3 fault
rules, the ledger and the journal on, should answer >= 20,000 req/s. Each
server under test runs in its own process, and so does the load generator, so
on a 2-core machine each gets a core; the script itself only waits.

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
ceiling that the loopback's system calls leave.

    .venv/bin/python bench/endpoint_throughput.py [--seconds 5] [--rounds 3] [--connections 32]
                                                  [--client raw|aiohttp|both]
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


async def _raw_load(url: str, connections: int, seconds: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    host, port = url.split("//")[1].rstrip("/").split(":")
    requests = [
        (f"POST /ingest HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
         f"Content-Length: {len(b)}\r\n\r\n").encode() + b
        for b in make_bodies()
    ]
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

    template = make_bodies(batch)
    ledger = Ledger()
    recognizer = Recognizer()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    elapsed = 0.0
    for b in range(total // batch):
        # Distinct messages per batch: the batch number goes into the id (and payload), the offsets run on.
        prefix = f"{b:08x}".encode()
        lines = [line.replace(b'"iggy_id":"00000000', b'"iggy_id":"' + prefix)
                 .replace(b'"iggy_offset":%d,' % i, b'"iggy_offset":%d,' % (b * batch + i))
                 for i, line in enumerate(template)]
        if not metadata:
            lines = [orjson.dumps(orjson.loads(line)["metadata"]) for line in lines]  # a bare payload, still distinct
        body = b"\n".join(lines) + b"\n"
        t0 = time.perf_counter()
        ledger.add(recognizer.identities("application/x-ndjson", body))
        elapsed += time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert ledger.unique == total, ledger.unique
    out.send((elapsed, (after - before) / 1024))


SERVERS = (
    ("canned", "bare asyncio protocol, canned answer (ceiling)"),
    ("app", "bare aiohttp web.Application"),
    ("server", "bare aiohttp low-level Server"),
    ("endpoint", "sinkbench endpoint: 3 faults, ledger, journal"),
)


def one_round(client: str, connections: int, seconds: float) -> dict[str, dict[str, Any]]:
    settings = parse_endpoint_settings(FAULTS_DOC, None, ())
    out = {}
    for kind, _ in SERVERS:
        if kind == "endpoint":
            with EndpointProcess(settings) as ep:
                assert ep.url is not None and ep.pid is not None
                out[kind] = measure(client, ep.url, connections, seconds, ep.pid)
        else:
            with BareServer(kind) as bare:
                out[kind] = measure(client, bare.url, connections, seconds, bare.pid)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per server and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--client", choices=("raw", "aiohttp", "both"), default="raw")
    parser.add_argument("--no-ledger-check", action="store_true", help="skip the 1,000,000-message ledger figure")
    args = parser.parse_args()
    clients = ["raw", "aiohttp"] if args.client == "both" else [args.client]

    print(f"mock endpoint throughput: {args.connections} keep-alive connections, {args.seconds:g} s per "
          f"measurement after {WARMUP:g} s warm-up, median of {args.rounds} rounds; {os.cpu_count()} CPUs; "
          "each server and the load generator in its own process")
    # Other work on the machine moves every figure below; say how busy it was.
    print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    for client in clients:
        label = "raw asyncio sockets, one request in flight per connection" if client == "raw" \
            else "aiohttp ClientSession"
        print(f"\nload generator: {label}")
        rounds = [one_round(client, args.connections, args.seconds) for _ in range(args.rounds)]
        med: dict[str, float] = {}
        for kind, name in SERVERS:
            rps = [r[kind]["rps"] for r in rounds]
            cpu = statistics.median(r[kind]["cpu_us"] for r in rounds)
            share = statistics.median(r[kind]["cpu_share"] for r in rounds)
            med[kind] = statistics.median(rps)
            spread = ", ".join(f"{x:,.0f}" for x in rps)
            load = statistics.median(r[kind]["load_share"] for r in rounds)
            print(f"  {name:<47} {med[kind]:>7,.0f} req/s  ({spread})  server CPU {cpu:4.0f} us/req, "
                  f"{share:.0%} of a core; load generator {load:.0%}")
        faults = sum(r["endpoint"]["non_200"] for r in rounds)
        rps = med["endpoint"]
        print(f"  endpoint answers that came from faults: {faults}")
        print(f"  endpoint / bare web.Application: {rps / med['app']:.0%}; endpoint / bare low-level Server: "
              f"{rps / med['server']:.0%}; endpoint / canned ceiling: {rps / med['canned']:.0%}")
        print(f"  goal >= {GOAL:,} req/s: {'met' if rps >= GOAL else 'NOT met'}")
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
