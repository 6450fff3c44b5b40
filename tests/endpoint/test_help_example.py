"""`sinkbench mock --help`'s worked example does what it says, replayed call by call against a real endpoint.

The example once took the endpoint down with `PUT {"status": 503}`, which replaces the settings whole and so
silently dropped the faults the --config file had set up; a reader copying it lost them.
"""

from __future__ import annotations

import json
import shlex
import textwrap
import tomllib

import httpx

from sinkbench.cli import build_parser

from .conftest import Serve


def _help() -> str:
    parser = build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return commands.choices["mock"].format_help()


def _example_config(text: str) -> dict:
    """The TOML the example shows under `$ cat FILE`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("$ cat "))
    body = []
    for line in lines[start + 1:]:
        if line.strip().startswith("$ "):
            break
        body.append(line)
    return tomllib.loads(textwrap.dedent("\n".join(body)))


def _curl_calls(text: str) -> list[tuple[str, str, str | None]]:
    """(method, path, body) of every `$ curl` line, its trailing comment dropped."""
    calls = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("$ curl"):
            continue
        words = shlex.split(line[2:], comments=True)
        method = words[words.index("-X") + 1] if "-X" in words else "GET"
        body = words[words.index("-d") + 1] if "-d" in words else None
        url = next(w for w in words[1:] if w.startswith("localhost:"))
        calls.append((method, url.split("/", 1)[1], body))
    return calls


async def test_the_mock_help_example_takes_the_endpoint_down_and_back_keeping_the_config_faults(
        serve: Serve, http: httpx.AsyncClient) -> None:
    text = _help()
    configured = _example_config(text)["endpoint"]
    ep = await serve(configured)
    base = f"http://{ep.host}:{ep.port}/"
    faults = (await http.get(base + "__sinkbench/endpoint")).json()["faults"]
    assert faults, "the example's file sets up faults"
    calls = _curl_calls(text)
    assert [m for m, path, _ in calls if path == "__sinkbench/endpoint"], "the example changes the endpoint live"
    for method, path, body in calls:
        r = await http.request(method, base + path, content=body)
        assert r.status_code == 200, (method, path, r.text)
        now = (await http.get(base + "__sinkbench/endpoint")).json()
        # Whatever the example does live, the faults the file configured are still in force after it.
        assert now["faults"] == faults, f"{method} /{path} dropped the configured faults"
        if path == "__sinkbench/endpoint":
            assert now["status"] == json.loads(body)["status"]
        if path == "__sinkbench/reset":
            assert now["status"] == configured.get("status", 200)
    assert [path for _, path, _ in calls][-1] == "__sinkbench/reset", "the example ends by putting things back"
