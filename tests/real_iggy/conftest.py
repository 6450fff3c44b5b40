"""Fixtures for the real Apache Iggy stack (marker `real_iggy`; skipped, saying why, when not built)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.real_iggy.stack import ConnectorsRuntime, IggyServer, built_dir, live_children


@pytest.fixture(scope="session")
def iggy_bin() -> Path:
    path, why = built_dir()
    if path is None:
        pytest.skip(why)
    return path


@pytest.fixture
def iggy_server(iggy_bin: Path, tmp_path: Path) -> Iterator[IggyServer]:
    """A fresh iggy-server on free loopback ports, a temporary data folder and root credentials of its own."""
    server = IggyServer(iggy_bin, tmp_path / "server")
    server.workdir.mkdir()
    pids: list[int] = []
    try:
        server.start()
        pids.append(server.proc.pid)
        yield server
    finally:
        server.stop()
        if server.proc is not None:
            pids.append(server.proc.pid)
        assert not live_children(pids), f"iggy-server left running: {live_children(pids)}"
        shutil.rmtree(server.workdir / "data", ignore_errors=True)


@pytest.fixture
def connectors(iggy_bin: Path, iggy_server: IggyServer, tmp_path: Path) -> Iterator[Callable[..., ConnectorsRuntime]]:
    """Start the real connectors runtime with the HTTP sink: `connectors(plugin_config, streams)`."""
    started: list[ConnectorsRuntime] = []

    def start(plugin_config: dict, streams: list[dict], *, wait: bool = True,
              env: dict[str, str] | None = None) -> ConnectorsRuntime:
        workdir = tmp_path / f"connectors-{len(started)}"
        workdir.mkdir()
        runtime = ConnectorsRuntime(iggy_bin, workdir, iggy_server, plugin_config=plugin_config,
                                    streams=streams, env=env or {})
        started.append(runtime)
        runtime.start()
        if wait:
            runtime.wait_log("Started consuming messages for sink connector")
        return runtime

    try:
        yield start
    finally:
        for runtime in started:
            runtime.stop()
        pids = [r.proc.pid for r in started if r.proc is not None]
        assert not live_children(pids), f"iggy-connectors left running: {live_children(pids)}"
