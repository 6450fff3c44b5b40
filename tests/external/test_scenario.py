"""Loading `[sink] kind = "external"` and `[feed]`: every key checked, errors naming file, line and key (exit 2)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from sinkbench.errors import InputError
from sinkbench.scenario.load import load_scenario, scenario_from_text
from tests.external.conftest import PYTHON, scenario
from tests.run.conftest import run_cli


def _errors(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(InputError) as caught:
        scenario_from_text(text, "s.toml", env=env if env is not None else dict(os.environ))
    return str(caught.value).splitlines()


def _line(errors: list[str], key: str) -> str:
    found = [e for e in errors if f"key '{key}'" in e]
    assert found, (key, errors)
    return found[0]


def test_an_external_sink_loads_with_its_defaults() -> None:
    sc = scenario_from_text(scenario(command=[PYTHON, "-c", "pass"]), "s.toml")
    assert sc.is_external and sc.mock
    assert sc.external.command == (PYTHON, "-c", "pass")
    assert sc.external.settle == 2.0 and sc.external.ready.delay == 0.0
    assert sc.feed.kind == "stdin" and sc.feed.options == {"format": "payload"}


def test_the_endpoints_variables_stay_for_the_run_and_others_expand_as_secrets() -> None:
    text = scenario(command=[PYTHON, "-c", "pass", "${SINKBENCH_ENDPOINT_URL}", "${SB_ARG}"],
                    env={"URL": "${SINKBENCH_ENDPOINT_URL}/x", "PORT": "${SINKBENCH_ENDPOINT_PORT}",
                         "API_TOKEN": "literal-token", "PLAIN": "${SB_PLAIN}"},
                    ready='"${SINKBENCH_ENDPOINT_URL}/health"')
    sc = scenario_from_text(text, "s.toml", env={"SB_ARG": "arg-secret", "SB_PLAIN": "plain-secret",
                                                 "PATH": os.environ["PATH"]})
    ext = sc.external
    assert ext.command[-2:] == ("${SINKBENCH_ENDPOINT_URL}", "arg-secret")
    assert dict(ext.env) == {"URL": "${SINKBENCH_ENDPOINT_URL}/x", "PORT": "${SINKBENCH_ENDPOINT_PORT}",
                             "API_TOKEN": "literal-token", "PLAIN": "plain-secret"}
    assert ext.ready.url == "${SINKBENCH_ENDPOINT_URL}/health"
    # ${VAR} values and a secret-looking name's value are secrets: the endpoint's journal hides them too.
    assert {"arg-secret", "plain-secret", "literal-token"} <= ext.secret_values
    assert {"arg-secret", "plain-secret"} <= sc.sink.settings.secret_values


def test_numbers_and_booleans_in_env_are_passed_as_toml_writes_them() -> None:
    sc = scenario_from_text(scenario(command=[PYTHON], env={}).replace(
        '[sink]\n', '[sink]\nenv = { N = 50, F = 0.5, B = true }\n'), "s.toml")
    assert dict(sc.external.env) == {"N": "50", "F": "0.5", "B": "true"}


def test_a_missing_variable_names_its_key_and_line() -> None:
    errors = _errors(scenario(command=[PYTHON, "${SB_NOT_SET_ANYWHERE}"]), env={"PATH": os.environ["PATH"]})
    assert "s.toml:13: key 'sink.command[1]': environment variable SB_NOT_SET_ANYWHERE is not set" in errors[0]


def test_engine_keys_runtime_and_bad_keys_are_errors_naming_their_lines() -> None:
    text = scenario(command=[PYTHON, "-c", "pass"], sink='batch_mode = "ndjson"\nmax_retries = 3\nretires = 1\n'
                                                          'connector = "c.toml"')
    text += '\n[runtime]\nbatch_length = 10\n'
    errors = _errors(text)
    assert "'batch_mode' is a setting of sinkbench's own engine" in _line(errors, "sink.batch_mode")
    assert "'max_retries' is a setting of sinkbench's own engine" in _line(errors, "sink.max_retries")
    assert "did you mean 'ready'?" in _line(errors, "sink.retires") or "unknown key 'retires'" in _line(
        errors, "sink.retires")
    assert _line(errors, "sink.connector")
    runtime = _line(errors, "runtime")
    assert runtime.startswith("s.toml:") and "[runtime]" in runtime


@pytest.mark.parametrize(("metric", "expression"), [("failed", '"== 0"'), ("skipped", '"== 0"'),
                                                     ('"latency.request"', '"p(95) < 1s"')])
def test_expectations_the_bench_cannot_know_for_an_external_sink_are_errors(metric: str, expression: str) -> None:
    errors = _errors(scenario(command=[PYTHON, "-c", "pass"], expect=f"{metric} = {expression}"))
    key = "expect." + metric.strip('"')
    assert "cannot be measured in this run" in _line(errors, key)
    assert _line(errors, key).startswith("s.toml:")


@pytest.mark.parametrize(("sink", "key", "words"), [
    ('command = "python3 sink.py"', "sink.command", "no shell is involved"),
    ("command = []", "sink.command", "non-empty list"),
    ('command = ["sinkbench-no-such-program-x"]', "sink.command[0]", "not found on PATH"),
    ('command = ["./missing-sink"]', "sink.command[0]", "program not found"),
    ("env = { A = [1] }", "sink.env.A", "a string, a number or a boolean"),
    ('ready = "soon"', "sink.ready", ""),
    ('ready = { url = "http://x", log = "y" }', "sink.ready", "exactly one of"),
    ('ready = { log = "(" }', "sink.ready.log", "not a valid regular expression"),
    ('ready = { url = "ftp://x" }', "sink.ready.url", "http:// or https://"),
    ('ready = { log = "x", wait = "1s" }', "sink.ready.wait", "unknown key"),
    ('settle = "0s"', "sink.settle", "longer than 0s"),
    ("settle = 5", "sink.settle", "duration string"),
    ('kind = "plugin"', "sink.kind", "expected engine or external"),
])
def test_bad_sink_keys(sink: str, key: str, words: str) -> None:
    lines = [line for line in scenario().splitlines() if not line.startswith(("kind = \"external\"", "settle"))]
    text = "\n".join(lines).replace("[sink]\n", f'[sink]\nkind = "external"\n{sink}\n' if "kind" not in sink
                                     else f"[sink]\n{sink}\n")
    if "command" not in sink and "kind" not in sink:
        text = text.replace("[sink]\n", f'[sink]\ncommand = ["{PYTHON}"]\n')
    errors = _errors(text)
    found = _line(errors, key)
    assert words in found, found
    assert found.startswith("s.toml:"), found


@pytest.mark.parametrize(("feed", "key", "words"), [
    ('kind = "kafka"', "feed.kind", "expected one of: iggy, file, stdin"),
    ('kind = "file"', "feed.path", "needs path"),
    ('kind = "file"\npath = "nowhere/in.log"', "feed.path", "folder does not exist"),
    ('kind = "file"\npath = "in.log"\nformat = "csv"', "feed.format", "unknown format"),
    ('kind = "stdin"\npath = "x"', "feed.path", "unknown key"),
    ('kind = "iggy"', "feed.connection", "needs connection"),
    ('kind = "iggy"\nconnection = "iggy+quic://u:p@h:1"', "feed.connection", "unsupported scheme"),
    ('kind = "iggy"\nconnection = "iggy+tcp://u:p@h:1"\ncreate = "yes"', "feed.create", "true or false"),
    ('kind = "iggy"\nconnection = "iggy+tcp://u:p@h:1"\nhttp = "h:3000"', "feed.http", "HTTP API address"),
])
def test_bad_feed_keys(feed: str, key: str, words: str) -> None:
    errors = _errors(scenario(command=[PYTHON, "-c", "pass"], feed=feed))
    found = _line(errors, key)
    assert words in found, found


def test_a_stdin_feed_needs_a_command_and_an_external_sink_needs_a_feed() -> None:
    assert "has no command" in _line(_errors(scenario(command=None)), "feed.kind")
    text = scenario(command=[PYTHON, "-c", "pass"]).split("[feed]")[0]
    assert "needs a [feed] section" in _line(_errors(text), "sink.kind")


def test_a_feed_without_an_external_sink_and_an_iggy_source_with_one_are_errors() -> None:
    engine = '[source]\ncount = 5\n[sink]\nurl = "mock"\n[feed]\nkind = "stdin"\n'
    assert "needs [sink] kind = \"external\"" in _line(_errors(engine), "feed")
    text = scenario(command=[PYTHON, "-c", "pass"]).replace(
        'kind = "synthetic"\ncount = 60\nrate = 0\npayload_bytes = 64\n',
        'kind = "iggy"\nconnection = "iggy+tcp://u:p@127.0.0.1:1"\nstream = "s"\ntopics = ["t"]\n')
    assert "[feed] kind = \"iggy\"" in _line(_errors(text), "source.kind")


def test_validate_names_every_problem_and_exits_2(write: Callable[..., Path]) -> None:
    path = write(scenario(command=["./missing-sink"], sink="batch_length = 5",
                          feed='kind = "file"', expect='failed = "== 0"'))
    result = run_cli(["validate", str(path)])
    result.assert_no_traceback()
    assert result.code == 2
    for key in ("sink.command[0]", "sink.batch_length", "feed.path", "expect.failed"):
        assert f"key '{key}'" in result.err, result.err
    assert f"{path}:" in result.err


def test_validate_summarises_an_external_sink(write: Callable[..., Path]) -> None:
    path = write(scenario(command=[PYTHON, "-c", "pass"], expect='lost = "== 0"'))
    result = run_cli(["validate", str(path)])
    assert result.code == 0, result.err
    assert "external sink" in result.out and "stdin feed" in result.out


def test_a_file_feeds_path_is_beside_the_scenario(write: Callable[..., Path], tmp_path: Path) -> None:
    sc = load_scenario(write(scenario(command=[PYTHON, "-c", "pass"], feed='kind = "file"\npath = "in.log"')))
    assert sc.feed.path == tmp_path / "in.log"
    assert sc.external.cwd == tmp_path
