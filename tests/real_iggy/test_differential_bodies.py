"""The real connector and the engine send the same requests for the same stream (docs/fidelity.md).

Every worked example of tests/conformance/bodies.json, and streams with every
header kind and a binary payload, are produced into a real iggy-server,
delivered by the real connectors runtime with the HTTP sink, recorded with
`sinkbench record` and replayed by `sinkbench run` (profile iggy). Requests are
compared in order: method, path, every header but Host, and the body byte for
byte. Nothing is normalised: the recorded stream carries the offsets and
timestamps the server assigned.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from sinkbench.model import Schema
from sinkbench.sources.recorded import read_stream
from tests.real_iggy.differential import Case, assert_same, both

pytestmark = pytest.mark.real_iggy

DOC = orjson.loads((Path(__file__).parents[1] / "conformance" / "bodies.json").read_bytes())


def _messages(tmp_path: Path, name: str, schema: str, lines: list[dict]):
    path = tmp_path / f"{name}.input.jsonl"
    header = {"sinkbench_stream": 1, "stream": "s", "topic": "t", "schema": schema}
    path.write_bytes(b"\n".join(orjson.dumps(x) for x in [header, *lines]) + b"\n")
    return [sm.message for sm in read_stream(path)]


@pytest.mark.parametrize("case", DOC["cases"], ids=[c["name"] for c in DOC["cases"]])
def test_conformance_case_matches_the_real_connector(case, iggy_server, connectors, tmp_path):
    messages = _messages(tmp_path, case["name"], case["schema"], case["messages"])
    partitions = max(m.partition for m in messages) + 1
    config = {k: v for k, v in case["sink"].items() if k != "url"}
    sides = both(iggy_server, connectors, Case(case["name"], Schema(case["schema"]), messages, config,
                                               partitions=partitions), tmp_path)
    assert_same(sides)
