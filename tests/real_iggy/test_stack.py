"""The harness around the real Iggy stack: a free port taken before the server binds it is not a failure."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from tests.real_iggy import stack
from tests.real_iggy.stack import IggyServer

pytestmark = pytest.mark.real_iggy


def test_a_port_taken_before_the_server_binds_it_means_other_ports(
        iggy_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What a second test worker does between free_port() and the server's bind: it takes the port (bound, not
    # listening, so that nothing answers there but the server).
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    offered = [taken.getsockname()[1]]
    real = stack.free_port
    monkeypatch.setattr(stack, "free_port", lambda: offered.pop() if offered else real())
    server = IggyServer(iggy_bin, tmp_path / "server")
    server.workdir.mkdir()
    try:
        server.start()
        assert server.tcp_port != taken.getsockname()[1]
        assert "CannotBindToSocket" in server.log.read_text(errors="replace")   # the first start did fail
        with socket.create_connection(("127.0.0.1", server.tcp_port), timeout=2):
            pass
    finally:
        server.stop()
        taken.close()
        shutil.rmtree(server.workdir / "data", ignore_errors=True)


def test_a_server_on_ports_it_was_given_does_not_move(iggy_bin: Path, tmp_path: Path) -> None:
    # A restart must come back where its clients look for it: no other ports, the failure is the answer.
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    server = IggyServer(iggy_bin, tmp_path / "server", tcp_port=taken.getsockname()[1], http_port=stack.free_port())
    server.workdir.mkdir()
    try:
        with pytest.raises(RuntimeError, match="before listening"):
            server.start()
        assert server.tcp_port == taken.getsockname()[1]
    finally:
        server.stop()
        taken.close()
        shutil.rmtree(server.workdir / "data", ignore_errors=True)
