"""`[endpoint] port`: a fixed port, so a sink under test can be configured to reach the endpoint."""

from __future__ import annotations

import socket

import httpx
import pytest

from sinkbench.endpoint.errors import PortInUse
from sinkbench.endpoint.process import EndpointProcess
from sinkbench.endpoint.server import Endpoint
from sinkbench.endpoint.settings import parse_endpoint_settings

from .conftest import Serve


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_settings_port_is_where_it_listens(serve: Serve, http: httpx.AsyncClient) -> None:
    port = free_port()
    ep = await serve({"port": port})
    assert ep.port == port and ep.url == f"http://127.0.0.1:{port}/"
    assert (await http.get(ep.admin_url + "health")).status_code == 200
    # An explicit port (the mock command's --port) wins over the settings'.
    other = await serve({"port": port}, port=0)
    assert other.port not in (0, port)


async def test_a_taken_port_is_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ep = Endpoint(parse_endpoint_settings({"port": port}, None, ()))
        with pytest.raises(PortInUse) as info:
            await ep.start()
        assert info.value.port == port and "already in use" in str(info.value)
        proc = EndpointProcess(parse_endpoint_settings({"port": port}, None, ()))
        with pytest.raises(PortInUse):
            await proc.astart()
        assert not proc.is_running()


def test_the_endpoint_process_listens_on_the_settings_port() -> None:
    port = free_port()
    with EndpointProcess(parse_endpoint_settings({"port": port, "identify": "token"}, None, ())) as proc:
        assert proc.port == port and proc.url == f"http://127.0.0.1:{port}/"
        doc = httpx.get(f"{proc.url}__sinkbench/endpoint").json()
        assert doc["port"] == port and doc["identify"] == "token"


async def test_the_port_cannot_change_while_running(serve: Serve, http: httpx.AsyncClient) -> None:
    port = free_port()
    ep = await serve({"port": port, "status": 200})
    r = await http.put(ep.admin_url + "endpoint", json={"port": port + 1})
    assert r.status_code == 400 and "port cannot change while the endpoint runs" in r.json()["error"]
    # A document without it keeps it (as tls), for PUT and PATCH alike.
    r = await http.put(ep.admin_url + "endpoint", json={"status": 503})
    assert r.status_code == 200 and r.json()["port"] == port
    r = await http.patch(ep.admin_url + "endpoint", json={"status": 202})
    assert r.status_code == 200 and r.json()["port"] == port and ep.settings.port == port
    # With a free port chosen at start, the port it got may be named too.
    free = await serve()
    r = await http.patch(free.admin_url + "endpoint", json={"port": free.port})
    assert r.status_code == 200
    r = await http.patch(free.admin_url + "endpoint", json={"port": free.port + 1 if free.port < 65535 else 1})
    assert r.status_code == 400
