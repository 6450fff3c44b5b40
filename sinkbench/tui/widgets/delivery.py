"""Delivery: the message counts, the rates over time and the marks of every change."""

from __future__ import annotations

from dataclasses import dataclass

from textual.content import Content

from sinkbench.tui.frames import Frame
from sinkbench.tui.widgets.base import FramePane
from sinkbench.tui.widgets.text import count, rate, spark


@dataclass(frozen=True)
class DeliveryView:
    delivered: int
    failed: int
    skipped: int
    lost: int | None
    duplicates: int | None
    retries: int
    in_flight: int
    fed: int
    total: int | None
    rate: float
    request_rate: float
    delivered_per_s: tuple[int, ...]    # complete seconds only
    requests_per_s: tuple[int, ...]
    marked: frozenset[int]              # positions (from the end of the series) of seconds with a mark
    marks: tuple[tuple[int, str], ...]


class DeliveryPane(FramePane):
    """What became of the messages: delivered, failed, skipped, lost, duplicated; msg/s and requests/s."""

    TITLE = "delivery"
    HELP = """\
## Delivery

Every message ends **delivered**, **failed** or **skipped**; **lost** and
**duplicates** come from the endpoint's own ledger. The sparklines show
messages and requests per second; a highlighted second holds a change you
made (a break, new settings), listed under them when there is room.
"""

    def select(self, frame: Frame) -> DeliveryView | None:
        s = frame.snapshot
        if s is None:
            return None
        rows = s.timeline[:-1]   # the current second is not complete
        first = rows[0]["t"] if rows else 0
        last = rows[-1]["t"] if rows else 0
        return DeliveryView(
            delivered=s.delivered, failed=s.failed, skipped=s.skipped, lost=frame.lost,
            duplicates=frame.duplicates, retries=s.retries, in_flight=max(0, s.in_flight), fed=s.fed, total=s.total,
            rate=s.rate, request_rate=s.request_rate,
            delivered_per_s=tuple(r["delivered"] for r in rows), requests_per_s=tuple(r["requests"] for r in rows),
            marked=frozenset(last - t for t, _ in frame.marks if first <= t <= last),
            marks=frame.marks[-4:])

    def draw(self, v: DeliveryView, width: int, height: int) -> Content:
        half = max(16, width // 2)

        def pair(label: str, value: str, style: str = "") -> Content:
            pad = max(1, half - 1 - len(label) - len(value))
            return Content.assemble((label, "$text-muted"), " " * pad, (value, style), " ")

        source = count(v.fed) + (f"/{count(v.total)}" if v.total is not None and v.total < 10_000_000 else "")
        lines = [
            pair("delivered", count(v.delivered), "$text-success") + pair("failed", count(v.failed),
                                                                          "$text-error" if v.failed else ""),
            pair("skipped", count(v.skipped), "$text-warning" if v.skipped else "")
            + pair("lost", count(v.lost), "$text-error" if v.lost else ""),
            pair("duplicates", count(v.duplicates), "$text-warning" if v.duplicates else "")
            + pair("retries", count(v.retries), "$text-warning" if v.retries else ""),
            pair("in flight", count(v.in_flight)) + pair("source", source),
            self._series("msg/s", rate(v.rate), v.delivered_per_s, v.marked, width, "$text-success"),
            self._series("req/s", rate(v.request_rate), v.requests_per_s, v.marked, width, "$text-primary"),
        ]
        room = height - len(lines)
        for t, label in list(v.marks)[-room:] if room > 0 else []:
            lines.append(Content.assemble(("▲ ", "$text-accent"), (f"{t}s ", "$text-muted"), label))
        return Content("\n").join(lines[:height])

    @staticmethod
    def _series(label: str, now: str, values: tuple[int, ...], marked: frozenset[int], width: int,
                style: str) -> Content:
        head = f"{label} {now:>7} "
        line = spark(values, max(0, width - len(head)))
        n = len(line)
        parts: list[tuple[str, str]] = []
        for i, ch in enumerate(line):
            if n - 1 - i in marked:
                parts.append((ch if ch != " " else "│", "reverse $text-accent"))
            else:
                parts.append((ch, style))
        return Content.assemble((label, "$text-muted"), f" {now:>7} ", *parts)
