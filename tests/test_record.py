"""`sinkbench record`: a live topic (a fake server with the SDK's interface) into a stream file — resumable,
valid however it stops — and a recording replays to request bodies byte-identical to the live run's.

The last test does the same against a real Iggy server when SINKBENCH_IGGY_URL names one."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import random
import signal
import sys
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from iggy_fake import FakeServer, every_kind_headers
from pytest_httpserver import HTTPServer

from sinkbench.clock import RealClock
from sinkbench.commands import record as record_command
from sinkbench.commands.record import Recorder, RecordPlan, _timestamp, record
from sinkbench.config import resolve_sink, table_locator
from sinkbench.engine import HttpSink
from sinkbench.errors import InputError
from sinkbench.runtime import OffsetCommit, Runtime, RuntimeSettings
from sinkbench.sources.iggy import (
    IggyConnectionLost,
    IggySource,
    IggySourceError,
    Timeouts,
    parse_connection,
)
from sinkbench.sources.recorded import read_header, read_stream, validate_stream

URL = "iggy+tcp://iggy:s3cr3t-pw@127.0.0.1:8090"
FAST = Timeouts(connect=2.0, request=2.0, retries=1, retry_wait=0.01)
CONN = parse_connection(URL, check_with_sdk=False)


@pytest.fixture
def server() -> FakeServer:
    s = FakeServer(users={"iggy": "s3cr3t-pw"})
    s.create_topic("orders", "events", partitions=1)
    return s


def fill(server: FakeServer, n: int, partitions: int = 1, schema: str = "json", topic: str = "events") -> None:
    if partitions != 1 or topic != "events":
        server.create_topic("orders", topic, partitions=partitions)
    for i in range(n):
        server.produce("orders", topic, payload(i, schema), partition=i % partitions,
                       headers=every_kind_headers(i) if i % 3 else None, id=random.Random(i).getrandbits(128))


def payload(i: int, schema: str) -> Any:
    if schema == "json":
        return {"order": i, "total": i * 1.1, "ratio": 1 / (i + 3), "tags": ["é", "😀", "\u2028"],
                "nested": {"none": None, "big": 2**63 - 1 - i, "tiny": -1.5e-300, "list": [True, False]}}
    if schema == "text":
        return f"line {i} — ünïcode ✓ \"quoted\""
    return bytes((i + k) % 256 for k in range(1 + i % 40)) + b"\x00\xff"


def plan(out: Path, **kw: Any) -> RecordPlan:
    kw.setdefault("until_end", True)
    return RecordPlan(connection=CONN, stream="orders", topic="events", out=out, **kw)


async def rec(server: FakeServer, out: Path, **kw: Any):
    return await record(plan(out, **kw), client_factory=server.client, timeouts=FAST)


def offsets(path: Path) -> list[tuple[int, int]]:
    return [(sm.message.partition, sm.message.offset) for sm in read_stream(path)]


# ---------------------------------------------------------------- recording


async def test_every_field_is_recorded_and_reads_back(server, tmp_path):
    fill(server, 30)
    out = tmp_path / "orders.jsonl"
    summary = await rec(server, out)
    assert summary.written == 30 and summary.stopped == "end" and summary.ranges() == "partition 0: offsets 0..29"
    header = read_header(out)
    assert (header.stream, header.topic, header.schema.value) == ("orders", "events", "json")
    assert header.source == "iggy+tcp://127.0.0.1:8090" and header.recorded_at
    from sinkbench.model import Schema
    from sinkbench.sources.iggy import convert_message
    want = [convert_message(m, Schema.JSON) for m in server.streams["orders"]["events"][0].messages]
    got = [sm.message for sm in read_stream(out)]
    assert got == want   # id, offset, timestamps, checksum, headers with their kinds, payload
    assert "s3cr3t" not in out.read_text()
    assert all(p["consumer"] == "Single" and not p["auto_commit"] for p in server.polls)
    assert server.groups == {}   # recording joins no group and commits nothing


@pytest.mark.parametrize("schema", ["text", "raw", "proto"])
async def test_other_schemas_are_recorded(server, tmp_path, schema):
    fill(server, 12, schema=schema)
    out = tmp_path / "s.jsonl"
    await rec(server, out, schema=schema)
    assert [sm.message.payload for sm in read_stream(out)] == [payload(i, schema) for i in range(12)]
    assert validate_stream(out) == (12, [])


async def test_resume_appends_after_the_last_offset_of_each_partition(server, tmp_path):
    fill(server, 90, partitions=3)
    out = tmp_path / "orders.jsonl.gz"
    first = await rec(server, out, count=40, until_end=False)
    assert first.written == 40 and first.stopped == "count"
    assert {p for p, _ in offsets(out)} == {0, 1}     # partition 0 whole (30), then 10 of partition 1
    # The start option applies only to partitions not in the file yet; the others continue where they stopped.
    second = await rec(server, out, start="offset", start_value=25)
    assert second.resumed == {0: 30, 1: 10}
    got = offsets(out)
    assert len(got) == len(set(got)) == 65
    assert [o for q, o in got if q == 0] == list(range(30)) and [o for q, o in got if q == 1] == list(range(30))
    assert [o for q, o in got if q == 2] == list(range(25, 30))
    assert out.read_bytes()[:2] == b"\x1f\x8b" and validate_stream(out) == (65, [])
    again = await rec(server, out)
    assert again.written == 0 and again.ranges() == "nothing new" and len(offsets(out)) == 65


async def test_a_file_of_another_topic_is_not_appended_to(server, tmp_path):
    fill(server, 3)
    out = tmp_path / "other.jsonl"
    out.write_text('{"sinkbench_stream": 1, "stream": "orders", "topic": "refunds", "schema": "json"}\n')
    with pytest.raises(InputError) as info:
        await rec(server, out)
    assert "cannot continue this file: it records topic 'refunds', not 'events'" in str(info.value)
    assert server.clients == []   # refused before connecting


async def test_where_to_start_and_which_partition(server, tmp_path):
    fill(server, 60, partitions=2)
    got = await rec(server, tmp_path / "a.jsonl", partition=1, start="offset", start_value=20)
    assert got.partitions == [1] and offsets(tmp_path / "a.jsonl") == [(1, o) for o in range(20, 30)]
    ts = server.streams["orders"]["events"][0].messages[25].timestamp()
    await rec(server, tmp_path / "b.jsonl", partition=0, start="timestamp", start_value=ts)
    assert offsets(tmp_path / "b.jsonl") == [(0, o) for o in range(25, 30)]
    with pytest.raises(InputError) as info:
        await rec(server, tmp_path / "c.jsonl", partition=7)
    assert "topic 'events' has no partition 7 (partitions: 0..1)" in str(info.value)


def test_timestamps_on_the_command_line():
    assert _timestamp("1710064800000000") == 1710064800000000
    assert _timestamp("2024-03-10T10:00:00Z") == 1710064800000000
    assert _timestamp("2024-03-10T10:00:00") == 1710064800000000   # no zone: UTC
    with pytest.raises(argparse.ArgumentTypeError):
        _timestamp("yesterday")


async def test_undecodable_payloads_are_left_out_and_counted(server, tmp_path):
    for p in ({"a": 1}, b"{oops", {"a": 2}):
        server.produce("orders", "events", p)
    summary = await rec(server, tmp_path / "s.jsonl")
    assert summary.written == 2 and summary.undecodable == 1
    assert offsets(tmp_path / "s.jsonl") == [(0, 0), (0, 2)]


async def test_stopping_leaves_a_valid_file(server, tmp_path):
    fill(server, 50)
    stop = asyncio.Event()
    server.on_poll = lambda client, n: stop.set() if n == 2 else None
    out = tmp_path / "s.jsonl.gz"
    summary = await record(plan(out, until_end=False, batch_length=10), client_factory=server.client,
                           timeouts=FAST, stop=stop)
    assert summary.stopped == "interrupted" and summary.written == 30
    assert validate_stream(out) == (30, [])


async def test_lost_connection_mid_recording_raises_and_keeps_what_was_written(server, tmp_path):
    fill(server, 50)

    def drop(client, n):
        if n == 2:
            server.fail_polls, server.poll_error = 100, "Disconnected"

    server.on_poll = drop
    out = tmp_path / "s.jsonl"
    recorder = Recorder(plan(out, batch_length=10), client_factory=server.client, timeouts=FAST)
    with pytest.raises(IggyConnectionLost) as info:
        await recorder.run()
    assert "still failing after 2 attempts" in str(info.value) and "s3cr3t" not in str(info.value)
    assert recorder.summary.stopped == "lost" and validate_stream(out) == (20, [])


@pytest.mark.parametrize("setup,category", [
    (lambda s: setattr(s, "unreachable", True), "unreachable"),
    (lambda s: s.users.update(iggy="other"), "credentials"),
    (lambda s: s.streams.clear(), "not_found"),
])
async def test_setup_failures_are_clear_and_write_no_file(server, tmp_path, setup, category):
    setup(server)
    out = tmp_path / "s.jsonl"
    with pytest.raises(IggySourceError) as info:
        await rec(server, out)
    assert info.value.category == category and not out.exists()


# ---------------------------------------------------------------- the command


def run_record(argv: list[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    record_command.configure(parser)
    args = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = record_command.main(args)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def fake_sdk(monkeypatch, server):
    monkeypatch.setattr("sinkbench.sources.iggy.sdk_client", server.client)
    return server


def args(out: Path, *extra: str, url: str = URL, topic: str = "events") -> list[str]:
    return ["--connection", url, "--stream", "orders", "--topic", topic, "--out", str(out), *extra]


def test_command_records_and_prints_what_it_did(fake_sdk, tmp_path):
    fill(fake_sdk, 20)
    code, out, err = run_record(args(tmp_path / "s.jsonl", "--until-end", "--quiet"))
    assert code == 0, err
    assert "recorded 20 messages into" in out and "partition 0: offsets 0..19" in out
    assert "s3cr3t" not in out + err + (tmp_path / "s.jsonl").read_text()


@pytest.mark.parametrize("extra,prepare,expected", [
    ((), lambda s: setattr(s, "unreachable", True), "cannot reach the Iggy server at iggy+tcp://127.0.0.1:8090"),
    ((), lambda s: s.users.update(iggy="x"), "refused the credentials of user 'iggy'"),
    ((), lambda s: s.streams.clear(), "stream 'orders' does not exist"),
    (("--partition", "3"), lambda s: None, "has no partition 3"),
])
def test_command_exits_2_on_what_the_user_can_fix(fake_sdk, tmp_path, extra, prepare, expected):
    prepare(fake_sdk)
    code, out, err = run_record(args(tmp_path / "s.jsonl", "--until-end", "--quiet", *extra))
    assert code == 2 and expected in err and "Traceback" not in err and "s3cr3t" not in out + err


def test_command_exits_2_on_a_missing_topic_or_a_bad_connection_string(fake_sdk, tmp_path):
    code, _, err = run_record(args(tmp_path / "s.jsonl", "--quiet", topic="nope"))
    assert code == 2 and "topic 'nope' does not exist in stream 'orders'" in err
    code, _, err = run_record(args(tmp_path / "s.jsonl", "--quiet", url="iggy+tcp://iggy:pw@h:1?tsl=1"))
    assert code == 2 and "did you mean 'tls'" in err and ":pw@" not in err
    code, _, err = run_record(args(tmp_path / "no" / "dir" / "s.jsonl", "--quiet"))
    assert code == 2 and "cannot write" in err


def test_command_expands_env_vars_in_the_connection_string(fake_sdk, tmp_path, monkeypatch):
    # The password can come from the environment, so it is neither in the shell's history nor in `ps`.
    fill(fake_sdk, 5)
    monkeypatch.setenv("SB_IGGY_PASSWORD", "s3cr3t")
    template = URL.replace("s3cr3t", "${SB_IGGY_PASSWORD}")
    assert template != URL
    code, out, err = run_record(args(tmp_path / "s.jsonl", "--until-end", "--quiet", url=template))
    assert code == 0, err
    assert "recorded 5 messages into" in out and "s3cr3t" not in out + err
    monkeypatch.delenv("SB_IGGY_PASSWORD")
    code, out, err = run_record(args(tmp_path / "t.jsonl", "--until-end", "--quiet", url=template))
    assert code == 2 and "--connection" in err and "SB_IGGY_PASSWORD is not set" in err and "Traceback" not in err


def test_command_exits_3_when_the_connection_is_lost_and_says_how_to_continue(fake_sdk, tmp_path, monkeypatch):
    monkeypatch.setattr("sinkbench.sources.iggy.Timeouts", lambda: FAST)
    fill(fake_sdk, 1500)

    def drop(client, n):
        if n == 1:
            fake_sdk.fail_polls = 100

    fake_sdk.on_poll = drop
    code, out, err = run_record(args(tmp_path / "s.jsonl", "--quiet"))
    assert code == 3
    assert "error: cannot reach the Iggy server" in err
    assert "1,000 messages recorded into" in err and "run the same command to continue" in err
    assert validate_stream(tmp_path / "s.jsonl") == (1000, [])


def test_ctrl_c_stops_cleanly_with_a_valid_file(fake_sdk, tmp_path):
    fill(fake_sdk, 1500)
    fake_sdk.on_poll = lambda client, n: os.kill(os.getpid(), signal.SIGINT) if n == 1 else None
    out = tmp_path / "s.jsonl.gz"
    code, stdout, err = run_record(args(out, "--quiet"))   # no --count, no --until-end: runs until interrupted
    assert code == 0, err
    assert "(interrupted)" in stdout
    n, errors = validate_stream(out)
    assert errors == [] and n >= 1000


def test_the_command_plugs_into_the_cli(fake_sdk, tmp_path, monkeypatch, capsys):
    from sinkbench import cli

    monkeypatch.setitem(cli.COMMANDS, "record", "sinkbench.commands.record")   # the line cli.py gets
    fill(fake_sdk, 5)
    assert cli.main(["record", *args(tmp_path / "s.jsonl", "--until-end", "--quiet")]) == 0
    assert "recorded 5 messages" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        cli.main(["record", "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert "sinkbench record --connection iggy+tcp://" in shown and "--from-timestamp" in shown
    for bad in (["--stream", "s", "--topic", "t", "--out", "x"], [*args(tmp_path / "x.jsonl", "--count", "0")],
                [*args(tmp_path / "x.jsonl", "--from-start", "--from-offset", "3")]):
        with pytest.raises(SystemExit) as exited:
            cli.main(["record", *bad])
        assert exited.value.code == 2


# ---------------------------------------------------------------- record → replay: byte-identical bodies


def http_sink(url: str, batch_mode: str) -> HttpSink:
    loaded = resolve_sink({"url": url, "batch_mode": batch_mode, "include_checksum": True,
                           "include_origin_timestamp": True, "retry_delay": "10ms"},
                          table_locator(None, (), "test"), env={})
    return HttpSink(loaded.settings, clock=RealClock(), rng=random.Random(1))


async def deliver(source: Any, httpserver: HTTPServer, batch_mode: str, batch_length: int) -> list[bytes]:
    """Every request body the sink sends for `source`, in order."""
    httpserver.clear_log()
    sink = http_sink(httpserver.url_for("/ingest"), batch_mode)
    await sink.open()
    rt = Runtime(source, sink, RuntimeSettings(batch_length=batch_length, poll_interval=0.001,
                                               offset_commit=OffsetCommit.AFTER_POLLING), RealClock())
    try:
        await asyncio.wait_for(rt.run(), 20)
    finally:
        rt.finish()
        await sink.close()
    assert rt.counts.delivered == rt.counts.fed
    return [request.get_data() for request, _ in httpserver.log]


def live_source(server: FakeServer, count: int, schema: str, batch_length: int) -> IggySource:
    return IggySource(CONN, stream="orders", topics=["events"], consumer_group=f"live-{uuid.uuid4().hex[:6]}",
                      schema=schema, count=count, batch_length=batch_length, poll_interval=0.001,
                      client_factory=server.client, timeouts=FAST)


@pytest.mark.parametrize("schema,batch_mode,n", [
    ("json", "individual", 60), ("json", "ndjson", 200), ("json", "json_array", 200),
    ("text", "ndjson", 100), ("raw", "individual", 40), ("raw", "raw", 40), ("proto", "json_array", 100),
])
async def test_recording_replays_to_byte_identical_bodies(server, tmp_path, httpserver, schema, batch_mode, n):
    httpserver.expect_request("/ingest").respond_with_data("ok")
    fill(server, n, schema=schema)
    live = await deliver(live_source(server, n, schema, 64), httpserver, batch_mode, 64)
    out = tmp_path / f"rec-{schema}.jsonl.gz"
    await rec(server, out, schema=schema)
    replayed = await deliver(read_stream(out), httpserver, batch_mode, 64)
    assert replayed == live and len(live) == (n if batch_mode in ("individual", "raw") else -(-n // 64))
    if batch_mode != "raw":   # the envelope carries the server's id, offset, timestamps and checksum
        if batch_mode == "ndjson":
            envelope = orjson.loads(live[0].split(b"\n")[0])
        else:
            doc = orjson.loads(live[0])
            envelope = doc[0] if isinstance(doc, list) else doc
        sent = server.streams["orders"]["events"][0].messages[0]
        md = envelope["metadata"]
        assert (md["iggy_id"], md["iggy_offset"], md["iggy_timestamp"], md["iggy_origin_timestamp"],
                md["iggy_checksum"]) == (f"{sent.id():032x}", 0, sent.timestamp(), sent.origin_timestamp(),
                                         sent.checksum())


async def test_several_partitions_replay_to_the_same_bodies_per_partition(server, tmp_path, httpserver):
    httpserver.expect_request("/ingest").respond_with_data("ok")
    fill(server, 192, partitions=3)
    live = await deliver(live_source(server, 192, "json", 64), httpserver, "ndjson", 64)
    out = tmp_path / "rec.jsonl"
    await rec(server, out)
    replayed = await deliver(read_stream(out), httpserver, "ndjson", 64)
    assert sorted(live) == sorted(replayed) and len(live) == 3   # one full batch per partition either way


# ---------------------------------------------------------------- against a real server


@pytest.fixture
def real_server(tmp_path):
    """A real iggy-server (tests/real_iggy): the test is marked real_iggy and skips, saying why, unbuilt."""
    from tests.real_iggy.stack import IggyServer, built_dir, live_children

    bin_dir, why = built_dir()
    if bin_dir is None:
        pytest.skip(why)
    server = IggyServer(bin_dir, tmp_path / "server")
    server.workdir.mkdir()
    try:
        yield server.start()
    finally:
        server.stop()
        assert not live_children([server.proc.pid])


@pytest.mark.real_iggy
async def test_live_server_record_then_replay_gives_identical_bodies(real_server, tmp_path, httpserver):
    from apache_iggy import HeaderKey, IggyClient, Partitioning, SendMessage
    from apache_iggy import HeaderValue as SdkValue

    httpserver.expect_request("/ingest").respond_with_data("ok")
    url = real_server.connection
    conn = parse_connection(url)
    stream = f"sinkbench-it-{uuid.uuid4().hex[:10]}"
    # The server refuses the PyPI SDK's create_topic (see tests/real_iggy/stack.py): its REST API makes it.
    real_server.create_topic(stream, "events", 1)
    admin = IggyClient.from_connection_string(conn.secret)
    await asyncio.wait_for(admin.connect(), 15)
    n = 150
    messages = [SendMessage(orjson.dumps(payload(i, "json")).decode(), user_headers={
        HeaderKey.String("x-correlation-id"): SdkValue.String(f"c-{i}"),
        HeaderKey.String("raw"): SdkValue.Raw(bytes([i % 256, 1])),
        HeaderKey.String("flag"): SdkValue.Bool(i % 2 == 0),
        HeaderKey.String("i128"): SdkValue.Int128(-(2**127) + i),
        HeaderKey.String("u64"): SdkValue.UnsignedInt64(2**64 - 1),
        HeaderKey.String("f32"): SdkValue.Float32(1.1),
        HeaderKey.String("f64"): SdkValue.Float64(2.5),
    }, id=2**100 + i) for i in range(n)]
    await asyncio.wait_for(admin.send_messages(stream, "events", Partitioning.balanced(), messages), 15)

    source = IggySource(conn, stream=stream, topics=["events"], consumer_group="sinkbench-it", count=n,
                        batch_length=64, poll_interval=0.005)
    live = await deliver(source, httpserver, "ndjson", 64)
    out = tmp_path / "live.jsonl.gz"
    # The command as a user runs it: its own process (it owns its event loop and signal handlers).
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sinkbench.cli", "record", "--connection", url, "--stream", stream, "--topic",
        "events", "--from-start", "--until-end", "--out", str(out), "--quiet",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out_b, err_b = await asyncio.wait_for(proc.communicate(), 60)
    code, stdout, err = proc.returncode, out_b.decode(), err_b.decode()
    assert code == 0, err
    assert f"recorded {n} messages" in stdout
    replayed = await deliver(read_stream(out), httpserver, "ndjson", 64)
    assert replayed == live
    lines = [orjson.loads(line) for body in live for line in body.splitlines()]
    assert [d["metadata"]["iggy_id"] for d in lines] == [f"{2**100 + i:032x}" for i in range(n)]
    assert [d["metadata"]["iggy_offset"] for d in lines] == list(range(n))
    assert lines[3]["metadata"]["iggy_headers"]["f32"] == "1.1"


def test_command_exits_2_on_an_out_path_with_a_nul(fake_sdk, tmp_path):
    code, _, err = run_record(args(Path(str(tmp_path / "s") + "\x00.jsonl"), "--until-end", "--quiet"))
    assert code == 2 and "NUL" in err and "Traceback" not in err
