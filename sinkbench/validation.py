"""Checking a file of any kind the bench reads, collecting every problem."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sinkbench.errors import InputError, InputErrors, Where


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


def validate_scenario(path: str) -> FileReport:
    from sinkbench.scenario.load import load_scenario

    report = FileReport(path)
    try:
        sc = load_scenario(path)
    except InputError as exc:
        _collect(report, exc)
        return report
    report.warnings = list(sc.warnings)
    if sc.source.kind == "recorded" and sc.source.path is not None:
        stream = validate_stream(str(sc.source.path))
        report.errors.extend(stream.errors)
    target = "the embedded mock endpoint" if sc.mock else "a real URL"
    sink = f"{sc.sink.settings.batch_mode} to {target}"
    if sc.external is not None and sc.feed is not None:
        from sinkbench.redact import redact_text
        program = redact_text(sc.external.command[0], sc.external.secret_values) if sc.external.command else "no command"
        sink = f"external sink ({program}) with a {sc.feed.kind} feed, to the embedded mock endpoint"
    report.summary = (f"scenario '{sc.name}', {sc.source.kind} source, {sink}, "
                      f"{len(sc.expectations)} expectation{'s' if len(sc.expectations) != 1 else ''}")
    return report


def validate_stream(path: str) -> FileReport:
    from sinkbench.sources.recorded import validate_stream as check

    report = FileReport(path)
    count, errors = check(path)
    report.errors.extend(errors)
    if count == 0 and not errors:
        report.warnings.append(f"{path}: the stream holds no messages (only its header): a run of it sends nothing")
    report.summary = f"recorded stream, {count} message{'s' if count != 1 else ''}"
    return report


def validate_file(path: str) -> FileReport:
    """Recognises the kind of file: a stream by its name, a scenario or connector by its tables."""
    name = Path(path).name
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")):
        return validate_stream(path)
    from sinkbench.tomlsrc import load_toml

    try:
        data = load_toml(path).data
    except InputError as exc:
        report = FileReport(path)
        _collect(report, exc)
        return report
    if "plugin_config" in data or ("url" in data and not {"scenario", "source", "sink"} & set(data)):
        return validate_connector(path)
    if {"scenario", "source", "sink", "expect", "runtime"} & set(data):
        return validate_scenario(path)
    report = FileReport(path)
    report.errors.append(InputError("not a scenario (no [scenario]/[source]/[sink]), a connector file "
                                    "(no [plugin_config]) or a stream (*.jsonl)", Where(file=path)))
    return report
