"""Synthetic streams: deterministic, unique, contiguous, paced, sized, validated."""

from __future__ import annotations

import collections
import itertools
import tracemalloc
from collections import defaultdict

import orjson
import pytest

from sinkbench.errors import InputError
from sinkbench.model import HeaderKind, Schema
from sinkbench.sources import Source, SourceTopic, StreamWriter, SyntheticSource, read_stream

START = 1_710_064_800_000_000


def make(count: int = 100, **kwargs) -> SyntheticSource:
    return SyntheticSource(count, start_us=kwargs.pop("start_us", START), **kwargs)


def snapshot(source: SyntheticSource) -> list[tuple]:
    return [(i.topic, i.due, i.message.id, i.message.offset, i.message.timestamp, i.message.origin_timestamp,
             i.message.checksum, i.message.payload, i.message.partition) for i in source]


def test_same_seed_same_messages_other_seed_other_ids():
    a = snapshot(make(300, seed=7, topics=["a", "b"], partitions=3, rate=100))
    assert a == snapshot(make(300, seed=7, topics=["a", "b"], partitions=3, rate=100))
    b = snapshot(make(300, seed=8, topics=["a", "b"], partitions=3, rate=100))
    assert {row[2] for row in a}.isdisjoint({row[2] for row in b})
    source = make(50, seed=3)
    assert snapshot(source) == snapshot(source)  # iterating again starts again


@pytest.mark.parametrize("schema", ["json", "text", "raw"])
def test_ids_and_payloads_are_unique(schema):
    items = list(make(5000, schema=schema, topics=["a", "b", "c"], partitions=4))
    assert len({i.message.id for i in items}) == 5000
    payloads = [orjson.dumps(i.message.payload) if schema == "json" else i.message.payload for i in items]
    assert len(set(payloads)) == 5000
    assert all(0 <= i.message.id < 2**128 and 0 <= i.message.checksum < 2**64 for i in items)
    assert len({i.message.checksum for i in items}) == 5000


def test_round_robin_and_contiguous_offsets_per_topic_partition():
    items = list(make(24, topics=["a", "b"], partitions=3))
    assert [(i.topic.topic, i.message.partition) for i in items[:6]] == [
        ("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2)]
    offsets: dict[tuple[str, int], list[int]] = defaultdict(list)
    for item in items:
        offsets[(item.topic.topic, item.message.partition)].append(item.message.offset)
    assert offsets == {(t, p): [0, 1, 2, 3] for t in "ab" for p in range(3)}


def test_uneven_count_keeps_offsets_contiguous():
    offsets: dict[tuple[str, int], list[int]] = defaultdict(list)
    for item in make(1001, topics=["a", "b", "c"], partitions=7):
        offsets[(item.topic.topic, item.message.partition)].append(item.message.offset)
    assert all(v == list(range(len(v))) for v in offsets.values())
    assert sum(map(len, offsets.values())) == 1001


def test_topics_and_protocol():
    source = make(0, stream="s", topics=["x", "y"], schema="text")
    assert isinstance(source, Source)
    assert source.topics() == [SourceTopic("s", "x", Schema.TEXT), SourceTopic("s", "y", Schema.TEXT)]
    assert list(source) == [] and len(source) == 0
    assert source.name == "synthetic: 0 text messages of 256 B all at once on s/x,y"
    assert make(5, rate=500, partitions=2).name == (
        "synthetic: 5 json messages of 256 B at 500/s on bench/events ×2 partitions")
    items = list(make(4, topics=["x", "y"]))
    assert items[0].topic is items[2].topic  # one object per topic


def test_due_and_timestamps_with_a_rate():
    items = list(make(5, rate=4))
    assert [i.due for i in items] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [i.message.timestamp for i in items] == [START + n * 250_000 for n in range(5)]
    for item in items:
        assert 0 <= item.message.timestamp - item.message.origin_timestamp < 1024


def test_without_a_rate_everything_is_due_at_once_and_timestamps_still_increase():
    items = list(make(5))
    assert [i.due for i in items] == [0.0] * 5
    assert [i.message.timestamp for i in items] == [START + n for n in range(5)]
    assert len({i.message.origin_timestamp for i in make(200)}) > 1  # the jitter varies


def test_origin_timestamp_never_negative():
    assert all(i.message.origin_timestamp >= 0 for i in make(100, start_us=0))


@pytest.mark.parametrize("size", [16, 64, 256, 4096, 100_000])
def test_json_payload_size(size):
    for item in make(30, payload_bytes=size, topics=["a", "topic-with-é"], partitions=12):
        payload = item.message.payload
        encoded = orjson.dumps(payload)
        assert payload["topic"] == item.topic.topic and payload["partition"] == item.message.partition
        if size >= 64:
            assert len(encoded) == size
        else:
            assert len(encoded) <= 64  # the fields alone are bigger than a tiny size: data is empty


@pytest.mark.parametrize("size", [16, 300, 10_000])
def test_text_and_raw_payloads(size):
    for seq, item in enumerate(make(20, schema="text", payload_bytes=size)):
        assert item.message.payload.startswith(f"seq={seq} ") and len(item.message.payload) == size
        assert item.topic.schema is Schema.TEXT
    for seq, item in enumerate(make(20, schema="raw", payload_bytes=size)):
        payload = item.message.payload
        assert isinstance(payload, bytes) and len(payload) == size
        assert int.from_bytes(payload[:8], "big") == seq


def test_headers_are_strings_shared_by_every_message():
    items = list(make(3, headers={"x-run": "bench", "x-id": "é"}))
    headers = items[0].message.headers
    assert headers is not None and {k: (v.kind, v.value) for k, v in headers.items()} == {
        "x-run": (HeaderKind.STRING, "bench"), "x-id": (HeaderKind.STRING, "é")}
    assert all(i.message.headers is headers for i in items)
    with pytest.raises(TypeError):
        headers["new"] = headers["x-run"]  # type: ignore[index]
    assert make(1).headers is None and next(iter(make(1, headers={}))).message.headers is None


def test_lazy_and_cheap_for_a_huge_count():
    source = make(10**15, rate=1000)
    tracemalloc.start()
    try:
        last = collections.deque(itertools.islice(source, 3000), maxlen=1)[0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert last is not None and last.message.offset == 2999
    assert peak < 1024 * 1024  # a few messages at a time, never the 10^15


def test_writes_and_reads_back_as_a_recorded_stream(tmp_path):
    source = make(200, schema="raw", topics=["a", "b"], partitions=2, headers={"k": "v"}, rate=50)
    path = tmp_path / "synthetic.jsonl.gz"
    with StreamWriter(path, stream="bench", topic="a", schema="raw") as writer:
        for item in source:
            writer.write(item.topic, item.message)
    replayed = list(read_stream(path, speed="realtime"))
    assert [(r.topic, r.message) for r in replayed] == [(i.topic, i.message) for i in source]
    assert [r.due for r in replayed] == pytest.approx([i.due for i in source])


BAD_ARGUMENTS = {
    "negative count": ({"count": -1}, "count"),
    "float count": ({"count": 1.5}, "count"),
    "bool count": ({"count": True}, "count"),
    "negative rate": ({"rate": -1}, "rate"),
    "infinite rate": ({"rate": float("inf")}, "rate"),
    "string rate": ({"rate": "fast"}, "rate"),
    "schema avro": ({"schema": "avro"}, "schema"),
    "schema unknown": ({"schema": "xml"}, "schema"),
    "tiny payload": ({"payload_bytes": 15}, "payload_bytes"),
    "huge payload": ({"payload_bytes": 2**40}, "payload_bytes"),
    "empty stream": ({"stream": ""}, "stream"),
    "no topics": ({"topics": []}, "topics"),
    "topics string": ({"topics": "events"}, "topics"),
    "duplicate topics": ({"topics": ["a", "b", "a"]}, "topics"),
    "empty topic": ({"topics": ["a", ""]}, "topics"),
    "zero partitions": ({"partitions": 0}, "partitions"),
    "seed float": ({"seed": 1.5}, "seed"),
    "negative start": ({"start_us": -1}, "start_us"),
    "start past u64": ({"start_us": 2**64 - 10, "count": 100}, "start_us"),
    "headers list": ({"headers": ["a"]}, "headers"),
    "header value int": ({"headers": {"a": 1}}, "headers.a"),
    "header value empty": ({"headers": {"a": ""}}, "headers.a"),
    "header name long": ({"headers": {"k" * 256: "v"}}, "headers." + "k" * 256),
}


@pytest.mark.parametrize("kwargs, key", BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_argument_validation(kwargs, key):
    kwargs = {"count": 10, "start_us": START, **kwargs}
    with pytest.raises(InputError) as err:
        SyntheticSource(kwargs.pop("count"), where_file="scenario.toml", **kwargs)
    assert err.value.where.key == f"source.{key}" and err.value.where.file == "scenario.toml"
    assert str(err.value).startswith(f"scenario.toml: key 'source.{key}': ")


# Digests of every field of every message, computed with the per-seq formulas of the module docstring before
# the generator carried topic, partition, offset, id and digits from one message to the next (issue 19): the
# faster loop must make exactly the same messages.
GOLDEN = [
    (dict(count=3000, schema="json", payload_bytes=500), "6f5fb5b807d9589a"),
    (dict(count=3000, schema="json", payload_bytes=16, topics=("a", "bb", "ccc"), partitions=3, rate=1000),
     "992d3579863eb191"),
    (dict(count=3000, schema="text", payload_bytes=64, partitions=2, token=True), "3212371e6855d9e3"),
    (dict(count=3000, schema="raw", payload_bytes=40, token=True, headers={"k": "v"}), "abc789c8a412bd8f"),
    (dict(count=3000, schema="raw", payload_bytes=4000, topics=("x", "y")), "1037f4f1c4bd897d"),
    (dict(count=12000, schema="json", payload_bytes=300, token=True, partitions=7, seed=5), "38f4c3190a72e04e"),
]


@pytest.mark.parametrize(("options", "digest"), GOLDEN)
def test_generated_messages_are_those_of_the_documented_formulas(options, digest):
    import hashlib

    h = hashlib.sha256()
    for sm in SyntheticSource(**{"seed": 1, **options}, start_us=1_700_000_000_000_000):
        m = sm.message
        payload = m.payload.hex() if isinstance(m.payload, bytes) else m.payload
        headers = sorted((k, v.kind.value, str(v.value)) for k, v in (m.headers or {}).items())
        h.update(orjson.dumps([sm.topic.stream, sm.topic.topic, sm.topic.schema.value, sm.due, str(m.id), m.offset,
                               m.timestamp, payload, m.origin_timestamp, m.checksum, headers, m.partition]))
    assert h.hexdigest()[:16] == digest


@pytest.mark.parametrize("size", [1, 7, 128, 100_000])
@pytest.mark.parametrize(("topics", "partitions"), [(["events"], 1), (["a", "b", "c"], 2), (["a", "b"], 5)])
def test_ready_blocks_hand_over_each_topics_messages_in_order(size, topics, partitions):
    source = make(1001, topics=topics, partitions=partitions, schema="json")
    one_by_one: dict[str, list] = defaultdict(list)
    for sm in source:
        one_by_one[sm.topic.topic].append(sm.message)
    in_blocks: dict[str, list] = defaultdict(list)
    blocks = source.ready_blocks(size)
    assert blocks is not None
    for topic, messages in blocks:
        assert 0 < len(messages) <= size
        assert topic in source.topics()
        in_blocks[topic.topic].extend(messages)
    assert in_blocks == one_by_one


def test_a_paced_source_offers_no_ready_blocks():
    assert make(10, rate=100).ready_blocks(128) is None
    assert list(make(0).ready_blocks(128)) == []
