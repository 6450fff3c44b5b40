"""The request log's view: which rows a filter keeps, and where the user has scrolled to.

A filter is typed as the `f` prompt takes it: `errors` (every attempt that
was not answered 2xx: other statuses and transport errors), or statuses,
classes and error kinds separated by commas or spaces (`503`, `5xx`, `429,
reset`); empty shows everything. The session's own events (a break, new
settings) always show: they explain the rows around them.

Scrolling keeps its place while rows arrive: the view is anchored to the row
at its top, found again in each new frame, so what the user reads does not
slide away under new requests. No Textual here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sinkbench.tui.faults import ValueProblem
from sinkbench.tui.frames import LogRow

ERROR_KINDS = ("timeout", "connect", "reset", "tls", "protocol", "error")   # transport errors (engine/accounting)
_CODE = re.compile(r"[1-5]\d\d")
_CLASS = re.compile(r"([1-5])xx")


@dataclass(frozen=True)
class LogFilter:
    errors_only: bool = False
    outcomes: frozenset[str] = frozenset()   # exact statuses ("503") and error kinds ("reset")
    classes: frozenset[str] = frozenset()    # first digits of status classes ("5" for 5xx)

    @property
    def active(self) -> bool:
        return self.errors_only or bool(self.outcomes or self.classes)

    def matches(self, row: LogRow) -> bool:
        if row.kind != "request" or not self.active:
            return True
        if self.errors_only:
            return not (row.outcome.isdigit() and row.outcome.startswith("2"))
        return row.outcome in self.outcomes or (row.outcome.isdigit() and row.outcome[0] in self.classes)

    def label(self) -> str:
        if self.errors_only:
            return "errors only"
        return ", ".join([*sorted(self.outcomes), *(f"{c}xx" for c in sorted(self.classes))])


def parse_log_filter(text: str) -> LogFilter:
    words = [w for w in re.split(r"[,\s]+", text.strip().lower()) if w]
    if not words or words == ["all"]:
        return LogFilter()
    if "errors" in words:
        if len(words) > 1:
            raise ValueProblem("errors stands alone: it keeps every attempt not answered 2xx")
        return LogFilter(errors_only=True)
    outcomes, classes = set(), set()
    for w in words:
        if _CODE.fullmatch(w) or w in ERROR_KINDS:
            outcomes.add(w)
        elif m := _CLASS.fullmatch(w):
            classes.add(m.group(1))
        else:
            raise ValueProblem(f"expected a status (503), a class (5xx), an error kind ({', '.join(ERROR_KINDS)}) "
                               f"or errors, got {w!r}")
    return LogFilter(outcomes=frozenset(outcomes), classes=frozenset(classes))


@dataclass(frozen=True)
class LogView:
    """What the log pane shows: the rows the filter keeps from the anchored one down."""

    rows: tuple[LogRow, ...]     # from the top of the view, newest first
    above: int                   # rows the filter keeps that are newer than the view (0: following the newest)
    kept: int                    # requests the filter keeps in all (the session's events besides)
    filter: LogFilter


def log_view(rows: Sequence[LogRow], flt: LogFilter, anchor: LogRow | None) -> LogView:
    """The kept rows from `anchor` (None: the newest) down; an anchor no longer held starts at the oldest kept."""
    kept = [r for r in rows if flt.matches(r)]
    if anchor is None:
        start = 0
    else:
        start = next((i for i, r in enumerate(kept) if r == anchor), max(0, len(kept) - 1))
    return LogView(tuple(kept[start:]), start, sum(1 for r in kept if r.kind == "request"), flt)


def scrolled(rows: Sequence[LogRow], flt: LogFilter, anchor: LogRow | None, by: int) -> LogRow | None:
    """The new anchor after scrolling `by` rows (positive: older); None when back at the newest."""
    kept = [r for r in rows if flt.matches(r)]
    current = log_view(rows, flt, anchor).above
    start = min(max(0, current + by), max(0, len(kept) - 1))
    return kept[start] if start > 0 and kept else None
