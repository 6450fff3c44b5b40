"""Producing a stream's messages into a live Iggy server, as a real sink's feed (docs/fidelity.md).

The opposite direction of `sinkbench.sources.iggy`: each message of a stream
(synthetic, recorded) is sent to its stream, topic and partition with the
apache-iggy SDK, keeping its id, user headers (with their kinds) and payload
bytes. The server assigns offsets and timestamps; an origin timestamp cannot
be set through the Python SDK (its `SendMessage` takes data, headers and id).

Facts measured against iggy-server 0.9.0-edge.5 with apache-iggy 0.9.0 (the
`real_iggy` tests):
- partitions are numbered from 0;
- `send_messages(stream, topic, partition_id, [...])` keeps the ids given;
- the SDK's `create_topic` is refused by that server ("Unsupported option
  key: "): the 0.9.0 SDK sends topic options the newer server does not know.
  Streams (`create_stream`) work; topics are created by the server's REST API
  or an administrator.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import orjson

from sinkbench.errors import Where
from sinkbench.feed.base import Fed
from sinkbench.model import HeaderKind, HeaderValue, Message, Schema
from sinkbench.sources.base import SourceMessage, SourceTopic
from sinkbench.sources.iggy import (
    IggyConnection,
    IggySession,
    IggySourceError,
    Timeouts,
    settle_sdk,
)

# sinkbench's header kind → the SDK's class name (apache_iggy.HeaderValue.<name>).
_SDK_NAMES: dict[HeaderKind, str] = {
    HeaderKind.RAW: "Raw", HeaderKind.STRING: "String", HeaderKind.BOOL: "Bool",
    HeaderKind.INT8: "Int8", HeaderKind.INT16: "Int16", HeaderKind.INT32: "Int32", HeaderKind.INT64: "Int64",
    HeaderKind.INT128: "Int128", HeaderKind.UINT8: "UnsignedInt8", HeaderKind.UINT16: "UnsignedInt16",
    HeaderKind.UINT32: "UnsignedInt32", HeaderKind.UINT64: "UnsignedInt64", HeaderKind.UINT128: "UnsignedInt128",
    HeaderKind.FLOAT32: "Float32", HeaderKind.FLOAT64: "Float64",
}


def payload_bytes(payload: Any, schema: Schema) -> bytes:
    """The bytes a producer sends for a model payload: compact JSON, UTF-8 text, or the bytes as they are."""
    if schema is Schema.JSON:
        return orjson.dumps(payload)
    if schema is Schema.TEXT:
        return payload.encode("utf-8")
    return bytes(payload)


def sdk_header(value: HeaderValue, sdk: Any) -> Any:
    """A model header value as the SDK's typed `HeaderValue`."""
    return getattr(sdk.HeaderValue, _SDK_NAMES[value.kind])(value.value)


def sdk_headers(message: Message, sdk: Any) -> Any:
    """The message's user headers as the SDK's (None without any)."""
    if not message.headers:
        return None
    return {sdk.HeaderKey.String(key): sdk_header(value, sdk) for key, value in message.headers.items()}


def send_message(message: Message, schema: Schema, sdk: Any) -> Any:
    """One model message as an SDK `SendMessage` (id, headers with their kinds, payload bytes)."""
    return sdk.SendMessage(payload_bytes(message.payload, schema), user_headers=sdk_headers(message, sdk), id=message.id)


async def produce(client: Any, stream: str, topic: str, partition: int, messages: Iterable[Message],
                  schema: Schema, *, batch: int = 1000, sdk: Any = None) -> int:
    """Send `messages` to one partition in batches of `batch`; returns how many were sent."""
    if sdk is None:
        import apache_iggy as sdk
    sent = 0
    chunk: list[Any] = []
    for message in messages:
        chunk.append(send_message(message, schema, sdk))
        if len(chunk) >= batch:
            await client.send_messages(stream, topic, partition, chunk)
            sent += len(chunk)
            chunk = []
    if chunk:
        await client.send_messages(stream, topic, partition, chunk)
        sent += len(chunk)
    return sent


# ---------------------------------------------------------------- the feed of an external sink

# Messages per `send_messages` call; the SDK's own examples send batches of this order.
SEND_BATCH = 1000
# The Python SDK 0.9.0's topic options that the 0.9.0-edge server refuses (see the module's docstring).
_REFUSED_OPTIONS = "unsupported option key"


class IggyFeed:
    """`[feed] kind = "iggy"`: each message produced to its stream, topic and partition (docs/external.md).

    The server assigns offsets; the feed learns them from the send's confirmation (the batch's base
    offset), or, when the server reports none, from the partition's offset read before the first send,
    so it can tell the run each message's address — what the endpoint knows an envelope by. That
    holds while the bench is the only producer to those partitions during the run.

    `create = True` creates a missing stream (SDK) and topic with `partitions(stream, topic)`
    partitions: through the SDK, or, when this server refuses the SDK's topic options, through its HTTP
    API at `http`; without `http` that is an error saying so.
    """

    needs_stdin = False

    def __init__(self, connection: IggyConnection, *, partitions: Any, create: bool = False, http: str | None = None,
                 factory: Any = None, timeouts: Any = None, sdk: Any = None) -> None:
        self.connection = connection
        self.create = create
        self.http = http
        self._partitions = partitions
        self._sdk = sdk
        self._session = IggySession(connection, factory, timeouts or Timeouts(), where=self._where)
        self._next: dict[tuple[str, str, int], int] = {}      # (stream, topic, partition) → its next offset
        self._counts: dict[tuple[str, str], int] = {}         # (stream, topic) → partitions, once checked

    @staticmethod
    def _where(field_: str) -> Where:
        return Where(key="feed.connection" if field_ == "connection" else "feed.create")

    @property
    def description(self) -> str:
        return f"produced into the Iggy server at {self.connection}"

    async def open(self, topics: Sequence[SourceTopic] = ()) -> None:
        """Connect, and check (or create) the topics the stream names up front: a sink that subscribes when
        it starts must find them."""
        if self._sdk is None:
            import apache_iggy
            self._sdk = apache_iggy
        await self._session.open()
        for topic in topics:
            await self.prepare(topic.stream, topic.topic)

    def attach(self, process: Any) -> None:
        """The sink's process (unused: the sink reads Iggy by itself)."""

    async def close(self) -> None:
        await settle_sdk()

    async def prepare(self, stream: str, topic: str) -> None:
        """Check (or create) the topic and learn where each partition's next message will land."""
        if (stream, topic) in self._counts:
            return
        call, client = self._session.call, self._session.client
        assert client is not None, "open() first"
        if await call(client.get_stream(stream), f"reading stream '{stream}'") is None:
            if not self.create:
                raise IggySourceError(f"stream '{stream}' does not exist on the Iggy server at {self.connection}: "
                                      "create it, or set create = true", "not_found", self._where("create"))
            await call(client.create_stream(stream), f"creating stream '{stream}'")
        details = await call(client.get_topic(stream, topic), f"reading topic '{topic}' of stream '{stream}'")
        if details is None:
            if not self.create:
                raise IggySourceError(f"topic '{topic}' does not exist in stream '{stream}' on the Iggy server at "
                                      f"{self.connection}: create it, or set create = true", "not_found",
                                      self._where("create"))
            await self._create_topic(stream, topic, self._partitions(stream, topic))
            details = await call(client.get_topic(stream, topic), f"reading topic '{topic}' of stream '{stream}'")
        partitions = details.partitions
        for p in partitions:
            self._next[(stream, topic, p.id)] = p.current_offset + 1 if p.messages_count else 0
        self._counts[(stream, topic)] = len(partitions)

    async def _create_topic(self, stream: str, topic: str, partitions: int) -> None:
        client = self._session.client
        assert client is not None
        doing = f"creating topic '{topic}' of stream '{stream}' with {partitions} partition(s)"
        try:
            await self._session.call(client.create_topic(stream, topic, partitions), doing)
            return
        except IggySourceError as exc:
            if _REFUSED_OPTIONS not in exc.message.lower():
                raise
            refused = exc.message
        if self.http is None:
            raise IggySourceError(
                f"{refused}: this server refuses the Python SDK's topic options; give [feed] http = "
                "\"http://HOST:PORT\" (the server's HTTP API) so sinkbench creates the topic there, or create it "
                "first", "other", self._where("create"))
        await create_topic_http(self.http, self.connection, stream, topic, partitions)

    async def send(self, items: Sequence[SourceMessage]) -> list[Fed]:
        """Produce `items` (each to its stream, topic and partition, in order); their payloads and addresses."""
        out: list[Any] = [None] * len(items)   # each filled below
        groups: dict[tuple[str, str, int], list[int]] = {}
        for i, item in enumerate(items):
            groups.setdefault((item.topic.stream, item.topic.topic, item.message.partition), []).append(i)
        sdk, client = self._sdk, self._session.client
        for (stream, topic, partition), indexes in groups.items():
            await self.prepare(stream, topic)
            if (stream, topic, partition) not in self._next:
                raise IggySourceError(f"a message for partition {partition} of {stream}/{topic}, which has "
                                      f"{self._counts[(stream, topic)]} partition(s) (numbered from 0) on the server",
                                      "not_found", self._where("create"))
            for start in range(0, len(indexes), SEND_BATCH):
                chunk = indexes[start:start + SEND_BATCH]
                schema = items[chunk[0]].topic.schema
                datas = [payload_bytes(items[i].message.payload, schema) for i in chunk]
                messages = [sdk.SendMessage(data, user_headers=sdk_headers(items[i].message, sdk), id=items[i].message.id)
                            for i, data in zip(chunk, datas)]
                answer = await self._session.call(client.send_messages(stream, topic, partition, messages),
                                                  f"sending to {stream}/{topic} partition {partition}")
                key = (stream, topic, partition)
                base = self._next[key]
                for confirmation in getattr(answer, "confirmations", None) or ():
                    if confirmation.partition_id == partition:
                        base = confirmation.base_offset
                self._next[key] = base + len(chunk)
                for n, (i, data) in enumerate(zip(chunk, datas)):
                    out[i] = Fed(data, (stream, topic, partition, base + n))
        return out


async def create_topic_http(base: str, connection: IggyConnection, stream: str, topic: str, partitions: int) -> None:
    """Create a topic (and its stream when missing) through the Iggy server's HTTP API, logged in with the
    feed's credentials. Raises IggySourceError naming `[feed] http`."""
    where = Where(key="feed.http")
    secret = urlsplit(connection.secret)
    if connection.password is not None:
        login = ("/users/login", {"username": unquote(secret.username or ""), "password": connection.password})
    else:
        login = ("/personal-access-tokens/login", {"token": unquote(secret.username or "")})
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10.0, trust_env=False) as http:
            answer = await http.post(login[0], json=login[1])
            if answer.status_code != 200:
                raise IggySourceError(f"the Iggy HTTP API at {base} refused the feed's credentials "
                                      f"({answer.status_code})", "credentials", where)
            token = answer.json()["access_token"]["token"]
            auth = {"Authorization": f"Bearer {token}"}
            answer = await http.post("/streams", json={"name": stream}, headers=auth)
            if answer.status_code != 201 and answer.status_code != 200 and "already" not in answer.text.lower():
                raise IggySourceError(f"the Iggy HTTP API at {base} could not create stream '{stream}': "
                                      f"{answer.status_code} {answer.text[:200]}", "other", where)
            answer = await http.post(f"/streams/{stream}/topics", headers=auth, json={
                "name": topic, "partitions_count": partitions, "compression_algorithm": "none",
                "message_expiry": 0, "max_topic_size": 0})
            if answer.status_code not in (200, 201):
                raise IggySourceError(f"the Iggy HTTP API at {base} could not create topic '{topic}' of stream "
                                      f"'{stream}': {answer.status_code} {answer.text[:200]}", "other", where)
    except httpx.HTTPError as exc:
        raise IggySourceError(f"cannot reach the Iggy HTTP API at {base}: {exc or type(exc).__name__}",
                              "unreachable", where) from None
    except (KeyError, TypeError, ValueError):
        raise IggySourceError(f"the Iggy HTTP API at {base} answered its login unexpectedly", "other", where) from None
