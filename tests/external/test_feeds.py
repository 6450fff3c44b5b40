"""The file and stdin feeds: one line per message, in the format asked for, flushed before it counts as fed."""

from __future__ import annotations

import asyncio
import base64
import sys
from pathlib import Path

import orjson
import pytest

from sinkbench.errors import InputError
from sinkbench.feed.file import FileFeed
from sinkbench.feed.line import LineFormat
from sinkbench.feed.stdin import SinkGone, StdinFeed
from sinkbench.model import HeaderValue, Message, Schema
from sinkbench.sources.base import SourceMessage, SourceTopic
from sinkbench.sources.lines import LineDecoder, parse_header


def _item(payload, schema: Schema = Schema.JSON, offset: int = 0, topic: str = "events") -> SourceMessage:
    message = Message(id=42 + offset, offset=offset, timestamp=1_710_000_000_000_000 + offset, payload=payload,
                      headers={"h": HeaderValue.string("v")}, partition=1)
    return SourceMessage(SourceTopic("bench", topic, schema), message)


def test_payload_lines_are_compact_json_text_as_is_and_bytes_as_base64() -> None:
    fmt = LineFormat("payload")
    assert fmt.line(_item({"b": 1, "a": [1, 2]})) == b'{"b":1,"a":[1,2]}'
    assert fmt.line(_item("seq=1 hello", Schema.TEXT)) == b"seq=1 hello"
    assert fmt.line(_item(b"\x00\xffraw", Schema.RAW)) == base64.b64encode(b"\x00\xffraw")


def test_a_text_payload_with_a_line_break_is_refused_naming_the_format() -> None:
    with pytest.raises(InputError) as caught:
        LineFormat("payload").line(_item("two\nlines", Schema.TEXT, offset=7))
    assert caught.value.where.key == "feed.format"
    assert "offset 7" in caught.value.message and "jsonl" in caught.value.message


def test_jsonl_lines_are_stream_lines_that_name_their_stream_and_topic() -> None:
    line = LineFormat("jsonl").line(_item({"n": 1}, offset=3, topic="orders"))
    assert not line.endswith(b"\n")
    obj = orjson.loads(line)
    assert (obj["stream"], obj["topic"], obj["partition"], obj["offset"]) == ("bench", "orders", 1, 3)
    assert obj["headers"] == {"h": "v"} and obj["payload"] == {"n": 1}
    # It reads back as a line of a stream file (docs/streams.md).
    header = parse_header({"sinkbench_stream": 1, "stream": "x", "topic": "y"})
    _, message = LineDecoder(header).decode(obj)
    assert message.offset == 3 and message.payload == {"n": 1}


def test_the_file_feed_empties_the_file_and_appends_flushed_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.log"
    path.write_text("left over from an earlier run\n")

    async def feed() -> list[bytes]:
        f = FileFeed(path)
        await f.open()
        assert path.read_bytes() == b""
        fed = await f.send([_item({"n": 1}), _item({"n": 2}, offset=1)])
        assert path.read_bytes() == b'{"n":1}\n{"n":2}\n'     # flushed: another reader sees them now
        await f.send([_item({"n": 3}, offset=2)])
        await f.close()
        return [each.data for each in fed]

    assert asyncio.run(feed()) == [b'{"n":1}', b'{"n":2}']
    assert path.read_bytes().count(b"\n") == 3


def test_the_stdin_feed_writes_lines_then_end_of_file() -> None:
    async def feed() -> bytes:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "import sys; sys.stdout.write(sys.stdin.read())",
                                                    stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        f = StdinFeed("payload")
        f.attach(proc)
        await f.send([_item("a", Schema.TEXT), _item("b", Schema.TEXT, offset=1)])
        await f.close()       # end of file: the child's read() returns
        out, _ = await proc.communicate()
        return out

    assert asyncio.run(feed()) == b"a\nb\n"


def test_the_stdin_feed_says_when_the_sink_is_gone() -> None:
    async def feed() -> None:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass", stdin=asyncio.subprocess.PIPE)
        await proc.wait()
        f = StdinFeed("payload")
        f.attach(proc)
        for _ in range(50):      # the pipe's buffer may take the first writes
            await f.send([_item({"pad": "x" * 4096})])

    with pytest.raises(SinkGone):
        asyncio.run(feed())
