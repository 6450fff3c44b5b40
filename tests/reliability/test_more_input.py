"""Issue 8, more bad input and more secrets: generated bad `--vary` values for `sinkbench sweep` (exit 2, naming
--vary, nothing run), and secrets kept out of sweep's four outputs and out of `sinkbench mock`.

tests/sweep/test_command.py and tests/sweep/test_plan.py check one example of each --vary mistake; here they are
generated. tests/reliability/test_secrets.py covers `run` and the in-process journal."""

from __future__ import annotations

import json
import signal
import textwrap
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from run.conftest import synthetic
from werkzeug import Request, Response

from sinkbench.cli import main
from sinkbench.scenario.load import RUNTIME_KEYS
from sinkbench.sweep import runner as sweep_runner
from sinkbench.sweep.plan import SINK_VARIABLE

FEW = settings(max_examples=25, deadline=3000,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
KNOWN = set(SINK_VARIABLE) | set(RUNTIME_KEYS) | {"url", "connector"}
# Enhanced keys, each with two values valid under profile = "enhanced".
ENHANCED = {"jitter": "none,full", "max_in_flight": "1,2", "http2": "true,false", "split_oversize_batches": "true,false",
            "retry_statuses": "[503],[500]", "retry_after": "ignore,honor"}


@pytest.fixture
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("vary") / "tiny.toml"
    path.write_text(synthetic(20, batch_length=10))
    return path


@pytest.fixture
def nothing_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to start a combination fails the test."""

    class NoRunner:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("a sweep with invalid --vary started running")

    monkeypatch.setattr(sweep_runner, "SweepRunner", NoRunner)


def _sweep_rejects(capsys: pytest.CaptureFixture[str], scenario: Path, *varies: str) -> str:
    args = ["sweep", str(scenario)]
    for vary in varies:
        args += ["--vary", vary]
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 2, (varies, out, err)
    assert out == ""
    assert err.startswith("error: ") and "--vary" in err, (varies, err)
    assert "Traceback" not in err and "internal error" not in err, err
    return err


names = st.from_regex(r"[a-z][a-z_]{0,20}", fullmatch=True).filter(lambda n: n not in KNOWN)


@FEW
@given(section=st.sampled_from(["", "sink.", "runtime."]), name=names)
def test_unknown_keys(capsys, scenario, nothing_runs, section: str, name: str) -> None:
    err = _sweep_rejects(capsys, scenario, f"{section}{name}=1,2")
    assert name in err


@FEW
@given(key=st.sampled_from(sorted(ENHANCED)), dotted=st.booleans())
def test_enhanced_keys_under_the_iggy_profile(capsys, scenario, nothing_runs, key: str, dotted: bool) -> None:
    err = _sweep_rejects(capsys, scenario, f"{'sink.' if dotted else ''}{key}={ENHANCED[key]}")
    assert key in err and "enhanced" in err


@FEW
@given(key=st.sampled_from(["max_retries", "sink.max_connections", "retry_delay", "timeout", "batch_mode",
                            "runtime.batch_length", "poll_interval", "offset_commit", "retry_backoff_multiplier"]),
       junk=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20))
def test_unparsable_values(capsys, scenario, nothing_runs, key: str, junk: str) -> None:
    # "x" first: never a number, a duration nor a known word, however the rest splits.
    _sweep_rejects(capsys, scenario, f"{key}=x{junk}")


@FEW
@given(value=st.sampled_from(["", ",", ",,", " ", "1,", ",1", "1,,2", "1, ,2"]),
       key=st.sampled_from(["max_retries", "runtime.batch_length"]))
def test_empty_lists_and_values(capsys, scenario, nothing_runs, key: str, value: str) -> None:
    _sweep_rejects(capsys, scenario, f"{key}={value}")


@FEW
@given(n=st.integers(17, 1000), second=st.booleans())
def test_long_lists_need_yes(capsys, scenario, nothing_runs, n: int, second: bool) -> None:
    varies = [f"max_retries={','.join(map(str, range(n)))}"]
    if second:
        varies.append("retry_delay=1ms,2ms")
    err = _sweep_rejects(capsys, scenario, *varies)
    assert f"{n * (2 if second else 1)} combinations" in err and "--yes" in err


def test_a_thousand_item_list_without_yes(capsys, scenario, nothing_runs) -> None:
    err = _sweep_rejects(capsys, scenario, f"max_retries={','.join(map(str, range(1000)))}")
    assert "1000 combinations" in err and "--yes" in err


# -- secrets -------------------------------------------------------------------------------

TOKEN = "tok-M0re-8e1f"        # ${SB_MORE_TOKEN} in Authorization
PASSWORD = "pw-M0re-4b7a"      # URL userinfo
SECRETS = (TOKEN, PASSWORD)
HEADERS = '''
    max_retries = 1
    retry_delay = "1ms"
    [sink.headers]
    Authorization = "Bearer ${SB_MORE_TOKEN}"
    X-Tenant = "acme"
'''


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SB_MORE_TOKEN", TOKEN)


def _sweep_outputs(capsys: pytest.CaptureFixture[str], scenario: Path, out: Path) -> dict[str, str]:
    code = main(["sweep", str(scenario), "--vary", "max_retries=0,1", "--report", str(out / "s.json"),
                 "--csv", str(out / "s.csv"), "--markdown", str(out / "s.md"), "--chart", str(out / "s.svg")])
    stdout, stderr = capsys.readouterr()
    assert code == 0, (stdout, stderr)
    outputs = {"stdout": stdout, "stderr": stderr}
    for name in ("s.json", "s.csv", "s.md", "s.svg"):
        outputs[name] = (out / name).read_text()
    json.loads(outputs["s.json"])
    return outputs


def _clean(outputs: dict[str, str]) -> None:
    for where, text in outputs.items():
        assert "Traceback" not in text, (where, text)
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked into {where}"


def test_sweep_against_the_mock_leaks_no_header_secret(tmp_path: Path, capsys, secret_env: None) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text(synthetic(30, batch_length=10, sink=HEADERS))
    outputs = _sweep_outputs(capsys, scenario, tmp_path)
    _clean(outputs)
    runs = json.loads(outputs["s.json"])["runs"]
    assert all(run["result"]["totals"]["delivered"] == 30 for run in runs)   # the header really was sent


def test_sweep_against_a_real_url_leaks_neither_header_nor_userinfo(tmp_path: Path, capsys, secret_env: None,
                                                                   httpserver: HTTPServer) -> None:
    seen: list[tuple[str | None, str | None]] = []

    def handler(request: Request) -> Response:
        seen.append((request.headers.get("Authorization"), request.authorization and request.authorization.password))
        return Response("", status=200)

    httpserver.expect_request("/ingest").respond_with_handler(handler)
    url = httpserver.url_for("/ingest").replace("http://", f"http://user:{PASSWORD}@")
    scenario = tmp_path / "s.toml"
    scenario.write_text(synthetic(30, batch_length=10, sink=HEADERS, url=url))
    outputs = _sweep_outputs(capsys, scenario, tmp_path)
    _clean(outputs)
    assert seen and all(auth == f"Bearer {TOKEN}" for auth, _ in seen)     # the secret did reach the server


def test_mock_command_leaks_no_secret_from_its_config_or_its_clients(tmp_path: Path, secret_env: None) -> None:
    from endpoint.test_command import finish, read_banner, start, url_of

    config = tmp_path / "scenario.toml"
    config.write_text(textwrap.dedent(f'''\
        [scenario]
        name = "secrets"

        [sink]
        url = "http://user:{PASSWORD}@127.0.0.1:9/ingest"
        [sink.headers]
        Authorization = "Bearer ${{SB_MORE_TOKEN}}"

        [endpoint]
        status = 200
        '''))
    proc = start("--port", "0", "--config", str(config))
    try:
        url = url_of(read_banner(proc))
        with httpx.Client(trust_env=False, timeout=5) as http:
            assert http.post(url + "ingest", content=b"{}", headers={"Authorization": f"Bearer {TOKEN}"},
                             auth=None).status_code == 200
            assert http.post(url.replace("http://", f"http://user:{PASSWORD}@") + f"x?token={TOKEN}",
                             content=b"{}").status_code == 200
            journal = http.get(url + "__sinkbench/requests").text
        proc.send_signal(signal.SIGTERM)
        out, err = finish(proc)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "2 requests" in out
    assert len(json.loads(journal)) == 2 and "[redacted]" in journal
    _clean({"stdout": out, "stderr": err, "journal": journal})
