"""A hunt from inside the interactive session: the current scenario with the settings as tuned, a short budget.

The session's hunt screen only wires these: `hunt_in_session()` builds the
hunt of the scenario's file with the `--set` items that give the settings as
tuned live, and `SessionHunt.run()` runs it (in a thread: a hunt is plain,
blocking code making one bench run after another), writes the file it found,
and keeps its progress as lines a screen reads a few times a second.
Nothing here imports Textual.

The goal is the scenario's own `[expect]`, or `lost > 0` when it has none.
The found scenario goes beside the scenario, or into the session's folder
when the scenario is the one bundled inside sinkbench or its folder cannot be
written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sinkbench
from sinkbench.errors import InputError
from sinkbench.hunt.hunter import Hunter, HuntOptions, HuntResult, check_huntable
from sinkbench.hunt.progress import outcome_lines, tried_text
from sinkbench.hunt.runner import Runs
from sinkbench.hunt.search import Tried
from sinkbench.hunt.target import Goal, parse_break
from sinkbench.hunt.write import FoundFile, default_out, write_found
from sinkbench.scenario.load import load_scenario
from sinkbench.scenario.model import Scenario

# Short enough to wait for at the screen: a minute of search, at most 40 candidates.
SESSION_OPTIONS = HuntOptions(budget=40, time=60.0)
SHOWN_LINES = 200


@dataclass
class HuntLines:
    """HuntProgress kept as lines (appended by the hunt's thread, read by the screen's timer)."""

    sink_timeout: float
    lines: list[str] = field(default_factory=list)
    candidates: int = 0

    def note(self, text: str) -> None:
        self._add(text)

    def tried(self, tried: Tried, best: Tried | None, time_left: float | None, budget: int | None) -> None:
        self.candidates = tried.number
        self._add(tried_text(tried, best, time_left, budget, self.sink_timeout))

    def _add(self, line: str) -> None:
        self.lines.append(line)
        if len(self.lines) > 2 * SHOWN_LINES:
            del self.lines[:SHOWN_LINES]

    def last(self, n: int = SHOWN_LINES) -> list[str]:
        return list(self.lines[-n:])


class SessionHunt:
    def __init__(self, scenario: Scenario, goal: Goal, found: FoundFile, options: HuntOptions) -> None:
        self.scenario = scenario
        self.goal = goal
        self.found = found
        self.options = options
        self.progress = HuntLines(scenario.sink.settings.timeout)
        self.runs = Runs()
        self.result: HuntResult | None = None
        self.written: Path | None = None
        self.outcome: list[str] = []

    @property
    def out(self) -> Path:
        return self.found.out

    def run(self) -> HuntResult:
        """The hunt, its file written when it found one (or was stopped after one broke the setting).

        Raises InputError or BenchError as `Hunter.run` does, OSError when the file cannot be written.
        """
        result = Hunter(self.scenario, self.goal, self.found, self.options, progress=self.progress,
                        runs=self.runs).run()
        if result.text is not None:
            write_found(self.out, result.text)
            self.written = self.out
        self.outcome = outcome_lines(result, self.out)
        self.result = result
        return result

    def interrupt(self) -> None:
        """Stop: the run under way ends, and the hunt writes what it has (marked not confirmed)."""
        self.runs.stop()


def _writable(folder: Path) -> bool:
    package = Path(sinkbench.__file__).resolve().parent
    return folder.is_dir() and os.access(folder, os.W_OK) and not folder.resolve().is_relative_to(package)


def hunt_in_session(file: str | None, overrides: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None,
                    options: HuntOptions | None = None) -> SessionHunt:
    """The session's hunt of `file` with `overrides`; InputError when it cannot be hunted (nothing has run)."""
    if not file:
        raise InputError("no scenario file to hunt: open one first (o)")
    scenario = load_scenario(file, overrides, env)
    check_huntable(scenario)
    goal = Goal(scenario.expectations, False) if scenario.expectations else Goal((parse_break("lost > 0"),), True)
    out = default_out(file)
    if not _writable(out.parent):
        out = cwd / out.name
    return SessionHunt(scenario, goal, FoundFile(Path(file), out, tuple(overrides)), options or SESSION_OPTIONS)
