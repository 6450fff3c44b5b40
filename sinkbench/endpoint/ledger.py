"""Which messages arrived, and how often: the endpoint's ledger (docs/endpoint.md).

The endpoint knows nothing of the engine, so it recognises messages from the
body alone, by Content-Type:

- `application/x-ndjson`: one JSON value per non-empty line;
- `application/json`: an array is one message per element, anything else is
  one message;
- anything else (`application/octet-stream` from `raw` mode): the whole body
  is one message.

An empty body is one message — an empty payload, which `raw` mode sends for an
empty text or bytes payload — when the request names a Content-Type (other
than NDJSON, where it has no line); without one (a health check) it holds none.

A JSON value that is an envelope (`metadata.iggy_id`) is the same message
wherever and however often it is sent, whatever else it carries, so the same
message sent again in another batch mode is still the same message. It is
known by its address in Iggy, (stream, topic, `iggy_partition_id`,
`iggy_offset`): within one bench run that names the same message as
(stream, topic, `iggy_id`) does — ids are unique per message and offsets per
partition, and every source of the bench gives each message of a
partition its own offset — but addresses come in runs, which is what keeps the
ledger small. An envelope without a usable offset or partition falls back to
(stream, topic, `iggy_id`). Any other message is known by a hash of its bytes
as received (an ndjson line, an `individual` or `raw` body) or, for a
`json_array` element, of its compact re-serialisation. So two distinct
messages with equal bare payloads look like one message sent twice: the
endpoint alone cannot tell them apart, so it counts how often it accepted each
such identity, and the bench, which knows how many messages of each identity
it sent, works out lost and duplicated ones from those counts (a multiset).

That is `identify = "iggy"`, the default. Two other ways can be chosen
(`[endpoint] identify`): `"hash"` knows every message by the hash above, an
envelope too (for a sink whose envelopes carry no address of this stream);
`"token"` knows a message by a token in it, whatever the body's format: every
match of the `token` pattern in a body is one message, known by a hash of the
match, so a sink that batches, wraps, re-encodes or compresses the messages
can still be judged message by message as long as the token text survives.

Known ambiguity: an `individual` request whose bare payload is itself a JSON
array (a sink with `include_metadata = false` sending a list) is read like a
`json_array` body and counted as one message per element.

Memory: addresses are kept as runs of offsets (`intervals.py`), so a soak that
delivers every partition in order holds a handful of runs however long it
lasts; the ledger grows with the gaps — messages lost, or not accepted yet —
not with the messages accepted. Messages known by a hash (no metadata) are
60-bit ints in a set: about 65 MB for 1,000,000 distinct ones; an identity
accepted more than once adds an entry to a dict of repeat counts (repeated
bare payloads: heartbeats). Bodies are never kept.
"""

from __future__ import annotations

import json
import re
from hashlib import blake2b
from itertools import repeat
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from sinkbench.endpoint.settings import EndpointSettings

from sinkbench.endpoint.intervals import IntervalSet

_HASH_SHIFT = 4  # 64 → 60 bits: a two-digit int, 8 bytes smaller than a three-digit one
_MASK = (1 << 60) - 1
_ADDRESSED = 1 << 64   # identities from here up are addresses: (partition key << 64) | offset
U32_MAX = (1 << 32) - 1
U64_MAX = (1 << 64) - 1
_MAX_SALTS = 4096  # distinct (stream, topic) pairs remembered; more is a hostile client


def digest(data: bytes) -> int:
    """The 60-bit identity of some bytes."""
    return int.from_bytes(blake2b(data, digest_size=8).digest(), "little") >> _HASH_SHIFT


_EMPTY = digest(b"")


def token_identity(token: str | bytes) -> int:
    """The identity of the message a token names (`identify = "token"`): what to ask the ledger about."""
    return digest(token.encode() if isinstance(token, str) else token)


def _loads(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        # orjson stops at 64-bit integers; the standard parser takes any size.
        return json.loads(data)


def _compact(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # an integer beyond 64 bits
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def media_type(content_type: str | None) -> str:
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


class Recognizer:
    """Turns request bodies into message identities.

    An identity is an int. An envelope with a usable address is
    `(key << 64) | offset`, `key` a 60-bit digest of (stream, topic,
    partition) made once by blake2b and remembered, so the offsets of one
    partition are consecutive identities and the ledger can keep them as runs.
    Without an address it is `hash((salt, id))`: the id as a number (Iggy
    writes it as 32 hex digits) with a salt per (stream, topic). Python does
    not randomise the hashes of ints and tuples of ints, so identities are the
    same in every process; and neither costs a string hash per message, which
    matters at 150,000 messages a second (bench/engine_throughput.py). Any other message is a 60-bit
    digest of its bytes, below every address.
    """

    __slots__ = ("_salts", "_addresses", "_tokens", "_media")

    def __init__(self, identify: str = "iggy", token: str | None = None) -> None:
        """`identify`: "iggy" (envelopes by address), "hash" (every message by a hash) or "token" (every match
        of the `token` pattern, validated by the settings: ASCII, never matching the empty string)."""
        self._salts: dict[tuple[str, str, int], int] = {}
        # Content-Type header → media type: a sink sends the same one or two on every request.
        self._media: dict[str | None, str] = {}
        self._addresses = identify == "iggy"
        if identify == "token" and token is None:
            raise ValueError('identify = "token" needs a token pattern')
        self._tokens = re.compile(token.encode("ascii")) if identify == "token" and token is not None else None

    @classmethod
    def of(cls, settings: EndpointSettings) -> Recognizer:
        """The recogniser the endpoint with these settings uses."""
        return cls(settings.identify, settings.token)

    def identities(self, content_type: str | None, body: bytes) -> list[int]:
        """The identities of the messages in one request body (see the module's docstring for an empty one)."""
        if self._tokens is not None:
            return self.tokens(body)
        media = self._media.get(content_type)
        if media is None:
            if len(self._media) >= _MAX_SALTS:  # a hostile client inventing Content-Types
                self._media.clear()
            media = self._media[content_type] = media_type(content_type)
        if not body:
            return [] if not media or media == "application/x-ndjson" else [_EMPTY]
        if media == "application/x-ndjson":
            return self._ndjson(body)
        if media == "application/json" or media.endswith("+json"):
            return self._json(body)
        return [digest(body)]

    def tokens(self, data: bytes) -> list[int]:
        """The identities of the tokens in `data`, in order (a token found twice is two messages)."""
        assert self._tokens is not None
        return [digest(m.group()) for m in self._tokens.finditer(data)]

    def address(self, stream: str, topic: str, partition: int, offset: int) -> int:
        """The identity of the envelope at this Iggy address (`offset` + 1 is the next message's)."""
        return (self._salt(stream, topic, partition) + 1) << 64 | offset

    def _salt(self, stream: str, topic: str, partition: int) -> int:
        key = (stream, topic, partition)
        salt = self._salts.get(key)
        if salt is None:
            if len(self._salts) >= _MAX_SALTS:
                self._salts.clear()
            salt = self._salts[key] = digest(f"{stream}\x00{topic}\x00{partition}".encode())
        return salt

    def _envelope(self, value: Any) -> int | None:
        """The identity of an envelope; None when `value` is not one (or envelopes are not told apart: "hash")."""
        if type(value) is not dict or not self._addresses:
            return None
        meta = value.get("metadata")
        if type(meta) is not dict:
            return None
        iggy_id = meta.get("iggy_id")
        if iggy_id is None:
            return None
        stream, topic = meta.get("iggy_stream", ""), meta.get("iggy_topic", "")
        if type(iggy_id) is not str or type(stream) is not str or type(topic) is not str:
            return digest(_compact([stream, topic, iggy_id]))  # not what Iggy sends; still recognisable
        offset, partition = meta.get("iggy_offset"), meta.get("iggy_partition_id")
        # usable_address(), inlined: a call per message costs 7% of the ledger's speed on envelopes.
        if (type(offset) is int and type(partition) is int and 0 <= offset <= U64_MAX
                and 0 <= partition <= U32_MAX):
            return (self._salt(stream, topic, partition) + 1) << 64 | offset
        try:
            number = int(iggy_id, 16)
        except ValueError:
            number = digest(iggy_id.encode())
        return hash((self._salt(stream, topic, -1), number)) & _MASK

    def _one_partition(self, values: list[Any]) -> list[int] | None:
        """The identities of `values` when every one is an envelope with a usable address in one and the same
        partition — the shape of every batch the Iggy connector sends — else None (then `_envelope` decides
        value by value). The same identities `_envelope` gives, found in a few passes that run in C: per
        message this costs a quarter of `_envelope` (bench/endpoint_throughput.py, ingest)."""
        if not self._addresses:
            return None
        n = len(values)
        try:
            metas = [v["metadata"] for v in values]  # TypeError: not an object; KeyError: no metadata
        except (TypeError, KeyError):
            return None
        if set(map(type, metas)) != {dict}:
            return None
        get = dict.get
        if set(map(type, map(get, metas, repeat("iggy_id", n)))) != {str}:
            return None
        # One stream, topic and partition for all. A missing stream or topic is "" to `_envelope` and null is
        # not a string: a None among them (either) leaves the batch to it.
        # Types first: a list among them could not go into a set, and True would pass for 1 there.
        streams = list(map(get, metas, repeat("iggy_stream", n)))
        topics = list(map(get, metas, repeat("iggy_topic", n)))
        partitions = list(map(get, metas, repeat("iggy_partition_id", n)))
        if set(map(type, streams)) != {str} or set(map(type, topics)) != {str} \
                or set(map(type, partitions)) != {int}:
            return None
        one = set(streams), set(topics), set(partitions)
        if any(len(key) != 1 for key in one):
            return None
        (stream,), (topic,), (partition,) = one
        if not 0 <= partition <= U32_MAX:
            return None
        offsets = list(map(get, metas, repeat("iggy_offset", n)))
        if set(map(type, offsets)) != {int} or min(offsets) < 0 or max(offsets) > U64_MAX:
            return None
        base = (self._salt(stream, topic, partition) + 1) << 64
        return [base | offset for offset in offsets]

    def _one(self, value: Any, raw: bytes | None) -> int:
        h = self._envelope(value)
        if h is not None:
            return h
        return digest(raw if raw is not None else _compact(value))

    def _ndjson(self, body: bytes) -> list[int]:
        # Fast path: the lines joined into one JSON array, parsed in one call (JSON
        # strings cannot hold a raw newline, so each newline separates two values).
        # Blank lines make the array invalid and take the slow path; so does a line
        # holding more than one value, caught by the count.
        trimmed = body.rstrip()
        try:
            values = orjson.loads(b"[" + trimmed.replace(b"\n", b",") + b"]")
        except orjson.JSONDecodeError:
            values = None
        if values is not None and len(values) == trimmed.count(b"\n") + 1:
            batch = self._one_partition(values) if len(values) > 1 else None
            if batch is not None:
                return batch
            out = [self._envelope(v) for v in values]
            if None in out:  # bare payloads: known by their line's bytes
                lines = trimmed.split(b"\n")
                out = [h if h is not None else digest(lines[i]) for i, h in enumerate(out)]
            return out  # type: ignore[return-value]
        out2 = []
        for raw in body.split(b"\n"):
            if not raw.strip():
                continue
            try:
                value = _loads(raw)
            except ValueError:
                out2.append(digest(raw))  # not JSON: still a message, known by its bytes
                continue
            out2.append(self._one(value, raw))
        return out2

    def _json(self, body: bytes) -> list[int]:
        try:
            value = _loads(body)
        except ValueError:
            return [digest(body)]
        if type(value) is list:
            batch = self._one_partition(value) if len(value) > 1 else None
            return batch if batch is not None else [self._one(v, None) for v in value]
        return [self._one(value, body)]


def identities(content_type: str | None, body: bytes) -> list[int]:
    """`Recognizer().identities(...)`, for one-off use; a server keeps one Recognizer."""
    return Recognizer().identities(content_type, body)


def usable_address(partition: object, offset: object) -> bool:
    """Whether an envelope with this partition and offset is known by its address."""
    return (type(offset) is int and type(partition) is int and 0 <= offset <= U64_MAX  # type: ignore[operator]
            and 0 <= partition <= U32_MAX)  # type: ignore[operator]


class Ledger:
    """How many messages were accepted, how many distinct ones, and how often each identity."""

    __slots__ = ("messages", "_hashed", "_repeats", "_addressed", "_addressed_messages")

    def __init__(self) -> None:
        self.messages = 0
        self._hashed: set[int] = set()
        # Acceptances of a hashed identity beyond its first: empty unless equal bare payloads
        # (or the same one again) arrive, so distinct payloads cost a set slot and nothing more.
        self._repeats: dict[int, int] = {}
        self._addressed = IntervalSet()
        self._addressed_messages = 0

    def add(self, ids: list[int]) -> None:
        n = len(ids)
        if not n:
            return
        self.messages += n
        first, last = ids[0], ids[-1]
        if first >= _ADDRESSED and last - first == n - 1 and (n == 1 or ids == list(range(first, last + 1))):
            self._addressed.add_range(first, last + 1)  # one partition's next offsets, in order: one run
            self._addressed_messages += n
            return
        addressed = sorted(h for h in ids if h >= _ADDRESSED)
        if addressed:
            self._add_addresses(addressed)
            self._addressed_messages += len(addressed)
        if len(addressed) < n:
            self._add_hashed([h for h in ids if h < _ADDRESSED] if addressed else ids)

    def _add_hashed(self, hashed: list[int]) -> None:
        fresh = set(hashed)
        if len(fresh) == len(hashed) and fresh.isdisjoint(self._hashed):
            self._hashed |= fresh  # the usual case: all new, all distinct, at set speed
            return
        seen, repeats = self._hashed, self._repeats
        for h in hashed:
            if h in seen:
                repeats[h] = repeats.get(h, 0) + 1
            else:
                seen.add(h)

    def _add_addresses(self, ordered: list[int]) -> None:
        """Add sorted addresses, one run of consecutive ones at a time (a repeat within the list is a duplicate)."""
        runs = self._addressed
        start = prev = ordered[0]
        for h in ordered[1:]:
            if h != prev + 1:
                runs.add_range(start, prev + 1)
                start = h
            prev = h
        runs.add_range(start, prev + 1)

    def __contains__(self, identity: int) -> bool:
        """Whether the message with this identity was accepted at least once."""
        return identity in (self._addressed if identity >= _ADDRESSED else self._hashed)

    def holds_all(self, ids: list[int]) -> bool:
        """Whether every identity in `ids` is held (False for none): the same fast path as `add` for one
        partition's next offsets in order."""
        n = len(ids)
        if not n:
            return False
        first, last = ids[0], ids[-1]
        if first >= _ADDRESSED and last - first == n - 1 and (n == 1 or ids == list(range(first, last + 1))):
            return self._addressed.covers(first, last + 1)
        addressed, hashed = self._addressed, self._hashed
        return all((h in addressed) if h >= _ADDRESSED else (h in hashed) for h in ids)

    def accepted(self, identity: int) -> int:
        """How often the message with this identity was accepted (an address: 0 or 1, repeats are not kept)."""
        if identity >= _ADDRESSED:
            return 1 if identity in self._addressed else 0
        return 1 + self._repeats.get(identity, 0) if identity in self._hashed else 0

    def held(self, first: int, end: int) -> int:
        """How many of the addressed identities `[first, end)` were accepted (one partition's offsets)."""
        return self._addressed.count(first, end)

    @property
    def unique(self) -> int:
        return len(self._hashed) + len(self._addressed)

    @property
    def duplicates(self) -> int:
        return self.messages - self.unique

    @property
    def address_duplicates(self) -> int:
        """Duplicates among messages known by their address: exact, unlike those of bare payloads."""
        return self._addressed_messages - len(self._addressed)

    @property
    def runs(self) -> int:
        """How many runs of addresses the ledger holds: its size, for messages with metadata."""
        return self._addressed.runs
