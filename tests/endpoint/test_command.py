"""`sinkbench mock` run as a real process: start, serve, stop on SIGINT/SIGTERM, and its errors."""

from __future__ import annotations

import argparse
import os
import select
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sinkbench.endpoint import command

ROOT = Path(__file__).resolve().parents[2]
# What sinkbench.cli does with this module, without depending on the other commands being there.
RUNNER = ("import argparse, sys\n"
          "from sinkbench.endpoint import command\n"
          "p = argparse.ArgumentParser(prog='sinkbench mock')\n"
          "command.configure(p)\n"
          "sys.exit(command.main(p.parse_args(sys.argv[1:])))\n")


def start(*args: str, runner: str = RUNNER) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", runner, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, bufsize=0)


def finish(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> tuple[str, str]:
    out, err = proc.communicate(timeout=timeout)
    return out.decode(), err.decode()


def read_banner(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> list[str]:
    """The lines printed at start, read straight from the pipe (no buffering to hide them from select)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    data = b""
    while b"Ctrl-C" not in data:
        ready, _, _ = select.select([fd], [], [], timeout)
        chunk = os.read(fd, 4096) if ready else b""
        if not chunk:
            proc.kill()
            _, err = finish(proc)
            raise AssertionError(f"no banner; stderr: {err}")
        data += chunk
    return data.decode().splitlines()


def url_of(lines: list[str]) -> str:
    return lines[0].split(": ", 1)[1].strip()


def test_help_texts_and_options() -> None:
    assert command.HELP and "\n" not in command.HELP
    assert "Example" in command.DESCRIPTION and "sinkbench mock" in command.DESCRIPTION
    parser = argparse.ArgumentParser()
    command.configure(parser)
    args = parser.parse_args([])
    # No --port: the --config file's [endpoint] port, else 8080 (decided when the command runs).
    assert (args.host, args.port, args.config, args.allow_remote) == ("127.0.0.1", None, None, False)
    with pytest.raises(SystemExit):
        parser.parse_args(["--port", "70000"])


def test_module_top_level_stays_light() -> None:
    code = "import sys, sinkbench.endpoint.command; print(sorted(m for m in ('aiohttp', 'httpx', 'orjson', " \
           "'cryptography') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serves_until_interrupted(tmp_path: Path, sig: signal.Signals) -> None:
    config = tmp_path / "scenario.toml"
    config.write_text('[scenario]\nname = "x"\n\n[endpoint]\n[[endpoint.faults]]\nrequests = [2, 2]\n'
                      'action = "status"\nstatus = 503\n')
    proc = start("--port", "0", "--config", str(config))
    try:
        lines = read_banner(proc)
        url = url_of(lines)
        assert url.startswith("http://127.0.0.1:")
        assert lines[1] == f"admin API:     {url}__sinkbench/"
        assert [httpx.post(url, content=b"x").status_code for _ in range(2)] == [200, 503]
        proc.send_signal(sig)
        out, err = finish(proc)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopped: 2 requests, 1 messages accepted" in out
    assert "Traceback" not in err


def test_tls(tmp_path: Path) -> None:
    config = tmp_path / "tls.toml"
    config.write_text("[endpoint]\ntls = true\n")
    proc = start("--port", "0", "--config", str(config))
    try:
        lines = read_banner(proc)
        assert url_of(lines).startswith("https://")
        assert lines[2].startswith("CA (PEM):")
        ca = lines[2].split(":", 1)[1].strip()
        import ssl

        assert httpx.get(url_of(lines), verify=ssl.create_default_context(cafile=ca)).status_code == 200
        proc.send_signal(signal.SIGINT)
        finish(proc)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert not Path(ca).exists()


def test_invalid_config_exit_2_names_file_line_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[endpoint]\nstatus = 200\n\n[[endpoint.faults]]\naction = "explode"\n')
    proc = start("--port", "0", "--config", str(config))
    out, err = finish(proc)
    assert proc.returncode == 2
    assert f"{config}:5: key 'endpoint.faults[0].action': unknown action 'explode'" in err
    assert "Traceback" not in err and out == ""


def test_missing_config_exit_2(tmp_path: Path) -> None:
    proc = start("--config", str(tmp_path / "nope.toml"))
    _, err = finish(proc)
    assert proc.returncode == 2 and "file not found" in err


def test_port_in_use_exit_2_names_the_option() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = start("--port", str(port))
        _, err = finish(proc)
    assert proc.returncode == 2
    assert f"--port: mock endpoint cannot listen on 127.0.0.1:{port}: the port is already in use" in err
    assert "Traceback" not in err


def test_port_from_the_config_file(tmp_path: Path) -> None:
    """Without --port the file's [endpoint] port is used; taken, the error names the file, line and key."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
    cfg = tmp_path / "ep.toml"
    cfg.write_text(f"[endpoint]\nstatus = 200\nport = {port}\n")
    proc = start("--config", str(cfg))
    try:
        lines = read_banner(proc)
        assert url_of(lines) == f"http://127.0.0.1:{port}/"
        # The same port again, from the same file, while the first one holds it.
        second = start("--config", str(cfg))
        _, err = finish(second)
        assert second.returncode == 2, err
        assert f"{cfg}:3: key 'endpoint.port': mock endpoint cannot listen on 127.0.0.1:{port}" in err
        # --port wins over the file.
        third = start("--config", str(cfg), "--port", "0")
        try:
            assert url_of(read_banner(third)) != f"http://127.0.0.1:{port}/"
        finally:
            third.send_signal(signal.SIGINT)
            finish(third)
        proc.send_signal(signal.SIGINT)
        finish(proc)
    finally:
        proc.kill()


def test_remote_host_needs_allow_remote() -> None:
    proc = start("--host", "0.0.0.0", "--port", "0")
    _, err = finish(proc)
    assert proc.returncode == 2 and "--allow-remote" in err

    proc = start("--host", "0.0.0.0", "--port", "0", "--allow-remote")
    try:
        lines = read_banner(proc)
        assert httpx.get(url_of(lines)).status_code == 200
        proc.send_signal(signal.SIGINT)
        _, err = finish(proc)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "warning: listening on 0.0.0.0" in err


def test_through_the_sinkbench_cli() -> None:
    from sinkbench import cli

    try:
        parser = cli.build_parser()
    except ImportError as exc:  # another command's module is not written yet
        pytest.skip(f"sinkbench's parser cannot be built yet: {exc}")
    args = parser.parse_args(["mock", "--port", "0", "--host", "::1"])
    assert args._module is command and args.host == "::1"

    proc = start("mock", "--port", "0", runner="import sys; from sinkbench.cli import main; sys.exit(main())")
    try:
        url = url_of(read_banner(proc))
        assert httpx.get(url + "__sinkbench/health").json() == {"status": "ok"}
        proc.send_signal(signal.SIGINT)
        _, err = finish(proc)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
