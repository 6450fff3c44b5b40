"""Delivery: the message counts, the rates over time and the marks of every change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.content import Content

from sinkbench.report.versus import differs
from sinkbench.tui.frames import Frame
from sinkbench.tui.widgets.base import FramePane, marked
from sinkbench.tui.widgets.text import count, fit, rate, short_count, spark, wrap

GAP = 2   # blanks between the two columns of counts


@dataclass(frozen=True)
class DeliveryView:
    delivered: int
    failed: int
    skipped: int
    lost: int | None
    duplicates: int | None
    in_flight: int
    fed: int
    total: int | None
    rate: float
    request_rate: float
    delivered_per_s: tuple[int, ...]    # complete seconds only
    requests_per_s: tuple[int, ...]
    marked: frozenset[int]              # positions (from the end of the series) of seconds with a mark
    marks: tuple[tuple[int, str], ...]
    differ: frozenset[str] = frozenset()     # side by side: the counts that differ from the other side's
    own_marks: frozenset[str] = frozenset()  # side by side: changes the other side did not get (tuning)


Pair = tuple[str, int | None, str]      # label, count, style


class DeliveryPane(FramePane):
    """What became of the messages: delivered, failed, skipped, lost, duplicated; msg/s and requests/s."""

    TITLE = "delivery · messages"
    HELP = """\
## Delivery

Every count here is of **messages**: each ends **delivered**, **failed** or
**skipped**; **lost** and **duplicates** come from the endpoint's own ledger.
Requests (and their retries) are counted under *status codes · requests*.
The sparklines show messages and requests per second; a highlighted second
holds a change you made (a break, new settings), listed under them when there
is room. Counts too wide for the pane are rounded (123k, 1.23M).

Side by side, a count that differs from the other side's is highlighted
(exactly one of them zero, or more than 2% apart), and so is a change only
this side got (new settings).
"""

    def select(self, frame: Frame, other: Frame | None = None) -> DeliveryView | None:
        s = frame.snapshot
        if s is None:
            return None
        differ: frozenset[str] = frozenset()
        own: frozenset[str] = frozenset()
        if other is not None and other.snapshot is not None:
            o = other.snapshot
            differ = frozenset(k for k, mine, theirs in (
                ("delivered", s.delivered, o.delivered), ("failed", s.failed, o.failed),
                ("skipped", s.skipped, o.skipped), ("lost", frame.lost, other.lost),
                ("duplicates", frame.duplicates, other.duplicates)) if differs("count", mine, theirs))
            other_labels = {label for _, label in other.marks}
            own = frozenset(label for _, label in frame.marks if label not in other_labels)
        rows = s.timeline[:-1]   # the current second is not complete
        first = rows[0]["t"] if rows else 0
        last = rows[-1]["t"] if rows else 0
        return DeliveryView(
            delivered=s.delivered, failed=s.failed, skipped=s.skipped, lost=frame.lost,
            duplicates=frame.duplicates, in_flight=max(0, s.in_flight), fed=s.fed, total=s.total,
            rate=s.rate, request_rate=s.request_rate,
            delivered_per_s=tuple(r["delivered"] for r in rows), requests_per_s=tuple(r["requests"] for r in rows),
            marked=frozenset(last - t for t, _ in frame.marks if first <= t <= last),
            marks=frame.marks, differ=differ, own_marks=own)

    def draw(self, v: DeliveryView, width: int, height: int) -> Content:
        d = v.differ
        rows: list[tuple[Pair, Pair]] = [
            (("delivered", v.delivered, marked("$text-success", "delivered" in d)),
             ("failed", v.failed, marked("$text-error" if v.failed else "", "failed" in d))),
            (("skipped", v.skipped, marked("$text-warning" if v.skipped else "", "skipped" in d)),
             ("lost", v.lost, marked("$text-error" if v.lost else "", "lost" in d))),
            (("duplicates", v.duplicates, marked("$text-warning" if v.duplicates else "", "duplicates" in d)),
             ("in flight", v.in_flight, "")),
        ]
        series = [
            self._series("msg/s", rate(v.rate), v.delivered_per_s, v.marked, width, "$text-success"),
            self._series("req/s", rate(v.request_rate), v.requests_per_s, v.marked, width, "$text-primary"),
        ]
        # Full counts when two columns of them fit, rounded ones (1.23M) when only those do, else one column.
        lines: list[Content] = []
        for shown in (count, short_count):
            source = self._source(v, shown)
            lines = self._columns(rows, shown, width) if source.cell_length <= width else []
            if lines:
                lines.append(source)
                break
        else:
            pairs = [p for row in rows for p in row]
            lines = [self._pair(label, short_count(n), style, width) for label, n, style in pairs]
            lines.append(self._source(v, short_count))
        lines = [line if line.cell_length <= width else Content(fit(line.plain, width)) for line in lines]
        lines += series
        return Content("\n").join(lines[:height] + self._marks(v, width, height - len(lines)))

    @staticmethod
    def _source(v: DeliveryView, shown: Callable[[int | None], str]) -> Content:
        fed = shown(v.fed) + (f"/{shown(v.total)}" if v.total is not None and v.total < 10_000_000 else "")
        return Content.assemble(("source", "$text-muted"), " ", fed)

    @staticmethod
    def _pair(label: str, value: str, style: str, width: int) -> Content:
        pad = max(1, width - len(label) - len(value))
        return Content.assemble((label, "$text-muted"), " " * pad, (value, style))

    def _columns(self, rows: list[tuple[Pair, Pair]], shown: Callable[[int | None], str],
                 width: int) -> list[Content]:
        """Two columns of label-value pairs, values right-aligned; [] when they do not fit in `width`."""
        texts = [[(label, shown(n), style) for label, n, style in row] for row in rows]
        need = [max(len(t[i][0]) + 1 + len(t[i][1]) for t in texts) for i in (0, 1)]
        if need[0] + GAP + need[1] > width:
            return []
        left = max(need[0], (width - GAP) // 2)
        right = width - left - GAP
        return [self._pair(*a, left) + " " * GAP + self._pair(*b, right) for a, b in texts]

    @staticmethod
    def _marks(v: DeliveryView, width: int, room: int) -> list[Content]:
        """The newest marks that fit, each wrapped under its time, and how many older ones did not."""
        if room <= 0 or not v.marks:
            return []
        blocks = [wrap(Content.assemble(("▲ ", "$text-accent"), (f"{t}s ", "$text-muted"),
                                        (label, marked("", label in v.own_marks))), width, indent=2)
                  for t, label in v.marks]

        def newest(rows: int) -> list[list[Content]]:
            taken: list[list[Content]] = []
            for block in reversed(blocks):
                if sum(map(len, taken)) + len(block) > rows:
                    break
                taken.insert(0, block)
            return taken

        shown = newest(room)
        if len(shown) < len(blocks):
            shown = newest(room - 1)
            note = f"▲ {len(blocks) - len(shown)} earlier (in the request log)"
            shown.insert(0, [Content.styled(fit(note, width), "$text-muted")])
        return [line for block in shown for line in block]

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
