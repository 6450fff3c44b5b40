"""Which messages fed to an external sink reached the endpoint, and when first (docs/external.md).

The bench knows what it fed and when; the endpoint's ledger knows what it
accepted, by identity (docs/endpoint.md). Each fed message gets the identity
the endpoint will know it by — computed by the endpoint's own recogniser, from
what the feed handed the sink:

- `identify = "iggy"` with the Iggy feed: the address the server gave the
  message (stream, topic, partition, offset), as the connector's envelope
  carries it;
- `identify = "token"`: the first match of the token pattern in the line or
  payload (a message should carry one token);
- otherwise (`"hash"`, or `"iggy"` with lines): the hash of the line, as the
  endpoint hashes a bare NDJSON line or a JSON array element — so a sink that
  forwards each line unchanged is judged message by message.

First acceptances are found by asking the ledger about the messages not yet
seen accepted, every poll (`question` → `learn`): a message's first
acceptance is dated at the poll that first saw it, so `latency.delivery` is
an upper bound, late by at most one poll interval. At the end one question
over every fed message (`final_question` → `settle`) gives delivered and
duplicates: an identity fed `s` times and accepted `a` times delivered
`min(a, s)` messages and `max(0, a - s)` duplicates; addressed messages'
duplicates are the ledger's own count.

Memory: one count per distinct identity fed, plus the feed times of the
messages not yet seen accepted.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

from sinkbench.endpoint.client import LedgerAnswer
from sinkbench.endpoint.ledger import Recognizer
from sinkbench.feed.base import Fed


class Identify:
    """The identity the endpoint will know a fed message by (None: it cannot recognise it)."""

    def __init__(self, settings) -> None:   # EndpointSettings
        self.mode = getattr(settings, "identify", "iggy")
        self._recognizer = Recognizer.of(settings)

    def __call__(self, fed: Fed) -> int | None:
        r = self._recognizer
        if self.mode == "token":
            found = r.tokens(fed.data)
            return found[0] if found else None
        if self.mode == "iggy" and fed.address is not None:
            return r.address(*fed.address)
        found = r.identities("application/x-ndjson", fed.data + b"\n")
        return found[0] if len(found) == 1 else None


@dataclass(frozen=True)
class Learned:
    delivered: int                  # messages newly seen accepted
    latencies_ms: list[float]       # feed → first acceptance, one per newly delivered message


class Arrivals:
    """Fed messages by identity, and which of them the endpoint was seen to accept."""

    def __init__(self) -> None:
        self._fed: Counter[int] = Counter()                 # identity → messages fed
        self._waiting: dict[int, deque[float]] = {}         # identity → feed times of messages not yet seen accepted
        self._seen: dict[int, int] = {}                     # identity → acceptances seen (at most its messages)
        self.fed_count = 0
        self.delivered = 0
        self.unidentified = 0      # fed messages the endpoint cannot recognise (no token in them, an empty line)

    def fed(self, identity: int | None, at: float) -> None:
        self.fed_count += 1
        if identity is None:
            self.unidentified += 1
            return
        self._fed[identity] += 1
        self._waiting.setdefault(identity, deque()).append(at)

    @property
    def waiting(self) -> int:
        """Fed messages not yet seen accepted (the external sink's backlog)."""
        return self.fed_count - self.delivered

    def question(self) -> list[int]:
        """The identities to ask the ledger about: those with messages not yet seen accepted."""
        return list(self._waiting)

    def learn(self, identities: list[int], accepted: list[int], at: float) -> Learned:
        """The ledger's acceptance counts for `identities` (asked at or before `at`)."""
        latencies: list[float] = []
        for identity, count in zip(identities, accepted):
            seen = self._seen.get(identity, 0)
            waiting = self._waiting.get(identity)
            if count <= seen or waiting is None:
                continue
            for _ in range(min(count - seen, len(waiting))):
                latencies.append((at - waiting.popleft()) * 1000.0)
            self._seen[identity] = self._fed[identity] - len(waiting)
            if not waiting:
                del self._waiting[identity]
        self.delivered += len(latencies)
        return Learned(len(latencies), latencies)

    def final_question(self) -> list[int]:
        return list(self._fed)

    def settle(self, identities: list[int], answer: LedgerAnswer) -> tuple[int, int]:
        """(delivered, duplicates) from the ledger's answer about every fed identity."""
        delivered, duplicates = 0, 0
        for identity, accepted in zip(identities, answer.accepted):
            sent = self._fed[identity]
            delivered += min(accepted, sent)
            duplicates += max(0, accepted - sent)
        return delivered, duplicates + answer.address_duplicates
