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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sinkbench.feed.iggy import produce
from sinkbench.model import Message, Schema
from tests.real_iggy.stack import ConnectorsRuntime, IggyServer, free_port

# Headers that name the connection rather than the request.
CONNECTION_HEADERS = frozenset({"host"})


@dataclass
class Captured:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Capture:
    """A pytest-httpserver that records every request and answers from `answer(n)` (n from 1)."""

    answer: Callable[[int], tuple[int, dict[str, str]]] = lambda n: (200, {})
    requests: list[Captured] = field(default_factory=list)
    server: HTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Capture:
        self.server = HTTPServer(host="127.0.0.1", port=free_port())
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

    def settle(self, *, quiet: float = 1.5, first_within: float = 30.0, at_most: float = 60.0) -> None:
        """Wait for the first request, then until nothing new arrived for `quiet` seconds."""
        start = time.monotonic()
        while not self.requests:
            if time.monotonic() - start > first_within:
                return
            time.sleep(0.05)
        while time.monotonic() - start < at_most:
            with self.lock:
                last = self.requests[-1].at
            if time.monotonic() - last >= quiet:
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
    messages: list[Message]            # each with its partition
    plugin_config: dict[str, Any]      # without url
    partitions: int = 1
    batch_length: int = 100
    stream: str = "diff_stream"
    topic: str = "diff_topic"


@dataclass
class Sides:
    real: list[Captured]
    engine: list[Captured]
    report: dict[str, Any]
    recorded: Path


def run_sinkbench(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sinkbench.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "NO_COLOR": "1"})


def load(server: IggyServer, case: Case) -> None:
    """Create the topic and produce the case's messages, partition by partition, in order."""
    import apache_iggy

    server.create_topic(case.stream, case.topic, case.partitions)

    async def send() -> None:
        client = apache_iggy.IggyClient.from_connection_string(server.connection + "?reconnection_retries=0")
        await client.connect()
        for partition in range(case.partitions):
            mine = [m for m in case.messages if m.partition == partition]
            if mine:
                await produce(client, case.stream, case.topic, partition, mine, case.schema)

    asyncio.run(send())


def record(server: IggyServer, case: Case, out: Path) -> Path:
    done = run_sinkbench("record", "--connection", server.connection, "--stream", case.stream, "--topic",
                         case.topic, "--from-start", "--until-end", "--schema", case.schema.value, "--out",
                         str(out), "--quiet", cwd=out.parent)
    assert done.returncode == 0, done.stderr
    return out


def streams_entry(case: Case, group: str = "sinkbench_diff") -> dict[str, Any]:
    return {"stream": case.stream, "topics": [case.topic], "schema": case.schema.value,
            "batch_length": case.batch_length, "poll_interval": "5ms", "consumer_group": group}


def run_real(start_connectors: Callable[..., ConnectorsRuntime], case: Case, url: str) -> ConnectorsRuntime:
    return start_connectors({**case.plugin_config, "url": url}, [streams_entry(case)])


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
         answer: Callable[[int], tuple[int, dict[str, str]]] | None = None) -> Sides:
    """Run one case through both sides, each against its own fresh capture endpoint."""
    load(server, case)
    recorded = record(server, case, workdir / f"{case.name}.jsonl")
    real_cap = Capture(answer or (lambda n: (200, {}))).start()
    engine_cap = Capture(answer or (lambda n: (200, {}))).start()
    try:
        runtime = run_real(start_connectors, case, real_cap.url)
        real_cap.settle()
        runtime.stop()
        report = run_engine(case, recorded, engine_cap.url, workdir)
        engine_cap.settle(quiet=0.5, first_within=5)
        return Sides(real_cap.requests, engine_cap.requests, report, recorded)
    finally:
        real_cap.stop()
        engine_cap.stop()


def comparable_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k not in CONNECTION_HEADERS}


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
