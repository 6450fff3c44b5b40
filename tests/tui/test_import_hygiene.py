"""`sinkbench run` never loads Textual, and neither does the session's core (harlequin's rule)."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def _textual_loaded(modules: str) -> bool:
    code = f"import sys; import {modules}; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.strip() == "True"


def test_the_headless_run_never_imports_textual():
    assert not _textual_loaded("sinkbench.cli, sinkbench.commands.run, sinkbench.run.bench")


def test_the_session_core_never_imports_textual():
    assert not _textual_loaded("sinkbench.tui.session, sinkbench.tui.frames, sinkbench.tui.form, "
                               "sinkbench.tui.faults, sinkbench.tui.command, sinkbench.tui.versus, sinkbench.tui.logview, "
                               "sinkbench.run.versus, sinkbench.report.versus")


def test_the_app_does():
    assert _textual_loaded("sinkbench.tui.app")
