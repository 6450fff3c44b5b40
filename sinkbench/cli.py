"""The `sinkbench` command: parses arguments and hands each command to its module.

Each command's module is imported only when that command runs, so
`sinkbench run` never loads Textual and starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from enum import IntEnum

from sinkbench import __version__


class Exit(IntEnum):
    OK = 0
    EXPECTATION_FAILED = 1
    INVALID_INPUT = 2
    BENCH_ERROR = 3


# command name → module with `configure(parser)` and `main(args) -> int`
COMMANDS: dict[str, str] = {
    "run": "sinkbench.commands.run",
    "sweep": "sinkbench.commands.sweep",
    "record": "sinkbench.commands.record",
    "validate": "sinkbench.commands.validate",
    "hunt": "sinkbench.commands.hunt",
    "mock": "sinkbench.endpoint.command",
}
# command name → its pages in the reference, named at the end of its --help
REFERENCE: dict[str, str] = {
    "run": "docs/cli.md (this command), docs/scenario.md (scenario files, --set), docs/reports.md (reports)",
    "sweep": "docs/cli.md (this command), docs/scenario.md (the keys --vary takes), docs/reports.md (sweep reports)",
    "record": "docs/streams.md (this command and the stream format), docs/cli.md (exit codes)",
    "validate": "docs/cli.md (this command), docs/scenario.md, docs/sink.md, docs/streams.md (what is checked)",
    "hunt": "docs/hunt.md (this command, a worked example, what a hunt can and cannot prove)",
    "mock": "docs/endpoint.md (settings, faults, the admin API, this command)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sinkbench",
        usage="sinkbench [SCENARIO] [--versus KEY=VALUE...]\n       sinkbench --web [SCENARIO] [--port P] [--host H] [--allow-remote]"
              "\n       sinkbench COMMAND [OPTIONS] ...",
        description="A test bench for HTTP sinks: an engine faithful to the Apache Iggy HTTP sink, "
        "an endpoint that breaks on purpose, and reports of what arrived, what was lost or "
        "duplicated, how long delivery took and what the retries cost.",
        epilog="Without a command, sinkbench opens the interactive session on SCENARIO (default: the bundled "
        "quickstart against the embedded endpoint, with ./config.toml's [plugin_config] when present); "
        "--web serves it to a browser instead (docs/html.md). "
        "Exit codes: 0 all expectations held; 1 an expectation failed; 2 invalid input; "
        "3 the bench itself could not run. Reference: docs/index.md; every command: docs/cli.md.",
    )
    parser.add_argument("--version", action="version", version=f"sinkbench {__version__}")
    # prog: each command's usage line starts "sinkbench run", not with the two-line usage above.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", prog="sinkbench")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=module.HELP, description=module.DESCRIPTION, epilog=f"reference: {REFERENCE[name]}",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.configure(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    from sinkbench.tuning import tune_process

    tune_process()
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    # `sinkbench --web [SCENARIO]`: the session served to a browser (sinkbench/web.py parses the rest).
    if "--web" in argv and argv[0] not in COMMANDS:
        from sinkbench.web import main as web_main
        return web_main([a for a in argv if a != "--web"])
    # `sinkbench [SCENARIO] [--versus KEY=VALUE...]` opens the interactive session; argparse
    # would take a scenario path for an unknown command.
    if not argv or argv[0] == "--versus" or (argv[0] not in COMMANDS and not argv[0].startswith("-")):
        from sinkbench.tui.command import main as session_main
        from sinkbench.tui.command import session_args
        try:
            scenario, versus = session_args(argv)
        except ValueError as exc:
            parser.error(str(exc))
        try:
            return session_main(scenario, versus)
        except KeyboardInterrupt:
            return 130
    # A command may first rewrite words argparse would misread (sweep: `--objective -requests,lost`).
    prepare = getattr(importlib.import_module(COMMANDS[argv[0]]), "prepare_argv", None) if argv[0] in COMMANDS else None
    args = parser.parse_args([argv[0], *prepare(argv[1:])] if prepare else argv)
    module = args._module
    try:
        return int(module.main(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        print(f"error: internal error in sinkbench {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("This is a bug; please report it with the command you ran.", file=sys.stderr)
        return Exit.BENCH_ERROR


if __name__ == "__main__":
    sys.exit(main())
