"""Reading recorded streams (DESIGN.md §5): fields, defaults, overrides, gzip, pace."""

from __future__ import annotations

import gzip
import hashlib
import math

import pytest

from sinkbench.errors import InputError
from sinkbench.model import HeaderKind, HeaderValue, Message, Schema
from sinkbench.sources import RecordedSource, Source, SourceTopic, read_header, read_stream

from .conftest import HEADER

DESIGN_EXAMPLE = [
    b'{"sinkbench_stream": 1, "stream": "orders", "topic": "events", "schema": "json", '
    b'"recorded_at": "2026-11-26T12:00:00Z", "source": "iggy+tcp://127.0.0.1:8090"}',
    b'{"partition": 0, "offset": 0, "id": "0000000000000000000000000000002a", "timestamp": 1710064800000000, '
    b'"origin_timestamp": 1710064799000000, "checksum": 12345, "headers": {"x-correlation-id": "abc-123"}, '
    b'"payload": {"order": 1, "total": 9.5}}',
    b'{"partition": 0, "offset": 1, "id": "0000000000000000000000000000002b", "timestamp": 1710064800250000, '
    b'"payload": {"order": 2, "total": 3.0}}',
]


def sha_id(stream: str, topic: str, partition: int, offset: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{stream}/{topic}/{partition}/{offset}".encode()).digest()[:16], "big")


def test_design_example_reads_every_field(stream_file):
    path = stream_file(*DESIGN_EXAMPLE, header=None)
    source = read_stream(path)
    assert isinstance(source, RecordedSource) and isinstance(source, Source)
    assert source.header.recorded_at == "2026-11-26T12:00:00Z"
    assert source.header.source == "iggy+tcp://127.0.0.1:8090"
    topic = SourceTopic("orders", "events", Schema.JSON)
    assert source.topics() == [topic]
    items = list(source)
    assert [i.topic for i in items] == [topic, topic]
    assert items[0].message == Message(
        id=0x2A, offset=0, timestamp=1710064800000000, payload={"order": 1, "total": 9.5},
        origin_timestamp=1710064799000000, checksum=12345,
        headers={"x-correlation-id": HeaderValue(HeaderKind.STRING, "abc-123")}, partition=0)
    # Defaults: origin_timestamp = timestamp, checksum 0, no headers.
    assert items[1].message == Message(
        id=0x2B, offset=1, timestamp=1710064800250000, payload={"order": 2, "total": 3.0},
        origin_timestamp=1710064800250000, checksum=0, headers=None, partition=0)
    assert [i.due for i in items] == [0.0, 0.0]


def test_default_id_is_sha256_of_stream_topic_partition_offset(stream_file):
    path = stream_file({"offset": 7, "timestamp": 1, "payload": 1},
                       {"partition": 3, "offset": 7, "timestamp": 2, "payload": 2},
                       {"stream": "s2", "topic": "t2", "offset": 0, "timestamp": 3, "payload": 3})
    ids = [i.message.id for i in read_stream(path)]
    assert ids == [sha_id("orders", "events", 0, 7), sha_id("orders", "events", 3, 7), sha_id("s2", "t2", 0, 0)]


def test_id_accepts_upper_case_hex_and_the_u128_extremes(stream_file):
    path = stream_file({"offset": 0, "timestamp": 0, "payload": 0, "id": "F" * 32},
                       {"offset": 1, "timestamp": 0, "payload": 0, "id": "0" * 32})
    assert [i.message.id for i in read_stream(path)] == [2**128 - 1, 0]


def test_u64_extremes(stream_file):
    top = 2**64 - 1
    path = stream_file({"offset": top, "timestamp": top, "origin_timestamp": top, "checksum": top,
                        "partition": 2**32 - 1, "payload": None})
    m = next(iter(read_stream(path))).message
    assert (m.offset, m.timestamp, m.origin_timestamp, m.checksum, m.partition) == (top, top, top, top, 2**32 - 1)
    assert m.payload is None


def test_line_overrides_and_several_topics(stream_file):
    path = stream_file(
        {"offset": 0, "timestamp": 1, "payload": {"a": 1}},
        {"topic": "logs", "schema": "text", "offset": 0, "timestamp": 2, "payload": "hello"},
        {"stream": "other", "topic": "bin", "schema": "raw", "offset": 0, "timestamp": 3,
         "payload": "AAEC", "payload_encoding": "base64"},
        {"topic": "logs", "offset": 1, "timestamp": 4, "payload": "again"},  # the topic keeps its schema
        {"offset": 1, "timestamp": 5, "payload": [1, 2]},
    )
    source = read_stream(path)
    items = list(source)
    assert [(i.topic.stream, i.topic.topic, i.topic.schema) for i in items] == [
        ("orders", "events", Schema.JSON), ("orders", "logs", Schema.TEXT), ("other", "bin", Schema.RAW),
        ("orders", "logs", Schema.TEXT), ("orders", "events", Schema.JSON)]
    assert [i.message.payload for i in items] == [{"a": 1}, "hello", b"\x00\x01\x02", "again", [1, 2]]
    assert items[1].topic is items[3].topic and items[0].topic is items[4].topic  # one object per topic
    assert source.topics() == [SourceTopic("orders", "events", Schema.JSON)]


@pytest.mark.parametrize("schema", ["raw", "proto", "flatbuffer", "avro"])
def test_bytes_schemas_take_base64(stream_file, schema):
    path = stream_file({"offset": 0, "timestamp": 0, "payload": "aGk=", "payload_encoding": "base64"},
                       {"offset": 1, "timestamp": 0, "payload": "", "payload_encoding": "base64"},
                       header={**HEADER, "schema": schema})
    assert [i.message.payload for i in read_stream(path)] == [b"hi", b""]


def test_text_schema_and_json_payload_kinds(stream_file):
    text = stream_file({"offset": 0, "timestamp": 0, "payload": "héllo ✓ \u0000"},
                       header={**HEADER, "schema": "text"})
    assert next(iter(read_stream(text))).message.payload == "héllo ✓ \u0000"
    values = [None, True, 0, -5, 2**64 - 1, 1.5, "s", [], {}, {"nested": [1, {"x": None}]}]
    path = stream_file(*({"offset": n, "timestamp": 0, "payload": v} for n, v in enumerate(values)))
    assert [i.message.payload for i in read_stream(path)] == values


def test_header_schema_defaults_to_json(stream_file):
    path = stream_file({"offset": 0, "timestamp": 0, "payload": {"a": 1}},
                       header={"sinkbench_stream": 1, "stream": "s", "topic": "t"})
    assert read_header(path).schema is Schema.JSON
    assert next(iter(read_stream(path))).topic.schema is Schema.JSON


def test_every_header_kind(stream_file):
    headers = {
        "plain": "text",
        "str": {"kind": "string", "value": "also text"},
        "raw": {"kind": "raw", "base64": "AP8="},
        "yes": {"kind": "bool", "value": True},
        "i8": {"kind": "int8", "value": -128},
        "i16": {"kind": "int16", "value": 32767},
        "i32": {"kind": "int32", "value": -(2**31)},
        "i64": {"kind": "int64", "value": 2**63 - 1},
        "i128": {"kind": "int128", "value": str(-(2**127))},
        "i128n": {"kind": "int128", "value": 5},
        "u8": {"kind": "uint8", "value": 255},
        "u16": {"kind": "uint16", "value": "65535"},
        "u32": {"kind": "uint32", "value": 2**32 - 1},
        "u64": {"kind": "uint64", "value": 2**64 - 1},
        "u128": {"kind": "uint128", "value": str(2**128 - 1)},
        "f32": {"kind": "float32", "value": 0.1},
        "f64": {"kind": "float64", "value": 1.5},
        "f64i": {"kind": "float64", "value": 2},
        "nan": {"kind": "float64", "value": "NaN"},
        "inf": {"kind": "float32", "value": "inf"},
        "ninf": {"kind": "float64", "value": "-inf"},
    }
    path = stream_file({"offset": 0, "timestamp": 0, "payload": 0, "headers": headers})
    got = next(iter(read_stream(path))).message.headers
    assert got is not None
    values = {name: (hv.kind.value, hv.value) for name, hv in got.items() if name != "nan"}
    assert values == {
        "plain": ("string", "text"), "str": ("string", "also text"), "raw": ("raw", b"\x00\xff"),
        "yes": ("bool", True), "i8": ("int8", -128), "i16": ("int16", 32767), "i32": ("int32", -(2**31)),
        "i64": ("int64", 2**63 - 1), "i128": ("int128", -(2**127)), "i128n": ("int128", 5),
        "u8": ("uint8", 255), "u16": ("uint16", 65535), "u32": ("uint32", 2**32 - 1),
        "u64": ("uint64", 2**64 - 1), "u128": ("uint128", 2**128 - 1),
        "f32": ("float32", 0.10000000149011612),  # rounded to the float32 a real header holds
        "f64": ("float64", 1.5), "f64i": ("float64", 2.0),
        "inf": ("float32", math.inf), "ninf": ("float64", -math.inf),
    }
    assert got["nan"].kind is HeaderKind.FLOAT64 and math.isnan(got["nan"].value)
    assert isinstance(got["f64i"].value, float)


def test_header_values_are_shared_between_lines_but_bool_and_int_are_not_confused(stream_file):
    path = stream_file(
        {"offset": 0, "timestamp": 0, "payload": 0, "headers": {"a": {"kind": "uint8", "value": 1}}},
        {"offset": 1, "timestamp": 0, "payload": 0, "headers": {"a": {"kind": "float64", "value": 1}}},
        {"offset": 2, "timestamp": 0, "payload": 0, "headers": {"a": {"kind": "uint8", "value": 1}}},
        {"offset": 3, "timestamp": 0, "payload": 0, "headers": {"a": {"kind": "float64", "value": True}}},
    )
    with pytest.raises(InputError) as err:
        list(read_stream(path))
    assert err.value.where.line == 5 and err.value.where.key == "headers.a"


def test_gzip_by_extension_and_by_magic_bytes(stream_file):
    lines = [{"offset": n, "timestamp": n, "payload": n} for n in range(100)]
    plain = [i.message for i in read_stream(stream_file(*lines))]
    assert [i.message for i in read_stream(stream_file(*lines, name="s.jsonl.gz"))] == plain
    assert [i.message for i in read_stream(stream_file(*lines, name="odd.jsonl", gz=True))] == plain


def test_multi_member_gzip(tmp_path):
    path = tmp_path / "m.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"sinkbench_stream":1,"stream":"s","topic":"t"}\n')
                     + gzip.compress(b'{"offset":0,"timestamp":0,"payload":1}\n'))
    assert [i.message.payload for i in read_stream(path)] == [1]


def test_pace_realtime_factor_and_max(stream_file):
    base = 1_710_064_800_000_000
    lines = [{"offset": n, "timestamp": base + us, "payload": n} for n, us in enumerate([0, 250_000, 2_000_000])]
    path = stream_file(*lines)
    assert [i.due for i in read_stream(path, speed="realtime")] == [0.0, 0.25, 2.0]
    assert [i.due for i in read_stream(path, speed=4)] == [0.0, 0.0625, 0.5]
    assert [i.due for i in read_stream(path, speed=0.5)] == [0.0, 0.5, 4.0]
    assert [i.due for i in read_stream(path)] == [0.0, 0.0, 0.0]
    assert [i.due for i in read_stream(path, speed="max")] == [0.0, 0.0, 0.0]


def test_pace_never_runs_backwards(stream_file):
    lines = [{"offset": n, "timestamp": ts, "payload": n} for n, ts in enumerate([1_000_000, 3_000_000, 2_000_000, 0])]
    assert [i.due for i in read_stream(stream_file(*lines), speed="realtime")] == [0.0, 2.0, 2.0, 2.0]


@pytest.mark.parametrize("speed", [0, -1, "fast", float("inf"), float("nan"), True, None])
def test_bad_speed(stream_file, speed):
    path = stream_file()
    with pytest.raises(InputError) as err:
        read_stream(path, speed=speed)
    assert err.value.where.key == "source.speed"


def test_header_only_file_is_an_empty_stream(stream_file):
    assert list(read_stream(stream_file())) == []


def test_blank_lines_and_a_byte_order_mark_are_tolerated(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"sinkbench_stream":1,"stream":"s","topic":"t"}\n\n'
                     b'{"offset":0,"timestamp":0,"payload":1}\n   \n{"offset":1,"timestamp":0,"payload":2}')
    assert [i.message.payload for i in read_stream(path)] == [1, 2]  # the last line needs no newline


def test_reading_is_lazy_and_repeatable(stream_file):
    lines = [{"offset": n, "timestamp": n, "payload": n} for n in range(10)] + [b"{broken"]
    source = read_stream(stream_file(*lines))
    first = iter(source)
    assert next(first).message.offset == 0  # the bad line 12 is not read yet
    again = iter(source)
    assert [next(again).message.offset for _ in range(3)] == [0, 1, 2]
    with pytest.raises(InputError):
        list(first)


def test_name_describes_the_source(stream_file):
    path = stream_file()
    assert read_stream(path).name == f"recorded {path.name} (orders/events, at full speed)"
    assert "in real time" in read_stream(path, speed="realtime").name
    assert "at 4× speed" in read_stream(path, speed=4.0).name
