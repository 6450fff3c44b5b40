"""The live Iggy source (docs/scenario.md, `[source] kind = "iggy"`) and what `record` shares with it.

What the SDK offers — apache-iggy 0.9.0 (a PyO3 binding of the Rust SDK; the
API is in `apache_iggy/__init__.pyi`), read from its stubs and sources,
checked against this installation where no server is needed, and — where a
point says "verified" — against a real iggy-server 0.9.0-edge.5 built from
the Iggy source (tests/real_iggy/test_live_source.py; the section after this
list sums up what those tests found):

- `IggyClient.from_connection_string(s)` parses a connection string without
  any I/O. Schemes `iggy://` (= `iggy+tcp://`), `iggy+tcp://`, `iggy+quic://`,
  `iggy+http://`, `iggy+ws://`. Credentials are required: `USER:PASSWORD@` or
  a personal access token `TOKEN@`; the client replays them on every
  (re)connect (auto-login), so `connect()` also logs in (verified: refused
  credentials fail `connect()` itself, not the first call). TCP query options:
  `tls`, `tls_domain`, `tls_ca_file`, `reconnection_retries` (N or
  `unlimited`, the default), `reconnection_interval` (1s), `reestablish_after`
  (5s), `heartbeat_interval` (5s), `nodelay`. Any other option, a missing
  port, a path, an upper-case scheme → `RuntimeError("Invalid connection
  string")`; QUIC strings take no `reconnection_retries` at all.
- Every network call returns an asyncio awaitable backed by a Tokio runtime.
  Failures are a bare `RuntimeError` whose text is the Rust error's Display
  ("Cannot establish connection", "Invalid credentials", "Unauthenticated",
  "Unauthorized", "Stream with name: x was not found.", "Disconnected"…) —
  no classes, no codes — so sinkbench classifies them by their text.
- Reconnection: with the default `reconnection_retries=unlimited` a call
  awaited while the server is down never returns (measured: `connect()` to a
  closed port still pending after 6 s; with `reconnection_retries=0` it fails
  at once). Even with finite retries, a server that accepts the connection and
  then stays silent or closes it leaves `connect()` pending (measured). So
  sinkbench adds `reconnection_retries=3&reconnection_interval=1s` unless the
  string sets them (and refuses `unlimited`), and bounds every awaited call
  with `asyncio.timeout` — not `asyncio.wait_for`, which in Python 3.11 can
  swallow a cancellation that arrives as the call completes (CPython
  gh-86296), leaving a cancelled run polling forever.
- `poll_messages(stream, topic, *, consumer, polling_strategy, count,
  auto_commit, partition_id=None)` → `list[ReceiveMessage]`: one poll, one
  batch, answered at once (empty when there is nothing new). `consumer` is
  `Consumer.Group(name)` (without `partition_id` it reads the partitions the
  server assigned to the member) or `Consumer.Single(name)`; strategies
  `PollingStrategy.Next()`, `Offset(n)`, `First()`, `Last()`, `Timestamp(µs)`.
  `auto_commit=True` stores the last polled offset as part of the poll —
  exactly what the connectors runtime's `AutoCommitWhen::PollingMessages` does
  (verified: a second bench in the group gets only what the first did not
  poll). With `auto_commit=False` and `Next` the server answers from the
  stored offset again on every poll (verified). `Timestamp(µs)` starts at the
  first message stamped at or after it, message by message (verified; the
  messages of one send share one stamp).
- `consumer_group(name, stream, topic, polling_strategy=, batch_length=,
  auto_commit=AutoCommit.*, create_consumer_group_if_not_exists=True,
  auto_join_consumer_group=True, …)` → an initialised `IggyConsumer`: it has
  checked that the stream and topic exist, created the group if missing and
  joined it. It does not join again after a reconnect unless it is iterated
  (verified: see the restart below), so sinkbench calls
  `IggyClient.join_consumer_group(stream, topic, group)` itself.
  `IggyConsumer.store_offset(offset, partition_id)` stores the group's offset
  (verified, with `after_consuming`); `iter_messages()` and
  `consume_messages(callback, event)` iterate.
  Trap: `IggyConsumer` guards its Rust consumer with one async mutex that
  `iter_messages()`'s `__anext__` holds until a message arrives and that
  `store_offset` needs too. With auto-commit disabled and `Next`, the server
  keeps answering the uncommitted batch, the iterator filters it out and waits
  — holding the lock `store_offset` is waiting for: a deadlock for
  `after_consuming`. The Python SDK has no `IggyClient.store_consumer_offset`.
  So sinkbench polls with `IggyClient.poll_messages` (lock-free, and one call
  is one batch, as in Iggy) and uses the `IggyConsumer` only for the group
  membership and `store_offset`; it is never iterated.
- `ReceiveMessage` (not constructible from Python): `id()` (u128), `offset()`,
  `timestamp()` and `origin_timestamp()` (µs), `checksum()` (u64), `length()`,
  `partition_id()`, `payload()` (bytes) and `user_headers()` → `UserHeaders`
  (a dict `HeaderKey` → `HeaderValue`) or None. Keys and values are PyO3 enums
  with one class per kind — `Raw`, `String`, `Bool`, `Int8`…`Int128`,
  `UnsignedInt8`…`UnsignedInt128`, `Float32`, `Float64` — each with `.value`;
  a Float32 arrives widened to a Python float (verified: 0.1 comes back as
  0.10000000149011612). Keys of other kinds than String arrive typed too
  (verified).
- `get_stream(name)` → `StreamDetails | None`; `get_topic(stream, topic)` →
  `TopicDetails | None` with `partitions_count` and `partitions`
  (`Partition.id`, `current_offset`, `messages_count`). A missing stream or
  topic is None, not an error.
- No `disconnect`/`close` on `IggyClient`: a client is let go, and its
  connection closes with it (or with the process). A process that exits right
  after an awaited call can abort (see `settle_sdk`; verified).
- HTTP has no consumer groups ("Feature is unavailable") and QUIC strings
  cannot bound reconnection, so sinkbench accepts `iggy://`, `iggy+tcp://`
  and `iggy+ws://`.

Found against the real server (iggy-server 0.9.0-edge.5, apache-iggy 0.9.0):

- Refused logins — a wrong password, an unknown or inactive user — all answer
  "Invalid credentials"; a wrong personal access token "Invalid personal
  access token". Both fail `connect()`: exit 2 naming `source.connection`.
- A user without permissions logs in; its first read (`get_stream`) answers
  "Unauthorized": exit 2 naming `source.stream`. The server's permission to
  read a stream (global `read_streams`, or the stream's `read_stream`)
  includes reading its topics, joining groups and polling, so a bench that
  can read the stream never meets a later permission error.
- Partitions are numbered from 0. A bench killed with SIGKILL leaves its group
  when its connection closes; the next bench gets its partitions, and with
  `after_consuming` resumes after the last offset stored: only the batch that
  was in flight is sent again.
- Server restart: the SDK reconnects (about 4.5 s with the default options)
  as a new client, so a group poll fails with "Consumer group member with
  client ID: … was not found."; sinkbench joins the group again and goes on,
  as the connectors runtime's consumer does ("Consumer group membership was
  revoked … Rejoining"). But this server keeps the member the client was
  before the restart (nothing logged it out), with its partitions, so neither
  the runtime nor sinkbench gets messages of those partitions afterwards; a
  run idles until its timeout. With `after_consuming`, storing an offset is
  then refused ("Resource with key:  was not found."): the run ends with exit
  3, where the runtime logs the error and idles.
- Every header kind and JSON, text and raw payloads (any bytes) survive
  produce → poll → `record` with their ids, kinds and values.

What sinkbench uses is exactly the `IggyClient` protocol below (tests pass a
fake with the same interface). Choices made here:

- Messages are converted as the connectors runtime decodes them for the sink:
  a payload that does not decode under the stream's schema (invalid JSON,
  text that is not UTF-8) is dropped before the sink and counted
  (`IggySource.undecodable`), as the runtime drops it.
- Header keys are typed in Iggy 0.9; the model's are strings. A string key is
  itself; another kind is written in its readable form (`true`, `42`, `1.5`,
  a float as Rust's `Display` writes it), a raw key as its UTF-8 text, or
  base64 when it is not UTF-8 (verified for `record`: Int32 -5 → "-5", Bool →
  "true", raw b"\\xff\\xfe" → "//4="). What the HTTP sink writes for such keys is
  not compared yet.
- Offsets: `after_polling` polls with `auto_commit=True` (Iggy's behaviour);
  `after_consuming` polls without committing and stores a partition's offset
  only when the runtime calls `acknowledge()` — after the sink succeeded.
  Until then the server keeps answering from the stored offset; messages
  already handed over are filtered out by offset, so the source reads at most
  one batch per partition ahead of the last commit.
- Errors while setting up (server unreachable, credentials refused, no such
  stream or topic, no permission) are `IggySourceError`, an `InputError`
  (exit 2), with the credentials removed. A connection lost during the run
  that the bounded retries do not bring back is `IggyConnectionLost`, a
  `BenchError` (exit 3).
"""

from __future__ import annotations

import asyncio
import base64
import difflib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson

from sinkbench.errors import BenchError, InputError, Where
from sinkbench.model import HeaderKind, HeaderValue, Message, Schema
from sinkbench.redact import redact_text, redact_url
from sinkbench.sources.base import SourceMessage, SourceTopic

log = logging.getLogger("sinkbench.iggy")

SCHEMES = ("iggy", "iggy+tcp", "iggy+ws")
OPTIONS = ("tls", "tls_domain", "tls_ca_file", "reconnection_retries", "reconnection_interval",
           "reestablish_after", "heartbeat_interval", "nodelay")
WS_OPTIONS = ("tls", "tls_domain", "tls_ca_file", "tls_validate_certificate", "reconnection_retries",
              "reconnection_interval", "reestablish_after", "heartbeat_interval")
DEFAULT_RECONNECTION_RETRIES = 3
DEFAULT_RECONNECTION_INTERVAL = "1s"
SDK_SETTLE = 0.05   # seconds the SDK's threads get to finish before the process may exit (see settle_sdk)
EXAMPLE = "iggy+tcp://USER:PASSWORD@HOST:8090"


# ---------------------------------------------------------------- the SDK calls sinkbench makes


class ReceivedMessage(Protocol):
    """`apache_iggy.ReceiveMessage`: accessor methods, not attributes."""

    def id(self) -> int: ...
    def offset(self) -> int: ...
    def timestamp(self) -> int: ...
    def origin_timestamp(self) -> int: ...
    def checksum(self) -> int: ...
    def partition_id(self) -> int: ...
    def payload(self) -> bytes: ...
    def user_headers(self) -> dict[Any, Any] | None: ...


class GroupMember(Protocol):
    """`apache_iggy.IggyConsumer`, used only to store the group's offset (never iterated: see the docstring)."""

    def store_offset(self, offset: int, partition_id: int | None) -> Awaitable[None]: ...


class IggyClient(Protocol):
    """The part of `apache_iggy.IggyClient` sinkbench calls. Every method returns an awaitable."""

    def connect(self) -> Awaitable[None]: ...

    def get_stream(self, stream_id: str | int) -> Awaitable[Any | None]: ...

    def get_topic(self, stream_id: str | int, topic_id: str | int) -> Awaitable[Any | None]:
        """TopicDetails (`partitions_count`, `partitions`: `id`, `current_offset`, `messages_count`) or None."""
        ...

    def consumer_group(self, name: str, stream: str, topic: str, *, polling_strategy: Any = None,
                       batch_length: int | None = None, auto_commit: Any = None,
                       create_consumer_group_if_not_exists: bool = True,
                       auto_join_consumer_group: bool = True) -> Awaitable[GroupMember]: ...

    def poll_messages(self, stream: str | int, topic: str | int, *, consumer: Any, polling_strategy: Any,
                      count: int, auto_commit: bool, partition_id: int | None = None
                      ) -> Awaitable[list[ReceivedMessage]]: ...

    def join_consumer_group(self, stream: str | int, topic: str | int, group: str | int) -> Awaitable[None]:
        """Join again after the server forgot the membership (it restarted): see `IggySession.retrying`."""
        ...


ClientFactory = Callable[["IggyConnection"], IggyClient]


def sdk_client(connection: IggyConnection) -> IggyClient:
    """A real SDK client for `connection` (no I/O yet)."""
    from apache_iggy import IggyClient as SdkClient

    return SdkClient.from_connection_string(connection.secret)  # type: ignore[return-value]


# ---------------------------------------------------------------- connection strings


class ConnectionStringError(ValueError):
    """A connection string sinkbench cannot use; the message never contains the credentials."""


class IggyConnection(str):
    """A connection string that shows itself redacted.

    As a `str` (printing, f-strings, reports, JSON) it is the string without
    its credentials; `secret` is what the SDK gets: the string as given plus
    sinkbench's bounded reconnection. It can sit in a scenario's options and
    be shown anywhere without leaking the password.
    """

    secret: str
    user: str            # the user name ("" with a personal access token)
    password: str | None
    reconnection_retries: int

    def __new__(cls, display: str, secret: str = "", user: str = "", password: str | None = None,
                reconnection_retries: int = DEFAULT_RECONNECTION_RETRIES) -> IggyConnection:
        self = super().__new__(cls, display)
        self.secret = secret
        self.user = user
        self.password = password
        self.reconnection_retries = reconnection_retries
        return self

    def __reduce__(self) -> Any:
        return (IggyConnection, (str(self), self.secret, self.user, self.password, self.reconnection_retries))

    def __repr__(self) -> str:
        return f"IggyConnection({str(self)!r})"

    def scrub(self, text: str) -> str:
        """`text` with the password and the full string removed (SDK messages may echo them)."""
        secrets = [s for s in (self.secret, self.password) if s]
        return redact_text(text, secrets)


def parse_connection(text: Any, *, check_with_sdk: bool = True) -> IggyConnection:
    """Check a connection string and add sinkbench's bounded reconnection. Raises ConnectionStringError."""
    if not isinstance(text, str) or not text.strip():
        raise ConnectionStringError(f"expected a connection string such as \"{EXAMPLE}\"")
    text = text.strip()
    shown = redact_url(text)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConnectionStringError(f"not a valid connection string {shown!r} ({exc}); "
                                    f"expected \"{EXAMPLE}\"") from None
    scheme = parts.scheme
    if scheme not in SCHEMES:
        why = {"iggy+quic": "a QUIC connection string cannot bound the SDK's reconnection, so a bench could hang",
               "iggy+http": "the HTTP transport has no consumer groups"}.get(scheme.lower(), "")
        raise ConnectionStringError(f"unsupported scheme {scheme + '://' if scheme else '(none)'} in {shown!r}"
                                    f"{': ' + why if why else ''}; use iggy+tcp:// (or iggy+ws://), "
                                    f"e.g. \"{EXAMPLE}\"")
    if "@" not in parts.netloc or not parts.username:
        raise ConnectionStringError(f"{shown!r} has no credentials: write \"{EXAMPLE}\" "
                                    f"(or a personal access token: iggy+tcp://TOKEN@HOST:8090)")
    if not parts.hostname or port is None:
        raise ConnectionStringError(f"{shown!r} needs a host and a port, e.g. \"{EXAMPLE}\"")
    if parts.path not in ("", "/") or parts.fragment:
        raise ConnectionStringError(f"{shown!r} must not have a path or a fragment; expected \"{EXAMPLE}[?options]\"")
    allowed = OPTIONS if scheme != "iggy+ws" else WS_OPTIONS
    options = parse_qsl(parts.query, keep_blank_values=True)
    for name, value in options:
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f" — did you mean '{close[0]}'?" if close else f" (known: {', '.join(allowed)})"
            raise ConnectionStringError(f"unknown connection option '{name}' in {shown!r}{hint}")
        if not value:
            raise ConnectionStringError(f"connection option '{name}' in {shown!r} has no value")
    given = dict(options)
    retries_raw = given.get("reconnection_retries", str(DEFAULT_RECONNECTION_RETRIES))
    if retries_raw == "unlimited":
        raise ConnectionStringError("reconnection_retries=unlimited would let a lost server hang the bench "
                                    "forever; give a number, e.g. reconnection_retries=5")
    if not retries_raw.isdigit():
        raise ConnectionStringError(f"reconnection_retries must be a whole number, got {retries_raw!r}")
    added = []
    if "reconnection_retries" not in given:
        added.append(f"reconnection_retries={DEFAULT_RECONNECTION_RETRIES}")
    if "reconnection_interval" not in given:
        added.append(f"reconnection_interval={DEFAULT_RECONNECTION_INTERVAL}")
    secret = text + ("&" if parts.query else "?") + "&".join(added) if added else text
    password = unquote(parts.password) if parts.password is not None else None
    user = unquote(parts.username) if password is not None else ""
    connection = IggyConnection(shown, secret, user, password, int(retries_raw))
    if check_with_sdk:
        try:
            sdk_client(connection)
        except Exception as exc:
            raise ConnectionStringError(f"the Iggy SDK refuses {shown!r}: {connection.scrub(str(exc))} "
                                        f"(expected \"{EXAMPLE}[?tls=true&tls_domain=...&tls_ca_file=...]\")"
                                        ) from None
    return connection


# ---------------------------------------------------------------- errors


class IggySourceError(InputError):
    """Iggy cannot be used as given: unreachable, credentials refused, no such stream or topic (exit 2).

    `category` is one of: unreachable, timeout, credentials, permission, not_found, membership, other.
    """

    def __init__(self, message: str, category: str, where: Where | None = None) -> None:
        super().__init__(message, where)
        self.category = category


class IggyConnectionLost(BenchError):
    """The connection failed during the run and the bounded retries did not bring it back (exit 3)."""


_CREDENTIALS = ("invalid credentials", "invalidcredentials", "invalid username", "invalid password",
                "unauthenticated", "user inactive", "userinactive", "personal access token", "access token",
                "jwt")
_PERMISSION = ("unauthorized",)
# "Consumer group member with client ID: 0 for group with ID: g for topic with ID: t was not found.": the server
# no longer counts this client as a member (after it restarted, the SDK reconnects as a new client).
_MEMBERSHIP = ("consumer group member",)
_NOT_FOUND = ("not found", "notfound", "does not exist")
_UNREACHABLE = ("cannot establish connection", "cannotestablishconnection", "disconnected", "not connected",
                "notconnected", "connection closed", "connectionclosed", "connection refused", "connection reset",
                "broken pipe", "tcp error", "tcperror", "websocket", "stale client", "client shutdown", "tls",
                "certificate", "dns", "resolve", "unreachable", "timed out")


def classify(detail: str) -> str:
    """The category of an SDK error text (see `IggySourceError.category`)."""
    text = detail.lower()
    for category, needles in (("credentials", _CREDENTIALS), ("permission", _PERMISSION),
                              ("membership", _MEMBERSHIP), ("not_found", _NOT_FOUND),
                              ("unreachable", _UNREACHABLE)):
        if any(n in text for n in needles):
            return category
    return "other"


@dataclass(frozen=True)
class Timeouts:
    """Bounds on everything that waits for the server (seconds)."""

    connect: float = 10.0       # connect + log in
    request: float = 10.0       # any other call
    retries: int = 2            # failed calls repeated during a run before giving up
    retry_wait: float = 1.0     # before the first repeat; doubles


WhereFor = Callable[[str], Where]   # "connection" | "stream" | "topic" → where to point an error


async def settle_sdk() -> None:
    """Give the SDK's threads a moment to finish handing back results; await it before the process may exit.

    apache-iggy 0.9.0 completes every awaited call from a Tokio thread that, after waking the event loop,
    takes the GIL once more. When the interpreter is already finalizing by then (a command that exits right
    after its last call), that thread is ended inside Rust frames and the process aborts: exit 134 or 135,
    "Fatal Python error: Aborted", in about one `sinkbench record` in three (measured, tests/real_iggy).
    Sleeping releases the GIL, so the thread finishes first.
    """
    await asyncio.sleep(SDK_SETTLE)


class IggySession:
    """One SDK client with sinkbench's bounds: every call timed out, every failure a clear error."""

    def __init__(self, connection: IggyConnection, factory: ClientFactory | None = None,
                 timeouts: Timeouts = Timeouts(), where: WhereFor | None = None) -> None:
        self.connection = connection
        self.timeouts = timeouts
        self._factory = factory or sdk_client
        self._where = where or (lambda _field: Where())
        self.client: IggyClient | None = None

    def _error(self, category: str, detail: str, doing: str, field_: str = "connection") -> IggySourceError:
        c = self.connection
        detail = c.scrub(detail)
        if category == "timeout":
            message = (f"the Iggy server at {c} did not answer within {detail} while {doing}; "
                       f"is it an Iggy server reachable over {c.split('://', 1)[0]}, and are the TLS options right?")
        elif category == "unreachable":
            message = (f"cannot reach the Iggy server at {c} while {doing} ({detail}); is it running, and are the "
                       f"host, port and TLS options right? (sinkbench gives up after "
                       f"{c.reconnection_retries} reconnection attempt{'s' if c.reconnection_retries != 1 else ''})")
        elif category == "credentials":
            who = f"the credentials of user '{c.user}'" if c.password is not None else "the personal access token"
            message = f"the Iggy server at {c} refused {who} ({detail})"
        elif category == "permission":
            who = f"user '{c.user}'" if c.password is not None else "the personal access token's user"
            message = f"{who} lacks the permission for {doing} on {c} ({detail})"
        elif category == "not_found":
            message = f"{detail} (on the Iggy server at {c}, while {doing})"
        elif category == "membership":
            message = (f"the Iggy server at {c} no longer counts this bench as a member of its consumer group "
                       f"while {doing} ({detail})")
        else:
            message = f"the Iggy server at {c} answered \"{detail}\" while {doing}"
        return IggySourceError(message, category, self._where(field_))

    async def call(self, awaitable: Awaitable[Any], doing: str, *, timeout: float | None = None,
                   field_: str = "connection") -> Any:
        """Await one SDK call within its timeout; any failure becomes an `IggySourceError`."""
        limit = self.timeouts.request if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                return await awaitable
        except TimeoutError:
            raise self._error("timeout", f"{limit:g}s", doing, field_) from None
        except Exception as exc:
            detail = str(exc) or type(exc).__name__
            raise self._error(classify(detail), detail, doing, field_) from None

    async def open(self) -> IggyClient:
        """Connect and log in (the connection string's credentials)."""
        try:
            client = self._factory(self.connection)
        except Exception as exc:
            raise IggySourceError(f"the Iggy SDK refuses the connection string {self.connection}: "
                                  f"{self.connection.scrub(str(exc))}", "other", self._where("connection")) from None
        await self.call(client.connect(), "connecting and logging in", timeout=self.timeouts.connect)
        self.client = client
        return client

    async def topic(self, stream: str, topic: str) -> Any:
        """The topic's details; an error naming the stream or topic when either does not exist."""
        assert self.client is not None
        if await self.call(self.client.get_stream(stream), f"reading stream '{stream}'", field_="stream") is None:
            raise IggySourceError(f"stream '{stream}' does not exist on the Iggy server at {self.connection}",
                                  "not_found", self._where("stream"))
        details = await self.call(self.client.get_topic(stream, topic),
                                  f"reading topic '{topic}' of stream '{stream}'", field_="topic")
        if details is None:
            raise IggySourceError(f"topic '{topic}' does not exist in stream '{stream}' on the Iggy server at "
                                  f"{self.connection}", "not_found", self._where("topic"))
        return details

    async def retrying(self, make: Callable[[], Awaitable[Any]], doing: str,
                       rejoin: Callable[[], Awaitable[Any]] | None = None) -> Any:
        """A call during a run: repeated (bounded) on failure; when it keeps failing, `IggyConnectionLost`.

        `rejoin` joins the consumer group again. A restarted server has forgotten which clients are its
        members (the SDK reconnects as a new client), so a group poll then fails with "Consumer group
        member ... was not found" until the client joins again — what the connectors runtime's consumer
        does on reconnecting. Measured against iggy-server 0.9.0-edge.5 (tests/real_iggy).
        """
        wait = self.timeouts.retry_wait
        attempt = rejoined = 0
        while True:
            try:
                return await self.call(make(), doing)
            except IggySourceError as exc:
                failure = exc
            if failure.category == "membership" and rejoin is not None and rejoined < self.timeouts.retries + 1:
                rejoined += 1
                log.warning("iggy: %s; joining the consumer group again", failure.message)
                try:
                    await self.call(rejoin(), f"joining the consumer group again for {doing}")
                    continue   # joined: the call is made again at once
                except IggySourceError as exc:
                    failure = exc
            attempt += 1
            if attempt > self.timeouts.retries:
                raise IggyConnectionLost(f"{failure.message} — still failing after {attempt} attempt"
                                         f"{'s' if attempt > 1 else ''}") from None
            log.warning("iggy: %s; trying again in %gs", failure.message, wait)
            await asyncio.sleep(wait)
            wait *= 2


def partition_ids(details: Any) -> list[int]:
    """The partition ids of a topic (TopicDetails.partitions, else 0..partitions_count-1)."""
    partitions = getattr(details, "partitions", None)
    if partitions:
        return sorted(int(p.id) for p in partitions)
    return list(range(int(getattr(details, "partitions_count", 0) or 0)))


# ---------------------------------------------------------------- messages


class PayloadError(ValueError):
    """A payload that does not decode under its stream's schema (the runtime drops such a message)."""


_KIND_NAMES: dict[str, HeaderKind] = {
    "Raw": HeaderKind.RAW, "String": HeaderKind.STRING, "Bool": HeaderKind.BOOL,
    "Int8": HeaderKind.INT8, "Int16": HeaderKind.INT16, "Int32": HeaderKind.INT32, "Int64": HeaderKind.INT64,
    "Int128": HeaderKind.INT128, "UnsignedInt8": HeaderKind.UINT8, "UnsignedInt16": HeaderKind.UINT16,
    "UnsignedInt32": HeaderKind.UINT32, "UnsignedInt64": HeaderKind.UINT64, "UnsignedInt128": HeaderKind.UINT128,
    "Float32": HeaderKind.FLOAT32, "Float64": HeaderKind.FLOAT64,
}
_SDK_KINDS: dict[type, HeaderKind] | None = None
_INT64 = (-(2**63), 2**63 - 1)


def _sdk_kinds() -> dict[type, HeaderKind]:
    """SDK header class → kind (keys and values share the variant names)."""
    global _SDK_KINDS
    if _SDK_KINDS is None:
        import apache_iggy

        kinds: dict[type, HeaderKind] = {}
        for holder in (apache_iggy.HeaderValue, apache_iggy.HeaderKey):
            for name, kind in _KIND_NAMES.items():
                kinds[getattr(holder, name)] = kind
        _SDK_KINDS = kinds
    return _SDK_KINDS


def _typed(item: Any) -> tuple[HeaderKind, Any]:
    """(kind, plain value) of an SDK header key or value; plain scalars get the natural kind."""
    kind = _sdk_kinds().get(type(item))
    if kind is None:
        kind = _KIND_NAMES.get(type(item).__name__) if hasattr(item, "value") else None
    if kind is not None:
        value = item.value
        if kind is HeaderKind.RAW:
            return kind, bytes(value)
        if kind is HeaderKind.BOOL:
            return kind, bool(value)
        if kind in (HeaderKind.FLOAT32, HeaderKind.FLOAT64):
            return kind, float(value)
        if kind is HeaderKind.STRING:
            return kind, str(value)
        return kind, int(value)
    if isinstance(item, str):
        return HeaderKind.STRING, item
    if isinstance(item, (bytes, bytearray, memoryview)):
        return HeaderKind.RAW, bytes(item)
    if isinstance(item, bool):
        return HeaderKind.BOOL, item
    if isinstance(item, int):
        if _INT64[0] <= item <= _INT64[1]:
            return HeaderKind.INT64, item
        return (HeaderKind.UINT128 if item > 0 else HeaderKind.INT128), item
    if isinstance(item, float):
        return HeaderKind.FLOAT64, item
    raise PayloadError(f"unsupported header value {item!r}")


def header_key(key: Any) -> str:
    """A header key as the model's string (see the module docstring for non-string keys)."""
    kind, value = _typed(key)
    if kind is HeaderKind.STRING:
        return value
    if kind is HeaderKind.RAW:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    if kind is HeaderKind.BOOL:
        return "true" if value else "false"
    if kind in (HeaderKind.FLOAT32, HeaderKind.FLOAT64):
        from sinkbench.engine.encode import format_rust_float
        return format_rust_float(value, kind)
    return str(value)


def convert_headers(headers: Any) -> dict[str, HeaderValue] | None:
    """SDK user headers → the model's; None when there are none."""
    if not headers:
        return None
    out: dict[str, HeaderValue] = {}
    for key, value in headers.items():
        kind, plain = _typed(value)
        out[header_key(key)] = HeaderValue(kind, plain)
    return out


def decode_payload(data: bytes, schema: Schema) -> Any:
    """The payload as the sink sees it: JSON parsed, text decoded, bytes schemas as they are."""
    if schema is Schema.JSON:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise PayloadError(f"not valid JSON ({exc})") from None
    if schema is Schema.TEXT:
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadError(f"not valid UTF-8 text ({exc})") from None
    return bytes(data)


def convert_message(received: ReceivedMessage, schema: Schema) -> Message:
    """An SDK message as `sinkbench.model.Message`; raises PayloadError when the payload does not decode."""
    return Message(
        id=int(received.id()),
        offset=int(received.offset()),
        timestamp=int(received.timestamp()),
        payload=decode_payload(received.payload(), schema),
        origin_timestamp=int(received.origin_timestamp()),
        checksum=int(received.checksum()),
        headers=convert_headers(received.user_headers()),
        partition=int(received.partition_id()),
    )


# ---------------------------------------------------------------- the source


@dataclass
class _Topic:
    """One topic's consumer: its group membership and offsets per partition."""

    source_topic: SourceTopic
    member: GroupMember | None = None
    handed: dict[int, int] = field(default_factory=dict)     # partition → last offset polled (handed over or dropped)
    yielded: dict[int, int] = field(default_factory=dict)    # partition → last offset handed to the runtime
    acked: dict[int, int] = field(default_factory=dict)      # partition → last offset the sink finished
    stored: dict[int, int] = field(default_factory=dict)     # partition → last offset stored on the server
    last_poll: float = -1e9


class IggySource:
    """Messages from a live Iggy server, consumed in a consumer group as the connectors runtime does.

    Asynchronous: the runtime iterates it with `async for` (`__aiter__`). It
    connects when iterated; every call is bounded (see `Timeouts`). With
    `count` it ends after that many messages; without, when the run stops.
    """

    def __init__(self, connection: IggyConnection | str, *, stream: str, topics: Sequence[str],
                 consumer_group: str, schema: Schema | str = Schema.JSON, count: int | None = None,
                 batch_length: int = 1000, poll_interval: float = 0.005, offset_commit: str = "after_polling",
                 client_factory: ClientFactory | None = None, timeouts: Timeouts = Timeouts(),
                 where_file: str | None = None) -> None:
        if not isinstance(connection, IggyConnection):
            connection = parse_connection(connection, check_with_sdk=client_factory is None)
        self.connection = connection
        self.stream = stream
        self.topic_names = list(topics)
        self.consumer_group = consumer_group
        self.schema = Schema(schema)
        self.count = count
        self.batch_length = max(1, int(batch_length))
        self.poll_interval = max(0.0, float(poll_interval))
        self.after_consuming = str(offset_commit) == "after_consuming"
        self.timeouts = timeouts
        self._factory = client_factory
        self._where_file = where_file
        self._topics = {name: _Topic(SourceTopic(stream, name, self.schema)) for name in self.topic_names}
        self._acked: asyncio.Event | None = None   # created in the running loop (see _messages)
        self.polled = 0          # messages received from the server
        self.fed = 0             # handed to the runtime
        self.undecodable = 0     # dropped: payload not valid under the schema
        self.commits = 0         # offsets stored on the server (after_consuming)
        first = f", first {count:,}" if count is not None else ""
        self.name = (f"iggy {connection} {stream}/{','.join(self.topic_names)} "
                     f"(group {consumer_group}, {'after_consuming' if self.after_consuming else 'after_polling'}"
                     f"{first})")

    def topics(self) -> list[SourceTopic]:
        return [t.source_topic for t in self._topics.values()]

    def __iter__(self) -> Iterator[SourceMessage]:
        """Nothing: a live source is only read by polling, which is asynchronous (`__aiter__`).

        A bench whose sink never opened starts no consumer, so it counts what
        this yields as undelivered: nothing was read from the server.
        """
        return iter(())

    def __aiter__(self) -> AsyncIterator[SourceMessage]:
        return self._messages()

    def acknowledge(self, topic: SourceTopic, partition: int, offset: int) -> None:
        """The runtime's commit (after_consuming): every message up to `offset` has its final outcome.

        Called synchronously from the runtime; the offset is stored on the
        server by the polling loop before its next poll (and before it ends).
        """
        state = self._topics.get(topic.topic)
        if state is None or not self.after_consuming:
            return
        if offset > state.acked.get(partition, -1):
            state.acked[partition] = offset
        if self._acked is not None:
            self._acked.set()

    # -- internals -------------------------------------------------------------
    def _where(self, field_: str) -> Where:
        key = {"connection": "source.connection", "stream": "source.stream", "topic": "source.topics"}[field_]
        return Where(file=self._where_file, key=key)

    async def _open(self, session: IggySession) -> IggyClient:
        from apache_iggy import AutoCommit, PollingStrategy

        client = await session.open()
        for name, state in self._topics.items():
            await session.topic(self.stream, name)
            state.member = await session.call(
                client.consumer_group(self.consumer_group, self.stream, name,
                                      polling_strategy=PollingStrategy.Next(), batch_length=self.batch_length,
                                      auto_commit=AutoCommit.Disabled(),
                                      create_consumer_group_if_not_exists=True, auto_join_consumer_group=True),
                f"joining consumer group '{self.consumer_group}' of {self.stream}/{name}", field_="topic")
        log.info("iggy: connected to %s, consumer group %s on %s/%s", self.connection, self.consumer_group,
                 self.stream, ",".join(self.topic_names))
        return client

    def _rejoin(self, client: IggyClient, topic: str) -> Callable[[], Awaitable[None]]:
        return lambda: client.join_consumer_group(self.stream, topic, self.consumer_group)

    async def _store(self, session: IggySession, state: _Topic, client: IggyClient) -> None:
        """Store the offsets the runtime acknowledged since the last call."""
        for partition, offset in list(state.acked.items()):
            if offset > state.stored.get(partition, -1):
                member = state.member
                assert member is not None
                await session.retrying(lambda member=member, offset=offset, partition=partition:
                                       member.store_offset(offset, partition),
                                       f"storing offset {offset} of {self.stream}/{state.source_topic.topic} "
                                       f"partition {partition}", self._rejoin(client, state.source_topic.topic))
                state.stored[partition] = offset
                self.commits += 1

    def _settled(self) -> bool:
        """Every message handed over is finished and its offset stored on the server."""
        return all(t.stored.get(p, -1) >= o for t in self._topics.values() for p, o in t.yielded.items())

    async def _messages(self) -> AsyncIterator[SourceMessage]:
        from apache_iggy import Consumer, PollingStrategy

        self._acked = asyncio.Event()
        session = IggySession(self.connection, self._factory, self.timeouts, self._where)
        try:
            client = await self._open(session)
        except BaseException:
            if self._factory is None:
                await settle_sdk()
            raise
        group = Consumer.Group(self.consumer_group)
        remaining = self.count
        loop = asyncio.get_running_loop()
        broken = False
        try:
            while remaining is None or remaining > 0:
                for name, state in self._topics.items():
                    if self.after_consuming:
                        await self._store(session, state, client)
                    wait = state.last_poll + self.poll_interval - loop.time()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    state.last_poll = loop.time()
                    # Never poll more than is wanted: with auto_commit a polled message is committed.
                    want = self.batch_length if remaining is None else min(self.batch_length, remaining)
                    batch = await session.retrying(
                        lambda name=name, want=want: client.poll_messages(
                            self.stream, name, consumer=group, polling_strategy=PollingStrategy.Next(),
                            count=want, auto_commit=not self.after_consuming),
                        f"polling {self.stream}/{name}", self._rejoin(client, name))
                    self.polled += len(batch)
                    for received in batch:
                        partition, offset = int(received.partition_id()), int(received.offset())
                        if offset <= state.handed.get(partition, -1):
                            continue   # polled again before its commit (after_consuming): already handed over
                        state.handed[partition] = offset
                        try:
                            message = convert_message(received, self.schema)
                        except PayloadError as exc:
                            self.undecodable += 1
                            if self.undecodable == 1 or self.undecodable % 1000 == 0:
                                log.warning("iggy: dropped %d message(s) whose payload is not %s (as the connectors "
                                            "runtime drops them); latest: %s/%s partition %d offset %d: %s",
                                            self.undecodable, self.schema.value, self.stream, name, partition,
                                            offset, exc)
                            continue
                        state.yielded[partition] = offset
                        self.fed += 1
                        yield SourceMessage(state.source_topic, message, 0.0)
                        if remaining is not None:
                            remaining -= 1
                            if remaining == 0:
                                break
                    if remaining == 0:
                        break
                if self.poll_interval == 0:
                    await asyncio.sleep(0)   # let the runtime's consumers run between rounds
            if self.after_consuming:
                # Every message has been handed over: stay until the sink has finished them and their
                # offsets are stored (the run's timeout bounds this, as it bounds the runtime).
                while True:
                    for state in self._topics.values():
                        await self._store(session, state, client)
                    if self._settled():
                        break
                    self._acked.clear()
                    try:
                        async with asyncio.timeout(max(self.poll_interval, 0.05)):
                            await self._acked.wait()
                    except TimeoutError:
                        pass
        except (IggySourceError, IggyConnectionLost):
            broken = True
            raise
        finally:
            if self.after_consuming and not broken:
                await self._final_store(session)
            if self._factory is None:
                await settle_sdk()

    async def _final_store(self, session: IggySession) -> None:
        """Best effort when the run stops early: store what the sink finished, within a short bound."""
        limit = min(self.timeouts.request, 2.0)
        try:
            for state in self._topics.values():
                for partition, offset in list(state.acked.items()):
                    if offset > state.stored.get(partition, -1) and state.member is not None:
                        await session.call(state.member.store_offset(offset, partition), "storing the last offsets",
                                           timeout=limit)
                        state.stored[partition] = offset
                        self.commits += 1
        except (Exception, asyncio.CancelledError) as exc:
            log.warning("iggy: could not store the last offsets (the next run reads those messages again): %s", exc)
