"""An external sink's secrets stay out of every report, and a sink that rewrites messages is judged by tokens."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.external.conftest import PYTHON, scenario
from tests.run.conftest import run_cli

SECRET = "s3cr3t-Tok3n-value"

# Prints its environment's secret and its argument, then posts each line wrapped the way a log shipper would
# (a syslog-ish prefix, a JSON object around it), gzipped, so only the token survives as it was fed.
WRAPPING_SINK = """
import gzip, json, os, sys, urllib.request
print("token is", os.environ["API_TOKEN"], "arg is", sys.argv[1], flush=True)
print("ready", flush=True)
batch = []
def send():
    body = "\\n".join(json.dumps({"host": "h1", "msg": "<13>app: " + line}) for line in batch).encode()
    request = urllib.request.Request(os.environ["SINK_URL"], data=gzip.compress(body), headers={
        "Content-Type": "application/x-ndjson", "Content-Encoding": "gzip",
        "Authorization": "Bearer " + os.environ["API_TOKEN"]})
    urllib.request.urlopen(request, timeout=5).close()
for line in sys.stdin:
    batch.append(line.rstrip("\\n"))
    if len(batch) == 25:
        send()
        batch = []
if batch:
    send()
"""


@pytest.fixture
def wrapping_sink(tmp_path: Path) -> Path:
    path = tmp_path / "wrap.py"
    path.write_text(WRAPPING_SINK)
    return path


def _everything(result, tmp_path: Path) -> str:
    texts = [result.out, result.err]
    for path in (tmp_path / "out").iterdir():
        texts.append(path.read_text())
    return "\n".join(texts)


def test_secrets_never_reach_the_screen_or_the_reports(write: Callable[..., Path], tmp_path: Path,
                                                       wrapping_sink: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SB_TEST_TOKEN", SECRET)
    monkeypatch.setenv("SB_TEST_ARG", "arg-" + SECRET)
    path = write(scenario(count=50, command=[PYTHON, str(wrapping_sink), "${SB_TEST_ARG}"],
                          env={"SINK_URL": "${SINKBENCH_ENDPOINT_URL}/ingest", "API_TOKEN": "${SB_TEST_TOKEN}"},
                          ready='{ log = "^ready$" }', endpoint='[endpoint]\nidentify = "token"',
                          expect='lost = "== 0"'))
    result = run_cli(["run", str(path)], reports=tmp_path / "out")
    result.assert_no_traceback()
    assert result.code == 0, result.out + result.err
    assert SECRET not in _everything(result, tmp_path)
    ext = result.report["external"]
    assert "token is [redacted] arg is [redacted]" in ext["output"]
    assert ext["command"].endswith("[redacted]") and ext["env"]["API_TOKEN"] == "[redacted]"
    assert "[redacted]" in result.report["settings"]["sink"]["command"]


def test_token_identity_judges_a_sink_that_wraps_and_compresses_what_it_sends(
        write: Callable[..., Path], tmp_path: Path, wrapping_sink: Path) -> None:
    env = {"SINK_URL": "${SINKBENCH_ENDPOINT_URL}/ingest", "API_TOKEN": "t"}
    for identify, lost in (("token", 0), ("iggy", 100)):
        path = write(scenario(count=100, command=[PYTHON, str(wrapping_sink), "x"], env=env,
                              ready='{ log = "^ready$" }', endpoint=f'[endpoint]\nidentify = "{identify}"',
                              expect='lost = "== 0"'), f"{identify}.toml")
        result = run_cli(["run", str(path)], reports=tmp_path / identify)
        result.assert_no_traceback()
        totals = result.report["totals"]
        assert (totals["lost"], totals["delivered"] + totals["lost"]) == (lost, 100), identify
        if identify == "iggy":
            # The endpoint received 100 messages it cannot match to what was fed: the report says so.
            assert result.code == 1
            assert any("match none this run fed" in n for n in result.report["notes"]), result.report["notes"]


def test_the_command_runs_in_the_scenarios_folder_with_the_endpoints_address(write: Callable[..., Path],
                                                                               tmp_path: Path) -> None:
    probe = ("import os, sys; print('cwd', os.getcwd()); print('url', os.environ['SINKBENCH_ENDPOINT_URL']);"
             "print('port', os.environ['SINKBENCH_ENDPOINT_PORT']); print('arg', sys.argv[1]);"
             "print('mine', os.environ['MINE']); sys.stdin.read()")
    path = write(scenario(count=3, command=[PYTHON, "-c", probe, "${SINKBENCH_ENDPOINT_PORT}"],
                          env={"MINE": "${SINKBENCH_ENDPOINT_URL}/x"}, settle="200ms"))
    result = run_cli(["run", str(path)], reports=tmp_path / "out")
    output = result.report["external"]["output"]
    lines = dict(line.split(" ", 1) for line in output.splitlines())
    assert os.path.samefile(lines["cwd"], tmp_path)
    url = lines["url"]
    assert url.startswith("http://127.0.0.1:") and not url.endswith("/")
    assert lines["port"] == lines["arg"] == url.rsplit(":", 1)[1]
    assert lines["mine"] == url + "/x"
    assert result.report["external"]["endpoint_url"] == url
