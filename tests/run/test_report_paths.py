"""Report paths: checked before the run, written through symlinks, never replacing a FIFO or a device."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import ROOT, run_cli, synthetic


def test_an_unwritable_report_path_fails_before_the_run(scenario_file: Callable[..., Path]) -> None:
    path = scenario_file(synthetic(20))
    r = run_cli(["run", str(path), "--quiet", "--report", "/proc/version"])
    assert r.code == 2
    r.assert_no_traceback()
    assert "error: --report /proc/version:" in r.err
    assert r.out == ""                                  # no run: no summary
    assert ".tmp" not in r.err


@pytest.mark.parametrize("option", ["--report", "--junit", "--summary"])
def test_every_report_option_is_checked_and_named(scenario_file: Callable[..., Path], tmp_path: Path,
                                                  option: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    path = scenario_file(synthetic(20))
    r = run_cli(["run", str(path), "--quiet", option, str(blocker / "r.out")])
    assert r.code == 2 and r.out == ""
    assert f"error: {option} {blocker / 'r.out'}: a part of the path is a file, not a folder" in r.err
    r = run_cli(["run", str(path), "--quiet", option, str(tmp_path)])
    assert r.code == 2 and f"error: {option} {tmp_path}: is a folder" in r.err


def test_a_symlinked_report_writes_its_target(scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    target = tmp_path / "real" / "report.json"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "report.json"
    link.symlink_to(target)
    r = run_cli(["run", str(scenario_file(synthetic(20))), "--quiet", "--report", str(link)])
    assert r.code == 0, r.err
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert '"scenario"' in target.read_text()
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]     # no temporary left


def test_a_fifo_gets_the_summary_and_stays_a_fifo(scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    fifo = tmp_path / "summary.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    r = run_cli(["run", str(scenario_file(synthetic(20))), "--quiet", "--summary", str(fifo)])
    reader.join(10)
    assert r.code == 0, r.err
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert got and b"passed" in got[0]


def test_a_device_is_written_in_place_and_its_write_error_named(scenario_file: Callable[..., Path],
                                                                tmp_path: Path) -> None:
    # A private copy of /dev/full (char 1,7): replacing it would leave a regular file; writing fails ENOSPC.
    full = tmp_path / "full"
    try:
        os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except PermissionError:
        pytest.skip("creating a device node needs root; test_a_fifo_gets_the_summary_and_stays_a_fifo covers the "
                    "same in-place path")
    r = run_cli(["run", str(scenario_file(synthetic(20))), "--quiet", "--junit", str(full)])
    assert stat.S_ISCHR(full.lstat().st_mode)
    assert r.code == 2
    assert f"error: --junit {full}: cannot write: No space left on device" in r.err


def test_stdout_as_a_report_path_adds_to_stdout(scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    # /dev/stdout is a link to /proc/self/fd/1; a link of our own to it keeps the real /dev/stdout out of harm's
    # way should this ever regress into replacing the path. stdout goes to a regular file here, as with `> out`.
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    out = tmp_path / "out.txt"
    with open(out, "wb") as f:
        proc = subprocess.run([sys.executable, "-m", "sinkbench.cli", "run", str(scenario_file(synthetic(20))),
                               "--quiet", "--summary", str(link)], stdout=f, stderr=subprocess.PIPE, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert link.is_symlink()
    text = out.read_text()
    assert text.index("PASSED") < text.index("## ")      # the console summary, then the Markdown after it
