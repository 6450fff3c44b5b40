"""`sinkbench [SCENARIO]`: the interactive session.

A scenario that does not load is reported on stderr, naming file, line and
key, before the screen opens (exit 2). Textual is imported only once the
scenario is valid, so this module costs nothing to import.

Exit codes: 0 the user quit; 2 invalid scenario; 3 the bench could not start
(the last run failed to start when the user quit) or the session itself failed.
"""

from __future__ import annotations

import sys


def main(scenario: str | None = None) -> int:
    from sinkbench.errors import InputError
    from sinkbench.tui.session import default_scenario, open_scenario

    try:
        opened = default_scenario() if scenario is None else open_scenario(scenario)
    except InputError as exc:
        for line in str(exc).splitlines():
            print(f"error: {line}", file=sys.stderr)
        return 2

    from sinkbench.tui.app import make_app

    app = make_app(opened)
    for warning in opened.scenario.warnings:
        app.session.alerts.append(("warning", str(warning)))
    try:
        app.run()
    except Exception as exc:
        print(f"error: internal error in the interactive session: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 3
    code = app.return_code if app.return_code is not None else app.exit_code
    return 0 if not code else 3   # 3: the last run could not start, or Textual itself failed
