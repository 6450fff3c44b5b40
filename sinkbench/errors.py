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
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class BenchError(Exception):
    """The bench could not run (port taken, endpoint failed to start). Exit code 3."""
