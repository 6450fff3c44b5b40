"""What happened to each message and each attempt (docs/sink.md).

Every message handed to `consume()` ends in exactly one outcome. The sink
returns them per batch and keeps running counters; an optional observer sees
each attempt as it finishes (the bench's metrics and request log).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol


class Outcome(IntEnum):
    PENDING = 0
    DELIVERED = 1
    FAILED = 2
    SKIPPED = 3


@dataclass(slots=True)
class BatchResult:
    """Outcomes aligned with the batch's messages, plus the error `consume()` returned (Iggy's last error)."""

    outcomes: list[Outcome]
    ack_times: list[float | None]
    reasons: dict[int, str] = field(default_factory=dict)   # message index → why it failed or was skipped
    # message index → the skip's category ("oversize", "unencodable"): the runtime counts skipped
    # messages by category once each, however many polls hand a message to the sink again.
    skip_categories: dict[int, str] = field(default_factory=dict)
    error: str | None = None
    sent: set[int] = field(default_factory=set)             # indices of messages some request carried

    @property
    def ok(self) -> bool:
        return self.error is None

    def count(self, outcome: Outcome) -> int:
        return self.outcomes.count(outcome)


def partial_result(exc: BaseException) -> BatchResult | None:
    """The outcomes a consume() cut off by cancellation had already decided (None: it decided none).

    A cancelled call returns nothing, yet what it decided happened: a message the endpoint acknowledged
    was delivered. The sink leaves its BatchResult on the CancelledError, which travels unchanged up to
    the runtime awaiting consume() in the same task.
    """
    return getattr(exc, "sinkbench_batch_result", None)


def attach_partial_result(exc: BaseException, result: BatchResult) -> None:
    exc.sinkbench_batch_result = result  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP request the sink sent (health checks included)."""

    started: float          # clock.now() when it was sent
    latency: float          # seconds until the answer or the error
    method: str
    status: int | None      # None when the attempt got no answer
    error: str | None       # transport error kind (timeout, connect, reset, tls, protocol)
    attempt: int            # 0 for the first send of a body, n for its n-th retry
    messages: int           # messages in the body (0 for a health check)
    body_bytes: int
    health_check: bool = False
    retry_after: str | None = None
    index: int = -1         # the batch index of the body's first message (-1: health check)


class AttemptObserver(Protocol):
    def __call__(self, attempt: Attempt) -> None: ...


@dataclass
class SinkStats:
    """Counters kept by the sink. `send_attempts` and `errors` are Iggy's own close-log counters.

    The per-reason counters count message-attempts: a message handed to `consume()` once is one
    attempt, however many HTTP retries that call makes; a message polled again (after_consuming)
    is a new attempt each time it is handed over.
    """

    send_attempts: int = 0
    requests: int = 0
    retries: int = 0
    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    bytes: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    failure_reasons: Counter[str] = field(default_factory=Counter)   # reason → failed message-attempts
    skip_reasons: Counter[str] = field(default_factory=Counter)      # category → skipped message-attempts
    last_success_timestamp: int = 0

    @property
    def errors(self) -> int:
        # Iggy counts one error per failed or skipped message, abandoned ones included.
        return self.failed + self.skipped

    @property
    def handled(self) -> int:
        return self.delivered + self.failed + self.skipped
