"""`sinkbench [SCENARIO] [--versus KEY=VALUE...]`: the interactive session, alone or side by side.

A scenario that does not load is reported on stderr, naming file, line and
key, before the screen opens (exit 2). Textual is imported only once the
scenario is valid, so this module costs nothing to import.

Exit codes: 0 the user quit; 2 invalid scenario; 3 the bench could not start
(the last run failed to start when the user quit) or the session itself failed.
"""

from __future__ import annotations

import sys


def session_args(argv: list[str]) -> tuple[str | None, list[str]]:
    """`[SCENARIO] [--versus KEY=VALUE...]` → (scenario, versus items). Raises ValueError saying what is wrong."""
    scenario = None
    rest = list(argv)
    if rest and rest[0] != "--versus":
        scenario = rest.pop(0)
    if not rest:
        return scenario, []
    if rest[0] != "--versus":
        raise ValueError(f"unexpected arguments: {' '.join(rest)} "
                         "(sinkbench [SCENARIO] [--versus KEY=VALUE...] opens the interactive session)")
    items = rest[1:]
    if not items or any(item.startswith("-") for item in items):
        raise ValueError("--versus takes KEY=VALUE items (e.g. --versus runtime.offset_commit=after_polling)")
    return scenario, items


def main(scenario: str | None = None, versus: list[str] | None = None) -> int:
    from sinkbench.errors import InputError
    from sinkbench.tui.session import default_scenario, open_scenario

    try:
        if versus:
            from sinkbench.tui.versus import open_versus
            opened = open_versus(scenario, versus)
        else:
            opened = default_scenario() if scenario is None else open_scenario(scenario)
    except InputError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2

    from sinkbench.tui.app import make_app

    app = make_app(opened)
    for warning in opened.scenario.warnings:   # side by side: A's (B's are the same, or name --versus)
        app.session.alerts.append(("warning", str(warning)))
    try:
        app.run()
    except Exception as exc:
        print(f"error: internal error in the interactive session: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    code = app.return_code if app.return_code is not None else app.exit_code
    return 0 if not code else 3   # 3: the last run could not start, or Textual itself failed
