"""Payload conversion, envelope and header forwarding (DESIGN.md §3.1; Iggy's unit tests 17–40)."""

from __future__ import annotations

import base64
import math

import orjson
import pytest

from sinkbench.config.settings import BatchMode, SinkSettings
from sinkbench.engine.encode import (
    EncodeError,
    Encoder,
    convert_payload,
    format_rust_float,
    header_to_json,
    raw_bytes,
)
from sinkbench.model import (
    BatchMetadata,
    HeaderKind,
    HeaderValue,
    Message,
    Schema,
    TopicMetadata,
    format_id,
)

TOPIC = TopicMetadata("test_stream", "test_topic")
META = BatchMetadata(partition_id=0, current_offset=0, schema=Schema.JSON)


def msg(**kw) -> Message:
    base = dict(id=42, offset=10, timestamp=1710064800000000, origin_timestamp=1710064799000000, checksum=12345,
                payload={"key": "value"})
    base.update(kw)
    return Message(**base)


def enc(**settings) -> Encoder:
    return Encoder(SinkSettings(url="http://x/", **settings))


def test_id_formatting():
    assert format_id(0) == "0" * 32
    assert format_id(2**128 - 1) == "f" * 32
    assert format_id(0x0123456789ABCDEF0123456789ABCDEF) == "0123456789abcdef0123456789abcdef"


def test_json_payload_preserved_and_nested_recursively():
    v = {"a": {"b": [1, 2, {"c": None}]}, "t": True}
    assert convert_payload(v, Schema.JSON) == v


def test_text_payload_becomes_json_string():
    assert convert_payload("hello", Schema.TEXT) == "hello"


@pytest.mark.parametrize("schema", [Schema.RAW, Schema.FLATBUFFER, Schema.AVRO, Schema.PROTO])
def test_bytes_payloads_become_base64_objects(schema):
    assert convert_payload(b"\x01\x02\x03", schema) == {"data": "AQID", "iggy_payload_encoding": "base64"}


def test_proto_string_is_base64_of_its_utf8_bytes():
    assert convert_payload("hé", Schema.PROTO)["data"] == base64.b64encode("hé".encode()).decode()


@pytest.mark.parametrize("value,expected", [(None, b"null"), (True, b"true"), (-42, b"-42"), (42, b"42"),
                                            (3.54, b"3.54"), (math.nan, b"null"), (math.inf, b"null"),
                                            (-math.inf, b"null")])
def test_scalar_values_and_nan_infinity_become_null(value, expected):
    body = enc(include_metadata=False).message_body(msg(payload=value), TOPIC, META)
    assert body == expected


def test_envelope_default_fields_and_absent_optional_ones():
    v = enc().value(msg(), TOPIC, META)
    assert v["payload"] == {"key": "value"}
    md = v["metadata"]
    assert md == {"iggy_id": format_id(42), "iggy_offset": 10, "iggy_timestamp": 1710064800000000,
                  "iggy_stream": "test_stream", "iggy_topic": "test_topic", "iggy_partition_id": 0}


def test_without_metadata_the_value_is_the_payload():
    assert enc(include_metadata=False).value(msg(), TOPIC, META) == {"key": "value"}


def test_checksum_and_origin_timestamp_flags():
    md = enc(include_checksum=True, include_origin_timestamp=True).value(msg(), TOPIC, META)["metadata"]
    assert md["iggy_checksum"] == 12345 and md["iggy_origin_timestamp"] == 1710064799000000


def test_headers_forwarded_only_when_present():
    assert "iggy_headers" not in enc().value(msg(headers={}), TOPIC, META)["metadata"]
    md = enc().value(msg(headers={"x-correlation-id": HeaderValue.string("abc-123")}), TOPIC, META)["metadata"]
    assert md["iggy_headers"] == {"x-correlation-id": "abc-123"}


@pytest.mark.parametrize("header,expected", [
    (HeaderValue(HeaderKind.BOOL, True), "true"),
    (HeaderValue(HeaderKind.BOOL, False), "false"),
    (HeaderValue(HeaderKind.INT32, -42), "-42"),
    (HeaderValue(HeaderKind.UINT128, 2**128 - 1), str(2**128 - 1)),
    (HeaderValue(HeaderKind.FLOAT64, 1.0), "1"),
    (HeaderValue(HeaderKind.FLOAT64, 1.5), "1.5"),
    (HeaderValue(HeaderKind.FLOAT64, 1e20), "100000000000000000000"),
    (HeaderValue(HeaderKind.FLOAT64, 1.5e-7), "0.00000015"),
    (HeaderValue(HeaderKind.FLOAT64, -0.0), "-0"),
    (HeaderValue(HeaderKind.FLOAT32, 0.1), "0.1"),
    (HeaderValue(HeaderKind.FLOAT64, math.nan), "NaN"),
    (HeaderValue(HeaderKind.RAW, b"\x00\x01"), {"data": "AAE=", "iggy_header_encoding": "base64"}),
])
def test_header_values_in_readable_form(header, expected):
    assert header_to_json(header) == expected


def test_rust_float_display_is_shortest_round_trip():
    assert format_rust_float(0.30000000000000004) == "0.30000000000000004"
    assert format_rust_float(123456789.0) == "123456789"


def test_raw_mode_bytes():
    assert raw_bytes({"a": 1, "b": [1, 2]}, Schema.JSON) == b'{"a":1,"b":[1,2]}'
    assert raw_bytes("héllo", Schema.TEXT) == "héllo".encode()
    assert raw_bytes(b"\x00\xff", Schema.RAW) == b"\x00\xff"


def test_ndjson_has_trailing_newline_and_json_array_is_compact():
    values = [b'{"n":0}', b'{"n":1}']
    assert enc(batch_mode="ndjson").join(values) == b'{"n":0}\n{"n":1}\n'
    assert enc(batch_mode="json_array").join(values) == b'[{"n":0},{"n":1}]'


def test_unencodable_payload_raises_and_batch_encoding_skips_it():
    too_big = msg(payload={"n": 2**70})
    with pytest.raises(EncodeError):
        enc().message_body(too_big, TOPIC, META)
    encoded, kept, skipped = Encoder(SinkSettings(url="http://x/", batch_mode=BatchMode.NDJSON)).encode_values(
        [msg(), too_big, msg(offset=11)], TOPIC, META)
    assert kept == [0, 2] and [i for i, _ in skipped] == [1]
    assert orjson.loads(encoded[1])["metadata"]["iggy_offset"] == 11
