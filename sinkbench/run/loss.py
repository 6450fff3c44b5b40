"""Lost and duplicated messages, counted message by message against the endpoint's ledger (docs/reports.md).

A message is lost when the endpoint never accepted it. The bench knows every
message it fed and when each got its final outcome (delivered, failed,
skipped, or undelivered when the run stopped); it asks the endpoint's ledger
about exactly those (`POST /__sinkbench/ledger`), never about messages still
in flight. A message's final outcome comes after the endpoint's decision on
it, so the answer about a settled message does not change afterwards, and
the live figures, which only ever add settled messages, never go down.

How the endpoint knows a message decides how it is asked about:

- by its Iggy address (an envelope: `include_metadata`, any mode but `raw`):
  settled messages are kept as runs of offsets per partition, and the
  question is those runs — a handful however many messages they hold;
- by a hash of its bytes (a bare payload, or any message under the
  endpoint's `identify = "hash"`), or by the tokens in it (`identify =
  "token"`: a hash of each token): equal payloads are one identity,
  so the bench counts per identity how many messages it sent and the endpoint
  how many it accepted (a multiset). For an identity sent `s` times and
  accepted `a` times, `a - s` acceptances beyond `s` are duplicates, and a
  duplicate proven during the run (more acceptances than messages of that
  identity fed at the time) stays counted; lost is `s - a + duplicates`. So
  a stream of repeated heartbeats delivered once each shows none lost and
  none duplicated, and one resent shows one duplicate. What a multiset cannot
  tell apart — one copy lost while another of the same payload arrived twice,
  the duplicate unseen at the time — counts as neither.

Live, the figures are lower bounds that only grow (each identity's own
figures are kept at their highest); at the end one full question over every
message gives the report's figures, which the live ones then take. They agree
unless the endpoint accepted a message after the bench had settled it (a
request the sink gave up on that still got through), which the end counts
as delivered after all.

Memory: addressed messages are runs of offsets (a handful per partition);
bare ones cost two counts per distinct payload (a few hundred bytes), plus
one entry per bare message between its feed and its outcome (bounded by the
runtime's buffer).

A message is identified as the sink settings in force when it was fed (bare)
or settled (addressed) send it; changing `include_metadata` or `batch_mode`
live identifies the messages around the change by one of the two. The
endpoint's `identify` and `token` are the scenario's: changing them live
through the admin API makes the endpoint count the messages after the change
by other identities than the bench asks about.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sinkbench.config.settings import BatchMode, SinkSettings
from sinkbench.endpoint.client import AddressRuns, LedgerAnswer
from sinkbench.endpoint.intervals import IntervalSet
from sinkbench.endpoint.ledger import Recognizer, usable_address
from sinkbench.endpoint.settings import EndpointSettings
from sinkbench.engine.encode import EncodeError, Encoder
from sinkbench.model import BatchMetadata, Message
from sinkbench.sources.base import SourceTopic

Partition = tuple[str, str, int]   # stream, topic, partition


class Identify:
    """How the endpoint (with `endpoint`'s `identify` and `token`) will know the messages one sink's settings send."""

    def __init__(self, settings: SinkSettings, endpoint: EndpointSettings | None = None) -> None:
        mode = settings.batch_mode
        endpoint = endpoint or EndpointSettings()
        self.addressed = settings.include_metadata and mode is not BatchMode.RAW and endpoint.identify == "iggy"
        self._encoder = Encoder(settings)
        # The endpoint's own recogniser on the body the sink would send: tokens and hashes come out the same.
        self._recognizer = Recognizer.of(endpoint)
        self._content_type = mode.content_type
        # A message alone in a body of its mode: the endpoint reads a batch body one message at a time.
        self._before, self._after = {BatchMode.NDJSON: (b"", b"\n"), BatchMode.JSON_ARRAY: (b"[", b"]")}.get(
            mode, (b"", b""))

    def by_address(self, message: Message) -> bool:
        return self.addressed and usable_address(message.partition, message.offset)

    def identities(self, topic: SourceTopic, message: Message) -> tuple[int, ...]:
        """The ledger's identities for `message` sent alone, by the endpoint's own recogniser; () when no body
        can carry it (it cannot be encoded) or the endpoint would see no message in it."""
        meta = BatchMetadata(message.partition, message.offset, topic.schema)
        try:
            body = self._encoder.message_body(message, topic.metadata, meta)
        except EncodeError:
            return ()
        return tuple(self._recognizer.identities(self._content_type, self._before + body + self._after))


@dataclass(frozen=True)
class Question:
    """What to ask the ledger, with what the bench knew when it asked."""

    addresses: list[AddressRuns]
    address_count: int              # messages at those addresses
    identities: list[int]
    settled: list[int]              # per identity: its messages settled when the question was made


def _runs(offsets: list[int]) -> list[tuple[int, int]]:
    """Sorted offsets as half-open runs of consecutive ones."""
    offsets.sort()
    start, end = offsets[0], offsets[-1] + 1
    if end - start == len(offsets) and offsets == list(range(start, end)):
        return [(start, end)]     # the usual batch: one partition's consecutive offsets
    out: list[tuple[int, int]] = []
    start = prev = offsets[0]
    for o in offsets[1:]:
        if o != prev + 1 and o != prev:
            out.append((start, prev + 1))
            start = o
        prev = o
    out.append((start, prev + 1))
    return out


class LossAccount:
    """Follows each message from the source to its final outcome and counts the lost and duplicated ones.

    The runtime calls `fed` and `settled` (it is its `MessageAccount`); the bench asks the ledger the
    `question()`s and hands the answers back to `learn` (live) or `settle` (at the end).
    """

    def __init__(self, settings: SinkSettings, endpoint: EndpointSettings | None = None) -> None:
        self._endpoint = endpoint
        self._identify = Identify(settings, endpoint)
        self._pending: dict[int, tuple[int, ...]] = {}   # id(message) → identities, bare messages fed, not settled
        self._fed: Counter[int] = Counter()              # identity → messages fed (bare)
        self._settled_ids: Counter[int] = Counter()      # identity → messages settled (bare)
        self._addressed: dict[Partition, IntervalSet] = {}   # every settled message known by its address
        self._new: dict[Partition, IntervalSet] = {}         # ... settled since the last question
        self._changed: set[int] = set()                      # identities settled since the last question
        self._unidentified = 0       # settled messages the endpoint cannot recognise: never accepted
        self.settled_count = 0
        # The live figures, each part kept at its highest.
        self._address_lost = 0
        self._address_duplicates = 0
        self._lost_by_id: dict[int, int] = {}
        self._dups_by_id: dict[int, int] = {}
        self._hashed_lost = 0
        self._hashed_duplicates = 0
        self._final: tuple[int, int] | None = None

    def use(self, settings: SinkSettings) -> None:
        """Live tuning: messages from now on are identified as `settings` send them."""
        self._identify = Identify(settings, self._endpoint)

    # -- the runtime's MessageAccount ------------------------------------------------------
    def fed(self, topic: SourceTopic, messages: list[Message]) -> None:
        if self._identify.addressed:
            return      # known by its address, which needs nothing until it settles
        identities = self._identify.identities
        for m in messages:
            self._pending[id(m)] = self._count_fed(identities(topic, m))

    def _count_fed(self, ids: tuple[int, ...]) -> tuple[int, ...]:
        for h in ids:
            self._fed[h] += 1
        return ids

    def settled(self, topic: SourceTopic, messages: list[Message]) -> None:
        self.settled_count += len(messages)
        identify = self._identify
        if not self._pending and identify.addressed and self._one_partition(topic, messages):
            return
        offsets: dict[int, list[int]] = {}
        for m in messages:
            ids = self._pending.pop(id(m), None)
            if ids is None:
                if identify.by_address(m):
                    offsets.setdefault(m.partition, []).append(m.offset)
                    continue
                ids = self._count_fed(identify.identities(topic, m))   # fed while messages went by address
            if not ids:
                self._unidentified += 1
            for h in ids:
                self._settled_ids[h] += 1
                self._changed.add(h)
        for partition, offs in offsets.items():
            self._add_offsets(topic, partition, offs)

    def _one_partition(self, topic: SourceTopic, messages: list[Message]) -> bool:
        """The usual batch (one partition's messages, by address) in a few whole-list steps; False: not one."""
        partitions = {m.partition for m in messages}
        if len(partitions) != 1:
            return False
        offsets = [m.offset for m in messages]
        partition = partitions.pop()
        if not (usable_address(partition, min(offsets)) and usable_address(partition, max(offsets))):
            return False
        self._add_offsets(topic, partition, offsets)
        return True

    def _add_offsets(self, topic: SourceTopic, partition: int, offsets: list[int]) -> None:
        key = (topic.stream, topic.topic, partition)
        every = self._addressed.setdefault(key, IntervalSet())
        new = self._new.setdefault(key, IntervalSet())
        for a, b in _runs(offsets):
            every.add_range(a, b)
            new.add_range(a, b)

    # -- live --------------------------------------------------------------------------------
    @property
    def lost(self) -> int:
        if self._final is not None:
            return self._final[0]
        return self._address_lost + self._hashed_lost + self._unidentified

    @property
    def duplicates(self) -> int:
        if self._final is not None:
            return self._final[1]
        return self._address_duplicates + self._hashed_duplicates

    def question(self) -> Question:
        """The messages settled since the last question (taking them: ask, then `learn` the answer)."""
        new, self._new = self._new, {}
        changed, self._changed = list(self._changed), set()
        return Question(*_addresses(new), changed, [self._settled_ids[h] for h in changed])

    def forget(self, q: Question) -> None:
        """A question that got no answer: its messages are asked about again next time."""
        for stream, topic, partition, runs in q.addresses:
            new = self._new.setdefault((stream, topic, partition), IntervalSet())
            for a, b in runs:
                new.add_range(a, b)
        self._changed.update(q.identities)

    def learn(self, q: Question, answer: LedgerAnswer) -> None:
        """A live answer: the figures grow by what it proves."""
        self._address_lost += q.address_count - answer.held
        self._address_duplicates = max(self._address_duplicates, answer.address_duplicates)
        for h, settled, accepted in zip(q.identities, q.settled, answer.accepted):
            # Fed counts read now, after the answer: more acceptances than messages fed by now is a duplicate.
            dup = max(self._dups_by_id.get(h, 0), accepted - self._fed[h])
            lost = max(self._lost_by_id.get(h, 0), settled - accepted + dup)
            self._hashed_duplicates += dup - self._dups_by_id.get(h, 0)
            self._hashed_lost += lost - self._lost_by_id.get(h, 0)
            if dup:
                self._dups_by_id[h] = dup
            if lost:
                self._lost_by_id[h] = lost

    # -- the end -------------------------------------------------------------------------------
    def full_question(self) -> Question:
        """Every settled message (call once every message is settled)."""
        ids = list(self._fed)
        return Question(*_addresses(self._addressed), ids, [self._fed[h] for h in ids])

    def settle(self, q: Question, answer: LedgerAnswer, total: int) -> tuple[int, int]:
        """The report's lost and duplicates from the full question's answer; the live figures become these.

        `total`: the messages of the run, some perhaps never fed (a timeout, a sink that never opened):
        those were never sent, so never accepted.
        """
        lost = q.address_count - answer.held + self._unidentified + max(0, total - self.settled_count)
        duplicates = answer.address_duplicates
        for h, sent, accepted in zip(q.identities, q.settled, answer.accepted):
            dup = max(self._dups_by_id.get(h, 0), accepted - sent, 0)
            lost += sent - accepted + dup
            duplicates += dup
        self._final = (lost, duplicates)
        return self._final


def _addresses(by_partition: dict[Partition, IntervalSet]) -> tuple[list[AddressRuns], int]:
    out: list[AddressRuns] = []
    count = 0
    for (stream, topic, partition), runs in by_partition.items():
        out.append((stream, topic, partition, runs.pairs()))
        count += len(runs)
    return out, count
