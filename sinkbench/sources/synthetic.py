"""Synthetic streams: messages generated from a seed (the scenario's `[source] kind = "synthetic"`).

Everything derives from the seed, so two runs with the same arguments yield
identical messages. Generation is lazy and costs a few big-integer operations
per message (no per-byte randomness: the payload filler is drawn once and
sliced), so a million messages take a couple of seconds and no memory.

Per message `seq` (0, 1, 2, ...):

- topic `seq % len(topics)`, then partition round-robin within the topic, so
  offsets are contiguous from 0 per (topic, partition);
- id `(base + seq × step) mod 2^128` with a seeded base and odd step: a
  bijection of `seq`, so ids never collide yet look random;
- timestamp `start_us + seq / rate` seconds (µs; with rate 0, `start_us + seq`
  µs to keep them increasing), origin_timestamp up to ~1 ms earlier (a seeded
  jitter), checksum a seeded 64-bit multiplicative mix of `seq` (deterministic, not a hash
  of the payload: hashing the JSON would cost an encode per message);
- payload unique by carrying `seq`, sized to about `payload_bytes`;
- with `token=True`, a token `sb-<16 hex digits>` in the payload (a `"token"`
  field of a json payload, after `seq=N ` in a text one, after the 8 bytes of
  `seq` in a raw one; a space after it in both): `(seq ^ key) × odd mod 2^64` with a key from the seed,
  a bijection of `seq`, so every message of a run has its own token. An
  endpoint with `identify = "token"` knows each message by it, whatever a
  sink under test does to the rest of the payload (docs/endpoint.md);
- due `seq / rate` seconds (0 with rate 0: everything available at once).
"""

from __future__ import annotations

import math
import random
import re
import string
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import orjson

from sinkbench.errors import InputError, Where
from sinkbench.model import U64_MAX, U128_MAX, HeaderValue, Message, Schema
from sinkbench.sources.base import SourceMessage, SourceTopic

SCHEMAS = (Schema.JSON, Schema.TEXT, Schema.RAW)
MIN_PAYLOAD_BYTES = 16
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024
MAX_PARTITIONS = 100_000
_M64 = U64_MAX
_FILLER_BLOCK = 1024
_FILLER_ALPHABET = string.ascii_letters + string.digits  # never needs JSON escaping: 1 char = 1 byte
_TOKEN_MUL = 0xD6E8FEB86659FD93  # odd: multiplying by it is a bijection mod 2^64
TOKEN_LENGTH = len("sb-") + 16
# Messages made at a time when iterating one by one (a list of them, not the whole stream, is held).
BLOCK = 256


def token_key(seed: int) -> int:
    """The key of a run's tokens: drawn apart from the stream's own generator, so adding tokens changes
    nothing else in the messages."""
    return random.Random(f"token:{seed}").getrandbits(64)


def token_text(key: int, seq: int) -> str:
    """The token of message `seq` (matches the endpoint's default pattern, sb-[0-9a-f]{16})."""
    return f"sb-{((seq ^ key) * _TOKEN_MUL) & _M64:016x}"


def token_problem(pattern: str, options: Mapping[str, Any], seed: int) -> str | None:
    """Why an endpoint searching for `pattern` would not find exactly each message's token in the payloads
    of the source `options` describe; None when it would. The scenario loader asks, so a custom `token`
    that misses the source's tokens is an error at that key rather than every message counted lost."""
    try:
        compiled = re.compile(pattern.encode("ascii"))
        source = SyntheticSource(**{**options, "count": 2}, seed=seed, start_us=0, token=True)
    except (re.error, UnicodeEncodeError, RecursionError, OverflowError, InputError, TypeError):
        return None   # reported where it is: the endpoint's parser, the source's own checks
    key = token_key(seed)
    for seq, sm in enumerate(source):
        payload = sm.message.payload
        data = orjson.dumps(payload) if source.schema is Schema.JSON else (
            payload.encode() if isinstance(payload, str) else payload)
        found = [m.group() for m in compiled.finditer(data)]
        want = token_text(key, seq)
        if found != [want.encode()]:
            shown = ", ".join(repr(f.decode("latin-1")) for f in found[:3]) or "nothing"
            return (f"this pattern does not find exactly the synthetic source's token in its payloads: in message "
                    f"{seq}'s it finds {shown}, not {want!r} ('sb-' and 16 hex digits); leave 'token' out for the "
                    "default, or write a pattern that matches those tokens exactly")
    return None


class SyntheticSource:
    """`count` generated messages; see the module docstring for how each field is made.

    Invalid arguments raise `InputError` with `Where(file=where_file,
    key="source.<argument>")`, so the scenario layer can point at its line.
    """

    def __init__(self, count: int, *, rate: float = 0, schema: Schema | str = "json", payload_bytes: int = 256,
                 stream: str = "bench", topics: Sequence[str] = ("events",), partitions: int = 1,
                 headers: Mapping[str, str] | None = None, seed: int = 0, start_us: int,
                 token: bool = False, where_file: str | None = None) -> None:
        def fail(key: str, message: str) -> InputError:
            return InputError(message, Where(file=where_file, key=f"source.{key}"))

        def is_int(value: Any) -> bool:
            return isinstance(value, int) and not isinstance(value, bool)

        if not is_int(count) or not 0 <= count <= U64_MAX:
            raise fail("count", f"must be a whole number ≥ 0, got {count!r}")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate < 0:
            raise fail("rate", f"must be a number ≥ 0 (messages per second; 0 = as fast as possible), got {rate!r}")
        try:
            schema = Schema(schema)
        except ValueError:
            schema = None  # type: ignore[assignment]
        if schema not in SCHEMAS:
            raise fail("schema", f"must be one of {', '.join(s.value for s in SCHEMAS)}, got {schema!r}")
        if not isinstance(token, bool):
            raise fail("token", f"must be true or false, got {token!r}")
        if not is_int(payload_bytes) or not MIN_PAYLOAD_BYTES <= payload_bytes <= MAX_PAYLOAD_BYTES:
            raise fail("payload_bytes", f"must be a whole number in {MIN_PAYLOAD_BYTES}..{MAX_PAYLOAD_BYTES}, "
                                        f"got {payload_bytes!r}")
        if not isinstance(stream, str) or not stream:
            raise fail("stream", f"must be a non-empty string, got {stream!r}")
        if isinstance(topics, str) or not isinstance(topics, Sequence) or not topics:
            raise fail("topics", f"must be a non-empty list of topic names, got {topics!r}")
        for name in topics:
            if not isinstance(name, str) or not name:
                raise fail("topics", f"topic names must be non-empty strings, got {name!r}")
        duplicates = sorted({t for t in topics if list(topics).count(t) > 1})
        if duplicates:
            raise fail("topics", f"topic names must be unique; {duplicates[0]!r} appears more than once")
        if not is_int(partitions) or not 1 <= partitions <= MAX_PARTITIONS:
            raise fail("partitions", f"must be a whole number in 1..{MAX_PARTITIONS}, got {partitions!r}")
        if not is_int(seed):
            raise fail("seed", f"must be a whole number, got {seed!r}")
        if not is_int(start_us) or not 0 <= start_us <= U64_MAX:
            raise fail("start_us", f"must be microseconds since the epoch (0..{U64_MAX}), got {start_us!r}")
        if headers is not None and not isinstance(headers, Mapping):
            raise fail("headers", f"must be a table of header name = string value, got {headers!r}")
        for key, value in (headers or {}).items():
            if not isinstance(key, str) or not 0 < len(key.encode()) <= 255:
                raise fail(f"headers.{key}", "header names must be 1..255 bytes (as in Iggy)")
            if not isinstance(value, str) or not 0 < len(value.encode()) <= 255:
                raise fail(f"headers.{key}",
                           f"header values must be strings of 1..255 bytes (as in Iggy), got {value!r}")

        self.count = count
        self.rate = float(rate)
        self.schema = schema
        self.payload_bytes = payload_bytes
        self.stream = stream
        self.topic_names = tuple(topics)
        self.partitions = partitions
        self.seed = seed
        self.start_us = start_us
        self.token = token
        self._step_us = 1e6 / self.rate if self.rate else 1.0
        if count and start_us + int((count - 1) * self._step_us) > U64_MAX:
            raise fail("start_us", "the last message's timestamp would pass the u64 range")
        # One immutable mapping shared by every message: headers cost no memory per message.
        self.headers: Mapping[str, HeaderValue] | None = (
            MappingProxyType({k: HeaderValue.string(v) for k, v in headers.items()}) if headers else None)
        self._topics = [SourceTopic(stream, name, schema) for name in self.topic_names]

        pace = f"at {self.rate:g}/s" if self.rate else "all at once"
        where = f"{stream}/{','.join(self.topic_names)}" + (f" ×{partitions} partitions" if partitions > 1 else "")
        tokens = ", each with a token" if token else ""
        self.name = f"synthetic: {count} {schema.value} messages of {payload_bytes} B {pace} on {where}{tokens}"

    def topics(self) -> list[SourceTopic]:
        return list(self._topics)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[SourceMessage]:
        topics, n_topics, rate = self._topics, len(self._topics), self.rate
        seq = 0
        for block in self._blocks(BLOCK):
            for message in block:
                yield SourceMessage(topics[seq % n_topics], message, seq / rate if rate else 0.0)
                seq += 1

    def ready_blocks(self, size: int) -> Iterator[tuple[SourceTopic, list[Message]]] | None:
        """With rate 0 every message is available at once: the messages in blocks of one topic, each topic's
        in order (what the runtime feeds a block at a time). None when the source is paced."""
        if self.rate:
            return None
        return self._topic_blocks(size)

    def _topic_blocks(self, size: int) -> Iterator[tuple[SourceTopic, list[Message]]]:
        topics, n_topics = self._topics, len(self._topics)
        if n_topics == 1:
            for block in self._blocks(size):
                yield topics[0], block
            return
        first = 0    # the seq of the block's first message
        for block in self._blocks(size):
            for t, topic in enumerate(topics):
                mine = block[(t - first) % n_topics::n_topics]
                if mine:
                    yield topic, mine
            first += len(block)

    def _blocks(self, size: int) -> Iterator[list[Message]]:
        """Every message in seq order, `size` at a time."""
        rng = random.Random(self.seed)
        id_base = rng.getrandbits(128)
        id_step = rng.getrandbits(128) | 1  # odd, so seq → id is a bijection mod 2^128
        mix_key = rng.getrandbits(64)
        # A random block repeated: distinct-looking filler without drawing per byte of a large payload.
        chars = "".join(rng.choices(_FILLER_ALPHABET, k=min(self.payload_bytes, _FILLER_BLOCK)))
        filler = (chars * (self.payload_bytes // len(chars) + 1))[:self.payload_bytes]
        filler_bytes = filler.encode("ascii")

        topics, n_topics, n_parts = self._topics, len(self._topics), self.partitions
        size_b, schema, headers = self.payload_bytes, self.schema, self.headers
        start_us, step_us, rate = self.start_us, self._step_us, self.rate
        tokens = self.token
        key = token_key(self.seed) if tokens else 0
        # Compact-JSON size of the json payload with seq = partition = 0 and empty data, per topic.
        shape: dict[str, Any] = {"seq": 0, "topic": "", "partition": 0}
        if tokens:
            shape["token"] = "x" * TOKEN_LENGTH
        json_base = [len(orjson.dumps({**shape, "topic": t.topic, "data": ""})) - 2 for t in topics]

        slices: dict[int, str] = {}   # filler cut to a length: built once, shared by every message of that size
        json_schema, text_schema = schema is Schema.JSON, schema is Schema.TEXT
        names = [topic.topic for topic in topics]
        part_digits = [len(str(p)) for p in range(n_parts)]
        # This loop is the source's whole cost (it feeds 150,000+ messages/s), so what the module docstring
        # computes per seq is carried from one message to the next instead: topic, partition and offset
        # count up, the id steps by `id_step`, the digits of seq are known until the next power of ten.
        t = partition = offset = 0
        msg_id = id_base & U128_MAX
        seq_digits, next_ten = 1, 10
        paced = rate > 0
        block: list[Message] = []
        append = block.append
        for seq in range(self.count):
            if seq == next_ten:
                seq_digits += 1
                next_ten *= 10
            if json_schema:
                fill = size_b - json_base[t] - seq_digits - part_digits[partition]
                data = slices.get(fill)
                if data is None:
                    data = slices[fill] = filler[:fill] if fill > 0 else ""
                if tokens:
                    payload: Any = {"seq": seq, "topic": names[t], "partition": partition,
                                    "token": token_text(key, seq), "data": data}
                else:
                    payload = {"seq": seq, "topic": names[t], "partition": partition, "data": data}
            elif text_schema:
                prefix = f"seq={seq} {token_text(key, seq)} " if tokens else f"seq={seq} "
                payload = prefix + filler[:size_b - len(prefix)]
            elif tokens:
                head = seq.to_bytes(8, "big") + token_text(key, seq).encode() + b" "   # ends where the filler starts
                payload = head + filler_bytes[:size_b - len(head)]
            else:
                payload = seq.to_bytes(8, "big") + filler_bytes[:size_b - 8]
            # One multiply by an odd constant: a bijection of seq, cheap and well spread enough for a bench.
            mixed = ((seq ^ mix_key) * 0x9E3779B97F4A7C15) & _M64
            timestamp = start_us + int(seq * step_us) if paced else start_us + seq
            origin = timestamp - (mixed >> 54)  # 0..1023 µs of producer-to-server delay
            append(Message(msg_id, offset, timestamp, payload, origin if origin > 0 else 0, mixed, headers, partition))
            if len(block) == size:
                yield block
                block = []
                append = block.append
            msg_id = (msg_id + id_step) & U128_MAX
            t += 1
            if t == n_topics:
                t = 0
                partition += 1
                if partition == n_parts:
                    partition = 0
                    offset += 1
        if block:
            yield block
