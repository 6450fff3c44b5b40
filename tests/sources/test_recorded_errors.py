"""Every bad input is an InputError naming the file, the 1-based line and the field."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from sinkbench.errors import InputError
from sinkbench.sources import read_stream, validate_stream

from .conftest import HEADER

OK = {"offset": 0, "timestamp": 1, "payload": 1}
DROP = object()


def line(**changes):
    """A good message line with some keys changed (or removed, with DROP)."""
    out = {**OK, **changes}
    return {k: v for k, v in out.items() if v is not DROP}


def read_error(path: Path) -> InputError:
    with pytest.raises(InputError) as err:
        list(read_stream(path))
    return err.value


def assert_names(error: InputError, path: Path, lineno: int, key: str | None, *fragments: str) -> None:
    text = str(error)
    assert error.where.file == str(path)
    assert error.where.line == lineno, text
    assert text.startswith(f"{path}:{lineno}: "), text
    assert error.where.key == key, text
    for fragment in fragments:
        assert fragment in text, text


# (message lines after a good header, the bad line's number, key, words in the message)
LINE_CASES = {
    "invalid json": ([OK, b'{"offset": 1,'], 3, None, "invalid JSON"),
    "trailing garbage": ([b'{"offset":0,"timestamp":0,"payload":1} x'], 2, None, "invalid JSON"),
    "array line": ([OK, OK, [1, 2]], 4, None, "must be a JSON object, got an array"),
    "string line": (['"hello"'], 2, None, "got a string"),
    "second header": ([OK, HEADER], 3, "sinkbench_stream", "second header"),
    "typo offest": ([line(offset=DROP, offest=0)], 2, "offest", "unknown key 'offest'", "did you mean 'offset'"),
    "unknown key": ([line(colour="red")], 2, "colour", "unknown key 'colour'"),
    "missing offset": ([line(offset=DROP)], 2, "offset", "required key is missing"),
    "missing timestamp": ([line(timestamp=DROP)], 2, "timestamp", "required"),
    "missing payload": ([line(payload=DROP)], 2, "payload", "required"),
    "negative offset": ([line(offset=-1)], 2, "offset", "unsigned 64-bit", "-1"),
    "float timestamp": ([line(timestamp=1.5)], 2, "timestamp", "got a number"),
    "string offset": ([line(offset="1")], 2, "offset", "got a string"),
    "bool checksum": ([line(checksum=True)], 2, "checksum", "got a boolean"),
    "offset past u64": ([b'{"offset":18446744073709551616,"timestamp":0,"payload":1}'], 2, "offset", "out of range"),
    "partition past u32": ([line(partition=2**32)], 2, "partition", "unsigned 32-bit"),
    "origin null": ([line(origin_timestamp=None)], 2, "origin_timestamp", "got null"),
    "short id": ([line(id="2a")], 2, "id", "32 hex digits"),
    "non-hex id": ([line(id="g" * 32)], 2, "id", "32 hex digits"),
    "spaced id": ([line(id="00 " + "0" * 29)], 2, "id", "32 hex digits"),
    "numeric id": ([line(id=42)], 2, "id", "got an integer"),
    "unknown schema": ([line(schema="xml")], 2, "schema", "unknown schema 'xml'"),
    "empty topic": ([line(topic="")], 2, "topic", "must not be empty"),
    "numeric stream": ([line(stream=5)], 2, "stream", "must be a string"),
    "schema conflict": ([OK, line(schema="text", payload="x")], 3, "schema", "was json earlier"),
    "encoding on json": ([line(payload_encoding="base64")], 2, "payload_encoding", "only bytes schemas"),
    "text not string": ([line(topic="t2", schema="text", payload=5)], 2, "payload", "text payload must be a string"),
    "bytes without encoding": ([line(topic="t2", schema="raw", payload="AA==")], 2, "payload_encoding", "base64"),
    "bytes bad encoding": ([line(topic="t2", schema="avro", payload="AA==", payload_encoding="hex")], 2,
                           "payload_encoding",
                           "unsupported payload_encoding 'hex'"),
    "bad base64": ([line(topic="t2", schema="raw", payload="not base64!", payload_encoding="base64")], 2, "payload",
                   "invalid base64"),
    "base64 not string": ([line(topic="t2", schema="proto", payload=[1], payload_encoding="base64")], 2, "payload",
                          "must be a base64 string"),
    "headers not object": ([line(headers=["a"])], 2, "headers", "must be an object"),
    "header value number": ([line(headers={"a": 5})], 2, "headers.a", "string or an object"),
    "header no kind": ([line(headers={"a": {"value": 1}})], 2, "headers.a", "needs 'kind'"),
    "bad header kind": ([line(headers={"a": {"kind": "int7", "value": 1}})], 2, "headers.a",
                        "unknown header kind 'int7'"),
    "header missing value": ([line(headers={"a": {"kind": "int32"}})], 2, "headers.a", "needs 'value'"),
    "header extra key": ([line(headers={"a": {"kind": "int32", "value": 1, "x": 2}})], 2, "headers.a",
                         "unexpected key 'x'"),
    "raw with value": ([line(headers={"a": {"kind": "raw", "value": "AA=="}})], 2, "headers.a",
                       "unexpected key 'value'"),
    "int8 range": ([line(headers={"a": {"kind": "int8", "value": 128}})], 2, "headers.a", "out of range for int8"),
    "uint8 negative": ([line(headers={"a": {"kind": "uint8", "value": -1}})], 2, "headers.a", "out of range"),
    "uint128 range": ([line(headers={"a": {"kind": "uint128", "value": str(2**128)}})], 2, "headers.a",
                      "out of range for uint128"),
    "int as float": ([line(headers={"a": {"kind": "int64", "value": 1.0}})], 2, "headers.a", "integer"),
    "int bad string": ([line(headers={"a": {"kind": "int64", "value": "12a"}})], 2, "headers.a", "decimal string"),
    "bool not bool": ([line(headers={"a": {"kind": "bool", "value": 1}})], 2, "headers.a", "true or false"),
    "float not number": ([line(headers={"a": {"kind": "float64", "value": "x"}})], 2, "headers.a", "number"),
    "float bool": ([line(headers={"a": {"kind": "float32", "value": False}})], 2, "headers.a", "number"),
    "float32 range": ([line(headers={"a": {"kind": "float32", "value": 1e39}})], 2, "headers.a", "float32"),
    "raw bad base64": ([line(headers={"a": {"kind": "raw", "base64": "%%"}})], 2, "headers.a", "invalid base64"),
    "raw empty": ([line(headers={"a": {"kind": "raw", "base64": ""}})], 2, "headers.a", "1..255 bytes"),
    "string empty": ([line(headers={"a": ""})], 2, "headers.a", "1..255 bytes"),
    "string too long": ([line(headers={"a": "é" * 128})], 2, "headers.a", "1..255 bytes", "256"),
    "string kind number": ([line(headers={"a": {"kind": "string", "value": 1}})], 2, "headers.a", "must be a string"),
    "empty header name": ([line(headers={"": "v"})], 2, "headers.", "header name"),
    "long header name": ([line(headers={"k" * 256: "v"})], 2, f"headers.{'k' * 256}", "header name"),
}


@pytest.mark.parametrize("lines, lineno, key, fragments", [(c[0], c[1], c[2], c[3:]) for c in LINE_CASES.values()],
                         ids=LINE_CASES.keys())
def test_bad_line_names_file_line_and_key(stream_file, lines, lineno, key, fragments):
    path = stream_file(*lines)
    assert_names(read_error(path), path, lineno, key, *fragments)


def test_typo_suggestion_and_more_unknown_keys(stream_file):
    path = stream_file(line(offset=DROP, offest=0, colour=1))
    error = read_error(path)
    assert "unknown key 'colour'" in str(error) and "(and 1 more unknown)" in str(error)


HEADER_CASES = {
    "message first": ({"offset": 0, "timestamp": 0, "payload": 1}, None, "no 'sinkbench_stream'"),
    "not an object": ([1], None, "a JSON object; got an array"),
    "version 2": ({**HEADER, "sinkbench_stream": 2}, "sinkbench_stream", "unsupported stream format version 2"),
    "version string": ({**HEADER, "sinkbench_stream": "1"}, "sinkbench_stream", "unsupported"),
    "unknown key": ({**HEADER, "sheme": "json"}, "sheme", "did you mean 'schema'"),
    "no stream": ({"sinkbench_stream": 1, "topic": "t"}, "stream", "needs 'stream'"),
    "no topic": ({"sinkbench_stream": 1, "stream": "s"}, "topic", "needs 'topic'"),
    "bad schema": ({**HEADER, "schema": "yaml"}, "schema", "unknown schema"),
    "bad date": ({**HEADER, "recorded_at": "yesterday"}, "recorded_at", "ISO 8601"),
    "date number": ({**HEADER, "recorded_at": 5}, "recorded_at", "ISO 8601"),
    "source number": ({**HEADER, "source": 5}, "source", "must be a string"),
}


@pytest.mark.parametrize("header, key, fragment", HEADER_CASES.values(), ids=HEADER_CASES.keys())
def test_bad_header_is_reported_on_line_1_when_the_source_is_opened(stream_file, header, key, fragment):
    path = stream_file(OK, header=header)
    if key is None and "sinkbench_stream" in fragment:
        key = "sinkbench_stream"
    with pytest.raises(InputError) as err:
        read_stream(path)  # the header is checked at once, before iterating
    assert_names(err.value, path, 1, key, fragment)


def test_header_invalid_json(stream_file):
    path = stream_file(header=None)
    path.write_bytes(b"{sinkbench_stream: 1}\n")
    with pytest.raises(InputError) as err:
        read_stream(path)
    assert_names(err.value, path, 1, None, "invalid JSON")


def test_empty_files(tmp_path):
    for name, data in (("e.jsonl", b""), ("e.jsonl.gz", gzip.compress(b""))):
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(InputError) as err:
            read_stream(path)
        assert_names(err.value, path, 1, None, "empty file")


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_stream(tmp_path / "nope.jsonl")
    with pytest.raises(InputError, match="is a directory"):
        read_stream(tmp_path)


def test_gz_name_without_gzip_data(stream_file):
    path = stream_file(OK, name="fake.jsonl.gz", gz=False)
    with pytest.raises(InputError) as err:
        read_stream(path)
    assert_names(err.value, path, 1, None, "not gzip data")


def test_non_utf8_bytes(stream_file):
    path = stream_file(OK, b'{"offset":1,"timestamp":0,"payload":"caf\xe9"}')
    assert_names(read_error(path), path, 3, None, "not valid UTF-8", "0xe9")


def test_line_cut_off_at_the_end(tmp_path, stream_file):
    path = stream_file(OK, OK)
    path.write_bytes(path.read_bytes() + b'{"offset": 2, "times')
    assert_names(read_error(path), path, 4, None, "ends in the middle of this line")


def test_truncated_gzip_names_the_last_good_line(stream_file):
    lines = [{"offset": n, "timestamp": n, "payload": "x" * 50 + str(n)} for n in range(2000)]
    path = stream_file(*lines, name="t.jsonl.gz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    error = read_error(path)
    assert "truncated or corrupt after line" in str(error)
    last_good = error.where.line - 1
    assert f"after line {last_good}, the last complete line" in str(error)
    assert 2 <= last_good < 2001 and str(error).startswith(f"{path}:{last_good + 1}: ")
    # Everything up to the last good line was delivered before the error.
    seen = []
    with pytest.raises(InputError):
        for item in read_stream(path):
            seen.append(item.message.offset)
    assert seen == list(range(last_good - 1))


def test_gzip_truncated_inside_the_header(stream_file):
    path = stream_file(name="h.jsonl.gz")
    path.write_bytes(path.read_bytes()[:15])
    with pytest.raises(InputError) as err:
        read_stream(path)
    assert_names(err.value, path, 1, None, "truncated or corrupt")


def test_corrupt_gzip(stream_file):
    lines = [{"offset": n, "timestamp": n, "payload": n} for n in range(500)]
    path = stream_file(*lines, name="c.jsonl.gz")
    data = bytearray(path.read_bytes())
    data[-8] ^= 0xFF  # the CRC of the member
    path.write_bytes(bytes(data))
    error = read_error(path)
    assert "truncated or corrupt" in str(error) and error.where.file == str(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2: len(data) // 2 + 20] = b"\xff" * 20  # garbage in the deflate stream
    path.write_bytes(bytes(data))
    # Garbage may still inflate to bytes: then the first line it spoils is the error.
    error = read_error(path)
    assert error.where.file == str(path) and error.where.line is not None and error.where.line > 1


# ---------------------------------------------------------------- validate_stream


def test_validate_lists_every_error_in_order(stream_file):
    path = stream_file(OK, line(offset=-1), b"{oops", OK, line(offest=1), [1], OK)
    count, errors = validate_stream(path)
    assert count == 3
    assert [(e.where.line, e.where.key) for e in errors] == [(3, "offset"), (4, None), (6, "offest"), (7, None)]
    assert all(e.where.file == str(path) for e in errors)


def test_validate_clean_file(stream_file):
    assert validate_stream(stream_file(OK, OK, name="ok.jsonl.gz")) == (2, [])


def test_validate_caps_the_list(stream_file):
    path = stream_file(*([b"nope"] * 60 + [OK]))
    count, errors = validate_stream(path, max_errors=50)
    assert count == 1 and len(errors) == 51
    assert errors[-1].message == "... and 10 more errors"
    assert errors[49].where.line == 51


def test_validate_stops_at_a_bad_header_or_damaged_gzip(stream_file, tmp_path):
    count, errors = validate_stream(stream_file(OK, header={"sinkbench_stream": 3}))
    assert count == 0 and len(errors) == 1 and errors[0].where.line == 1
    assert validate_stream(tmp_path / "missing.jsonl")[1][0].message == "no such file"
    path = stream_file(*([OK] * 3000), name="t.jsonl.gz")
    path.write_bytes(path.read_bytes()[:-30])
    count, errors = validate_stream(path)
    assert len(errors) == 1 and "truncated" in errors[0].message and count == errors[0].where.line - 2
