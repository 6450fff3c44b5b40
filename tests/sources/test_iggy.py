"""The live Iggy source against a fake client with the SDK's interface (no server here), and the SDK itself
where no server is needed: connection strings, an unreachable port, a server that never answers."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import pickle
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from apache_iggy import HeaderKey, UserHeaders
from apache_iggy import HeaderValue as SdkHeaderValue
from iggy_fake import BASE_TS, FakeServer, every_kind_headers

from sinkbench.cli import main
from sinkbench.clock import RealClock
from sinkbench.config.settings import SinkSettings
from sinkbench.engine.accounting import BatchResult, Outcome
from sinkbench.engine.encode import Encoder
from sinkbench.errors import BenchError, InputError
from sinkbench.model import BatchMetadata, HeaderKind, HeaderValue, Schema, TopicMetadata
from sinkbench.runtime import OffsetCommit, Runtime, RuntimeSettings
from sinkbench.scenario.load import scenario_from_text
from sinkbench.sources.iggy import (
    ConnectionStringError,
    IggyConnection,
    IggyConnectionLost,
    IggySession,
    IggySource,
    IggySourceError,
    PayloadError,
    Timeouts,
    classify,
    convert_message,
    decode_payload,
    parse_connection,
)

URL = "iggy+tcp://iggy:s3cr3t-pw@127.0.0.1:8090"
FAST = Timeouts(connect=2.0, request=2.0, retries=2, retry_wait=0.01)


def conn(url: str = URL) -> IggyConnection:
    return parse_connection(url, check_with_sdk=False)


@pytest.fixture
def server() -> FakeServer:
    s = FakeServer(users={"iggy": "s3cr3t-pw"})
    s.create_topic("orders", "events", partitions=1)
    return s


def source(server: FakeServer, **kw: Any) -> IggySource:
    kw.setdefault("stream", "orders")
    kw.setdefault("topics", ["events"])
    kw.setdefault("consumer_group", "bench")
    kw.setdefault("poll_interval", 0.001)
    kw.setdefault("timeouts", FAST)
    return IggySource(kw.pop("connection", conn()), client_factory=server.client, **kw)


class RecordingSink:
    """Remembers every batch; `fail(call_number, messages)` decides whether a batch fails."""

    def __init__(self, fail=lambda n, msgs: False, events: list | None = None) -> None:
        self.batches: list[tuple[str, BatchMetadata, list]] = []
        self.fail = fail
        self.events = events

    async def consume(self, topic, meta, messages):
        self.batches.append((topic.topic, meta, list(messages)))
        await asyncio.sleep(0)
        bad = self.fail(len(self.batches), messages)
        if self.events is not None:
            self.events.append(("consumed", len(self.batches), not bad, messages[-1].offset))
        n = len(messages)
        return BatchResult([Outcome.FAILED if bad else Outcome.DELIVERED] * n, [None if bad else 0.0] * n,
                           error="status 503" if bad else None)


async def run_runtime(src, sink, *, batch_length=50, commit="after_polling", timeout=10.0) -> Runtime:
    rt = Runtime(src, sink, RuntimeSettings(batch_length=batch_length, poll_interval=0.001,
                                            offset_commit=OffsetCommit(commit)), RealClock())
    try:
        await asyncio.wait_for(rt.run(), timeout)
    finally:
        rt.finish()
    return rt


# ---------------------------------------------------------------- connection strings


def test_connection_string_is_shown_redacted_and_bounded_for_the_sdk():
    c = parse_connection(URL + "?tls=true&tls_domain=iggy.example&tls_ca_file=/etc/ca.pem")
    assert str(c) == "iggy+tcp://127.0.0.1:8090?tls=true&tls_domain=iggy.example&tls_ca_file=/etc/ca.pem"
    assert "s3cr3t" not in f"{c} {c!r} {[c]} {json.dumps({'c': c})}"
    assert c.secret.startswith(URL + "?tls=true")
    assert c.secret.endswith("&reconnection_retries=3&reconnection_interval=1s")
    assert (c.user, c.password, c.reconnection_retries) == ("iggy", "s3cr3t-pw", 3)
    assert pickle.loads(pickle.dumps(c)).secret == c.secret
    mine = parse_connection(URL + "?reconnection_retries=0&reconnection_interval=100ms")
    assert mine.secret == URL + "?reconnection_retries=0&reconnection_interval=100ms" and mine.reconnection_retries == 0
    token = parse_connection("iggy://pat-token-value@10.0.0.5:8090")
    assert str(token) == "iggy://10.0.0.5:8090" and token.password is None


@pytest.mark.parametrize("text,expected", [
    ("", "expected a connection string"),
    ("iggy+tcp://127.0.0.1:8090", "no credentials"),
    ("iggy+quic://u:p@127.0.0.1:8080", "QUIC connection string cannot bound"),
    ("iggy+http://u:p@127.0.0.1:3000", "no consumer groups"),
    ("http://u:p@127.0.0.1:8090", "unsupported scheme http://"),
    ("iggy+tcp://u:p@127.0.0.1", "needs a host and a port"),
    ("iggy+tcp://u:p@127.0.0.1:99999", "not a valid connection string"),
    ("iggy+tcp://u:p@127.0.0.1:8090?tsl=true", "did you mean 'tls'"),
    ("iggy+tcp://u:p@127.0.0.1:8090?reconnection_retries=unlimited", "would let a lost server hang"),
    ("iggy+tcp://u:p@127.0.0.1:8090/orders", "must not have a path"),
    ("iggy+tcp://u:p@127.0.0.1:8090?reconnection_interval=0s", "the Iggy SDK refuses"),
])
def test_unusable_connection_strings_are_refused_without_showing_the_password(text, expected):
    with pytest.raises(ConnectionStringError) as info:
        parse_connection(text)
    assert expected in str(info.value)
    assert ":p@" not in str(info.value)


# ---------------------------------------------------------------- messages


def test_every_field_and_every_header_kind_converts(server):
    sent = server.produce("orders", "events", {"order": 1, "total": 9.5, "tags": ["a", "é"]},
                          headers=every_kind_headers(3), id=2**128 - 1, timestamp=BASE_TS + 7,
                          origin_timestamp=BASE_TS - 1, checksum=2**64 - 1)
    m = convert_message(sent, Schema.JSON)
    assert (m.id, m.offset, m.timestamp, m.origin_timestamp, m.checksum, m.partition) == (
        2**128 - 1, 0, BASE_TS + 7, BASE_TS - 1, 2**64 - 1, 0)
    assert m.payload == {"order": 1, "total": 9.5, "tags": ["a", "é"]}
    h = m.headers
    assert h is not None
    assert h["x-correlation-id"] == HeaderValue(HeaderKind.STRING, "corr-3")
    assert h["raw"] == HeaderValue(HeaderKind.RAW, bytes([0, 1, 2, 255, 3]))
    assert h["flag"] == HeaderValue(HeaderKind.BOOL, False)
    assert h["i8"] == HeaderValue(HeaderKind.INT8, -128)
    assert h["i16"] == HeaderValue(HeaderKind.INT16, -32765)
    assert h["i32"] == HeaderValue(HeaderKind.INT32, -(2**31))
    assert h["i64"] == HeaderValue(HeaderKind.INT64, -(2**63) + 3)
    assert h["i128"] == HeaderValue(HeaderKind.INT128, -(2**127))
    assert h["u8"] == HeaderValue(HeaderKind.UINT8, 255)
    assert h["u16"] == HeaderValue(HeaderKind.UINT16, 65535)
    assert h["u32"] == HeaderValue(HeaderKind.UINT32, 2**32 - 1)
    assert h["u64"] == HeaderValue(HeaderKind.UINT64, 2**64 - 4)
    assert h["u128"] == HeaderValue(HeaderKind.UINT128, 2**128 - 1)
    assert h["f32"].kind is HeaderKind.FLOAT32 and h["f32"].value == SdkHeaderValue.Float32(1.1).value
    assert h["f64"] == HeaderValue(HeaderKind.FLOAT64, 3.00000025)
    # Typed keys (Iggy 0.9) become their readable form.
    assert h["42"] == HeaderValue(HeaderKind.STRING, "typed key")
    assert h["true"] == HeaderValue(HeaderKind.INT64, 1)
    assert len(h) == 17


def test_envelope_of_a_converted_message_renders_headers_as_the_iggy_sink_does(server):
    sent = server.produce("orders", "events", {"n": 1}, headers=every_kind_headers(2), id=42)
    m = convert_message(sent, Schema.JSON)
    settings = SinkSettings(url="http://x/", include_checksum=True, include_origin_timestamp=True)
    value = Encoder(settings).value(m, TopicMetadata("orders", "events"), BatchMetadata(0, 0, Schema.JSON))
    md = value["metadata"]
    assert md["iggy_id"] == "0000000000000000000000000000002a"
    assert (md["iggy_offset"], md["iggy_checksum"], md["iggy_origin_timestamp"]) == (0, m.checksum, m.origin_timestamp)
    headers = md["iggy_headers"]
    assert headers["f32"] == "1.1" and headers["flag"] == "true" and headers["u128"] == str(2**128 - 1)
    assert headers["raw"] == {"data": "AAEC/wI=", "iggy_header_encoding": "base64"}
    assert headers["42"] == "typed key"


@pytest.mark.parametrize("schema,data,expected", [
    (Schema.JSON, b'{"a": [1, 2.5, null]}', {"a": [1, 2.5, None]}),
    (Schema.TEXT, "héllo".encode(), "héllo"),
    (Schema.RAW, b"\x00\xff", b"\x00\xff"),
    (Schema.PROTO, b"\x08\x96\x01", b"\x08\x96\x01"),
    (Schema.FLATBUFFER, b"\x10\x00", b"\x10\x00"),
    (Schema.AVRO, b"Obj\x01", b"Obj\x01"),
])
def test_payload_is_decoded_per_the_streams_schema(schema, data, expected):
    assert decode_payload(data, schema) == expected


@pytest.mark.parametrize("schema,data", [(Schema.JSON, b"{not json"), (Schema.JSON, b""), (Schema.JSON, b"NaN"),
                                         (Schema.TEXT, b"\xff\xfe")])
def test_a_payload_that_does_not_decode_is_a_payload_error(schema, data):
    with pytest.raises(PayloadError):
        decode_payload(data, schema)


def test_no_headers_and_empty_headers_are_none(server):
    assert convert_message(server.produce("orders", "events", 1), Schema.JSON).headers is None
    empty = server.produce("orders", "events", 1, headers=UserHeaders({}))
    assert convert_message(empty, Schema.JSON).headers is None


def test_plain_scalar_headers_get_their_natural_kind(server):
    sent = server.produce("orders", "events", 1, headers=UserHeaders(
        {"s": "v", "b": b"\x01", "t": True, "i": 7, "big": 2**100, "f": 0.5, HeaderKey.Raw(b"\xff\x00"): "x"}))
    h = convert_message(sent, Schema.JSON).headers
    assert h is not None
    assert [h[k].kind for k in ("s", "b", "t", "i", "big", "f")] == [
        HeaderKind.STRING, HeaderKind.RAW, HeaderKind.BOOL, HeaderKind.INT64, HeaderKind.UINT128, HeaderKind.FLOAT64]
    assert h["/wA="].value == "x"   # a raw key that is not UTF-8: base64


# ---------------------------------------------------------------- the source in the runtime


async def test_after_polling_consumes_in_the_group_and_commits_on_poll(server):
    server.create_topic("orders", "events", partitions=2)
    for i in range(120):
        server.produce("orders", "events", {"n": i}, partition=i % 2, headers=every_kind_headers(i))
    src = source(server, count=120, batch_length=50)
    sink = RecordingSink()
    rt = await run_runtime(src, sink, batch_length=50)
    assert rt.counts.fed == rt.counts.delivered == 120 and src.fed == 120 and src.polled == 120
    assert {p["consumer"] for p in server.polls} == {"Group"} and all(p["auto_commit"] for p in server.polls)
    assert all(p["count"] <= 50 for p in server.polls)
    assert server.groups[("orders", "events", "bench")].offsets == {0: 59, 1: 59}
    delivered = sorted((m.partition, m.offset) for _, _, msgs in sink.batches for m in msgs)
    assert delivered == sorted((i % 2, i // 2) for i in range(120))
    for _, meta, msgs in sink.batches:   # a batch is one partition, labelled with its last message
        assert {m.partition for m in msgs} == {meta.partition_id} and meta.current_offset == msgs[-1].offset
    assert "s3cr3t" not in src.name and "iggy+tcp://127.0.0.1:8090" in src.name


async def test_count_never_polls_more_than_wanted_so_nothing_extra_is_committed(server):
    for i in range(100):
        server.produce("orders", "events", i)
    src = source(server, count=30, batch_length=20)
    rt = await run_runtime(src, RecordingSink(), batch_length=20)
    assert rt.counts.delivered == 30
    assert [p["count"] for p in server.polls] == [20, 10]
    assert server.groups[("orders", "events", "bench")].offsets == {0: 29}


async def test_after_consuming_stores_the_offset_only_after_the_sink_succeeded(server):
    for i in range(60):
        server.produce("orders", "events", {"n": i})
    events: list = []
    fails = {1, 2}   # the first batch fails twice, then goes through
    sink = RecordingSink(fail=lambda n, msgs: n in fails, events=events)

    class StoreLog(list):
        def append(self, item):
            events.append(("stored", item[2]))
            super().append(item)

    server.stored = StoreLog()
    src = source(server, count=60, batch_length=25, offset_commit="after_consuming")
    rt = await run_runtime(src, sink, batch_length=25, commit="after_consuming")
    assert rt.counts.delivered == 60 and rt.counts.failed == 0 and rt.counts.handed == 110
    assert all(not p["auto_commit"] for p in server.polls)
    stores = [e for e in events if e[0] == "stored"]
    assert stores and stores[-1] == ("stored", 59)
    # No offset is stored before the first successful batch, and every store follows a success covering it.
    first_ok = next(i for i, e in enumerate(events) if e[0] == "consumed" and e[2])
    assert all(events.index(s) > first_ok for s in stores)
    for s in stores:
        i = events.index(s)
        assert any(e[0] == "consumed" and e[2] and e[3] >= s[1] for e in events[:i])
    assert src.commits == len(stores)


async def test_after_consuming_reads_at_most_one_batch_ahead_of_the_commit(server):
    for i in range(200):
        server.produce("orders", "events", i)
    sink = RecordingSink(fail=lambda n, msgs: True)   # nothing ever succeeds
    src = source(server, count=200, batch_length=20, offset_commit="after_consuming")
    with pytest.raises(asyncio.TimeoutError):
        await run_runtime(src, sink, batch_length=20, commit="after_consuming", timeout=0.5)
    assert src.fed == 20 and server.stored == []
    assert server.groups[("orders", "events", "bench")].offsets == {}


async def test_undecodable_payloads_are_dropped_and_counted_as_the_runtime_does(server):
    for payload in ({"n": 1}, b"{broken", {"n": 2}, b"\xff"):
        server.produce("orders", "events", payload)
    src = source(server, count=2, batch_length=10)
    sink = RecordingSink()
    rt = await run_runtime(src, sink)
    assert rt.counts.delivered == 2 and src.undecodable == 1
    assert [m.payload for _, _, msgs in sink.batches for m in msgs] == [{"n": 1}, {"n": 2}]


async def test_several_topics_each_get_a_consumer(server):
    server.create_topic("orders", "refunds", partitions=1)
    for i in range(10):
        server.produce("orders", "events", {"e": i})
        server.produce("orders", "refunds", {"r": i})
    sink = RecordingSink()
    src = source(server, topics=["events", "refunds"], count=20, batch_length=5)
    rt = await run_runtime(src, sink, batch_length=5)
    assert rt.counts.delivered == 20
    assert {t for t, _, _ in sink.batches} == {"events", "refunds"}
    assert set(server.groups) == {("orders", "events", "bench"), ("orders", "refunds", "bench")}


async def test_two_benches_in_one_group_share_the_partitions(server):
    server.create_topic("orders", "events", partitions=4)
    for i in range(400):
        server.produce("orders", "events", {"n": i}, partition=i % 4)
    a, b = source(server, count=200, batch_length=25), source(server, count=200, batch_length=25)
    sink_a, sink_b = RecordingSink(), RecordingSink()
    # Both join before either polls, as two benches started together would.
    ta = asyncio.create_task(run_runtime(a, sink_a, batch_length=25))
    tb = asyncio.create_task(run_runtime(b, sink_b, batch_length=25))
    await asyncio.gather(ta, tb)
    got_a = {(m.partition, m.offset) for _, _, msgs in sink_a.batches for m in msgs}
    got_b = {(m.partition, m.offset) for _, _, msgs in sink_b.batches for m in msgs}
    assert len(got_a) == len(got_b) == 200 and not got_a & got_b
    assert {p for p, _ in got_a}.isdisjoint({p for p, _ in got_b})


# ---------------------------------------------------------------- failures: clear errors, never a hang


async def first_message(src: IggySource):
    async for sm in src:
        return sm
    return None


async def test_unreachable_server_is_one_clear_input_error(server):
    server.unreachable = True
    with pytest.raises(IggySourceError) as info:
        await first_message(source(server))
    err = info.value
    assert isinstance(err, InputError) and err.category == "unreachable"
    assert "cannot reach the Iggy server at iggy+tcp://127.0.0.1:8090" in str(err)
    assert "Cannot establish connection" in str(err) and "3 reconnection attempts" in str(err)
    assert "s3cr3t" not in str(err) and err.where.key == "source.connection"


async def test_bad_credentials_are_one_clear_input_error(server):
    with pytest.raises(IggySourceError) as info:
        await first_message(source(server, connection=conn("iggy+tcp://iggy:wrong-pw@127.0.0.1:8090")))
    assert info.value.category == "credentials"
    assert "refused the credentials of user 'iggy' (Invalid credentials)" in str(info.value)
    assert "wrong-pw" not in str(info.value)


async def test_credentials_refused_only_at_the_first_call_are_still_credentials(server):
    c = server.client(conn())
    c.connected = False   # auto-login that did not raise: the first call says so
    with pytest.raises(IggySourceError) as info:
        src = source(server)
        src._factory = lambda _c: _NoLoginClient(c)
        await first_message(src)
    assert info.value.category == "credentials" and "Unauthenticated" in str(info.value)


class _NoLoginClient:
    def __init__(self, inner):
        self._inner = inner

    async def connect(self):
        return None

    def __getattr__(self, name):
        return getattr(self._inner, name)


@pytest.mark.parametrize("stream,topic,key,text", [
    ("nope", "events", "source.stream", "stream 'nope' does not exist on the Iggy server at iggy+tcp://127.0.0.1:8090"),
    ("orders", "nope", "source.topics", "topic 'nope' does not exist in stream 'orders'"),
])
async def test_missing_stream_or_topic_is_named(server, stream, topic, key, text):
    with pytest.raises(IggySourceError) as info:
        await first_message(source(server, stream=stream, topics=[topic], where_file="s.toml"))
    assert info.value.category == "not_found" and text in str(info.value)
    assert info.value.where.key == key and str(info.value).startswith("s.toml: key")


async def test_a_server_that_never_answers_times_out(server):
    server.hang = True
    started = time.monotonic()
    with pytest.raises(IggySourceError) as info:
        await first_message(source(server, timeouts=Timeouts(connect=0.2)))
    assert time.monotonic() - started < 2
    assert info.value.category == "timeout" and "did not answer within 0.2s" in str(info.value)


async def test_a_dropped_poll_is_retried_and_the_run_carries_on(server):
    for i in range(10):
        server.produce("orders", "events", i)
    server.fail_polls = 2
    rt = await run_runtime(source(server, count=10), RecordingSink())
    assert rt.counts.delivered == 10 and len(server.polls) >= 3


async def test_reconnection_failure_mid_run_ends_the_run_with_a_bench_error(server):
    for i in range(10):
        server.produce("orders", "events", i)
    polls = 0

    def drop_after_first(client, n):
        nonlocal polls
        polls += 1
        if polls == 2:
            server.fail_polls = 100
            server.poll_error = "Cannot establish connection"

    server.on_poll = drop_after_first
    sink = RecordingSink()
    started = time.monotonic()
    with pytest.raises(IggyConnectionLost) as info:
        await run_runtime(source(server, count=20, batch_length=10), sink, batch_length=10)
    assert time.monotonic() - started < 3
    assert isinstance(info.value, BenchError) and "still failing after 3 attempts" in str(info.value)
    assert "cannot reach the Iggy server" in str(info.value) and "s3cr3t" not in str(info.value)


async def test_permission_refused_is_named(server):
    for i in range(3):
        server.produce("orders", "events", i)
    server.unauthorized_polls = True
    with pytest.raises(IggyConnectionLost) as info:
        await first_message(source(server, timeouts=Timeouts(retries=0)))
    assert "user 'iggy' lacks the permission for polling orders/events" in str(info.value)


async def test_a_cancel_arriving_as_a_call_completes_is_not_swallowed(server):
    """Python 3.11's wait_for returns the result here instead of raising (CPython gh-86296); a cancelled
    run would then go on polling for ever, and whoever cancelled it would wait for ever."""
    session = IggySession(conn(), server.client, FAST)
    answer = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(session.call(answer, "polling"))
    await asyncio.sleep(0)   # the call is now waiting for the answer
    answer.set_result([])
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("text,category", [
    ("Invalid credentials", "credentials"), ("InvalidCredentials", "credentials"), ("Unauthenticated", "credentials"),
    ("Unauthorized", "permission"), ("Stream with name: x was not found.", "not_found"),
    ("Cannot establish connection", "unreachable"), ("Disconnected", "unreachable"),
    ("Connection closed", "unreachable"), ("Invalid TLS certificate", "unreachable"), ("Error", "other"),
])
def test_sdk_error_texts_are_classified(text, category):
    assert classify(text) == category


# ---------------------------------------------------------------- the real SDK, without a server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_real_sdk_closed_port_fails_fast_instead_of_retrying_forever():
    url = f"iggy+tcp://iggy:iggy@127.0.0.1:{free_port()}?reconnection_retries=1&reconnection_interval=100ms"
    src = IggySource(url, stream="s", topics=["t"], consumer_group="g", timeouts=Timeouts(connect=5))
    started = time.monotonic()
    with pytest.raises(IggySourceError) as info:
        await first_message(src)
    assert time.monotonic() - started < 3
    assert info.value.category == "unreachable" and "Cannot establish connection" in str(info.value)


async def test_real_sdk_against_a_server_that_never_answers_times_out():
    async def silent(reader, writer):
        await reader.read(1 << 16)
        await asyncio.sleep(5)

    srv = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        src = IggySource(f"iggy+tcp://iggy:iggy@127.0.0.1:{port}", stream="s", topics=["t"], consumer_group="g",
                         timeouts=Timeouts(connect=0.5))
        started = time.monotonic()
        with pytest.raises(IggySourceError) as info:
            await first_message(src)
        assert time.monotonic() - started < 3
        assert info.value.category == "timeout"
    finally:
        srv.close()


# ---------------------------------------------------------------- scenarios


def iggy_scenario(source_lines: str, extra: str = "") -> str:
    return f'[source]\nkind = "iggy"\n{source_lines}\n[sink]\nurl = "mock"\n{extra}'


def test_scenario_keys_are_validated():
    text = iggy_scenario('connection = "iggy+tcp://u:pw@h:8090?tsl=1"\ntopics = []\ncount = 0\nbatch = 3')
    with pytest.raises(InputError) as info:
        scenario_from_text(text, "s.toml", env={})
    errors = str(info.value)
    assert "key 'source.connection': unknown connection option 'tsl'" in errors
    assert "key 'source.stream': an iggy source needs 'stream'" in errors
    assert "key 'source.topics': expected a non-empty list of topic names" in errors
    assert "key 'source.count': must be at least 1" in errors
    assert "unknown key 'batch' in [source]" in errors
    assert "u:pw" not in errors


def test_scenario_without_connection_says_what_to_write():
    with pytest.raises(InputError) as info:
        scenario_from_text(iggy_scenario('stream = "s"\ntopics = ["t"]'), "s.toml", env={})
    assert 'an iggy source needs connection = "iggy+tcp://USER:PASSWORD@HOST:8090"' in str(info.value)


def test_scenario_defaults_and_connector_streams(tmp_path: Path):
    sc = scenario_from_text(iggy_scenario(f'connection = "{URL}"\nstream = "orders"\ntopics = ["events"]'),
                            "s.toml", env={})
    o = sc.source.options
    assert (o["consumer_group"], o["schema"], o.get("count")) == ("sinkbench", "json", None)
    assert isinstance(o["connection"], IggyConnection) and str(o["connection"]) == "iggy+tcp://127.0.0.1:8090"
    connector = tmp_path / "config.toml"
    connector.write_text('type = "sink"\nkey = "http"\n[[streams]]\nstream = "shop"\ntopics = ["a", "b"]\n'
                         'schema = "text"\nbatch_length = 10\n[plugin_config]\nurl = "http://x/"\n')
    text = f'[source]\nkind = "iggy"\nconnection = "{URL}"\n[sink]\nconnector = "config.toml"\nurl = "mock"\n'
    sc = scenario_from_text(text, str(tmp_path / "s.toml"), env={})
    o = sc.source.options
    assert (o["stream"], o["topics"], o["consumer_group"], o["schema"]) == ("shop", ["a", "b"],
                                                                            "iggy-connect-sink-http", "text")
    assert sc.runtime.batch_length == 10


def test_connection_may_take_its_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("IGGY_PW", "from-env-pw")
    sc = scenario_from_text(iggy_scenario('connection = "iggy+tcp://iggy:${IGGY_PW}@h:8090"\nstream = "s"\n'
                                          'topics = ["t"]'), "s.toml", env={})
    assert sc.source.options["connection"].password == "from-env-pw"


@pytest.fixture
def fake_sdk(monkeypatch, server):
    """The SDK's client constructor replaced by the fake server's (for `sinkbench run`)."""
    monkeypatch.setattr("sinkbench.sources.iggy.sdk_client", server.client)
    return server


def cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return int(code), out.getvalue(), err.getvalue()


def live_scenario(tmp_path: Path, url: str = URL, count: int = 300, mock: bool = True) -> Path:
    """A kind = "iggy" scenario; `mock=False` sends to a URL nobody listens on (for runs that never start)."""
    path = tmp_path / "live.toml"
    sink = 'url = "mock"' if mock else 'url = "http://127.0.0.1:9/ingest"'
    expect = '[expect]\ndelivered = "== total"\nlost = "== 0"\nduplicates = "== 0"\n' if mock else ""
    path.write_text(f"""[scenario]
timeout = "30s"
[source]
kind = "iggy"
connection = "{url}"
stream = "orders"
topics = ["events"]
count = {count}
[runtime]
batch_length = 100
poll_interval = "2ms"
offset_commit = "after_consuming"
[sink]
{sink}
batch_mode = "ndjson"
{expect}""")
    return path


def test_a_full_run_from_a_scenario(tmp_path, fake_sdk):
    """`sinkbench run` with kind = "iggy" end to end (fake server, mock endpoint); credentials never shown."""
    for i in range(300):
        fake_sdk.produce("orders", "events", {"n": i}, headers=every_kind_headers(i))
    report, summary = tmp_path / "r.json", tmp_path / "s.md"
    code, out, err = cli(["run", str(live_scenario(tmp_path)), "--report", str(report), "--summary", str(summary),
                          "--quiet"])
    assert code == 0, (out, err)
    data = json.loads(report.read_text())
    assert data["totals"]["total"] == data["totals"]["delivered"] == 300 and data["totals"]["lost"] == 0
    assert data["settings"]["source"]["connection"] == "iggy+tcp://127.0.0.1:8090"
    for text in (out, err, report.read_text(), summary.read_text()):
        assert "s3cr3t" not in text
    assert fake_sdk.groups[("orders", "events", "sinkbench")].offsets == {0: 299}


@pytest.mark.parametrize("url,make,expected", [
    (URL, lambda s: setattr(s, "unreachable", True), "cannot reach the Iggy server at iggy+tcp://127.0.0.1:8090"),
    ("iggy+tcp://iggy:wrong@127.0.0.1:8090", lambda s: None, "refused the credentials of user 'iggy'"),
    (URL, lambda s: s.streams.clear(), "stream 'orders' does not exist"),
])
def test_a_run_that_cannot_use_the_server_exits_2_with_one_line(tmp_path, fake_sdk, url, make, expected):
    make(fake_sdk)
    code, out, err = cli(["run", str(live_scenario(tmp_path, url, mock=False)), "--quiet"])
    assert code == 2, (out, err)
    assert expected in err and "Traceback" not in err and "internal error" not in err
    assert "s3cr3t" not in out + err and "wrong@" not in out + err
