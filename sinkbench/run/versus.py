"""A scenario against itself with other sink settings: side A as written, side B with `--versus` changes.

`load_versus()` reads the scenario twice — A with the `--set` items, B with
those and the `--versus` items after them — and checks that the comparison is
fair: B changes only [sink] and [runtime] keys (the stream, the endpoint's
settings, the seed and the expectations are the same on both sides), both
sides send to the embedded endpoint (each gets its own, with the same faults),
the source is one both sides can read alike (synthetic: the same seed;
recorded: the same file; a live Iggy topic cannot yet be fed to two
consumers), and B's settings really differ from A's.

`run_side_by_side()` runs both at once — the headless `run --versus` and the
session's two columns alike — and stops the other side when one fails.
Nothing here imports Textual or the CLI.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import tomlkit

from sinkbench.errors import InputError, InputErrors, Where
from sinkbench.redact import REDACTED, is_secret_header, redact_headers, redact_text
from sinkbench.scenario.load import parse_set, scenario_from_source
from sinkbench.scenario.model import Scenario
from sinkbench.tomlsrc import load_toml

FLAG = "--versus"
SECTIONS = ("sink", "runtime")
FIXED = ("url", "connector")   # where the sink sends, and which file it is: the same on both sides

T = TypeVar("T")


@dataclass(frozen=True)
class VersusPair:
    a: Scenario
    b: Scenario
    items: tuple[str, ...]      # the --versus items as typed
    shown: tuple[str, ...]      # the same, as screens and reports show them (secrets redacted)


def check_items(items: Sequence[str]) -> list[tuple[list[str], Any]]:
    """Each item parsed with the `--set` grammar (short keys too); errors name `--versus` and the key."""
    if not items:
        raise InputError("expected at least one KEY=VALUE (e.g. runtime.offset_commit=after_polling)",
                         Where(file=FLAG))
    parsed = []
    for item in items:
        try:
            path, value = parse_set(item)
        except InputError as exc:
            raise InputError(exc.message, Where(file=FLAG, key=exc.where.key)) from None
        key = ".".join(path)
        if path[0] not in SECTIONS:
            raise InputError("only [sink] and [runtime] keys may differ between A and B: the stream, the "
                             "endpoint and the expectations stay the same on both sides, so that the comparison "
                             "is fair", Where(file=FLAG, key=key))
        if path[0] == "sink" and path[1] in FIXED:
            raise InputError(f"sink.{path[1]} is the same on both sides: each side sends to its own embedded "
                             "endpoint (change the connector's keys one by one instead)", Where(file=FLAG, key=key))
        parsed.append((path, value))
    return parsed


def shown_items(items: Sequence[str], secret_values: Sequence[str] = ()) -> tuple[str, ...]:
    """The items as screens and reports show them: each key with its section, credential headers and
    `${VAR}` values redacted."""
    out = []
    for item in items:
        path, value = parse_set(item)
        raw = item.partition("=")[2].strip()
        if path[:2] == ["sink", "headers"]:
            if isinstance(value, dict):
                raw = tomlkit.item(redact_headers({str(k): str(v) for k, v in value.items()}, secret_values)).as_string()
            elif len(path) == 3 and (is_secret_header(path[2]) or str(value) in secret_values):
                raw = REDACTED
        out.append(redact_text(f"{'.'.join(path)}={raw}", secret_values))
    return tuple(out)


def load_versus(path: str | Path, overrides: Sequence[str], items: Sequence[str],
                env: Mapping[str, str] | None = None) -> VersusPair:
    """Side A (the scenario with `overrides`) and side B (with `items` after them).

    Raises InputError naming the file, line and key — `--versus` for B's own items.
    """
    return versus_pair(lambda extra: scenario_from_source(load_toml(path), [*overrides, *extra], env), items)


def versus_pair(load: Callable[[Sequence[str]], Scenario], items: Sequence[str]) -> VersusPair:
    """A = `load(())`, B = `load(items)`, checked as `load_versus` says (the session loads its own way)."""
    check_items(items)
    a = load(())
    try:
        b = load(tuple(items))
    except InputError as exc:
        raise _as_versus(exc) from None
    problems = fairness_problems(a, b)
    if problems:
        raise InputErrors([InputError(p, Where(file=FLAG)) for p in problems])
    return VersusPair(a, b, tuple(items), shown_items(items, sorted(b.sink.settings.secret_values)))


def fairness_problems(a: Scenario, b: Scenario) -> list[str]:
    """Why A and B cannot be compared fairly (empty when they can)."""
    problems = []
    if a.is_external or b.is_external:
        problems.append("an external sink is a program benched as it is, with no sink settings of the bench's to "
                        "vary; run each version of it with sinkbench run")
        return problems
    if not (a.mock and b.mock):
        problems.append('each side needs its own embedded endpoint: the scenario\'s sink must have url = "mock"')
    if a.source.kind == "iggy":
        problems.append("a live Iggy source cannot yet feed both sides the same messages; record the topic "
                        "(sinkbench record) and compare on the recorded stream")
    if a.sink.settings == b.sink.settings and a.runtime == b.runtime:
        problems.append("B's settings are the same as A's: these changes change nothing")
    return problems


def _as_versus(exc: InputError) -> InputError:
    """B's load error: A loaded with the same `--set` items, so an error naming `--set` is a `--versus` item's;
    an error in a file is one the changes caused, and says so."""
    errors = exc.errors if isinstance(exc, InputErrors) else [exc]
    out = []
    for e in errors:
        if e.where.file == "--set":
            out.append(InputError(e.message, Where(file=FLAG, line=e.where.line, key=e.where.key)))
        else:
            out.append(InputError(f"{e.message} (with {FLAG})", e.where))
    return out[0] if len(out) == 1 else InputErrors(out)


async def run_side_by_side(a: Awaitable[T], b: Awaitable[T], stop: Callable[[], None]) -> tuple[T, T]:
    """Runs both to their end, at once. When one fails, `stop()` ends the other (its result is dropped)
    and the first failure is raised; cancelling this cancels both."""
    tasks = [asyncio.ensure_future(a), asyncio.ensure_future(b)]
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception() is not None]
    if failed:
        stop()
        if pending:
            await asyncio.wait(pending)
        for t in tasks:   # retrieved, so asyncio does not log the other side's failure as never seen
            if t.done() and not t.cancelled():
                t.exception()
        raise failed[0].exception()  # type: ignore[misc]
    return tasks[0].result(), tasks[1].result()
