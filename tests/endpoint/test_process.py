"""The endpoint in its own process: start, serve, stop, fail clearly, and never outlive its parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sinkbench.endpoint.client import AdminClient
from sinkbench.endpoint.process import EndpointProcess
from sinkbench.endpoint.settings import EndpointSettings, parse_endpoint_settings
from sinkbench.errors import BenchError

ROOT = Path(__file__).resolve().parents[2]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_start_serve_stop() -> None:
    settings = parse_endpoint_settings({"faults": [{"requests": [2, 2], "action": "status", "status": 503}]}, None, ())
    with EndpointProcess(settings) as ep:
        assert ep.url is not None and ep.url.startswith("http://127.0.0.1:")
        assert ep.admin_url == ep.url + "__sinkbench/"
        assert ep.ca_pem_path is None
        assert ep.pid is not None and ep.pid != os.getpid() and ep.is_running()
        pid = ep.pid
        assert [httpx.post(ep.url, content=b"x").status_code for _ in range(3)] == [200, 503, 200]
        assert httpx.get(ep.admin_url + "stats").json()["requests"] == 3
    assert not alive(pid)
    ep.stop()  # twice is fine


async def test_inside_an_event_loop() -> None:
    async with EndpointProcess(EndpointSettings(status=202)) as ep:
        assert ep.url is not None
        async with httpx.AsyncClient() as client:
            assert (await client.post(ep.url, content=b"x")).status_code == 202
        async with AdminClient(ep.url) as admin:
            assert (await admin.stats())["by_status"] == {"202": 1}
            await admin.put_settings({"status": 500})
        async with httpx.AsyncClient() as client:
            assert (await client.post(ep.url, content=b"x")).status_code == 500


def test_tls_in_a_process() -> None:
    import ssl

    with EndpointProcess(EndpointSettings(tls=True)) as ep:
        assert ep.url is not None and ep.url.startswith("https://")
        assert ep.ca_pem_path is not None
        ctx = ssl.create_default_context(cafile=ep.ca_pem_path)
        assert httpx.get(ep.url, verify=ctx).status_code == 200


def test_port_in_use_is_a_bench_error_with_the_reason() -> None:
    with EndpointProcess() as first:
        second = EndpointProcess(port=first.port)
        with pytest.raises(BenchError, match=f"cannot listen on 127.0.0.1:{first.port}: the port is already in use"):
            second.start()
        assert not second.is_running()


def test_bad_host_is_a_bench_error() -> None:
    with pytest.raises(BenchError, match="cannot listen on 203.0.113.1"):
        EndpointProcess(host="203.0.113.1").start()


def test_child_exits_when_the_parent_is_killed() -> None:
    script = (
        "import sys, time\n"
        "from sinkbench.endpoint.process import EndpointProcess\n"
        "ep = EndpointProcess(); ep.start()\n"
        "print(ep.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=ROOT,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(5)
        deadline = time.monotonic() + 10
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child), "the endpoint process outlived its parent"
    finally:
        parent.kill()
        parent.wait()
