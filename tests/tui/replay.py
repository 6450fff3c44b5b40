"""Fabricated runs for exact pictures: snapshots made by a tiny deterministic simulation, folded into
frames by the session's own FrameBuilder (the render path of a live run, minus the timing).

`healthy()` is 12 s of 500 msg/s in batches of 100, every answer 200. `outage()` is the same run
taken down (503) by the user at 8 s: from then on every attempt gets 503, each batch retries three
times and fails, and the request log and the timeline carry the change. `versus()` pairs that
outage, as side B (at most once: failed batches are lost), with side A keeping every batch (at
least once: a failed batch is polled again, so nothing fails and nothing is lost).
"""

from __future__ import annotations

from collections import deque

from sinkbench.endpoint.settings import settings_to_dict
from sinkbench.engine.accounting import Attempt
from sinkbench.run.metrics import Snapshot
from sinkbench.runtime import OffsetCommit
from sinkbench.tui.faults import LiveFaults, describe_endpoint, endpoint_document
from sinkbench.tui.frames import Frame, LogRow
from sinkbench.tui.session import Session
from sinkbench.tui.versus import VersusFrame, VersusSession, pair_frames

BATCH = 100
BATCH_EVERY = 0.2          # seconds between two batches: 500 msg/s
LATENCY = 0.004
DOWN_AT = 8.0
DOWN_LABEL = "endpoint: take down (503)"


class _Sim:
    def __init__(self, down_at: float | None, keep: bool = False) -> None:
        self.down_at = down_at
        self.keep = keep         # at least once: a batch whose retries ran out is polled again, never failed
        self.t = 0.0
        self.fed = self.delivered = self.failed = self.requests = self.retries = self.errors = 0
        self.codes: dict[str, int] = {}
        self.rows: dict[int, dict] = {}
        self.recent: deque[Attempt] = deque(maxlen=200)
        self.next_batch = 0.0

    def row(self, t: float) -> dict:
        s = int(t)
        return self.rows.setdefault(s, {"t": s, "delivered": 0, "requests": 0, "retries": 0, "errors": 0,
                                         "in_flight": BATCH})

    def attempt(self, t: float, status: int, n: int) -> None:
        self.recent.append(Attempt(started=t, latency=LATENCY * (1 + n % 3), method="POST", status=status,
                                   error=None, attempt=n, messages=BATCH, body_bytes=44_520, index=0))
        self.requests += 1
        self.retries += 1 if n else 0
        self.codes[str(status)] = self.codes.get(str(status), 0) + 1
        r = self.row(t)
        r["requests"] += 1
        r["retries"] += 1 if n else 0

    def advance(self, until: float) -> None:
        while self.next_batch <= until:
            t = round(self.next_batch, 3)
            self.fed += BATCH
            if self.down_at is not None and t >= self.down_at:
                for n in range(4):   # max_retries = 3: four attempts, then the batch fails
                    self.attempt(round(t + n * 0.05, 3), 503, n)
                self.errors += BATCH
                self.row(t)["errors"] += BATCH
                if not self.keep:
                    self.failed += BATCH
            else:
                self.attempt(t, 200, 0)
                self.delivered += BATCH
                self.row(t)["delivered"] += BATCH
            self.next_batch = round(self.next_batch + BATCH_EVERY, 3)
        self.t = until

    def snapshot(self, paused: bool = False) -> Snapshot:
        last = int(self.t)
        rows = []
        for s in range(max(0, last - 59), last + 1):
            row = dict(self.row(s))
            if self.down_at is not None and s == int(self.down_at):
                row["marks"] = [DOWN_LABEL]
            rows.append(row)
        prev = rows[-2] if len(rows) >= 2 else rows[-1]
        return Snapshot(
            elapsed=self.t, total=None, fed=self.fed, delivered=self.delivered, failed=self.failed, skipped=0,
            requests=self.requests, retries=self.retries, errors=self.errors, in_flight=BATCH, rate=float(prev["delivered"]),
            request_rate=float(prev["requests"]), paused=paused, status_codes=dict(self.codes),
            latency_request={"count": self.requests, "min": 3.9, "p50": 4.1, "p90": 7.9, "p95": 8.2, "p99": 11.8,
                             "max": 12.3, "avg": 5.0},
            latency_delivery={"count": self.delivered, "min": 4.0, "p50": 112.0, "p90": 187.0, "p95": 196.0,
                              "p99": 204.0, "max": 211.0, "avg": 120.0},
            timeline=tuple(rows), recent_requests=tuple(self.recent))


def frames(session: Session, *, down: bool, until: float = 12.0, keep: bool = False) -> list[Frame]:
    """Frames every half second of a fabricated run, as the session's builder folds them."""
    sim = _Sim(DOWN_AT if down else None, keep)
    builder = session.builder
    out = []
    t = 0.5
    live = LiveFaults()
    base = settings_to_dict(session.scenario.endpoint)
    while t <= until + 1e-9:
        if down and t >= DOWN_AT and live.down is None:
            sim.advance(DOWN_AT - 0.001)
            live = LiveFaults(down="503")
            builder.event(DOWN_LABEL, t=DOWN_AT)
        sim.advance(t)
        doc = endpoint_document(base, live)
        out.append(builder.update(
            sim.snapshot(), state="running", origin=0.0, lost=sim.failed, duplicates=0,
            endpoint_lines=describe_endpoint(doc, len(live.rules)), sink=session.sink_line(),
            live_faults=live.labels()))
        t = round(t + 0.5, 3)
    return out


def crowded(session: Session) -> list[Frame]:
    """The outage's last frame made as wide as a long run makes it: eight-digit counts, latencies from
    microseconds to seconds (the figures a newcomer saw run together), every break at once, nine status
    codes, long marks and a long event in the log."""
    import dataclasses

    last = frames(session, down=True)[-1]
    builder = session.builder
    live = LiveFaults(down="503", too_many=2, error_rate=0.3, latency=0.2, rate_limit=20)
    labels = ["endpoint: take down (503)", "endpoint: back to normal (the scenario's settings)",
              "sink: max_retries 3→6, retry_delay 1s→250ms, batch_mode ndjson→json_array; "
              "runtime: batch_length 100→50, poll_interval 5ms→20ms", "endpoint: error rate 30% (500)",
              "endpoint: 429 with Retry-After 2s", "endpoint: latency 200ms", "endpoint: rate limit 20/s"]
    snap = dataclasses.replace(
        last.snapshot, fed=98_765_432, delivered=87_654_321, failed=12_345_678, skipped=1_234_567,
        requests=9_876_543, retries=8_765_432, errors=12_345_678, in_flight=100_000, rate=123_456.0,
        request_rate=12_345.0, total=None,
        status_codes={"200": 8_123_456, "429": 654_321, "500": 543_210, "502": 1_234, "503": 432_100, "504": 321,
                      "reset": 4_321, "timeout": 321, "connect": 21},
        latency_request={"count": 9_876_543, "min": 0.2, "p50": 4.46, "p90": 4.93, "p95": 5.1, "p99": 5.32,
                         "max": 5.32, "avg": 4.5},
        latency_delivery={"count": 87_654_321, "min": 0.412, "p50": 8.63, "p90": 912.0, "p95": 2_400.0,
                          "p99": 16_700.0, "max": 16_700.0, "avg": 800.0})
    doc = endpoint_document(settings_to_dict(session.scenario.endpoint), live)
    frame = builder.update(snap, state="running", lost=11_111_111, duplicates=2_222_222,
                           endpoint_lines=describe_endpoint(doc, len(live.rules)), sink=session.sink_line(),
                           live_faults=live.labels())
    # The changes come in one burst after the last request, so the log shows them on top, newest first.
    events = tuple(LogRow(t=round(12.16 + i / 100, 2), kind="event", text=label) for i, label in enumerate(labels))
    return [dataclasses.replace(frame, marks=tuple((12, label) for label in labels), log=events[::-1] + frame.log)]


def versus(vs: VersusSession) -> list[VersusFrame]:
    """Both sides through the same outage: a side at least once keeps every batch, a side at most once
    loses the failed ones (its last frame)."""
    a, b = (frames(side, down=True, keep=side.runtime.offset_commit is OffsetCommit.AFTER_CONSUMING)
            for side in vs.sides)
    return [pair_frames(fa, fb, vs.titles, vs.focus, vs.opened.shown) for fa, fb in zip(a, b)][-1:]
