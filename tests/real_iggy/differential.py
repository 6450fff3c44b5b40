"""The same stream through the real Iggy connector and through sinkbench's engine, side by side.

One case: messages are produced into a real iggy-server (ids and headers
kept); `sinkbench record` reads them back into a stream file (so the file
holds the offsets and timestamps the server assigned — nothing needs
normalising for the engine); the real connectors runtime with the HTTP sink
delivers the topic to a capture endpoint; `sinkbench run` replays the stream
file through the `iggy` profile to the same kind of endpoint. What each sent
is then compared request by request.

The capture endpoint is pytest-httpserver (werkzeug), a server neither side
wrote. Faults that need to break connections use sinkbench's endpoint
process instead, compared by its journal (see `run_faulted`).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sinkbench.feed.iggy import produce
from sinkbench.model import HeaderKind, HeaderValue, Message, Schema
from sinkbench.sources.recorded import StreamWriter, read_stream
from tests.real_iggy.stack import ConnectorsRuntime, IggyServer

# One header of every kind Iggy has, with values at the edges of each.
EVERY_HEADER: dict[str, HeaderValue] = {
    "raw": HeaderValue(HeaderKind.RAW, b"\xff\x00\xfe not utf-8 \x80"),
    "string": HeaderValue(HeaderKind.STRING, "h\u00e9llo \u2713 \U0001f680"),
    "bool_true": HeaderValue(HeaderKind.BOOL, True),
    "bool_false": HeaderValue(HeaderKind.BOOL, False),
    "int8": HeaderValue(HeaderKind.INT8, -128),
    "int16": HeaderValue(HeaderKind.INT16, 32767),
    "int32": HeaderValue(HeaderKind.INT32, -(2**31)),
    "int64": HeaderValue(HeaderKind.INT64, 2**63 - 1),
    "int128": HeaderValue(HeaderKind.INT128, -(2**127)),
    "uint8": HeaderValue(HeaderKind.UINT8, 255),
    "uint16": HeaderValue(HeaderKind.UINT16, 65535),
    "uint32": HeaderValue(HeaderKind.UINT32, 2**32 - 1),
    "uint64": HeaderValue(HeaderKind.UINT64, 2**64 - 1),
    "uint128": HeaderValue(HeaderKind.UINT128, 2**128 - 1),
    "float32": HeaderValue(HeaderKind.FLOAT32, -1.5),
    "float64": HeaderValue(HeaderKind.FLOAT64, 0.1),
}


# Headers that name the connection rather than the request.
CONNECTION_HEADERS = frozenset({"host"})


@dataclass
class Captured:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class _QuickStopServer(HTTPServer):
    """pytest-httpserver with werkzeug's serve loop checking for stop every 50 ms instead of every 500 ms:
    stop() waited up to half a second per server, twice a case (the loop only polls for shutdown)."""

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.05)


@dataclass
class Capture:
    """A pytest-httpserver that records every request and answers from `answer(n)` (n from 1)."""

    answer: Callable[[int], tuple[int, dict[str, str]]] = lambda n: (200, {})
    requests: list[Captured] = field(default_factory=list)
    server: HTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Capture:
        # Port 0: the system picks one as it binds (a port found free beforehand could be taken meanwhile).
        self.server = _QuickStopServer(host="127.0.0.1", port=0)
        self.server.expect_request("").respond_with_handler(self._handle)
        self.server.start()
        return self

    def _handle(self, request: Request) -> Response:
        with self.lock:
            self.requests.append(Captured(request.method, request.full_path.rstrip("?"),
                                          {k.lower(): v for k, v in request.headers.items()},
                                          request.get_data(), time.monotonic()))
            n = len(self.requests)
        status, headers = self.answer(n)
        return Response("ok" if status < 400 else "no", status=status, headers=headers)

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url_for("/ingest")

    def settle(self, *, quiet: float = 1.2, first_within: float = 30.0, at_most: float = 60.0,
               expected: Callable[[], int | None] = lambda: None, quiet_when_expected: float = 0.5) -> None:
        """Wait for the first request, then until nothing new arrived for `quiet` seconds.

        `expected()`: how many requests are due, once known (else None). When at least that many have
        arrived, `quiet_when_expected` of silence is enough.
        """
        start = time.monotonic()
        while not self.requests:
            if time.monotonic() - start > first_within:
                return
            time.sleep(0.05)
        while time.monotonic() - start < at_most:
            with self.lock:
                last, count = self.requests[-1].at, len(self.requests)
            due = expected()
            enough = quiet_when_expected if due is not None and count >= due else quiet
            if time.monotonic() - last >= enough:
                return
            time.sleep(0.05)

    def stop(self) -> None:
        if self.server is not None:
            self.server.clear()
            self.server.stop()


@dataclass
class Case:
    name: str
    schema: Schema
    messages: list[Message]            # each with its partition (for `topic`)
    plugin_config: dict[str, Any]      # without url
    partitions: int = 1
    batch_length: int = 100
    stream: str = "diff_stream"
    topic: str = "diff_topic"
    more_topics: dict[str, list[Message]] = field(default_factory=dict)  # other topics of the same stream

    @property
    def topics(self) -> dict[str, list[Message]]:
        return {self.topic: self.messages, **self.more_topics}


@dataclass
class Sides:
    real: list[Captured]
    engine: list[Captured]
    report: dict[str, Any]
    recorded: Path
    real_log: str = ""     # the connectors runtime's log, whole (it ends with the sink's closing stats)


def run_sinkbench(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sinkbench.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "NO_COLOR": "1"})


def load(server: IggyServer, case: Case) -> None:
    """Create the topic and produce the case's messages, partition by partition, in order."""
    import apache_iggy

    for topic in case.topics:
        server.create_topic(case.stream, topic, case.partitions)

    async def send() -> None:
        client = apache_iggy.IggyClient.from_connection_string(server.connection + "?reconnection_retries=0")
        await client.connect()
        for topic, messages in case.topics.items():
            for partition in range(case.partitions):
                mine = [m for m in messages if m.partition == partition]
                if mine:
                    await produce(client, case.stream, topic, partition, mine, case.schema)

    asyncio.run(send())


def record(server: IggyServer, case: Case, out: Path) -> Path:
    """`sinkbench record` each topic, then join the topics into one stream file (lines name their topic)."""
    parts = []
    for topic in case.topics:
        part = out.with_name(f"{out.stem}.{topic}.jsonl")
        done = run_sinkbench("record", "--connection", server.connection, "--stream", case.stream, "--topic",
                             topic, "--from-start", "--until-end", "--schema", case.schema.value, "--out",
                             str(part), "--quiet", cwd=out.parent)
        assert done.returncode == 0, done.stderr
        parts.append(part)
    if len(parts) == 1:
        parts[0].rename(out)
        return out
    with StreamWriter(out, stream=case.stream, topic=case.topic, schema=case.schema) as writer:
        for part in parts:
            for item in read_stream(part):
                writer.write(item.topic, item.message)
    return out


def streams_entry(case: Case, group: str = "sinkbench_diff") -> dict[str, Any]:
    return {"stream": case.stream, "topics": list(case.topics), "schema": case.schema.value,
            "batch_length": case.batch_length, "poll_interval": "5ms", "consumer_group": group}


def run_real(start_connectors: Callable[..., ConnectorsRuntime], case: Case, url: str) -> ConnectorsRuntime:
    # A sink whose open() fails (a failing health check) never starts consuming: wait for the log only
    # when it can come.
    wait = not case.plugin_config.get("health_check_enabled", False)
    return start_connectors({**case.plugin_config, "url": url}, [streams_entry(case)], wait=wait)


def scenario_file(case: Case, stream_file: Path, url: str, out: Path, *, timeout: str = "60s") -> Path:
    doc = {
        "scenario": {"name": case.name, "seed": 1, "timeout": timeout},
        "source": {"kind": "recorded", "path": stream_file.name},
        "runtime": {"batch_length": case.batch_length, "poll_interval": "5ms"},
        "sink": {"profile": "iggy", **case.plugin_config, "url": url},
    }
    out.write_text(tomlkit.dumps(doc))
    return out


def run_engine(case: Case, stream_file: Path, url: str, workdir: Path) -> dict[str, Any]:
    scenario = scenario_file(case, stream_file, url, workdir / f"{case.name}.toml")
    report = workdir / f"{case.name}.report.json"
    done = run_sinkbench("run", str(scenario), "--quiet", "--report", str(report), cwd=workdir)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(report.read_text())


def both(server: IggyServer, start_connectors: Callable[..., ConnectorsRuntime], case: Case, workdir: Path,
         answer: Callable[[int], tuple[int, dict[str, str]]] | None = None, *,
         real_first_within: float = 30.0) -> Sides:
    """Run one case through both sides, each against its own fresh capture endpoint.

    The engine's side (`sinkbench record`, then `sinkbench run`) works in a thread while the real runtime
    delivers and its capture waits to go quiet: the two share only the server, which `record` reads with a
    consumer of its own that commits nothing (the runtime polls as its consumer group), and every message
    was produced before either starts, so neither side's requests depend on the other's timing. The real
    side's waits are unchanged; the engine's second or so of work now happens inside them.

    `real_first_within`: how long the real side gets to send its first request (a case where it sends
    nothing waits all of it).
    """
    load(server, case)
    real_cap = Capture(answer or (lambda n: (200, {}))).start()
    engine_cap = Capture(answer or (lambda n: (200, {}))).start()

    def engine_side() -> tuple[Path, dict[str, Any]]:
        recorded = record(server, case, workdir / f"{case.name}.jsonl")
        return recorded, run_engine(case, recorded, engine_cap.url, workdir)

    with ThreadPoolExecutor(1) as pool:
        engine = pool.submit(engine_side)
        try:
            runtime = run_real(start_connectors, case, real_cap.url)
            # Without a retry to come (every answer a 200, or retries off) a shorter quiet is enough once the
            # real side has sent as many requests as the engine (see engine_sent).
            no_retries = answer is None or case.plugin_config.get("max_retries") == 0
            real_cap.settle(first_within=real_first_within,
                            expected=(lambda: engine_sent(engine, engine_cap)) if no_retries else (lambda: None))
            runtime.stop()
            recorded, report = engine.result()
            # `sinkbench run` has finished: every request it sent has been answered already.
            engine_cap.settle(quiet=0.2, first_within=1)
            return Sides(real_cap.requests, engine_cap.requests, report, recorded,
                         runtime.log.read_text(errors="replace"))
        finally:
            wait_for([engine])          # the captures outlive the engine's run, whatever failed
            real_cap.stop()
            engine_cap.stop()


def engine_sent(engine: Future, capture: Capture) -> int | None:
    """How many requests the engine's finished run sent (None while it runs or if it failed).

    The real side may stop waiting after a shorter quiet once it has sent as many, when no retry can
    come (every answer a 200, or max_retries = 0): then the connector has nothing a timer would send
    later (no retry, no backoff); a request beyond the engine's count would belong to a batch being
    sent, which follows the previous request at once, well inside the shorter quiet, and then the lanes
    differ.
    """
    if not engine.done() or engine.exception() is not None:
        return None
    return len(capture.requests)


def comparable_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k not in CONNECTION_HEADERS}


def lanes(requests: Sequence[Captured]) -> dict[tuple[str, int] | None, list[Captured]]:
    """Requests per (topic, partition) of their first message, in order; one lane without metadata.

    The runtime runs one task per topic, so only the order within a topic is
    the connector's; across topics it is the scheduler's.
    """
    out: dict[tuple[str, int] | None, list[Captured]] = {}
    for request in requests:
        key = None
        try:
            first = json.loads(request.body.split(b"\n", 1)[0]) if request.body else None
            if isinstance(first, list):
                first = first[0] if first else None
            if isinstance(first, dict) and isinstance(first.get("metadata"), dict):
                key = (first["metadata"]["iggy_topic"], first["metadata"]["iggy_partition_id"])
        except (ValueError, KeyError):
            pass
        out.setdefault(key, []).append(request)
    return out


def assert_same(sides: Sides, *, allow_none: bool = False) -> None:
    """Same requests lane by lane: method, path, every header but Host, the body byte for byte.

    `allow_none`: both sending nothing is agreement too (every batch over max_payload_size_bytes).
    """
    assert sides.real or allow_none, "the real connector sent nothing"
    real, engine = lanes(sides.real), lanes(sides.engine)
    assert sorted(real, key=str) == sorted(engine, key=str), describe_difference(sides.real, sides.engine)
    for key in real:
        a_list, b_list = real[key], engine[key]
        assert len(a_list) == len(b_list), f"lane {key}: " + describe_difference(a_list, b_list)
        for a, b in zip(a_list, b_list):
            assert (a.method, a.path) == (b.method, b.path), describe_difference(a_list, b_list)
            assert comparable_headers(a.headers) == comparable_headers(b.headers), describe_difference(a_list, b_list)
            assert a.body == b.body, f"lane {key}: " + describe_difference(a_list, b_list)


def describe_difference(real: Sequence[Captured], engine: Sequence[Captured]) -> str:
    lines = [f"real sent {len(real)} requests, engine {len(engine)}"]
    for i, (a, b) in enumerate(zip(real, engine)):
        if a.method != b.method or a.path != b.path:
            lines.append(f"#{i + 1}: {a.method} {a.path} vs {b.method} {b.path}")
        if comparable_headers(a.headers) != comparable_headers(b.headers):
            lines.append(f"#{i + 1} headers: real {comparable_headers(a.headers)} engine {comparable_headers(b.headers)}")
        if a.body != b.body:
            lines.append(f"#{i + 1} body:\n  real   {a.body[:600]!r}\n  engine {b.body[:600]!r}")
        if len(lines) > 12:
            break
    return "\n".join(lines)


# ------------------------------------------------------------------ under faults


@dataclass
class Journal:
    """What one side did to a sinkbench endpoint with faults: its stats and every request, in order."""

    stats: dict[str, Any]
    requests: list[dict[str, Any]]
    report: dict[str, Any] | None = None

    def shape(self) -> list[tuple[str, Any, int, Any]]:
        """Per request: method, status or action, body size, messages counted."""
        return [(r["method"], r["status"], r["body_bytes"], r["messages"]) for r in self.requests]

    def gaps(self) -> list[float]:
        times = [r["time"] for r in self.requests]
        return [b - a for a, b in zip(times, times[1:])]


def _read_endpoint(endpoint: Any) -> Journal:
    from sinkbench.endpoint.client import AdminClient

    async def read() -> Journal:
        async with AdminClient(endpoint.admin_url) as admin:
            return Journal(await admin.stats(), await admin.requests())

    return asyncio.run(read())


def _settle_endpoint(endpoint: Any, *, quiet: float = 1.6, first_within: float = 30.0, at_most: float = 90.0) -> None:
    """Wait for the first request, then until the request count stayed the same for `quiet` seconds."""
    start = time.monotonic()
    seen, since = -1, time.monotonic()
    while time.monotonic() - start < at_most:
        count = _read_endpoint(endpoint).stats["requests"]
        if count != seen:
            seen, since = count, time.monotonic()
        elif count == 0 and time.monotonic() - start > first_within:
            return
        elif count and time.monotonic() - since >= quiet:
            return
        time.sleep(0.2)


def both_faulted(server: IggyServer, start_connectors: Callable[..., ConnectorsRuntime], case: Case,
                 endpoint_doc: dict[str, Any], workdir: Path, *, quiet: float = 1.6) -> tuple[Journal, Journal]:
    """One case through both sides, each against its own sinkbench endpoint process with `endpoint_doc`."""
    from sinkbench.endpoint.process import EndpointProcess
    from sinkbench.endpoint.settings import parse_endpoint_settings

    load(server, case)
    settings = parse_endpoint_settings(endpoint_doc, path=())
    # `record` runs while the two endpoint processes start, and is done before the real side starts: the
    # sides' retry gaps are timed, so nothing else of the test runs while either delivers.
    with ThreadPoolExecutor(1) as pool:
        recording = pool.submit(record, server, case, workdir / f"{case.name}.jsonl")
        with EndpointProcess(settings) as real_end, EndpointProcess(settings) as engine_end:
            recorded = recording.result()
            runtime = run_real(start_connectors, case, real_end.url + "ingest")
            _settle_endpoint(real_end, quiet=quiet)
            runtime.stop()
            real = _read_endpoint(real_end)
            report = run_engine(case, recorded, engine_end.url + "ingest", workdir)
            engine = _read_endpoint(engine_end)
            engine.report = report
    return real, engine
