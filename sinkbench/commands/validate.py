"""`sinkbench validate FILE...`: check files without running anything."""

from __future__ import annotations

import argparse
import sys

HELP = "check scenarios, connector configs and streams without running"
DESCRIPTION = """\
Check each FILE without running anything and list every problem found, each
naming the file, line and key. The kind of file is recognised by its content:
a connector file ([plugin_config], or a bare table with `url`), a scenario
([scenario]/[source]/[sink]), or a recorded stream (*.jsonl, *.jsonl.gz).
Warnings (the ones the Iggy sink would log, and unknown keys) are printed too.

example:
  sinkbench validate config.toml
  config.toml: ok (sink 'http', batch_mode ndjson, 0 warnings)

Exit codes: 0 every file is valid; 2 at least one is not.
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="scenario, connector file or recorded stream")


def main(args: argparse.Namespace) -> int:
    from sinkbench.validation import validate_file

    failed = False
    for path in args.files:
        report = validate_file(path)
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for error in report.errors:
            print(f"error: {error}", file=sys.stderr)
        if report.errors:
            failed = True
            print(f"{path}: invalid ({len(report.errors)} error{'s' if len(report.errors) != 1 else ''})")
        else:
            print(f"{path}: ok ({report.summary}, {len(report.warnings)} warning{'s' if len(report.warnings) != 1 else ''})")
    return 2 if failed else 0
