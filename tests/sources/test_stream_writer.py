"""Writing recorded streams: round trip, byte stability, append, interrupted writers."""

from __future__ import annotations

import gzip
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sinkbench.errors import InputError
from sinkbench.model import INT_RANGES, U64_MAX, U128_MAX, HeaderKind, HeaderValue, Message, Schema
from sinkbench.sources import SourceTopic, StreamWriter, read_header, read_stream

# ---------------------------------------------------------------- strategies

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)  # no lone surrogates
short_bytes = st.binary(min_size=1, max_size=255)
name_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60)


def header_values() -> st.SearchStrategy[HeaderValue]:
    options = [
        name_text.map(HeaderValue.string),
        short_bytes.map(lambda b: HeaderValue(HeaderKind.RAW, b)),
        st.booleans().map(lambda b: HeaderValue(HeaderKind.BOOL, b)),
        st.floats(width=32).map(lambda f: HeaderValue(HeaderKind.FLOAT32, f)),
        st.floats().map(lambda f: HeaderValue(HeaderKind.FLOAT64, f)),
    ]
    for kind, (low, high) in INT_RANGES.items():
        ints = st.one_of(st.integers(low, high), st.sampled_from([low, high]))
        options.append(ints.map(lambda n, kind=kind: HeaderValue(kind, n)))
    return st.one_of(options)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), U64_MAX) | st.floats(allow_nan=False, allow_infinity=False)
    | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)

TOPICS = [
    SourceTopic("orders", "events", Schema.JSON),  # the header's
    SourceTopic("orders", "logs", Schema.TEXT),
    SourceTopic("other", "blobs", Schema.RAW),
    SourceTopic("orders", "proto", Schema.PROTO),
]
PAYLOADS = {Schema.JSON: json_values, Schema.TEXT: text, Schema.RAW: st.binary(max_size=64),
            Schema.PROTO: st.binary(max_size=64)}
u64 = st.one_of(st.integers(0, U64_MAX), st.sampled_from([0, U64_MAX]))


@st.composite
def topic_messages(draw: st.DrawFn) -> tuple[SourceTopic, Message]:
    topic = draw(st.sampled_from(TOPICS))
    message = Message(
        id=draw(st.one_of(st.integers(0, U128_MAX), st.sampled_from([0, U128_MAX]))),
        offset=draw(u64), timestamp=draw(u64), payload=draw(PAYLOADS[topic.schema]),
        origin_timestamp=draw(u64), checksum=draw(u64),
        headers=draw(st.none() | st.dictionaries(name_text, header_values(), max_size=4)),
        partition=draw(st.integers(0, 2**32 - 1)),
    )
    return topic, message


def same(a: Message, b: Message) -> bool:
    """Message equality where NaN header values equal each other."""
    def norm(m: Message) -> tuple:
        headers = None if m.headers is None else {
            k: (v.kind, "nan" if isinstance(v.value, float) and math.isnan(v.value) else v.value)
            for k, v in m.headers.items()}
        return (m.id, m.offset, m.timestamp, m.payload, m.origin_timestamp, m.checksum, headers, m.partition)
    return norm(a) == norm(b)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(topic_messages(), max_size=12), gz=st.booleans())
def test_round_trip_any_messages(items, gz):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("s.jsonl.gz" if gz else "s.jsonl")
        with StreamWriter(path, stream="orders", topic="events", schema="json") as writer:
            for topic, message in items:
                writer.write(None if topic == TOPICS[0] else topic, message)
        read = list(read_stream(path))
    assert [r.topic for r in read] == [t for t, _ in items]
    for (_, wrote), got in zip(items, read):
        assert same(wrote, got.message), (wrote, got.message)


# ---------------------------------------------------------------- format


def sample(n: int = 3) -> list[Message]:
    return [Message(id=n_ + 1, offset=n_, timestamp=1_000_000 + n_, payload={"n": n_}, origin_timestamp=999_000,
                    checksum=7, headers={"k": HeaderValue.string("v")} if n_ == 0 else None, partition=0)
            for n_ in range(n)]


def test_header_and_lines_are_compact_and_fixed(tmp_path):
    path = tmp_path / "s.jsonl"
    with StreamWriter(path, stream="orders", topic="events", schema=Schema.JSON,
                      source="iggy+tcp://localhost:8090", recorded_at="2026-11-26T12:00:00Z") as writer:
        writer.write(None, sample(1)[0])
        writer.write(SourceTopic("orders", "logs", Schema.TEXT),
                     Message(id=2**128 - 1, offset=0, timestamp=5, payload="hi", headers={}))
    assert path.read_bytes().decode().splitlines() == [
        '{"sinkbench_stream":1,"stream":"orders","topic":"events","schema":"json",'
        '"recorded_at":"2026-11-26T12:00:00Z","source":"iggy+tcp://localhost:8090"}',
        '{"partition":0,"offset":0,"id":"00000000000000000000000000000001","timestamp":1000000,'
        '"origin_timestamp":999000,"checksum":7,"headers":{"k":"v"},"payload":{"n":0}}',
        '{"topic":"logs","schema":"text","partition":0,"offset":0,"id":"ffffffffffffffffffffffffffffffff",'
        '"timestamp":5,"origin_timestamp":0,"checksum":0,"headers":{},"payload":"hi"}',
    ]
    assert writer.count == 2


def test_header_value_forms(tmp_path):
    headers = {
        "r": HeaderValue(HeaderKind.RAW, b"\x00\xff"), "b": HeaderValue(HeaderKind.BOOL, False),
        "i": HeaderValue(HeaderKind.INT128, -(2**127)), "u": HeaderValue(HeaderKind.UINT64, U64_MAX),
        "n": HeaderValue(HeaderKind.FLOAT64, math.nan), "p": HeaderValue(HeaderKind.FLOAT32, math.inf),
        "m": HeaderValue(HeaderKind.FLOAT64, -math.inf), "f": HeaderValue(HeaderKind.FLOAT64, 0.1),
    }
    path = tmp_path / "s.jsonl"
    with StreamWriter(path, stream="s", topic="t", schema="raw") as writer:
        writer.write(None, Message(id=1, offset=0, timestamp=0, payload=b"\x01", headers=headers))
    line = orjson.loads(path.read_bytes().splitlines()[1])
    assert line["headers"] == {
        "r": {"kind": "raw", "base64": "AP8="}, "b": {"kind": "bool", "value": False},
        "i": {"kind": "int128", "value": str(-(2**127))}, "u": {"kind": "uint64", "value": U64_MAX},
        "n": {"kind": "float64", "value": "NaN"}, "p": {"kind": "float32", "value": "inf"},
        "m": {"kind": "float64", "value": "-inf"}, "f": {"kind": "float64", "value": 0.1},
    }
    assert line["payload"] == "AQ==" and line["payload_encoding"] == "base64"


@pytest.mark.parametrize("name", ["s.jsonl", "s.jsonl.gz"])
def test_output_is_byte_stable(tmp_path, name):
    outputs = []
    for run in range(2):
        path = tmp_path / f"{run}{name}"
        with StreamWriter(path, stream="orders", topic="events", schema="json", flush_bytes=100) as writer:
            for message in sample(20):
                writer.write(None, message)
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1]
    assert name.endswith(".gz") == outputs[0].startswith(b"\x1f\x8b")


def test_json_payload_nan_is_written_as_null(tmp_path):
    path = tmp_path / "s.jsonl"
    with StreamWriter(path, stream="s", topic="t", schema="json") as writer:
        writer.write(None, Message(id=1, offset=0, timestamp=0, payload={"x": math.nan, "y": [math.inf]}))
    assert next(iter(read_stream(path))).message.payload == {"x": None, "y": [None]}


BAD_MESSAGES = {
    "negative offset": (None, Message(id=1, offset=-1, timestamp=0, payload=1), "offset"),
    "id past u128": (None, Message(id=2**128, offset=0, timestamp=0, payload=1), "id"),
    "float timestamp": (None, Message(id=1, offset=0, timestamp=1.5, payload=1), "timestamp"),
    "partition past u32": (None, Message(id=1, offset=0, timestamp=0, payload=1, partition=2**32), "partition"),
    "big int in json": (None, Message(id=1, offset=0, timestamp=0, payload=2**70), "cannot encode"),
    "surrogate": (None, Message(id=1, offset=0, timestamp=0, payload="\ud800"), "cannot encode"),
    "text not str": (SourceTopic("s", "x", Schema.TEXT), Message(id=1, offset=0, timestamp=0, payload=b"x"), "text"),
    "bytes not bytes": (SourceTopic("s", "y", Schema.RAW), Message(id=1, offset=0, timestamp=0, payload="x"), "raw"),
    "schema conflict": (SourceTopic("s", "t", Schema.TEXT), Message(id=1, offset=0, timestamp=0, payload="x"),
                        "one schema"),
    "empty header value": (None, Message(id=1, offset=0, timestamp=0, payload=1,
                                         headers={"k": HeaderValue.string("")}), "1..255"),
    "empty header name": (None, Message(id=1, offset=0, timestamp=0, payload=1,
                                        headers={"": HeaderValue.string("v")}), "header name"),
    "int8 range": (None, Message(id=1, offset=0, timestamp=0, payload=1,
                                 headers={"k": HeaderValue(HeaderKind.INT8, 300)}), "out of range"),
    "not a float32": (None, Message(id=1, offset=0, timestamp=0, payload=1,
                                    headers={"k": HeaderValue(HeaderKind.FLOAT32, 0.1)}), "not a float32"),
    "raw not bytes": (None, Message(id=1, offset=0, timestamp=0, payload=1,
                                    headers={"k": HeaderValue(HeaderKind.RAW, "text")}), "bytes"),
}


@pytest.mark.parametrize("topic, message, fragment", BAD_MESSAGES.values(), ids=BAD_MESSAGES.keys())
def test_unwritable_messages_raise_and_write_nothing(tmp_path, topic, message, fragment):
    path = tmp_path / "s.jsonl"
    with StreamWriter(path, stream="s", topic="t", schema="json") as writer:
        with pytest.raises(ValueError, match=fragment):
            writer.write(topic, message)
        writer.write(None, sample(1)[0])
    assert [i.message.offset for i in read_stream(path)] == [0]


def test_bad_writer_arguments(tmp_path):
    with pytest.raises(InputError, match="unknown schema"):
        StreamWriter(tmp_path / "a.jsonl", stream="s", topic="t", schema="xml")
    with pytest.raises(InputError, match="must not be empty"):
        StreamWriter(tmp_path / "a.jsonl", stream="", topic="t", schema="json")
    with pytest.raises(InputError, match="cannot write"):
        StreamWriter(tmp_path / "missing-dir" / "a.jsonl", stream="s", topic="t", schema="json")
    writer = StreamWriter(tmp_path / "b.jsonl", stream="s", topic="t", schema="json")
    writer.close()
    writer.close()  # closing twice is harmless
    with pytest.raises(ValueError, match="closed"):
        writer.write(None, sample(1)[0])


# ---------------------------------------------------------------- append


@pytest.mark.parametrize("name", ["s.jsonl", "s.jsonl.gz"])
def test_append_keeps_the_header_and_adds_lines(tmp_path, name):
    path = tmp_path / name
    first, second = sample(6)[:3], sample(6)[3:]
    with StreamWriter(path, stream="orders", topic="events", schema="json", source="first run") as writer:
        for message in first:
            writer.write(None, message)
    with StreamWriter(path, stream="orders", topic="events", schema="json", source="second run",
                      append=True) as writer:
        for message in second:
            writer.write(None, message)
    assert read_header(path).source == "first run"
    assert [i.message for i in read_stream(path)] == first + second
    if name.endswith(".gz"):
        with gzip.open(path) as f:  # two members: still one valid gzip file for other tools
            assert len(f.read().splitlines()) == 7


def test_append_to_a_missing_or_empty_file_starts_it(tmp_path):
    for path in (tmp_path / "new.jsonl", tmp_path / "empty.jsonl"):
        if path.name == "empty.jsonl":
            path.write_bytes(b"")
        with StreamWriter(path, stream="s", topic="t", schema="text", append=True) as writer:
            writer.write(None, Message(id=1, offset=0, timestamp=0, payload="x"))
        assert [i.message.payload for i in read_stream(path)] == ["x"]


def test_append_refuses_a_different_header_or_a_cut_file(tmp_path):
    path = tmp_path / "s.jsonl"
    StreamWriter(path, stream="s", topic="t", schema="json").close()
    for kwargs, key in (({"stream": "x", "topic": "t", "schema": "json"}, "stream"),
                        ({"stream": "s", "topic": "x", "schema": "json"}, "topic"),
                        ({"stream": "s", "topic": "t", "schema": "text"}, "schema")):
        with pytest.raises(InputError) as err:
            StreamWriter(path, append=True, **kwargs)
        assert err.value.where.key == key and err.value.where.line == 1 and "cannot append" in str(err.value)
    path.write_bytes(path.read_bytes() + b'{"offset":0,')
    with pytest.raises(InputError, match="middle of a line"):
        StreamWriter(path, stream="s", topic="t", schema="json", append=True)
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(b"not a header\n")
    with pytest.raises(InputError) as err:
        StreamWriter(broken, stream="s", topic="t", schema="json", append=True)
    assert err.value.where.line == 1


# ---------------------------------------------------------------- interrupted writers

KILLED_WRITER = """
import os, sys
from sinkbench.model import Message
from sinkbench.sources import StreamWriter
writer = StreamWriter(sys.argv[1], stream="s", topic="t", schema="json", flush_bytes=4096)
for n in range(1000):
    writer.write(None, Message(id=n + 1, offset=n, timestamp=n, payload={"n": n, "pad": "x" * 40}))
os._exit(9)  # no close, no flush, no cleanup: as if killed
"""


@pytest.mark.parametrize("name", ["killed.jsonl", "killed.jsonl.gz"])
def test_a_killed_writer_leaves_a_readable_file(tmp_path, name):
    path = tmp_path / name
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], env=env, timeout=60)
    assert result.returncode == 9
    offsets = [i.message.offset for i in read_stream(path)]  # no error: the file ends on a complete line
    assert 500 < len(offsets) < 1000 and offsets == list(range(len(offsets)))


def test_flushed_lines_are_readable_while_the_writer_is_open(tmp_path):
    path = tmp_path / "live.jsonl.gz"
    writer = StreamWriter(path, stream="s", topic="t", schema="json")
    for message in sample(5):
        writer.write(None, message)
    assert list(read_stream(path)) == []  # buffered, nothing written yet
    writer.flush()
    assert len(list(read_stream(path))) == 5
    writer.write(None, sample(6)[5])
    writer.close()
    assert len(list(read_stream(path))) == 6


def test_repeated_header_values_are_checked_by_kind_and_type(tmp_path):
    path = tmp_path / "s.jsonl"
    with StreamWriter(path, stream="s", topic="t", schema="json") as writer:
        good = Message(id=1, offset=0, timestamp=0, payload=1, headers={"k": HeaderValue(HeaderKind.UINT8, 1)})
        writer.write(None, good)
        with pytest.raises(ValueError, match="integer"):  # True == 1, but a bool is not a uint8
            writer.write(None, Message(id=2, offset=1, timestamp=0, payload=1,
                                       headers={"k": HeaderValue(HeaderKind.UINT8, True)}))
        writer.write(None, Message(id=3, offset=2, timestamp=0, payload=1,
                                   headers={"k": HeaderValue(HeaderKind.FLOAT64, -0.0)}))
    messages = [i.message for i in read_stream(path)]
    assert messages[0] == good
    assert math.copysign(1, messages[1].headers["k"].value) == -1
