"""The real Apache Iggy stack for tests: a server and the connectors runtime with the HTTP sink.

The binaries come from `tools/real-iggy/build` (a cache outside the checkout);
`built_dir()` asks its `--check`, so a machine without the build skips these
tests and says why. Each process runs in its own process group and is stopped
with SIGTERM, then SIGKILL, whatever way the test ends; `live_children()`
lets a test prove nothing was left behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "tools" / "real-iggy" / "build"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


@cache
def built_dir() -> tuple[Path | None, str]:
    """The folder with the built binaries, or None and why not."""
    try:
        done = subprocess.run([str(BUILD), "--check"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"tools/real-iggy/build --check could not run: {exc}"
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["not built"])[-1]
        return None, f"the real Iggy stack is not built ({why}); run tools/real-iggy/build"
    return Path(done.stdout.strip().splitlines()[-1]), ""


BIND_ATTEMPTS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout)


def _wait_port(host: str, port: int, proc: subprocess.Popen, log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before listening:\n{_tail(log)}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"not listening on {host}:{port} after {START_TIMEOUT:.0f} s:\n{_tail(log)}")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class IggyServer:
    """A real iggy-server on a free loopback port, with its own data folder and root credentials."""

    bin_dir: Path
    workdir: Path
    username: str = "sinkbench"
    password: str = field(default_factory=lambda: secrets.token_hex(12))
    tcp_port: int = 0
    http_port: int = 0
    proc: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.tcp_port}"

    @property
    def connection(self) -> str:
        """A connection string sinkbench and the SDK accept."""
        return f"iggy+tcp://{self.username}:{self.password}@{self.address}"

    @property
    def log(self) -> Path:
        return self.workdir / "server.log"

    def start(self, *, fresh: bool = True) -> IggyServer:
        """Start on the given ports, or on free ones. A port found free can be taken by another test before the
        server binds it (the suite runs on two workers): then the server starts again on other free ones."""
        chosen = not self.tcp_port and not self.http_port
        for attempt in range(BIND_ATTEMPTS):
            if chosen:
                self.tcp_port, self.http_port = free_port(), free_port()
            try:
                return self._launch(fresh)
            except RuntimeError:
                if not chosen or attempt == BIND_ATTEMPTS - 1 or "CannotBindToSocket" not in _tail(self.log):
                    raise
        raise AssertionError("unreachable")

    def _launch(self, fresh: bool) -> IggyServer:
        env = {
            **os.environ,
            "IGGY_CONFIG_PATH": str(self.bin_dir / "server-config.toml"),
            "IGGY_SYSTEM_PATH": str(self.workdir / "data"),
            "IGGY_ROOT_USERNAME": self.username,
            "IGGY_ROOT_PASSWORD": self.password,
            "IGGY_TCP_ADDRESS": self.address,
            # TCP for the SDK and the connectors; HTTP for creating topics (see create_topic);
            # the other listeners would race for fixed ports.
            "IGGY_HTTP_ADDRESS": f"127.0.0.1:{self.http_port}",
            "IGGY_QUIC_ENABLED": "false",
            "IGGY_WEBSOCKET_ENABLED": "false",
            # Two cores shared with the test: one shard, not pinned.
            "IGGY_SYSTEM_SHARDING_CPU_ALLOCATION": "1",
            "IGGY_SYSTEM_SHARDING_PIN_CORES": "false",
            "IGGY_TELEMETRY_ENABLED": "false",
        }
        args = [str(self.bin_dir / "iggy-server")] + (["--fresh"] if fresh else [])
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(args, cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_port("127.0.0.1", self.tcp_port, self.proc, self.log, time.monotonic() + START_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)

    def _rest(self, method: str, path: str, body: dict) -> dict:
        import httpx
        base = f"http://127.0.0.1:{self.http_port}"
        login = httpx.post(f"{base}/users/login", json={"username": self.username, "password": self.password})
        login.raise_for_status()
        token = login.json()["access_token"]["token"]
        answer = httpx.request(method, f"{base}{path}", json=body, headers={"Authorization": f"Bearer {token}"})
        answer.raise_for_status()
        return answer.json()

    def create_topic(self, stream: str, topic: str, partitions: int = 1) -> None:
        """Create the stream (if missing) and the topic through the server's REST API.

        Not through the apache-iggy 0.9.0 SDK: this server (0.9.0-edge.5) refuses the SDK's
        create_topic with "Unsupported option key: " (the PyPI SDK sends topic options the
        newer server no longer knows). Sending, polling and consumer groups work with it.
        """
        import httpx
        try:
            self._rest("POST", "/streams", {"name": stream})
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 400 or "already" not in exc.response.text.lower():
                raise
        self._rest("POST", f"/streams/{stream}/topics", {
            "name": topic, "partitions_count": partitions, "compression_algorithm": "none",
            "message_expiry": 0, "max_topic_size": 0})

    def create_user(self, username: str, password: str, permissions: dict | None = None, *,
                    active: bool = True) -> None:
        """Create a user through the REST API (`POST /users`).

        `permissions` is the server's JSON shape: {"global": {"read_streams": true, ...},
        "streams": {"<stream id>": {...}} or null}; None creates a user without any
        permission. Every global flag not given is false.
        """
        body: dict = {"username": username, "password": password, "status": "active" if active else "inactive",
                      "permissions": None}
        if permissions is not None:
            flags = ("manage_servers", "read_servers", "manage_users", "read_users", "manage_streams",
                     "read_streams", "manage_topics", "read_topics", "poll_messages", "send_messages")
            given = permissions.get("global", {})
            body["permissions"] = {"global": {f: bool(given.get(f, False)) for f in flags},
                                   "streams": permissions.get("streams")}
        self._rest("POST", "/users", body)

    def restart(self) -> None:
        """Stop and start again on the same port and data (messages and offsets survive)."""
        self.stop()
        self.start(fresh=False)


@dataclass
class ConnectorsRuntime:
    """The real iggy-connectors runtime running the HTTP sink plugin with a given connector config."""

    bin_dir: Path
    workdir: Path
    server: IggyServer
    plugin_config: dict
    streams: list[dict]
    key: str = "http"
    proc: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def log(self) -> Path:
        return self.workdir / "connectors.log"

    def write_config(self) -> Path:
        connectors = self.workdir / "connectors"
        connectors.mkdir(parents=True, exist_ok=True)
        (connectors / "http_sink.toml").write_text(_toml({
            "type": "sink", "key": self.key, "enabled": True, "version": 0, "name": "HTTP sink",
            "path": str(self.bin_dir / "libiggy_connector_http_sink"),
            "streams": self.streams, "plugin_config": self.plugin_config,
        }))
        config = self.workdir / "runtime.toml"
        config.write_text(_toml({
            "http": {"enabled": False},
            "iggy": {"address": self.server.address, "username": self.server.username,
                     "password": self.server.password, "token": ""},
            "state": {"path": str(self.workdir / "state")},
            "connectors": {"config_type": "local", "config_dir": str(connectors)},
            "telemetry": {"enabled": False},
        }))
        return config

    def start(self) -> ConnectorsRuntime:
        config = self.write_config()
        env = {**os.environ, "IGGY_CONNECTORS_CONFIG_PATH": str(config),
               "RUST_LOG": os.environ.get("RUST_LOG", "info"), "NO_COLOR": "1", **self.env}
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([str(self.bin_dir / "iggy-connectors")], cwd=self.workdir, env=env,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        return self

    def wait_log(self, needle: str, timeout: float = START_TIMEOUT) -> None:
        """Wait until the runtime's log holds `needle` (e.g. that the sink was opened)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log.read_text(errors="replace"):
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"iggy-connectors exited with {self.proc.returncode}:\n{_tail(self.log)}")
            time.sleep(0.1)
        raise RuntimeError(f"iggy-connectors never logged {needle!r}:\n{_tail(self.log)}")

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


def _toml(doc: dict) -> str:
    """Plain TOML for the runtime's files (tomlkit would do, but the shapes here are simple)."""
    import tomlkit
    text = tomlkit.dumps(doc)
    tomllib.loads(text)  # never hand the runtime a file we could not read back
    return text


def live_children(pids: list[int]) -> list[int]:
    """The given process ids that still exist (zombies count as gone)."""
    alive = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ", 1)[1][0] != "Z":
                    alive.append(pid)
        except (OSError, IndexError):
            pass
    return alive


def scratch(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
