"""The synthetic source's `token` option: a unique token per message that the endpoint's default pattern finds."""

from __future__ import annotations

import re

import orjson
import pytest

from sinkbench.endpoint.settings import DEFAULT_TOKEN
from sinkbench.errors import InputError
from sinkbench.sources.synthetic import SyntheticSource, token_key, token_text

PATTERN = re.compile(DEFAULT_TOKEN.encode())


def payload_bytes(payload: object) -> bytes:
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    return payload.encode() if isinstance(payload, str) else orjson.dumps(payload)


@pytest.mark.parametrize("schema", ["json", "text", "raw"])
def test_each_payload_carries_exactly_its_own_token(schema: str) -> None:
    src = SyntheticSource(5000, schema=schema, payload_bytes=100, seed=9, start_us=0, token=True, topics=("a", "b"),
                          partitions=3)
    seen = set()
    for seq, sm in enumerate(src):
        data = payload_bytes(sm.message.payload)
        found = PATTERN.findall(data)
        assert found == [token_text(token_key(9), seq).encode()], (seq, data[:60])
        seen.add(found[0])
        assert abs(len(data) - 100) <= 3 or schema != "json"
        assert len(data) == 100 or schema == "json"
    assert len(seen) == 5000


def test_tokens_are_deterministic_per_seed_and_differ_between_seeds() -> None:
    def tokens(seed: int) -> list[bytes]:
        return [PATTERN.findall(payload_bytes(sm.message.payload))[0]
                for sm in SyntheticSource(50, seed=seed, start_us=0, token=True)]

    assert tokens(1) == tokens(1)
    assert not set(tokens(1)) & set(tokens(2))


def test_tokens_change_nothing_else_in_the_messages() -> None:
    plain = list(SyntheticSource(100, seed=4, start_us=10, token=False))
    tokened = list(SyntheticSource(100, seed=4, start_us=10, token=True))
    for a, b in zip(plain, tokened):
        ma, mb = a.message, b.message
        assert (ma.id, ma.offset, ma.timestamp, ma.checksum, ma.partition, a.topic) == \
               (mb.id, mb.offset, mb.timestamp, mb.checksum, mb.partition, b.topic)
        assert "token" not in ma.payload and mb.payload["seq"] == ma.payload["seq"]
    assert not any(PATTERN.search(payload_bytes(sm.message.payload)) for sm in plain)


def test_token_must_be_a_boolean() -> None:
    with pytest.raises(InputError) as info:
        SyntheticSource(1, start_us=0, token="yes")  # type: ignore[arg-type]
    assert info.value.where.key == "source.token"
