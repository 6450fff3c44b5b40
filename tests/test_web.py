"""`sinkbench --web`: the session served to a browser on loopback; it answers HTTP, runs the session over its
websocket for its own page only, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from sinkbench.cli import main
from sinkbench.web import host_name, local_links_only, origin_matches, session_command

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "outage-503.toml"


def _children(pid: int) -> set[int]:
    """Processes whose parent is `pid` (a /proc scan)."""
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(entry))
    return out


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    proc = subprocess.Popen([sys.executable, "-m", "sinkbench.cli", "--web", str(SCENARIO), "--port", "0"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "no address printed within 30 s"
        line = proc.stdout.readline()                    # type: ignore[union-attr]
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert m, (line, proc.stderr.read() if proc.poll() is not None else "")   # type: ignore[union-attr]
        yield proc, int(m.group(1))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def _get(port: int, host: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/")
    if host is not None:
        request.add_header("Host", host)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def _session_screen(port: int, origin: str) -> bytes:
    """What the session draws over the websocket, until the scenario's name shows (at most 30 s)."""
    import aiohttp

    got = b""
    async with aiohttp.ClientSession() as client, client.ws_connect(
            f"http://127.0.0.1:{port}/ws?width=120&height=40", headers={"Origin": origin}) as ws:
        await ws.send_str(json.dumps(["resize", {"width": 120, "height": 40}]))
        async with asyncio.timeout(30):
            async for msg in ws:
                got += msg.data if isinstance(msg.data, bytes) else str(msg.data).encode()
                if b"outage-503" in got:
                    break
    return got


def test_web_answers_http_runs_the_session_and_stops_on_sigterm(server) -> None:
    proc, port = server
    status, page = _get(port)
    assert status == 200
    assert f"ws://127.0.0.1:{port}/ws" in page
    assert "googleapis" not in page and not re.search(r'(src|href)="https?://(?!127\.0\.0\.1)', page)
    # What the page needs from the server itself stays: the terminal's stylesheet and script.
    for asset in ("static/css/xterm.css", "static/js/textual.js"):
        assert f'"http://127.0.0.1:{port}/{asset}"' in page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{asset}", timeout=10) as response:
            assert response.status == 200
    # The session itself, in a child process, drawing the scenario it was given.
    screen = asyncio.run(_session_screen(port, f"http://127.0.0.1:{port}"))
    assert b"outage-503" in screen
    # SIGTERM: the server and every session it started end; the exit is clean.
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0, proc.stderr.read()           # type: ignore[union-attr]
    assert "Traceback" not in proc.stderr.read()            # type: ignore[union-attr]
    deadline = time.monotonic() + 10
    while _children(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _children(proc.pid)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


def test_another_site_can_neither_reach_nor_drive_the_session(server) -> None:
    import aiohttp

    _, port = server
    # DNS rebinding: a page at evil.example resolving to 127.0.0.1 still sends its own name.
    status, _ = _get(port, host=f"evil.example:{port}")
    assert status == 403
    # Another site open in the same browser cannot open the session's websocket.
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        asyncio.run(_session_screen(port, "http://evil.example"))
    assert refused.value.status == 403


def test_a_remote_host_needs_allow_remote(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--web", "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0" in err and "--allow-remote" in err


def test_a_bad_scenario_is_refused_before_anything_listens(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[scenario]\nname = 3\n")
    assert main(["--web", str(bad), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "Traceback" not in err


def test_the_session_command_runs_this_sinkbench_on_the_scenario() -> None:
    assert session_command(None).endswith("-m sinkbench.cli")
    assert session_command("-odd.toml").endswith("./-odd.toml")
    assert session_command("my scenario.toml").endswith("'my scenario.toml'")


@pytest.mark.parametrize(("header", "name"), [("127.0.0.1:8000", "127.0.0.1"), ("LOCALHOST:1", "localhost"),
                                              ("[::1]:8000", "::1"), ("[::1]", "::1"), ("evil.example", "evil.example")])
def test_host_name(header: str, name: str) -> None:
    assert host_name(header) == name


def test_origin_must_be_the_page_itself() -> None:
    assert origin_matches("http://127.0.0.1:8000", "127.0.0.1:8000")
    assert origin_matches(None, "127.0.0.1:8000")                        # not a browser: nothing to forge
    assert not origin_matches("http://127.0.0.1:9999", "127.0.0.1:8000")
    assert not origin_matches("http://evil.example", "127.0.0.1:8000")
    assert not origin_matches("null", "127.0.0.1:8000")


def test_only_links_to_other_hosts_are_dropped() -> None:
    page = ('<link rel="stylesheet" href="http://127.0.0.1:8000/static/css/xterm.css" />\n'
            '<link\n  rel="stylesheet"\n  href="https://fonts.googleapis.com/css?family=Roboto%20Mono"\n/>\n'
            '<link rel="icon" href="/favicon.ico">')
    kept = local_links_only(page, "127.0.0.1:8000")
    assert "xterm.css" in kept and "favicon.ico" in kept and "googleapis" not in kept
