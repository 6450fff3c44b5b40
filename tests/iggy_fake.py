"""A fake Iggy server and client with the SDK's interface, for tests without a server.

`FakeServer.client` is a client factory (`sinkbench.sources.iggy.ClientFactory`):
`IggySource(..., client_factory=server.client)` or `record(plan,
client_factory=server.client)`. The client implements exactly the
`sinkbench.sources.iggy.IggyClient` protocol and answers the way the SDK does:
awaitables, `RuntimeError` with the Rust error's text, None for a missing
stream or topic, the SDK's own `Consumer`/`PollingStrategy` objects understood,
messages with accessor methods and `UserHeaders` of typed keys and values.

Knobs: `unreachable`, `hang` (connect never answers), `fail_polls` (the next n
polls fail with `poll_error`), `unauthorized_polls`, `on_poll` (a callback
before each poll). Logs: `polls`, `stored` (group offsets stored, in order).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from apache_iggy import Consumer, HeaderKey, HeaderValue, PollingStrategy, UserHeaders

BASE_TS = 1_710_064_800_000_000


def every_kind_headers(n: int = 0) -> UserHeaders:
    """One header of every value kind (string keys), plus typed keys."""
    return UserHeaders({
        HeaderKey.String("x-correlation-id"): HeaderValue.String(f"corr-{n}"),
        HeaderKey.String("raw"): HeaderValue.Raw(bytes([0, 1, 2, 255, n % 256 or 7])),
        HeaderKey.String("flag"): HeaderValue.Bool(n % 2 == 0),
        HeaderKey.String("i8"): HeaderValue.Int8(-128),
        HeaderKey.String("i16"): HeaderValue.Int16(-32768 + n),
        HeaderKey.String("i32"): HeaderValue.Int32(-(2**31)),
        HeaderKey.String("i64"): HeaderValue.Int64(-(2**63) + n),
        HeaderKey.String("i128"): HeaderValue.Int128(-(2**127)),
        HeaderKey.String("u8"): HeaderValue.UnsignedInt8(255),
        HeaderKey.String("u16"): HeaderValue.UnsignedInt16(65535),
        HeaderKey.String("u32"): HeaderValue.UnsignedInt32(2**32 - 1),
        HeaderKey.String("u64"): HeaderValue.UnsignedInt64(2**64 - 1 - n),
        HeaderKey.String("u128"): HeaderValue.UnsignedInt128(2**128 - 1),
        HeaderKey.String("f32"): HeaderValue.Float32(1.1),
        HeaderKey.String("f64"): HeaderValue.Float64(2.5e-7 + n),
        HeaderKey.Int32(42): HeaderValue.String("typed key"),
        HeaderKey.Bool(True): HeaderValue.Int64(1),
    })


class FakeMessage:
    """`apache_iggy.ReceiveMessage`: every field behind an accessor method."""

    def __init__(self, id: int, offset: int, timestamp: int, origin_timestamp: int, checksum: int, partition: int,
                 payload: bytes, headers: UserHeaders | None) -> None:
        self._id, self._offset, self._timestamp = id, offset, timestamp
        self._origin, self._checksum, self._partition = origin_timestamp, checksum, partition
        self._payload, self._headers = payload, headers

    def id(self) -> int:
        return self._id

    def offset(self) -> int:
        return self._offset

    def timestamp(self) -> int:
        return self._timestamp

    def origin_timestamp(self) -> int:
        return self._origin

    def checksum(self) -> int:
        return self._checksum

    def partition_id(self) -> int:
        return self._partition

    def payload(self) -> bytes:
        return self._payload

    def length(self) -> int:
        return len(self._payload)

    def user_headers(self) -> UserHeaders | None:
        return self._headers


@dataclass
class FakePartition:
    id: int
    messages: list[FakeMessage] = field(default_factory=list)

    @property
    def current_offset(self) -> int:
        return self.messages[-1].offset() if self.messages else 0

    @property
    def messages_count(self) -> int:
        return len(self.messages)


@dataclass
class FakeTopicDetails:
    name: str
    partitions: list[FakePartition]

    @property
    def partitions_count(self) -> int:
        return len(self.partitions)


@dataclass
class FakeStreamDetails:
    name: str
    topics: list[Any]


@dataclass
class FakeGroup:
    offsets: dict[int, int] = field(default_factory=dict)
    members: list[int] = field(default_factory=list)          # client ids, in join order
    cursors: dict[int, int] = field(default_factory=dict)     # member → round-robin position


class FakeServer:
    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.users = {"iggy": "iggy"} if users is None else users
        self.streams: dict[str, dict[str, list[FakePartition]]] = {}
        self.groups: dict[tuple[str, str, str], FakeGroup] = {}
        self.unreachable = False
        self.hang = False
        self.fail_polls = 0
        self.poll_error = "Disconnected"
        self.unauthorized_polls = False
        self.on_poll: Callable[[FakeClient, int], None] | None = None
        self.polls: list[dict[str, Any]] = []
        self.stored: list[tuple[str, int, int]] = []   # (group, partition, offset)
        self.clients: list[FakeClient] = []
        self._ids = 0

    # -- setting up ---------------------------------------------------------
    def create_topic(self, stream: str, topic: str, partitions: int = 1) -> None:
        self.streams.setdefault(stream, {})[topic] = [FakePartition(i) for i in range(partitions)]

    def produce(self, stream: str, topic: str, payload: Any, *, partition: int = 0,
                headers: UserHeaders | None = None, id: int | None = None, timestamp: int | None = None,
                origin_timestamp: int | None = None, checksum: int | None = None) -> FakeMessage:
        part = self.streams[stream][topic][partition]
        offset = len(part.messages)
        if isinstance(payload, str):
            data = payload.encode()
        elif isinstance(payload, (bytes, bytearray)):
            data = bytes(payload)
        else:
            data = orjson.dumps(payload)
        self._ids += 1
        ts = BASE_TS + 1000 * (len(part.messages) + 1) + partition if timestamp is None else timestamp
        message = FakeMessage(
            id=(2**127 + 12345 * self._ids) if id is None else id, offset=offset, timestamp=ts,
            origin_timestamp=ts - 500 if origin_timestamp is None else origin_timestamp,
            checksum=(2**64 - 1 - self._ids) if checksum is None else checksum, partition=partition,
            payload=data, headers=headers)
        part.messages.append(message)
        return message

    def client(self, connection: Any) -> FakeClient:
        """The client factory: what `apache_iggy.IggyClient.from_connection_string` would return."""
        c = FakeClient(self, connection, len(self.clients))
        self.clients.append(c)
        return c

    # -- server side --------------------------------------------------------
    def _topic(self, stream: str, topic: str) -> list[FakePartition]:
        if stream not in self.streams:
            raise RuntimeError(f"Stream with name: {stream} was not found.")
        if topic not in self.streams[stream]:
            raise RuntimeError(f"Topic with name: {topic} for stream with ID: {stream} was not found.")
        return self.streams[stream][topic]

    def assigned(self, key: tuple[str, str, str], member: int) -> list[int]:
        group = self.groups[key]
        ids = sorted(p.id for p in self._topic(key[0], key[1]))
        n = len(group.members)
        index = group.members.index(member)
        return [p for i, p in enumerate(ids) if i % n == index]


class FakeMember:
    """`apache_iggy.IggyConsumer` as sinkbench uses it: only `store_offset`."""

    def __init__(self, server: FakeServer, key: tuple[str, str, str]) -> None:
        self._server = server
        self._key = key

    async def store_offset(self, offset: int, partition_id: int | None) -> None:
        assert partition_id is not None
        self._server.groups[self._key].offsets[partition_id] = offset
        self._server.stored.append((self._key[2], partition_id, offset))


class FakeClient:
    def __init__(self, server: FakeServer, connection: Any, number: int) -> None:
        self.server = server
        self.user = connection.user
        self.password = connection.password
        self.number = number
        self.connected = False

    async def connect(self) -> None:
        if self.server.hang:
            await asyncio.Event().wait()
        if self.server.unreachable:
            raise RuntimeError("Cannot establish connection")
        if self.server.users.get(self.user) != self.password:
            raise RuntimeError("Invalid credentials")
        self.connected = True

    def _auth(self) -> None:
        if not self.connected:
            raise RuntimeError("Unauthenticated")

    async def get_stream(self, stream_id: str | int) -> FakeStreamDetails | None:
        self._auth()
        topics = self.server.streams.get(str(stream_id))
        return None if topics is None else FakeStreamDetails(str(stream_id), list(topics))

    async def get_topic(self, stream_id: str | int, topic_id: str | int) -> FakeTopicDetails | None:
        self._auth()
        parts = self.server.streams.get(str(stream_id), {}).get(str(topic_id))
        return None if parts is None else FakeTopicDetails(str(topic_id), parts)

    async def consumer_group(self, name: str, stream: str, topic: str, *, polling_strategy: Any = None,
                             batch_length: int | None = None, auto_commit: Any = None,
                             create_consumer_group_if_not_exists: bool = True,
                             auto_join_consumer_group: bool = True) -> FakeMember:
        self._auth()
        self.server._topic(stream, topic)
        key = (stream, topic, name)
        group = self.server.groups.get(key)
        if group is None:
            if not create_consumer_group_if_not_exists:
                raise RuntimeError(f"Consumer group with name: {name} was not found.")
            group = self.server.groups[key] = FakeGroup()
        if auto_join_consumer_group and self.number not in group.members:
            group.members.append(self.number)
        return FakeMember(self.server, key)

    async def poll_messages(self, stream: str | int, topic: str | int, *, consumer: Any, polling_strategy: Any,
                            count: int, auto_commit: bool, partition_id: int | None = None) -> list[FakeMessage]:
        self._auth()
        server = self.server
        n = len(server.polls)
        if server.on_poll is not None:
            server.on_poll(self, n)
        server.polls.append({"client": self.number, "topic": str(topic), "count": count, "auto_commit": auto_commit,
                             "consumer": type(consumer).__name__, "partition_id": partition_id,
                             "strategy": type(polling_strategy).__name__})
        if server.fail_polls > 0:
            server.fail_polls -= 1
            raise RuntimeError(server.poll_error)
        if server.unauthorized_polls:
            raise RuntimeError("Unauthorized")
        parts = {p.id: p for p in server._topic(str(stream), str(topic))}
        if isinstance(consumer, Consumer.Group):
            key = (str(stream), str(topic), str(consumer.id))
            group = server.groups.get(key)
            if group is None or self.number not in group.members:
                raise RuntimeError(f"Consumer group member with ID: {self.number} was not found.")
            assigned = server.assigned(key, self.number)
            if not assigned:
                return []
            start = group.cursors.get(self.number, 0)
            # Round robin over the member's partitions; the first with something new answers.
            for i in range(len(assigned)):
                p = assigned[(start + i) % len(assigned)]
                stored = group.offsets.get(p)
                first = self._first(parts[p], polling_strategy, stored)
                batch = parts[p].messages[first:first + count]
                if batch:
                    group.cursors[self.number] = (start + i + 1) % len(assigned)
                    if auto_commit:
                        group.offsets[p] = batch[-1].offset()
                        server.stored.append((key[2], p, batch[-1].offset()))
                    return list(batch)
            group.cursors[self.number] = (start + 1) % len(assigned)
            return []
        p = 0 if partition_id is None else partition_id
        if p not in parts:
            raise RuntimeError(f"Partition with ID: {p} for topic with ID: {topic} for stream with ID: {stream} "
                               f"was not found.")
        first = self._first(parts[p], polling_strategy, None)
        return list(parts[p].messages[first:first + count])

    @staticmethod
    def _first(part: FakePartition, strategy: Any, stored: int | None) -> int:
        """The index (= offset) of the first message a strategy selects."""
        if isinstance(strategy, PollingStrategy.Offset):
            return strategy.value
        if isinstance(strategy, PollingStrategy.First):
            return 0
        if isinstance(strategy, PollingStrategy.Timestamp):
            for m in part.messages:
                if m.timestamp() >= strategy.value:
                    return m.offset()
            return len(part.messages)
        if isinstance(strategy, PollingStrategy.Last):
            return max(0, len(part.messages) - 1)
        if isinstance(strategy, PollingStrategy.Next):
            return 0 if stored is None else stored + 1
        raise TypeError(f"not a polling strategy: {strategy!r}")
