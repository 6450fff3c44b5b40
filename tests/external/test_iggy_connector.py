"""examples/iggy-connector against the real stack: the Iggy feed, the real connectors runtime and HTTP sink under
test, and its result the same as the engine's under the same fault plan (as tests/real_iggy's differential
test has it: same plan, same loss)."""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

import pytest

from sinkbench.durations import parse_duration
from tests.external.conftest import ROOT
from tests.real_iggy.conftest import iggy_bin, iggy_server  # noqa: F401 — the fixtures, used by name
from tests.real_iggy.stack import IggyServer, live_children
from tests.real_iggy.test_differential_faults import PLANS, SINK
from tests.run.conftest import run_cli

pytestmark = pytest.mark.real_iggy

EXAMPLE = ROOT / "examples" / "iggy-connector"
PLAN = "503_longer_than_retries"


def _same_settings(a: object, b: object) -> bool:
    if isinstance(a, str) and isinstance(b, str) and a != b:
        try:
            return parse_duration(a) == parse_duration(b)
        except ValueError:
            return False
    return a == b


def test_the_example_is_the_differential_tests_plan() -> None:
    """What makes the comparison below fair: the example's connector and faults are the differential case's."""
    connector = tomllib.loads((EXAMPLE / "connectors" / "http_sink.toml").read_text())
    scenario = tomllib.loads((EXAMPLE / "scenario.toml").read_text())
    plugin = {k: v for k, v in connector["plugin_config"].items() if k != "url"}
    assert plugin.keys() == SINK.keys()
    assert all(_same_settings(plugin[k], SINK[k]) for k in SINK), (plugin, SINK)
    assert scenario["endpoint"]["faults"] == PLANS[PLAN][0]["faults"]
    assert connector["streams"][0]["batch_length"] == 10 and scenario["source"]["count"] == 30


def _engine_equivalent(tmp_path: Path) -> dict:
    """The same stream, batches and faults through sinkbench's engine (profile iggy, at-most-once)."""
    sink = "\n".join(f'{k} = {v!r}' if isinstance(v, str) else f"{k} = {v}" for k, v in SINK.items())
    faults = PLANS[PLAN][0]["faults"][0]
    path = tmp_path / "engine.toml"
    path.write_text(f"""
[scenario]
seed = 3
timeout = "60s"
[source]
kind = "synthetic"
count = 30
stream = "sinkbench_example"
topics = ["events"]
payload_bytes = 64
[runtime]
batch_length = 10
poll_interval = "5ms"
[sink]
url = "mock"
profile = "iggy"
{sink.replace("'", '"')}
[[endpoint.faults]]
requests = {faults["requests"]}
action = "{faults["action"]}"
status = {faults["status"]}
""")
    result = run_cli(["run", str(path)], reports=tmp_path / "engine")
    assert result.code == 0, result.out + result.err
    return result.report


def test_the_iggy_connector_example_runs_as_written_and_agrees_with_the_engine(
        iggy_server: IggyServer, iggy_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    example = tmp_path / "iggy-connector"
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("run"))
    for name, value in (("IGGY_BIN_DIR", str(iggy_bin)), ("IGGY_ADDRESS", iggy_server.address),
                        ("IGGY_HTTP", f"http://127.0.0.1:{iggy_server.http_port}"),
                        ("IGGY_USERNAME", iggy_server.username), ("IGGY_PASSWORD", iggy_server.password)):
        monkeypatch.setenv(name, value)
    result = run_cli(["run", str(example / "scenario.toml")], reports=tmp_path / "out")
    result.assert_no_traceback()
    assert result.code == 0, result.out + result.err
    real = result.report
    totals = real["totals"]
    assert (totals["total"], totals["delivered"], totals["lost"], totals["duplicates"]) == (30, 20, 10, 0)
    assert "Started consuming messages for sink connector" in real["external"]["output"]
    assert iggy_server.password not in (tmp_path / "out" / "run.json").read_text()

    engine = _engine_equivalent(tmp_path)
    e = engine["totals"]
    # Same plan, same loss (the differential test's verdict), and the same requests and answers.
    assert (e["lost"], e["duplicates"], e["delivered"]) == (totals["lost"], totals["duplicates"], totals["delivered"])
    assert e["requests"] == totals["requests"] and e["retries"] == totals["retries"]
    assert engine["requests_by_status"] == real["requests_by_status"]
    # Nothing the example started is left running.
    assert not _running_in(example)


def _running_in(folder: Path) -> list[int]:
    """Live processes whose working directory is `folder` (the example's command runs there)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == folder:
                    found.append(int(entry.name))
            except OSError:
                continue
    return live_children(found)


def _items(stream: str, topic: str, ids: range) -> list:
    from sinkbench.model import Message, Schema
    from sinkbench.sources.base import SourceMessage, SourceTopic
    t = SourceTopic(stream, topic, Schema.JSON)
    return [SourceMessage(t, Message(id=i, offset=0, timestamp=0, payload={"n": i}, partition=0)) for i in ids]


def test_the_iggy_feed_gives_each_message_the_address_the_server_assigned(iggy_server: IggyServer) -> None:  # noqa: F811
    import asyncio

    import apache_iggy

    from sinkbench.feed.iggy import IggyFeed
    from sinkbench.sources.iggy import parse_connection

    iggy_server.create_topic("feedtest", "t", 1)

    async def run() -> tuple[list, list]:
        feed = IggyFeed(parse_connection(iggy_server.connection), partitions=lambda s, t: 1)
        await feed.open(_items("feedtest", "t", range(0))[:0])
        first = await feed.send(_items("feedtest", "t", range(100, 105)))    # the topic holds 5 messages now
        again = IggyFeed(parse_connection(iggy_server.connection), partitions=lambda s, t: 1)
        await again.open([])
        later = await again.send(_items("feedtest", "t", range(200, 203)))   # a new feed: offsets 5, 6, 7
        client = apache_iggy.IggyClient.from_connection_string(iggy_server.connection)
        await client.connect()
        polled = await client.poll_messages("feedtest", "t", partition_id=0,
                                            consumer=apache_iggy.Consumer.Single("check"),
                                            polling_strategy=apache_iggy.PollingStrategy.Offset(0), count=10,
                                            auto_commit=False)
        await feed.close()
        return [f.address for f in first + later], [(m.offset(), m.id()) for m in polled]

    addresses, polled = asyncio.run(run())
    assert [a[3] for a in addresses] == list(range(8))
    assert polled == list(zip(range(8), [*range(100, 105), *range(200, 203)]))


def test_creating_a_topic_this_server_refuses_through_the_sdk_needs_its_http_api(iggy_server: IggyServer) -> None:  # noqa: F811
    import asyncio

    from sinkbench.feed.iggy import IggyFeed
    from sinkbench.sources.iggy import IggySourceError, parse_connection

    async def run(http: str | None) -> None:
        feed = IggyFeed(parse_connection(iggy_server.connection), partitions=lambda s, t: 3, create=True, http=http)
        await feed.open(_items("made", "here", range(1))[0:1] and [_items("made", "here", range(1))[0].topic])

    with pytest.raises(IggySourceError) as caught:
        asyncio.run(run(None))
    assert caught.value.where.key == "feed.create" and "[feed] http" in caught.value.message
    asyncio.run(run(f"http://127.0.0.1:{iggy_server.http_port}"))      # through the HTTP API, with 3 partitions

    async def partitions() -> int:
        import apache_iggy
        client = apache_iggy.IggyClient.from_connection_string(iggy_server.connection)
        await client.connect()
        return (await client.get_topic("made", "here")).partitions_count

    assert asyncio.run(partitions()) == 3
