"""What a run's input does to its verdict, after the run.

A source that stopped at a line it could not read (a corrupt recorded
stream) makes the run `invalid_input`: never a pass, exit code 2, whatever
the expectations say — a CI job must not pass having replayed 2 of 1,000
messages. Its figures and reports are kept, for what was read. A source
that gave no message at all leaves a note: such a run tested nothing.
"""

from __future__ import annotations

import dataclasses

from sinkbench.errors import InputError
from sinkbench.run.result import RunResult, RunStatus

EMPTY_SOURCE_NOTE = "the source gave no messages (total 0): nothing was sent, so nothing about the sink was tested"


def judge_input(result: RunResult, source_error: InputError | None) -> RunResult:
    """`result` marked for its input: `source_error` is the runtime's (`Runtime.source_error`)."""
    if source_error is not None:
        result = dataclasses.replace(result, status=RunStatus.INVALID_INPUT, passed=False)
    if result.totals.get("total") == 0 and EMPTY_SOURCE_NOTE not in result.notes:
        result = dataclasses.replace(result, notes=[*result.notes, EMPTY_SOURCE_NOTE])
    return result
