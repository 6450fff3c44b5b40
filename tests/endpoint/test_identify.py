"""How the endpoint knows a message (`identify` = iggy | token | hash, `token`) and compressed bodies."""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib
from typing import Any

import httpx
import orjson
import pytest

from sinkbench.endpoint import encoding
from sinkbench.endpoint.ledger import Recognizer, digest, token_identity
from sinkbench.endpoint.settings import DEFAULT_TOKEN, parse_endpoint_settings, settings_to_dict
from sinkbench.errors import InputError

from .conftest import Serve

T1, T2, T3 = "sb-0000000000000001", "sb-00000000000000a2", "sb-0123456789abcdef"
NDJSON = {"Content-Type": "application/x-ndjson"}


def parse(doc: dict[str, Any]):
    return parse_endpoint_settings(doc, None, ())


def envelope(offset: int, payload: Any) -> dict[str, Any]:
    return {"metadata": {"iggy_id": f"{offset:032x}", "iggy_offset": offset, "iggy_stream": "s",
                         "iggy_topic": "t", "iggy_partition_id": 0}, "payload": payload}


# --- recognising ---------------------------------------------------------------------------------


def test_token_mode_every_match_is_a_message_whatever_the_format() -> None:
    r = Recognizer("token", DEFAULT_TOKEN)
    body = f'{{"a": "{T1}"}}\n{{"b": ["{T2}", "x {T3} y"]}}\n'.encode()
    assert r.identities("application/x-ndjson", body) == [token_identity(t) for t in (T1, T2, T3)]
    # Content-Type does not matter, and neither does what surrounds a token.
    assert r.identities(None, f"<log>{T2}</log>".encode()) == [token_identity(T2)]
    assert r.identities("text/plain", b"no token here, sb-123 is too short") == []
    assert r.identities("application/json", b"") == []
    # A token twice in one body is two messages (one of them a duplicate, for the ledger).
    assert r.identities("text/plain", f"{T1} {T1}".encode()) == [token_identity(T1)] * 2


def test_hash_mode_knows_envelopes_by_their_bytes_not_their_address() -> None:
    first, again = envelope(7, {"v": 1}), envelope(7, {"v": 2})   # the same address, other bytes
    body = orjson.dumps(first) + b"\n" + orjson.dumps(again) + b"\n"
    iggy, hashed = Recognizer("iggy"), Recognizer("hash")
    by_address = iggy.identities("application/x-ndjson", body)
    assert by_address[0] == by_address[1]
    by_hash = hashed.identities("application/x-ndjson", body)
    assert len(set(by_hash)) == 2 and not set(by_hash) & set(by_address)
    # Known by the hash of its bytes, as a bare payload is in iggy mode.
    assert hashed.identities("application/json", orjson.dumps(first)) == [digest(orjson.dumps(first))]
    assert hashed.identities("application/json", b"[" + orjson.dumps(first) + b"]") == [digest(orjson.dumps(first))]


def test_recognizer_of_the_settings() -> None:
    assert Recognizer.of(parse({"identify": "token", "token": "id=[0-9]+"})).identities(None, b"id=1 id=22") == \
        [token_identity("id=1"), token_identity("id=22")]
    with pytest.raises(ValueError):
        Recognizer("token")


# --- settings ------------------------------------------------------------------------------------


def test_identify_token_and_port_round_trip() -> None:
    s = parse({"identify": "token", "token": r"trace-[A-Z]{4}", "port": 18080})
    assert (s.identify, s.token, s.port) == ("token", r"trace-[A-Z]{4}", 18080)
    doc = settings_to_dict(s)
    assert (doc["identify"], doc["token"], doc["port"]) == ("token", r"trace-[A-Z]{4}", 18080)
    assert parse(doc) == s
    assert parse({"identify": "token"}).token == DEFAULT_TOKEN
    # Defaults are left out of the document, which stays as it was for endpoints that do not use them.
    assert set(settings_to_dict(parse({}))) == {"status", "latency", "max_body_bytes", "tls", "faults", "seed"}
    assert settings_to_dict(parse({"identify": "hash"}))["identify"] == "hash"


BAD = [
    ({"identify": "tokens"}, "identify", "did you mean 'token'"),
    ({"identify": 1}, "identify", "unknown identify"),
    ({"token": "x+"}, "token", 'applies only with identify = "token"'),
    ({"identify": "hash", "token": "x+"}, "token", "applies only"),
    ({"identify": "token", "token": "(unclosed"}, "token", "invalid regular expression"),
    ({"identify": "token", "token": "x" * 1001}, "token", "too long"),
    ({"identify": "token", "token": "a*"}, "token", "can match the empty string"),
    ({"identify": "token", "token": "sb-x|"}, "token", "can match the empty string"),
    ({"identify": "token", "token": r"(?=sb)"}, "token", "can match the empty string"),
    ({"identify": "token", "token": r"\b"}, "token", "can match the empty string"),
    ({"identify": "token", "token": "é+"}, "token", "must be ASCII"),
    ({"identify": "token", "token": r"\N{DIGIT ONE}"}, "token", "for bytes"),
    ({"identify": "token", "token": ["sb-"]}, "token", "expected a regular expression"),
    ({"port": -1}, "port", "out of range"),
    ({"port": 65536}, "port", "out of range"),
    ({"port": "8080"}, "port", "expected an integer"),
    ({"port": True}, "port", "expected an integer"),
    ({"identifi": "token"}, "identifi", "did you mean 'identify'"),
]


@pytest.mark.parametrize(("doc", "key", "words"), BAD, ids=[f"{b[1]}:{b[2]}" for b in BAD])
def test_bad_identify_token_port_are_refused_naming_the_key(doc: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        parse(doc)
    assert info.value.where.key == key, str(info.value)
    assert words in str(info.value)


# --- over HTTP: the ledger per token -------------------------------------------------------------


async def test_several_tokens_per_body_counted_per_token(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"identify": "token",
                      "faults": [{"requests": [3, 3], "action": "status", "status": 500}]})
    lines = "\n".join(f'{{"msg": "{t}"}}' for t in (T1, T2)).encode()
    assert (await http.post(ep.url + "ingest", content=lines, headers=NDJSON)).status_code == 200
    # The same batch again (a retry whose answer was lost): two duplicates.
    assert (await http.post(ep.url + "ingest", content=lines, headers=NDJSON)).status_code == 200
    # Refused: nothing counted, not even the token it alone carries.
    assert (await http.post(ep.url + "ingest", content=T3.encode())).status_code == 500
    stats = ep.stats()
    assert (stats["messages"], stats["unique_messages"], stats["duplicates"]) == (4, 2, 2)
    assert [e["messages"] for e in ep.requests()] == [2, 2, 1]
    # Asked by token text, or by the identity the bench computes.
    answer = (await http.post(ep.admin_url + "ledger",
                              json={"tokens": [T1, T2, T3], "identities": [token_identity(T1)]})).json()
    assert answer["tokens"] == [2, 2, 0] and answer["accepted"] == [2]
    bad = await http.post(ep.admin_url + "ledger", json={"tokens": [1]})
    assert bad.status_code == 400 and "tokens[0]" in bad.json()["error"]


async def test_gzip_and_deflate_bodies_are_decoded_before_identification(serve: Serve,
                                                                         http: httpx.AsyncClient) -> None:
    ep = await serve({"identify": "token"})
    plain = f"{T1}\n{T2}\n{T3}\n".encode()
    for coding, data in (("gzip", gzip.compress(plain)), ("deflate", zlib.compress(plain)),
                         ("deflate", _raw_deflate(plain)),       # raw deflate, as some clients send it
                         ("gzip, gzip", gzip.compress(gzip.compress(plain))),
                         ("identity", plain),
                         ("gzip", gzip.compress(plain[:20]) + gzip.compress(plain[20:]))):   # two members
        r = await http.post(ep.url + "ingest", content=data, headers={"Content-Encoding": coding})
        assert r.status_code == 200, (coding, r.text)
    journal = ep.requests()
    assert [e["messages"] for e in journal] == [3] * 6
    # The journal and stats show the bytes as they came over the wire.
    assert journal[0]["body_bytes"] == len(gzip.compress(plain)) != len(plain)
    assert ep.stats()["unique_messages"] == 3 and ep.stats()["messages"] == 18


def _raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-15)
    return c.compress(data) + c.flush()


async def test_iggy_envelopes_in_a_gzip_body(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    body = b"\n".join(orjson.dumps(envelope(i, {"n": i})) for i in range(50))
    r = await http.post(ep.url + "ingest", content=gzip.compress(body),
                        headers={**NDJSON, "Content-Encoding": "gzip"})
    assert r.status_code == 200 and ep.stats()["unique_messages"] == 50


async def test_undecodable_bodies_get_400_and_count_nothing(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"identify": "token", "faults": [{"every": 1, "action": "status", "status": 200,
                                                        "accept": True}]})
    good = gzip.compress(f"{T1} {T2}".encode())
    cases = [("gzip", T1.encode()),                     # not gzip at all
             ("gzip", good[:-6]),                       # cut short: its stream never ends
             ("gzip", good + b"garbage"),               # something after the end that is not a member
             ("deflate", b"\x78\x9c" + b"\xff" * 20),   # a zlib header, then nonsense
             ("deflate", zlib.compress(T1.encode())[:-3])]
    for coding, data in cases:
        r = await http.post(ep.url + "ingest", content=data, headers={"Content-Encoding": coding})
        assert r.status_code == 400, (coding, data, r.status_code)
        assert "sinkbench mock endpoint" in r.text
    r = await http.post(ep.url + "ingest", content=data, headers={"Content-Encoding": "br"})
    assert r.status_code == 415 and "unsupported Content-Encoding 'br'" in r.text
    r = await http.post(ep.url + "ingest", content=good, headers={"Content-Encoding": "gzip," * 5 + "gzip"})
    assert r.status_code == 400 and "at most" in r.text
    stats = ep.stats()
    # Numbered and journaled (a sink sending broken bodies is worth seeing), never counted, no fault applied.
    assert stats["requests"] == 7 and stats["messages"] == 0 and stats["faults"] == {"0": 0}
    assert stats["by_status"] == {"400": 6, "415": 1}
    assert [e["messages"] for e in ep.requests()] == [0] * 7
    # The connection stays usable: the body was framed, only its coding was wrong.
    r = await http.post(ep.url + "ingest", content=good, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200 and ep.stats()["messages"] == 2


async def test_a_decompression_bomb_gets_413_and_memory_stays_bounded(serve: Serve,
                                                                      http: httpx.AsyncClient) -> None:
    """1 GiB of zeros in a 1 MiB gzip body: stopped at the cap (here 4 MiB), quickly, without holding more."""
    ep = await serve({"max_body_bytes": 4 * 1024 * 1024})
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    bomb = b"".join(c.compress(block) for _ in range(1024)) + c.flush()
    assert len(bomb) < 1_100_000
    ep._body_cap = 4 * 1024 * 1024     # what bodies are decoded up to (32 MiB by default: more memory to trace)
    tracemalloc.start()
    start = time.monotonic()
    try:
        r = await http.post(ep.url + "ingest", content=bomb,
                            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    took = time.monotonic() - start
    assert r.status_code == 413
    assert peak < 40 * 1024 * 1024, peak          # a cap's worth and the wire body, not a GiB
    assert took < 5, took                         # inflating the whole GiB takes several seconds
    assert ep.stats()["messages"] == 0 and ep.requests()[-1]["body_bytes"] == len(bomb)


def test_decode_is_bounded_at_the_cap_exactly() -> None:
    data = bytes(1000)
    assert encoding.decode(gzip.compress(data), "gzip", 1000) == data
    assert encoding.decode(gzip.compress(data), "gzip", 999) is None
    assert encoding.decode(gzip.compress(data) * 2, "gzip", 1999) is None   # across members too
    assert encoding.decode(b"", "gzip", 10) == b""


async def test_max_body_bytes_applies_to_the_decoded_body(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"max_body_bytes": 1000})
    small_on_the_wire = gzip.compress(b"[" + b"1," * 1000 + b"1]")
    assert len(small_on_the_wire) < 1000
    r = await http.post(ep.url + "ingest", content=small_on_the_wire,
                        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert r.status_code == 413 and ep.stats()["messages"] == 0


async def test_admin_documents_may_be_compressed_too(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    r = await http.put(ep.admin_url + "endpoint", content=gzip.compress(b'{"identify": "token"}'),
                       headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["identify"] == "token"
    r = await http.put(ep.admin_url + "endpoint", content=b'{"status": 503}',
                       headers={"Content-Encoding": "gzip"})
    assert r.status_code == 400 and ep.settings.identify == "token"


async def test_identify_changes_live_through_the_admin_api(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    body = f'{{"a": "{T1}"}}'.encode()
    await http.post(ep.url + "ingest", content=body, headers={"Content-Type": "application/json"})
    assert (await http.patch(ep.admin_url + "endpoint",
                             json={"identify": "token", "token": "sb-[0-9]+"})).status_code == 200
    await http.post(ep.url + "ingest", content=body, headers={"Content-Type": "application/json"})
    answer = (await http.post(ep.admin_url + "ledger", json={"tokens": ["sb-0000000000000001"]})).json()
    assert answer["tokens"] == [1]
    # Reset goes back to the configured way (iggy).
    await http.post(ep.admin_url + "reset")
    assert ep.settings.identify == "iggy"
    assert ep.recognizer.identities("text/plain", f"x {T1}".encode()) == [digest(f"x {T1}".encode())]
