"""The Pareto front of a sweep's combinations, and the default order: the front first.

Each combination is four figures, smaller better: lost, duplicates, drain and
requests (times already rounded to their resolution, None when unknown, which
counts as worse than any value). One combination dominates another when it is
no worse on all four and better on one; the front is the combinations nothing
dominates. A combination that drains 0.1 s sooner with twice the requests does
not dominate the one it beats on drain, so both stay on the front and the
choice between them is a stated compromise rather than whichever figure was
compared first:

    front first, then the rest; each part by fewest lost, then fewest
    duplicates, then the smallest  drain / shortest drain + requests / fewest
    requests  (each against the best of the combinations ranked together,
    so +8% drain beats +116% requests); then shorter drain, then fewer
    requests, then the run order.

A combination that dominates another always ranks above it: it is on the
front when the other is not, and otherwise no worse on every key above.
Only runs that ran to the end can be on the front (an interrupted or timed-out
run's small request count says nothing). Plain numbers in, plain numbers out:
objective.py turns results into figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Figures = tuple[float | None, float | None, float | None, float | None]   # lost, duplicates, drain, requests
BALANCE_TEXT = "drain ÷ shortest drain + requests ÷ fewest requests"
REQUESTS_FLOOR = 1.0      # a best of 0 requests would divide by zero; 1 request is the smallest that means anything


def _worst(value: float | None) -> float:
    return math.inf if value is None else value


def dominates(a: Figures, b: Figures) -> bool:
    """`a` is no worse than `b` on every figure and better on one."""
    pairs = [(_worst(x), _worst(y)) for x, y in zip(a, b)]
    return all(x <= y for x, y in pairs) and any(x < y for x, y in pairs)


def front(figures: Sequence[Figures | None]) -> set[int]:
    """Positions of the figures nothing dominates (None: not a candidate)."""
    known = [i for i, f in enumerate(figures) if f is not None]
    return {i for i in known
            if not any(dominates(figures[j], figures[i]) for j in known if j != i)}  # type: ignore[arg-type]


def trades(a: Figures, b: Figures) -> bool:
    """Same lost and duplicates, and each better on one of drain and requests: only the compromise chose."""
    if (_worst(a[0]), _worst(a[1])) != (_worst(b[0]), _worst(b[1])):
        return False
    da, db, ra, rb = _worst(a[2]), _worst(b[2]), _worst(a[3]), _worst(b[3])
    return (da < db and ra > rb) or (da > db and ra < rb)


def _known(value: float | None) -> tuple[int, float]:
    return (1, 0.0) if value is None else (0, value)


def order(figures: Sequence[Figures | None], candidates: Sequence[bool], drain_floor: float) -> list[int]:
    """Positions best first. `figures[i]` None: no result (last); `candidates[i]`: may be on the front.

    `drain_floor` is the drain's resolution: a shortest drain of 0 counts as that, not as a division by zero.
    """
    on_front = front([f if ok else None for f, ok in zip(figures, candidates)])
    drains = [f[2] for f in figures if f is not None and f[2] is not None]
    requests = [f[3] for f in figures if f is not None and f[3] is not None]
    best_drain = max(min(drains), drain_floor, 1e-9) if drains else None
    best_requests = max(min(requests), REQUESTS_FLOOR) if requests else None

    def key(i: int) -> tuple:
        f = figures[i]
        if f is None:
            return (2,)
        lost, dups, drain, reqs = f
        unknown = (drain is None) + (reqs is None)
        cost = 0.0
        if drain is not None and best_drain is not None:
            cost += drain / best_drain
        if reqs is not None and best_requests is not None:
            cost += reqs / best_requests
        return (0 if i in on_front else 1, _known(lost), _known(dups), unknown, cost, _known(drain), _known(reqs))

    return sorted(range(len(figures)), key=key)
