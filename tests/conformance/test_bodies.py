"""Every worked example of shared/conformance/bodies.json (copied here) as a test.

The messages are written as a recorded stream and read back with the
project's own reader, then sent through the engine to pytest-httpserver; the
requests it receives must match the examples (JSON compared by value).
"""

from __future__ import annotations

import base64
import random
from pathlib import Path

import orjson
import pytest
from pytest_httpserver import HTTPServer

from sinkbench.clock import ManualClock
from sinkbench.config import resolve_sink, table_locator
from sinkbench.engine import HttpSink, Outcome
from sinkbench.model import BatchMetadata, Schema, TopicMetadata
from sinkbench.sources.recorded import read_stream

DOC = orjson.loads((Path(__file__).parent / "bodies.json").read_bytes())
CASES = DOC["cases"]


def _stream_file(tmp_path: Path, case: dict) -> Path:
    path = tmp_path / f"{case['name']}.jsonl"
    header = {"sinkbench_stream": 1, "stream": DOC["stream"], "topic": DOC["topic"], "schema": case["schema"]}
    path.write_bytes(b"\n".join(orjson.dumps(x) for x in [header, *case["messages"]]) + b"\n")
    return path


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
async def test_conformance_case(case: dict, httpserver: HTTPServer, tmp_path: Path):
    httpserver.expect_request("/ingest").respond_with_data("ok")
    table = {**case["sink"], "url": httpserver.url_for("/ingest")}
    settings = resolve_sink(table, table_locator(None, (), "bodies.json"), env={}).settings
    messages = [sm.message for sm in read_stream(_stream_file(tmp_path, case))]
    sink = HttpSink(settings, clock=ManualClock(), rng=random.Random(0))
    await sink.open()
    result = await sink.consume(TopicMetadata(DOC["stream"], DOC["topic"]),
                                BatchMetadata(case["partition_id"], messages[-1].offset, Schema(case["schema"])),
                                messages)
    await sink.close()
    assert result.outcomes == [Outcome.DELIVERED] * len(messages)
    received = [r for r, _ in httpserver.log]
    assert len(received) == len(case["requests"])
    for request, expected in zip(received, case["requests"]):
        assert request.headers["Content-Type"] == expected["content_type"]
        body = request.get_data()
        if "json" in expected:
            assert orjson.loads(body) == expected["json"]
        if "ndjson" in expected:
            assert [orjson.loads(line) for line in body.split(b"\n") if line] == expected["ndjson"]
            if expected.get("ends_with_newline"):
                assert body.endswith(b"\n") and not body.endswith(b"\n\n")
        if "body_base64" in expected:
            assert body == base64.b64decode(expected["body_base64"])


def test_every_case_is_exercised():
    assert len(CASES) >= 10
