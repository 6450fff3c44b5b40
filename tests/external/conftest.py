"""Helpers for external-sink tests: scenario files around small real sinks (Python scripts), run by the CLI."""

from __future__ import annotations

import json
import re
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT_SINK = ROOT / "examples" / "script-sink" / "sink.py"
FOLLOW_SINK = Path(__file__).resolve().parent / "sinks" / "follow.py"
PYTHON = sys.executable


def toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(str(i)) for i in items) + "]"


def scenario(*, count: int = 60, rate: float = 0, command: list[str] | None = None, env: dict[str, str] | None = None,
             ready: str = "", settle: str = "2s", feed: str = 'kind = "stdin"', endpoint: str = "", expect: str = "",
             timeout: str = "60s", source: str = "", sink: str = "") -> str:
    """An external-sink scenario: `count` synthetic messages fed to `command`."""
    env_text = ", ".join(f"{k} = {json.dumps(v)}" for k, v in (env or {}).items())
    parts = [
        f'[scenario]\nseed = 1\ntimeout = "{timeout}"\n',
        f'[source]\nkind = "synthetic"\ncount = {count}\nrate = {rate}\npayload_bytes = 64\n{_d(source)}',
        '[sink]\nkind = "external"\n'
        + (f"command = {toml_list(command)}\n" if command is not None else "")
        + (f"env = {{ {env_text} }}\n" if env else "")
        + (f"ready = {ready}\n" if ready else "")
        + f'settle = "{settle}"\n{_d(sink)}',
        f"[feed]\n{_d(feed)}",
    ]
    if endpoint:
        parts.append(_d(endpoint))
    if expect:
        parts.append(f"[expect]\n{_d(expect)}")
    return "\n".join(parts)


def _d(text: str) -> str:
    text = textwrap.dedent(text).strip("\n")
    return text + "\n" if text else ""


def script_sink(**env: str) -> tuple[list[str], dict[str, str]]:
    """examples/script-sink/sink.py as the command, posting to the endpoint, with `env` on top."""
    return [PYTHON, str(SCRIPT_SINK)], {"SINK_URL": "${SINKBENCH_ENDPOINT_URL}/ingest", "RETRY_DELAY_MS": "20",
                                        "FLUSH_MS": "100", **env}


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "scenario.toml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path
    return write


def dropped(report: dict[str, Any]) -> int:
    """What examples/script-sink/sink.py says it dropped, from its output in the report."""
    output = report["external"]["output"] or ""
    return sum(int(n) for n in re.findall(r"dropped a batch of (\d+)", output))


def wait_for(check: Callable[[], Any], seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    return check()
