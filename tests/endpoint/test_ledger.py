"""Recognising messages in bodies of every batch mode, and counting how often each arrived."""

from __future__ import annotations

import base64
import json
import tracemalloc
from pathlib import Path
from typing import Any

import orjson
import pytest

from sinkbench.endpoint.ledger import Ledger, Recognizer, digest, identities, media_type

CONFORMANCE = json.loads((Path(__file__).parent / "bodies.json").read_text())


def envelope(i: int, stream: str = "s", topic: str = "t", payload: Any = None) -> dict[str, Any]:
    return {"metadata": {"iggy_id": f"{i:032x}", "iggy_offset": i, "iggy_stream": stream, "iggy_topic": topic,
                         "iggy_partition_id": 0}, "payload": payload if payload is not None else {"n": i}}


def ndjson(values: list[Any]) -> bytes:
    return b"".join(orjson.dumps(v) + b"\n" for v in values)


def _body_of(request: dict[str, Any]) -> bytes:
    if "body_base64" in request:
        return base64.b64decode(request["body_base64"])
    if "ndjson" in request:
        return ndjson(request["ndjson"])
    return orjson.dumps(request["json"])


@pytest.mark.parametrize("case", CONFORMANCE["cases"], ids=[c["name"] for c in CONFORMANCE["cases"]])
def test_conformance_bodies_count_one_per_message(case: dict[str, Any]) -> None:
    ledger = Ledger()
    for request in case["requests"]:
        ledger.add(identities(request["content_type"], _body_of(request)))
    assert (ledger.messages, ledger.unique, ledger.duplicates) == (len(case["messages"]), len(case["messages"]), 0)


def test_envelope_identity_is_stream_topic_and_id() -> None:
    same = identities("application/json", orjson.dumps(envelope(1, payload={"a": 1})))
    assert identities("application/json", orjson.dumps(envelope(1, payload={"other": 2}))) == same
    assert identities("application/json", orjson.dumps(envelope(1, topic="u"))) != same
    assert identities("application/json", orjson.dumps(envelope(1, stream="z"))) != same
    assert identities("application/json", orjson.dumps(envelope(2))) != same


def test_the_same_message_is_the_same_identity_in_every_batch_mode() -> None:
    values = [envelope(i) for i in range(3)]
    individual = [identities("application/json", orjson.dumps(v))[0] for v in values]
    assert identities("application/x-ndjson", ndjson(values)) == individual
    assert identities("application/json", orjson.dumps(values)) == individual
    assert identities("application/json; charset=utf-8", orjson.dumps(values)) == individual


def test_bare_payloads_are_known_by_their_bytes() -> None:
    assert identities("application/json", b'{"a":1}') == [digest(b'{"a":1}')]
    assert identities("application/json", b'"text"') == [digest(b'"text"')]
    assert identities("application/x-ndjson", b'{"a":1}\n{"a":2}\n') == [digest(b'{"a":1}'), digest(b'{"a":2}')]
    # json_array elements are re-serialised compactly.
    assert identities("application/json", b'[{"a": 1}, 2]') == [digest(b'{"a":1}'), digest(b"2")]


def test_raw_bodies_are_one_message_each() -> None:
    assert identities("application/octet-stream", b"\x00\xffbinary") == [digest(b"\x00\xffbinary")]
    # A raw body that happens to be an envelope is still opaque bytes: raw mode never sends one.
    body = orjson.dumps(envelope(1))
    assert identities("application/octet-stream", body) == [digest(body)]
    assert identities(None, b"x") == [digest(b"x")]
    assert identities("text/plain", b"[1,2]") == [digest(b"[1,2]")]


def test_an_empty_body_is_an_empty_payload_when_it_names_a_content_type() -> None:
    # raw mode sends an empty text or bytes payload as an empty body: one message (issue 12, item 13).
    for ct in ("application/octet-stream", "text/plain", "application/json"):
        assert identities(ct, b"") == [digest(b"")]
    # A health check names none; an NDJSON body holds one message per line, and has none.
    for ct in (None, "", "application/x-ndjson"):
        assert identities(ct, b"") == []
    assert identities("application/x-ndjson", b"\n\n") == []
    assert identities("application/json", b"[]") == []


def test_broken_json_still_counts_as_a_message() -> None:
    assert identities("application/json", b"{not json") == [digest(b"{not json")]
    lines = ndjson([envelope(1)]) + b"{broken\n" + ndjson([envelope(2)])
    ids = identities("application/x-ndjson", lines)
    assert len(ids) == 3
    assert ids[1] == digest(b"{broken")
    assert ids[0] == identities("application/json", orjson.dumps(envelope(1)))[0]


def test_integers_beyond_64_bits() -> None:
    big = b'{"n":123456789012345678901234567890}'
    assert identities("application/json", big) == [digest(big)]
    assert len(identities("application/json", b"[" + big + b"," + big + b"]")) == 2
    assert len(identities("application/x-ndjson", big + b"\n" + big + b"\n")) == 2


def test_known_ambiguity_individual_bare_array_counts_per_element() -> None:
    # Documented in ledger.py: without metadata, an individual request carrying
    # a JSON array reads like a json_array body.
    assert len(identities("application/json", b"[1,2,3]")) == 3


def test_media_type() -> None:
    assert media_type("Application/X-NDJSON ; charset=utf-8") == "application/x-ndjson"
    assert media_type(None) == ""


def test_ledger_counts_duplicates() -> None:
    ledger = Ledger()
    a, b, c = (identities("application/json", orjson.dumps(envelope(i)))[0] for i in range(3))
    ledger.add([a])
    ledger.add([a, b])  # a batch with one repeat
    ledger.add([c, c])  # the same message twice in one body
    ledger.add([])
    assert (ledger.messages, ledger.unique, ledger.duplicates) == (5, 3, 2)
    assert (a in ledger, b in ledger, c in ledger, 12345 in ledger) == (True, True, True, False)
    ledger.add([a, b, c])
    assert (ledger.messages, ledger.unique, ledger.duplicates) == (8, 3, 5)


def test_ledger_counts_bare_payload_duplicates() -> None:
    ledger = Ledger()
    x, y = digest(b"x"), digest(b"y")
    ledger.add([x, y, x])
    ledger.add([y])
    assert (ledger.messages, ledger.unique, ledger.duplicates) == (4, 2, 2)
    assert x in ledger and digest(b"z") not in ledger


def test_ledger_counts_how_often_each_bare_payload_was_accepted() -> None:
    ledger = Ledger()
    beat, other = digest(b'{"beat":1}'), digest(b"other")
    ledger.add([beat, beat, other])
    ledger.add([beat])
    ledger.add([digest(b"a"), digest(b"b")])   # distinct and new: the set's fast path
    assert (ledger.accepted(beat), ledger.accepted(other), ledger.accepted(digest(b"never"))) == (3, 1, 0)
    assert (ledger.messages, ledger.unique, ledger.duplicates, ledger.address_duplicates) == (6, 4, 2, 0)


def test_ledger_answers_for_runs_of_addresses() -> None:
    r, ledger = Recognizer(), Ledger()
    ledger.add([r.address("s", "t", 0, o) for o in range(10)])
    ledger.add([r.address("s", "t", 0, o) for o in (3, 4, 20)])    # two repeats and a straggler
    ledger.add([r.address("s", "t", 1, o) for o in range(5)])
    base = r.address("s", "t", 0, 0)
    assert [ledger.held(base + a, base + b) for a, b in ((0, 10), (5, 25), (10, 20), (0, 0))] == [10, 6, 0, 0]
    other = r.address("s", "t", 1, 0)
    assert ledger.held(other, other + 100) == 5
    assert (ledger.address_duplicates, ledger.accepted(base + 3), ledger.accepted(base + 11)) == (2, 1, 0)


def test_an_envelope_is_known_by_its_address() -> None:
    # Within a run, (stream, topic, partition, offset) names a message as its id does (§1): a partition's
    # offsets become consecutive identities, kept as one run.
    ids = identities("application/x-ndjson", ndjson([envelope(i) for i in range(5)]))
    assert ids == list(range(ids[0], ids[0] + 5))
    other_partition = envelope(0)
    other_partition["metadata"]["iggy_partition_id"] = 1
    assert identities("application/json", orjson.dumps(other_partition))[0] != ids[0]


def test_an_envelope_without_a_usable_address_is_known_by_its_id() -> None:
    def without(key: str, i: int, value: Any = None) -> int:
        e = envelope(i)
        if value is None:
            del e["metadata"][key]
        else:
            e["metadata"][key] = value
        return identities("application/json", json.dumps(e).encode())[0]  # orjson stops at 64-bit ints

    for key, value in (("iggy_offset", None), ("iggy_offset", -1), ("iggy_offset", 1 << 64), ("iggy_offset", "3"),
                       ("iggy_offset", True), ("iggy_partition_id", None), ("iggy_partition_id", 1 << 32)):
        assert without(key, 7, value) == without(key, 7, value), (key, value)
        assert without(key, 7, value) != without(key, 8, value), (key, value)
        ledger = Ledger()
        ledger.add([without(key, 7, value), without(key, 7, value), without(key, 8, value)])
        assert (ledger.unique, ledger.duplicates, ledger.runs) == (2, 1, 0), (key, value)


@pytest.mark.parametrize("order", ["in order", "reversed", "interleaved", "shuffled"])
def test_ledger_counts_out_of_order_and_repeated_addresses(order: str) -> None:
    import random

    values = [envelope(i) for i in range(300)]
    bodies = [values[i:i + 7] for i in range(0, 300, 7)]
    if order == "reversed":
        bodies.reverse()
    elif order == "interleaved":
        bodies = bodies[::2] + bodies[1::2]
    elif order == "shuffled":
        random.Random(3).shuffle(bodies)
    ledger = Ledger()
    for body in bodies:
        ledger.add(identities("application/x-ndjson", ndjson(body)))
    assert (ledger.messages, ledger.unique, ledger.duplicates, ledger.runs) == (300, 300, 0, 1)
    for body in bodies[::5]:  # redelivered batches
        ledger.add(identities("application/json", orjson.dumps(body)))
    redelivered = sum(len(b) for b in bodies[::5])
    assert (ledger.unique, ledger.duplicates, ledger.runs) == (300, redelivered, 1)


def test_ledger_of_addresses_grows_with_gaps_not_messages() -> None:
    # A soak: 72,000 messages on three partitions, every tenth batch lost once then redelivered out of
    # order. The ledger ends as three runs, and its memory after the first 18,000 messages stays where it was.
    def body(partition: int, start: int, n: int) -> bytes:
        return ndjson([{"metadata": {"iggy_id": f"{partition:08x}{start + i:024x}", "iggy_offset": start + i,
                                     "iggy_stream": "s", "iggy_topic": "t", "iggy_partition_id": partition},
                        "payload": {}} for i in range(n)])

    recognizer = Recognizer()
    ledger = Ledger()
    held: list[bytes] = []
    tracemalloc.start()
    try:
        base = 0
        peak_runs = 0
        for b in range(240):
            if b == 60:
                base = tracemalloc.get_traced_memory()[0]
            for partition in range(3):
                data = body(partition, b * 100, 100)
                if b % 10 == 3:
                    held.append(data)
                else:
                    ledger.add(recognizer.identities("application/x-ndjson", data))
            peak_runs = max(peak_runs, ledger.runs)
            if b % 10 == 9:
                for data in held:
                    ledger.add(recognizer.identities("application/x-ndjson", data))
                held.clear()
        grown = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert (ledger.messages, ledger.unique, ledger.duplicates, ledger.runs) == (72_000, 72_000, 0, 3)
    assert peak_runs <= 6
    assert grown < 16 * 1024, f"{grown} bytes"


def test_ledger_memory_per_message_is_bounded() -> None:
    # ~65 bytes a message (a 60-bit int plus its set slot): 1,000,000 messages stay near 65 MB.
    n = 100_000
    keys = [[f"{b}/{i}".encode() for i in range(1000)] for b in range(n // 1000)]
    tracemalloc.start()
    try:
        ledger = Ledger()
        for batch in keys:
            ledger.add([digest(k) for k in batch])  # the identities are made here, so they are traced
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ledger.unique == n
    assert current / n < 80, f"{current / n:.0f} bytes per message"


# --- a batch of one partition, recognised in bulk --------------------------------------------------------

# 10^400: orjson refuses the body, and the standard parser gives exact integers past 64 bits.
_ODD_VALUES = [None, True, False, 1, 1.0, -1, 2 ** 64, 2 ** 64 - 1, 2 ** 32, 2 ** 32 - 1, 10 ** 400, "", "s", "0",
               [], {}]
_KEYS = [None, "metadata", "iggy_id", "iggy_stream", "iggy_topic", "iggy_partition_id", "iggy_offset"]


def _spoilt(values: list[Any], where: int | None, key: str | None, odd: Any, drop: bool) -> list[Any]:
    """`values` with one message (`where`; None: every one) spoilt: not an object (key None), or `key` dropped or
    set to `odd`."""
    values = json.loads(json.dumps(values))
    if where is None:
        for i in range(len(values)):
            values = _spoilt(values, i, key, odd, drop)
        return values
    v = values[where]
    if key is None:
        values[where] = odd
    elif key == "metadata":
        if drop:
            del v["metadata"]
        else:
            v["metadata"] = odd
    elif drop:
        del v["metadata"][key]
    else:
        v["metadata"][key] = odd
    return values


class _PerMessage(Recognizer):
    """The recogniser without its bulk path: every message through `_envelope`."""

    __slots__ = ()

    def _one_partition(self, values: list[Any]) -> None:
        return None


def _batch(first_offset: int, n: int = 4) -> list[Any]:
    return [{"metadata": {**envelope(i)["metadata"], "iggy_offset": first_offset + i}, "payload": {"n": i}}
            for i in range(n)]


@pytest.mark.parametrize("first_offset", [0, 2 ** 64 - 4, 2 ** 64 - 2])
def test_a_batch_of_one_partition_gets_the_identities_each_message_would(first_offset: int) -> None:
    # The bulk path (`_one_partition`) must agree with the per-message one on anything: each kind of spoilt
    # message (not an object, no metadata, a missing or odd id, stream, topic, partition or offset: True where
    # 1 is, 1.0, -1, 2^64, a list...) first, in the middle, last or everywhere sends the batch to the per-message path or
    # gets the same answer.
    cases = [_batch(first_offset)] + [
        _spoilt(_batch(first_offset), where, key, odd, drop)
        for where in (0, 2, 3, None) for key in _KEYS for odd in _ODD_VALUES for drop in (False, True)
        if not (drop and key is None)]
    for values in cases:
        ndjson_body = b"\n".join(json.dumps(v, separators=(",", ":")).encode() for v in values) + b"\n"
        array_body = json.dumps(values).encode()
        for content_type, body in (("application/x-ndjson", ndjson_body), ("application/json", array_body)):
            assert Recognizer().identities(content_type, body) == _PerMessage().identities(content_type, body), \
                values


def test_a_clean_batch_takes_the_bulk_path() -> None:
    values = [envelope(i) for i in range(5)]
    recognizer = Recognizer()
    assert recognizer._one_partition(values) == [recognizer._envelope(v) for v in values]
    assert recognizer._one_partition(values[:2] + [{"payload": 1}]) is None
    assert Recognizer("hash")._one_partition(values) is None
