"""A set of integers kept as sorted, disjoint, non-touching half-open runs.

The ledger stores Iggy message addresses (a partition's offsets) here: a
partition delivered in order is one run however many messages it held, so the
memory grows with the gaps (messages not yet or never accepted), not with the
messages accepted.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from itertools import accumulate


class IntervalSet:
    """Integers as runs `[starts[i], ends[i])`; runs never overlap or touch."""

    __slots__ = ("_starts", "_ends", "_size", "_prefix")

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._size = 0
        self._prefix: list[int] | None = None   # run lengths summed, for count(); rebuilt after a change

    def __len__(self) -> int:
        return self._size

    def __contains__(self, x: int) -> bool:
        i = bisect_right(self._starts, x) - 1
        return i >= 0 and x < self._ends[i]

    @property
    def runs(self) -> int:
        return len(self._starts)

    def add_range(self, a: int, b: int) -> int:
        """Add the integers of `[a, b)`; how many of them were already present."""
        if a >= b:
            return 0
        self._prefix = None
        starts, ends = self._starts, self._ends
        if ends and ends[-1] == a:  # the usual case: the next messages of a partition
            ends[-1] = b
            self._size += b - a
            return 0
        i = bisect_right(starts, a) - 1
        lo = i if i >= 0 and ends[i] >= a else i + 1  # the first run touching [a, b)
        hi = bisect_left(starts, b + 1)                # past the last run touching it
        present = 0
        if lo < hi:
            for j in range(lo, hi):
                overlap = min(ends[j], b) - max(starts[j], a)
                if overlap > 0:
                    present += overlap
            new_start, new_end = min(a, starts[lo]), max(b, ends[hi - 1])
        else:
            new_start, new_end = a, b
        starts[lo:hi] = [new_start]
        ends[lo:hi] = [new_end]
        self._size += (b - a) - present
        return present

    def covers(self, a: int, b: int) -> bool:
        """Whether the set holds every integer of `[a, b)` (a non-empty range): one run must, since runs never
        touch. O(log runs), and unlike `count` it needs no prefix sums, which every change throws away."""
        i = bisect_right(self._starts, a) - 1
        return i >= 0 and self._ends[i] >= b

    def count(self, a: int, b: int) -> int:
        """How many integers of `[a, b)` the set holds: O(log runs), whatever the range covers, so a question
        about a fragmented ledger costs no more than one about a tidy one."""
        starts, ends = self._starts, self._ends
        last = bisect_left(starts, b) - 1          # the last run starting before b
        if a >= b or last < 0:
            return 0
        first = max(0, bisect_right(starts, a) - 1)   # the run holding a, or the one before it
        if self._prefix is None:
            self._prefix = [0, *accumulate(e - s for s, e in zip(starts, ends))]
        held = self._prefix[last + 1] - self._prefix[first]
        held -= max(0, min(ends[first], a) - starts[first])   # the part of the first run before a
        held -= max(0, ends[last] - b)                         # the part of the last run from b on
        return max(0, held)

    def pairs(self) -> list[tuple[int, int]]:
        """The runs, in order, as `(start, end)` pairs."""
        return list(zip(self._starts, self._ends))
