"""Counting during a run: one object fed by the engine's attempts and the runtime's batches.

Counting is cheap and happens per event; anything that renders (the progress
line, the screen) pulls a `Snapshot` a few times a second instead.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from sinkbench.clock import Clock
from sinkbench.engine.accounting import Attempt, BatchResult, Outcome
from sinkbench.metrics.histogram import Histogram
from sinkbench.metrics.series import LatencySeries
from sinkbench.metrics.timeline import Timeline
from sinkbench.run.drain import LagTrace
from sinkbench.runtime import REDELIVERY

REQUEST_LOG_SIZE = 200


@dataclass(frozen=True)
class Snapshot:
    """An immutable view of a run in progress, for the progress line and the screen."""

    elapsed: float
    total: int | None
    fed: int
    delivered: int
    failed: int
    skipped: int
    requests: int
    retries: int
    errors: int
    in_flight: int
    rate: float                 # delivered per second over the last full second
    request_rate: float
    paused: bool
    status_codes: dict[str, int]
    latency_request: dict[str, Any]
    latency_delivery: dict[str, Any]
    timeline: tuple[dict[str, Any], ...]
    recent_requests: tuple[Attempt, ...]
    # Messages the endpoint never accepted / accepted again, counted per settled message (run/loss.py):
    # they never go down during a run and end as the report's. None: not known (a real URL).
    lost: int | None = None
    duplicates: int | None = None

    def progress(self) -> dict[str, Any]:
        out = {"elapsed": self.elapsed, "delivered": self.delivered, "total": self.total, "rate": self.rate,
               "retries": self.retries, "errors": self.errors, "in_flight": self.in_flight,
               "requests": self.requests}
        if self.lost is not None:
            out["lost"] = self.lost
            out["duplicates"] = self.duplicates
        return out


class RunMetrics:
    def __init__(self, clock: Clock, start: float) -> None:
        self.clock = clock
        self.start = start
        self.request_latency = Histogram()
        self.delivery_latency = Histogram()
        self.timeline = Timeline(start)
        self.series = LatencySeries(start)   # latency and status codes per second, for the HTML report
        self.status_codes: Counter[str] = Counter()
        self.requests = 0
        self.retries = 0
        self.bytes = 0
        self.delivered = 0      # per consume() outcome, re-deliveries included
        self.errors = 0
        self.in_flight = 0
        self.recent: deque[Attempt] = deque(maxlen=REQUEST_LOG_SIZE)
        self.lag = LagTrace()   # the consumer lag, for `drain`

    # -- the engine's observer ----------------------------------------------
    def on_attempt(self, a: Attempt) -> None:
        self.requests += 1
        self.bytes += a.body_bytes
        # A retry repeats a body already sent: the sink's own retry, or a re-polled batch's request.
        before = REDELIVERY.get()
        retry = bool(a.attempt) or (before is not None and 0 <= a.index < len(before) and before[a.index])
        if retry:
            self.retries += 1
        status = str(a.status) if a.status is not None else a.error or "error"
        self.status_codes[status] += 1
        self.request_latency.record(a.latency * 1000.0)
        self.timeline.add(a.started + a.latency, requests=1, retries=1 if retry else 0)
        self.series.request(a.started + a.latency, a.latency * 1000.0, status)
        self.recent.append(a)

    # -- the runtime's observer ---------------------------------------------
    def batch_started(self, n: int) -> None:
        self.in_flight += n
        self.timeline.sample_in_flight(self.clock.now(), self.in_flight)

    def batch_finished(self, result: BatchResult, available: list[float]) -> None:
        outcomes = result.outcomes
        n = len(outcomes)
        self.in_flight -= n
        delivered = outcomes.count(Outcome.DELIVERED)
        errors = n - delivered
        latencies: list[float]
        if delivered == n and result.ack_times[0] is not None and result.ack_times[0] == result.ack_times[-1]:
            # A batch mode: one acknowledgement for all. The runtime makes messages available a block at
            # a time, so a batch holds a few distinct availability times: each is recorded once, weighted
            # by its messages, rather than a logarithm per message.
            ack = result.ack_times[0] * 1000.0
            runs = Counter(available)
            if len(runs) * 4 <= n:
                weighted = [(ack - a * 1000.0, k) for a, k in runs.items()]
                record = self.delivery_latency.record_many
                for ms, k in weighted:
                    record(ms, k)
                self.series.delivery_weighted(self.clock.now(), weighted)
                latencies = []
            else:
                latencies = [ack - a * 1000.0 for a in available]
        elif delivered:
            latencies = [(ack - a) * 1000.0 for o, ack, a in zip(outcomes, result.ack_times, available)
                         if o is Outcome.DELIVERED and ack is not None]
        else:
            latencies = []
        if latencies:
            self.delivery_latency.extend(latencies)
            self.series.delivery(self.clock.now(), latencies)
        self.delivered += delivered
        self.errors += errors
        self.timeline.add(self.clock.now(), delivered=delivered, errors=errors, in_flight=self.in_flight)

    def acknowledged(self, now: float, lag: int) -> None:
        self.lag.sample(now - self.start, lag)

    def mark(self, label: str) -> None:
        self.timeline.mark(self.clock.now(), label)

    def rates(self) -> tuple[float, float]:
        rows = self.timeline.rows(last=2)
        if len(rows) >= 2:
            row = rows[-2]
            return float(row["delivered"]), float(row["requests"])
        elapsed = max(self.clock.now() - self.start, 1e-9)
        return self.delivered / elapsed, self.requests / elapsed
