"""Helpers for the headless-run tests: scenario files in tmp_path, `sinkbench` run in-process or as a subprocess."""

from __future__ import annotations

import contextlib
import io
import json
import os
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sinkbench.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"

# §6: every count of the report's totals; §7: the percentiles of each latency summary.
TOTAL_KEYS = ("total", "delivered", "failed", "skipped", "undelivered", "lost", "duplicates", "requests",
              "retries", "bytes")
LATENCY_KEYS = ("count", "min", "p50", "p90", "p95", "p99", "max")
TIMELINE_KEYS = ("t", "delivered_message_attempts", "requests", "retries", "failed_or_skipped_message_attempts",
                 "in_flight")
EXPECTATION_KEYS = ("metric", "expression", "observed", "passed")
REPORT_KEYS = ("scenario", "passed", "settings", "totals", "latency", "requests_by_status",
               "failed_message_attempts_by_reason", "skipped_messages_by_reason",
               "skipped_message_attempts_by_reason", "timeline",
               "expectations", "endpoint")


@dataclass
class CliResult:
    code: int
    out: str
    err: str
    report: dict[str, Any] | None = None    # the --report JSON, when one was asked for and written
    junit: Path | None = None
    summary: Path | None = None

    def assert_no_traceback(self) -> None:
        for text in (self.out, self.err):
            assert "Traceback" not in text, text
            assert "internal error" not in text, text


def run_cli(args: Sequence[str], *, reports: Path | None = None, name: str = "run") -> CliResult:
    """`sinkbench <args>` in-process (stdout/stderr captured). With `reports`, asks for all three reports there."""
    argv = list(args)
    paths: dict[str, Path] = {}
    if reports is not None:
        reports.mkdir(parents=True, exist_ok=True)
        paths = {"--report": reports / f"{name}.json", "--junit": reports / f"{name}.xml",
                 "--summary": reports / f"{name}.md"}
        for flag, path in paths.items():
            argv += [flag, str(path)]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    result = CliResult(int(code), out.getvalue(), err.getvalue())
    if paths:
        if paths["--report"].exists():
            result.report = json.loads(paths["--report"].read_text())
        result.junit = paths["--junit"] if paths["--junit"].exists() else None
        result.summary = paths["--summary"] if paths["--summary"].exists() else None
    return result


def synthetic(count: int = 200, *, rate: float = 0, batch_length: int = 100, batch_mode: str = "ndjson",
              sink: str = "", endpoint: str = "", expect: str = "", scenario: str = "", runtime: str = "",
              url: str = "mock", timeout: str = "20s", seed: int = 1) -> str:
    """A small, fast scenario: `count` synthetic messages into the mock (or `url`). Extra TOML lines per section."""
    parts = [
        f'[scenario]\nseed = {seed}\ntimeout = "{timeout}"\n{_d(scenario)}',
        f'[source]\nkind = "synthetic"\ncount = {count}\nrate = {rate}\npayload_bytes = 64\n',
        f'[runtime]\nbatch_length = {batch_length}\npoll_interval = "2ms"\n{_d(runtime)}',
        f'[sink]\nurl = "{url}"\nbatch_mode = "{batch_mode}"\n{_d(sink)}',
    ]
    if endpoint:
        parts.append(_d(endpoint))
    if expect:
        parts.append(f"[expect]\n{_d(expect)}")
    return "\n".join(parts)


def _d(text: str) -> str:
    text = textwrap.dedent(text).strip("\n")
    return text + "\n" if text else ""


@pytest.fixture
def scenario_file(tmp_path: Path) -> Callable[..., Path]:
    """scenario_file(text, name="s.toml") -> the path of a scenario written in tmp_path."""

    def write(text: str, name: str = "scenario.toml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


def check_accounting(report: dict[str, Any]) -> None:
    """§3.8/§7: every message has one outcome, and lost/duplicates come from the endpoint's ledger."""
    t = report["totals"]
    assert t["delivered"] + t["failed"] + t["skipped"] + t["undelivered"] == t["total"], t
    endpoint = report["endpoint"]
    if endpoint is not None:
        assert t["lost"] == t["total"] - endpoint["unique_messages"], (t, endpoint)
        assert t["duplicates"] == endpoint["duplicates"], (t, endpoint)
        assert endpoint["duplicates"] == endpoint["messages"] - endpoint["unique_messages"], endpoint


def endpoint_pids() -> set[int]:
    """Processes running the mock endpoint (`python -m sinkbench.endpoint`), found by a /proc scan."""
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = (Path("/proc") / entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"sinkbench.endpoint" in cmdline:
            pids.add(int(entry))
    return pids


def parent_pid(pid: int) -> int | None:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def is_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def listening_ports(pid: int) -> set[int]:
    """TCP ports `pid` listens on (IPv4/IPv6), from its socket inodes and /proc/<pid>/net/tcp*."""
    inodes = set()
    fd_dir = Path("/proc") / str(pid) / "fd"
    try:
        for fd in fd_dir.iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return set()
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            rows = (Path("/proc") / str(pid) / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == "0A" and fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
