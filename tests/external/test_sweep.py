"""`sinkbench sweep` over an external sink: its environment, its command and the endpoint's settings vary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sinkbench.errors import InputError
from sinkbench.sweep.plan import parse_vary, plan_sweep, validate_plan
from tests.external.conftest import scenario, script_sink
from tests.run.conftest import run_cli


def _scenario(write: Callable[..., Path]) -> Path:
    command, env = script_sink(BATCH="10", RETRIES="0")
    return write(scenario(count=40, command=command, env=env, ready='{ log = "^ready$" }',
                          endpoint="""
                              [[endpoint.faults]]
                              requests = [2, 2]
                              action = "status"
                              status = 503
                          """, expect='lost = "== 0"'))


def test_a_sweep_varies_an_env_variable_and_an_endpoint_setting(write: Callable[..., Path], tmp_path: Path) -> None:
    path = _scenario(write)
    report = tmp_path / "sweep.json"
    result = run_cli(["sweep", str(path), "--vary", "sink.env.RETRIES=0,2", "--vary", "endpoint.latency=0ms,20ms",
                      "--report", str(report), "--quiet"])
    result.assert_no_traceback()
    assert result.code == 0, result.out + result.err       # some combinations passed
    import json
    data = json.loads(report.read_text())
    rows = data["combinations"] if "combinations" in data else data["runs"]
    lost = {tuple(sorted((k.split(".")[-1], str(v)) for k, v in row["values"].items())): row["result"]["totals"]["lost"]
            for row in rows}
    assert lost[(("RETRIES", "0"), ("latency", "0ms"))] == 10
    assert lost[(("RETRIES", "2"), ("latency", "0ms"))] == 0
    assert lost[(("RETRIES", "2"), ("latency", "20ms"))] == 0
    assert "RETRIES" in result.out


def test_only_what_surrounds_an_external_sink_can_be_varied(write: Callable[..., Path]) -> None:
    path = _scenario(write)
    for item, words in (("sink.max_retries=1,2", "cannot be varied for an external sink"),
                        ("sink.env=1,2", "one variable at a time"),
                        ("runtime.batch_length=1,2", "varies its command, its env"),
                        ("scenario.seed=1,2", "varies its command, its env")):
        with pytest.raises(InputError) as caught:
            plan_sweep(path, [item])
        assert words in str(caught.value), (item, str(caught.value))
    plan = validate_plan(plan_sweep(path, ["env.BATCH=5,10", "sink.command=[\"python3\",\"-c\",\"pass\"]",
                                           "settle=1s,2s", "endpoint.status=200,202"]))
    assert plan.size == 8 and all(sc.is_external for sc in plan.scenarios)
    assert {dict(sc.external.env)["BATCH"] for sc in plan.scenarios} == {"5", "10"}
    assert {sc.endpoint.status for sc in plan.scenarios} == {200, 202}
    # An engine scenario keeps its rule: the endpoint is part of the scenario, not a setting under test.
    with pytest.raises(InputError):
        parse_vary("endpoint.latency=0ms,1ms")


def test_parallel_and_write_best_are_refused_for_an_external_sink(write: Callable[..., Path], tmp_path: Path) -> None:
    path = _scenario(write)
    result = run_cli(["sweep", str(path), "--vary", "env.BATCH=5,10", "--parallel", "2"])
    assert result.code == 2 and "one combination at a time" in result.err
    result = run_cli(["sweep", str(path), "--vary", "env.BATCH=5,10", "--write-best", str(tmp_path / "c.toml")])
    assert result.code == 2 and "--write-best" in result.err
