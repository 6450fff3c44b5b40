"""Fixtures of the interactive session's tests: scenarios and connector files in tmp_path, apps built by make_app."""

from __future__ import annotations

import asyncio
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from sinkbench.run.bench import BenchRun
from sinkbench.tui.session import Opened, open_scenario

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config.toml"

# A small scenario that keeps going (the session's tests stop it themselves), against an in-process endpoint.
LIVE = """\
[scenario]
name = "live"
seed = 7
timeout = "120s"

[source]
kind = "synthetic"
count = 10000000
rate = 20
payload_bytes = 64

[runtime]
batch_length = 20
poll_interval = "50ms"

[sink]
{sink}

[endpoint]
latency = "1ms"
"""


def live_scenario(tmp_path: Path, sink: str = 'url = "mock"\nbatch_mode = "ndjson"\nretry_delay = "50ms"',
                  name: str = "live.toml") -> Path:
    path = tmp_path / name
    path.write_text(LIVE.format(sink=textwrap.dedent(sink)))
    return path


def in_process(scenario) -> BenchRun:
    return BenchRun(scenario, endpoint_in_process=True)


@pytest.fixture
def connector(tmp_path: Path) -> Path:
    """A copy of the shipped, commented config.toml in tmp_path."""
    path = tmp_path / "config.toml"
    shutil.copy(CONFIG, path)
    return path


@pytest.fixture
def opened_live(tmp_path: Path) -> Callable[..., Opened]:
    def make(sink: str | None = None) -> Opened:
        path = live_scenario(tmp_path) if sink is None else live_scenario(tmp_path, sink)
        return open_scenario(path, env={})
    return make


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Waits (really) until `predicate()` holds: a live bench needs wall time, not a fixed sleep."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting for the condition")
        await asyncio.sleep(0.02)
