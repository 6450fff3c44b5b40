"""`--shard K/N`: the K-th of N disjoint slices of a sweep's combinations, as `playwright test --shard`.

Combination i (1-based, in the plan's order) belongs to slice ((i - 1) mod N) + 1:
the slices are disjoint, cover every combination, differ in size by at most
one, and depend on nothing but the plan's order and N, so every machine of a
CI matrix computes the same slices. Dealing them round-robin rather than in
runs keeps each slice a spread of the plan (the first --vary key's values
change slowest), so a slice's table is a sample of the whole, not one corner.
A slice can be empty (N larger than the plan): it runs nothing, and merging
it is still fine.
"""

from __future__ import annotations

from dataclasses import dataclass

from sinkbench.errors import InputError, Where

SHARD = "--shard"


@dataclass(frozen=True)
class Shard:
    k: int      # 1-based
    n: int

    def __post_init__(self) -> None:
        if not 1 <= self.k <= self.n:
            raise ValueError(f"slice {self.k}/{self.n}: K must be from 1 to N")

    @property
    def text(self) -> str:
        return f"{self.k}/{self.n}"

    def holds(self, index: int) -> bool:
        """Whether combination `index` (1-based) is in this slice."""
        return (index - 1) % self.n == self.k - 1

    def indexes(self, size: int) -> tuple[int, ...]:
        """The combinations (1-based) of a plan of `size` that this slice runs, in plan order."""
        return tuple(range(self.k, size + 1, self.n))


def slices(size: int, n: int) -> list[tuple[int, ...]]:
    """Every slice of a plan of `size` combinations cut in `n`: slice K is at [K - 1]."""
    return [Shard(k, n).indexes(size) for k in range(1, n + 1)]


def parse_shard(text: str, flag: str = SHARD) -> Shard:
    """`2/3` → Shard(2, 3). Raises InputError naming the flag."""
    raw = text.strip()
    k_text, slash, n_text = raw.partition("/")
    where = Where(file=flag)
    expected = f"expected K/N, the K-th of N slices (1 ≤ K ≤ N), such as 2/3; got {text!r}"
    if not slash or not _whole(k_text) or not _whole(n_text):
        raise InputError(expected, where)
    k, n = int(k_text), int(n_text)
    if n < 1:
        raise InputError(f"N must be at least 1; got {text!r}", where)
    if not 1 <= k <= n:
        raise InputError(f"K must be from 1 to N ({n}); got {text!r}", where)
    return Shard(k, n)


def _whole(text: str) -> bool:
    # ASCII digits only: int() would also take "٣" or "1_0", which no CI matrix means.
    text = text.strip()
    return bool(text) and text.isascii() and text.isdigit() and len(text) <= 9
