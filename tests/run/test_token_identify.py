"""Whole runs with the endpoint's `identify` and a fixed `[endpoint] port`: lost and duplicates come out
exact whichever way the endpoint knows a message, and a taken port is the user's error (exit 2)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from sinkbench.errors import InputError
from sinkbench.run.bench import BenchRun
from sinkbench.scenario.load import load_scenario, scenario_from_text

from .conftest import check_accounting, run_cli, synthetic

# 200 messages at once in batches of 20 (10 requests unless retried), one retry. Request 3 and its retry
# (request 4) get 500: that batch is lost. Request 7 is stored but answered 503: its retry (request 8) is
# accepted too, so that batch arrives twice.
FAULTS = """\
[[endpoint.faults]]
requests = [3, 4]
action = "status"
status = 500
[[endpoint.faults]]
requests = [7, 7]
action = "status"
status = 503
accept = true
"""


def scenario(identify: str, *, batch_mode: str = "ndjson", include_metadata: bool = True, schema: str = "json",
             token: str = "") -> str:
    text = synthetic(200, batch_length=20, batch_mode=batch_mode,
                     sink=f'max_retries = 1\nretry_delay = "5ms"\ninclude_metadata = {str(include_metadata).lower()}',
                     endpoint=f'[endpoint]\nidentify = "{identify}"\n{token}\n' + FAULTS)
    return text.replace('payload_bytes = 64\n', f'payload_bytes = 64\nschema = "{schema}"\n')


@pytest.mark.parametrize(("identify", "batch_mode", "include_metadata", "schema", "lost", "duplicates"), [
    ("token", "ndjson", True, "json", 20, 20),
    ("token", "ndjson", False, "json", 20, 20),
    ("token", "json_array", False, "text", 20, 20),
    ("token", "raw", False, "raw", 1, 1),            # one request per message
    ("iggy", "ndjson", True, "json", 20, 20),
    ("hash", "ndjson", True, "json", 20, 20),
])
async def test_lost_and_duplicates_are_exact_whichever_way_messages_are_known(
        identify: str, batch_mode: str, include_metadata: bool, schema: str, lost: int, duplicates: int) -> None:
    sc = scenario_from_text(scenario(identify, batch_mode=batch_mode, include_metadata=include_metadata,
                                     schema=schema))
    result = await BenchRun(sc, endpoint_in_process=True).run()
    t = result.totals
    assert (t["lost"], t["duplicates"]) == (lost, duplicates), t
    assert t["failed"] == lost and t["delivered"] == 200 - lost
    check_accounting(result.to_json())
    endpoint = result.endpoint
    assert endpoint is not None and endpoint["unique_messages"] == 200 - lost


async def test_token_run_counts_tokens_not_envelopes() -> None:
    """With identify = "token" the endpoint counts the tokens the source put in: the bench's source has them."""
    sc = scenario_from_text(scenario("token"))
    bench = BenchRun(sc, endpoint_in_process=True)
    result = await bench.run()
    assert result.settings["endpoint"]["identify"] == "token"
    assert result.settings["endpoint"]["token"] == "sb-[0-9a-f]{16}"
    assert result.endpoint is not None and result.endpoint["messages"] == 200 - 20 + 20


def test_a_custom_token_that_misses_the_source_tokens_is_refused_at_its_line(
        scenario_file: Callable[..., Path]) -> None:
    path = scenario_file(scenario("token", token="token = 'sb-[0-9a-f]{8}'"))
    with pytest.raises(InputError) as info:
        load_scenario(path)
    err = str(info.value)
    assert "key 'endpoint.token'" in err and f"{path}:" in err
    assert "does not find exactly the synthetic source's token" in err
    # One that finds them exactly is fine (greedy, but the token is followed by a non-hex character).
    load_scenario(scenario_file(scenario("token", token="token = 'sb-[0-9a-f]+'", schema="raw"), "ok.toml"))


def _taken_port() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s


async def test_a_fixed_port_is_used_and_a_taken_one_is_an_input_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    sc = scenario_from_text(synthetic(20, endpoint=f"[endpoint]\nport = {free}"))
    bench = BenchRun(sc)     # the endpoint in its own process, as `run` starts it
    seen: list[str] = []
    result = await bench.run(progress=lambda _: seen.append(bench.admin.admin_url if bench.admin else ""),
                             progress_interval=0.01)
    assert result.totals["delivered"] == 20
    assert result.settings["endpoint"]["port"] == free
    with _taken_port() as taken:
        sc = scenario_from_text(synthetic(20, endpoint=f"[endpoint]\nport = {taken.getsockname()[1]}"), "s.toml")
        with pytest.raises(InputError) as info:
            await BenchRun(sc).run()
    assert info.value.where.key == "endpoint.port" and info.value.where.file == "s.toml"
    assert "already in use" in str(info.value)


def test_run_exits_2_naming_the_key_when_the_port_is_taken(scenario_file: Callable[..., Path]) -> None:
    with _taken_port() as taken:
        port = taken.getsockname()[1]
        path = scenario_file(synthetic(20, endpoint=f"[endpoint]\nport = {port}"))
        r = run_cli(["run", str(path), "--quiet"])
    r.assert_no_traceback()
    assert r.code == 2, r.err
    assert f"key 'endpoint.port': port {port} is already in use" in r.err
