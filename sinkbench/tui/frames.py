"""What the screen shows, as immutable frames built from the bench's snapshots.

The bench counts per event; the session pulls a `Snapshot` a few times a
second and a `FrameBuilder` folds it into a `Frame`: the snapshot itself plus
what only accumulates across snapshots (the request log with the session's own
events, status codes per second, the timeline's marks) and what the session
knows besides (lost and duplicates from the endpoint's ledger, the endpoint's
settings, the sink's). Panes
render a frame and nothing else, so tests can build frames from fabricated
snapshots and get exact pictures.

No Textual here.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from sinkbench.run.metrics import Snapshot

LOG_SIZE = 200          # rows kept in the request log (newest first)
STATUS_SECONDS = 60     # seconds of status-code history
MARKS_KEPT = 20


@dataclass(frozen=True, slots=True)
class LogRow:
    """One line of the request log: an HTTP attempt, or an event of the session (a fault, a new setting)."""

    t: float                    # seconds since the run's start
    kind: str                   # "request" | "event"
    method: str = ""
    outcome: str = ""           # "200", "503", or the transport error ("reset", "timeout", ...)
    attempt: int = 0            # 0: first send of a body; n: its n-th retry
    messages: int = 0
    body_bytes: int = 0
    latency: float = 0.0        # seconds
    health_check: bool = False
    text: str = ""              # the event's label


@dataclass(frozen=True, slots=True)
class StatusSeries:
    """One status code (or transport error): its total and its count in each of the last seconds."""

    code: str
    total: int
    per_second: tuple[int, ...]


@dataclass(frozen=True)
class Frame:
    """Everything the dashboard shows at one moment."""

    scenario: str
    state: str                                  # idle | starting | running | paused | finished | stopped | failed
    detail: str = ""                            # the outcome at the end, or why it failed
    snapshot: Snapshot | None = None
    lost: int | None = None                     # from the endpoint's ledger; None with a real URL
    duplicates: int | None = None
    status: tuple[StatusSeries, ...] = ()
    log: tuple[LogRow, ...] = ()                # newest first
    marks: tuple[tuple[int, str], ...] = ()     # (second, label), oldest first
    endpoint: tuple[tuple[str, str], ...] = ()  # (style, text) lines describing the endpoint now
    sink: str = ""                              # the sink's settings in one line
    live_faults: tuple[str, ...] = ()           # the session's own breaks, for the top bar


@dataclass
class FrameBuilder:
    """Folds successive snapshots of one run into frames."""

    scenario: str
    log: deque[LogRow] = field(default_factory=lambda: deque(maxlen=LOG_SIZE))
    requests_seen: int = 0
    _last_codes: dict[str, int] = field(default_factory=dict)
    _per_second: dict[str, dict[int, int]] = field(default_factory=dict)
    _marks: list[tuple[int, str]] = field(default_factory=list)
    _marks_seen: dict[int, int] = field(default_factory=dict)
    _second: int = 0
    _elapsed: float = 0.0

    def event(self, label: str, t: float | None = None) -> None:
        """A line of the session's own in the request log (shown at once, newest first)."""
        self.log.appendleft(LogRow(t=self._elapsed if t is None else t, kind="event", text=label))

    def update(self, snap: Snapshot | None, *, state: str, origin: float = 0.0, detail: str = "",
               lost: int | None = None, duplicates: int | None = None,
               endpoint_lines: tuple[tuple[str, str], ...] = (), sink: str = "",
               live_faults: tuple[str, ...] = ()) -> Frame:
        """The next frame. `origin`: the run's start on the engine's clock (where attempts' `started` are)."""
        if snap is not None:
            self._fold(snap, origin)
        return Frame(scenario=self.scenario, state=state, detail=detail, snapshot=snap, lost=lost,
                     duplicates=duplicates, status=self._status(), log=tuple(self.log), marks=tuple(self._marks),
                     endpoint=endpoint_lines, sink=sink, live_faults=live_faults)

    # -- folding --------------------------------------------------------------
    def _fold(self, snap: Snapshot, origin: float) -> None:
        self._elapsed = snap.elapsed
        second = self._second = int(snap.elapsed)
        new = snap.requests - self.requests_seen
        if new > 0:
            recent = snap.recent_requests
            for a in recent[-min(new, len(recent)):]:
                self.log.appendleft(LogRow(
                    t=max(0.0, a.started - origin), kind="request",
                    method=a.method, outcome=str(a.status) if a.status is not None else (a.error or "error"),
                    attempt=a.attempt, messages=a.messages, body_bytes=a.body_bytes, latency=a.latency,
                    health_check=a.health_check))
        self.requests_seen = snap.requests
        for code, total in snap.status_codes.items():
            delta = total - self._last_codes.get(code, 0)
            if delta > 0:
                bucket = self._per_second.setdefault(code, {})
                bucket[second] = bucket.get(second, 0) + delta
        self._last_codes = dict(snap.status_codes)
        oldest = second - STATUS_SECONDS + 1
        for bucket in self._per_second.values():
            for s in [s for s in bucket if s < oldest]:
                del bucket[s]
        for row in snap.timeline:
            labels = row.get("marks")
            if not labels:
                continue
            t = int(row["t"])
            seen = self._marks_seen.get(t, 0)
            for label in labels[seen:]:
                self._marks.append((t, label))
            self._marks_seen[t] = len(labels)
        del self._marks[:-MARKS_KEPT]

    def _status(self) -> tuple[StatusSeries, ...]:
        second = self._second
        window = range(second - STATUS_SECONDS + 1, second + 1)
        out = []
        for code in sorted(self._last_codes, key=_code_order):
            bucket = self._per_second.get(code, {})
            out.append(StatusSeries(code, self._last_codes[code], tuple(bucket.get(s, 0) for s in window)))
        return tuple(out)


def _code_order(code: str) -> tuple[int, str]:
    return (0, code) if code.isdigit() else (1, code)
