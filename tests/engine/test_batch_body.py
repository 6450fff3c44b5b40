"""`Encoder.batch_body`: a batch's body in one serialisation must be, byte for byte, the body the per-message path
builds (each message's JSON joined), or None so that the per-message path decides (issue 19)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sinkbench.config.settings import SinkSettings
from sinkbench.engine.encode import Encoder
from sinkbench.model import BatchMetadata, HeaderValue, Message, Schema, TopicMetadata

TOPIC = TopicMetadata("s\u00e9", 't"1')
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)
# Payloads that hold what separates two envelopes in an ndjson array, to try the split.
tricky = st.sampled_from([
    [{"metadata": {"iggy_id": "x"}}, {"metadata": {"iggy_x": 1}}],
    {"a": [{"z": 1}, {"metadata": {"iggy_": []}}]},
    '},{"metadata":{"iggy_',
])


def _body(encoder: Encoder, messages: list[Message], meta: BatchMetadata) -> bytes | None:
    encoded, kept, skipped = encoder.encode_values(messages, TOPIC, meta)
    return None if skipped else encoder.join(encoded)


@settings(max_examples=150, deadline=None)
@given(payloads=st.lists(json_values | tricky, min_size=1, max_size=6),
       mode=st.sampled_from(["ndjson", "json_array"]), metadata=st.booleans(), checksum=st.booleans(),
       headers=st.booleans(), too_big=st.booleans())
def test_one_serialisation_is_the_per_message_body(payloads, mode, metadata, checksum, headers, too_big):
    payloads = [2**70 if too_big and i == 0 else p for i, p in enumerate(payloads)]
    encoder = Encoder(SinkSettings(url="http://x/", batch_mode=mode, include_metadata=metadata,
                                   include_checksum=checksum))
    meta = BatchMetadata(3, len(payloads) - 1, Schema.JSON)
    messages = [Message(id=2**127 + i, offset=i, timestamp=1_700_000_000_000_000 + i, payload=p, checksum=i,
                        headers={"h": HeaderValue.string("v")} if headers else None, partition=3)
                for i, p in enumerate(payloads)]
    fast = encoder.batch_body(messages, TOPIC, meta)
    slow = _body(encoder, messages, meta)
    if fast is not None:
        assert fast == slow
    else:   # the per-message path decides: an unencodable message, or ndjson lines it cannot split for sure
        assert slow is None or mode == "ndjson"


def test_the_usual_batches_take_the_one_serialisation():
    messages = [Message(id=i + 1, offset=i, timestamp=i, payload={"n": i}) for i in range(1000)]
    meta = BatchMetadata(0, 999, Schema.JSON)
    for mode in ("ndjson", "json_array"):
        encoder = Encoder(SinkSettings(url="http://x/", batch_mode=mode))
        body = encoder.batch_body(messages, TOPIC, meta)
        assert body is not None and body == _body(encoder, messages, meta)
    assert Encoder(SinkSettings(url="http://x/", batch_mode="ndjson", include_metadata=False)).batch_body(
        messages, TOPIC, meta) is None
