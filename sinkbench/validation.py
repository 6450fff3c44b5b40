"""Checking a file of any kind the bench reads, collecting every problem."""

from __future__ import annotations

from dataclasses import dataclass, field

from sinkbench.errors import InputError, InputErrors


@dataclass
class FileReport:
    path: str
    summary: str = ""
    errors: list[InputError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _collect(report: FileReport, exc: InputError) -> None:
    report.errors.extend(exc.errors if isinstance(exc, InputErrors) else [exc])


def validate_connector(path: str) -> FileReport:
    from sinkbench.config import load_connector

    report = FileReport(path)
    try:
        connector = load_connector(path)
    except InputError as exc:
        _collect(report, exc)
        return report
    s = connector.sink.settings
    report.summary = f"sink '{connector.key}', batch_mode {s.batch_mode}, profile {s.profile}"
    report.warnings = [str(w) for w in connector.sink.warnings]
    return report


def validate_file(path: str) -> FileReport:
    return validate_connector(path)
