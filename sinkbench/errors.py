"""Errors the user can act on, each naming where it came from.

`InputError` means the user's input is wrong (exit code 2); `BenchError` means
the bench itself could not run (exit code 3). Both carry a location so the
message can say which file, line and key to fix.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Where:
    file: str | None = None
    line: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file if self.line is None else f"{self.file}:{self.line}")
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.key:
            parts.append(f"key '{self.key}'")
        return ": ".join(parts)


class InputError(Exception):
    """Invalid input: a file, a key, a command-line value. Exit code 2."""

    def __init__(self, message: str, where: Where | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where or Where()

    def __str__(self) -> str:
        prefix = str(self.where)
        return f"{prefix}: {self.message}" if prefix else self.message


class InputErrors(InputError):
    """Several input errors found in one pass (`validate` lists them all)."""

    def __init__(self, errors: list[InputError]) -> None:
        errors = in_line_order(errors)
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


def in_line_order(errors: list[InputError]) -> list[InputError]:
    """Errors by file (in the order the files first appear), then by line; errors without a line
    (a --set, a missing key) after their file's, in the order they were found."""
    rank: dict[str | None, int] = {}
    for e in errors:
        rank.setdefault(e.where.file, len(rank))
    return sorted(errors, key=lambda e: (rank[e.where.file], e.where.line is None, e.where.line or 0))


class BenchError(Exception):
    """The bench could not run (port taken, endpoint failed to start). Exit code 3."""
