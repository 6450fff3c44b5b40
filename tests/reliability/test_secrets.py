"""Issue 8, "no secret leaked": what tests/run/test_real_url.py and tests/report/test_secrets.py leave out —
Cookie and Proxy-Authorization headers, a ${VAR} secret in a header whose name does not look secret, runs
against the embedded mock endpoint, the endpoint's journal, and error messages about bad URLs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from run.conftest import run_cli, synthetic
from werkzeug import Request, Response

from sinkbench.cli import main
from sinkbench.endpoint.client import AdminClient
from sinkbench.endpoint.server import Endpoint
from sinkbench.endpoint.settings import parse_endpoint_settings

TOKEN = "tok-R3liab-91c2e"            # ${SB_TOKEN} in Authorization
API_KEY = "key-R3liab-0a7f"           # X-Api-Key, literal
COOKIE = "sess-R3liab-6d4b"           # Cookie, literal
PROXY = "prox-R3liab-13ee"            # Proxy-Authorization, literal
CUSTOM = "cust-R3liab-55aa"           # ${SB_CUSTOM} in X-Custom: a harmless name, a secret value
QUERY = "q-R3liab-77b0"               # ?token=
PASSWORD = "pw-R3liab-c3d9"           # http://user:PASSWORD@host
SECRETS = (TOKEN, API_KEY, COOKIE, PROXY, CUSTOM, QUERY, PASSWORD)

HEADERS = f'''
    verbose_logging = true
    max_retries = 1
    retry_delay = "1ms"
    [sink.headers]
    Authorization = "Bearer ${{SB_TOKEN}}"
    X-Api-Key = "{API_KEY}"
    Cookie = "session={COOKIE}"
    Proxy-Authorization = "Basic {PROXY}"
    X-Custom = "${{SB_CUSTOM}}"
    X-Tenant = "acme"
'''


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SB_TOKEN", TOKEN)
    monkeypatch.setenv("SB_CUSTOM", CUSTOM)


@pytest.fixture
def restore_logger() -> Iterator[None]:
    logger = logging.getLogger("sinkbench")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


@pytest.fixture
def quiet_werkzeug() -> Iterator[None]:
    """pytest-httpserver's werkzeug logs each request line (query included) and, when no handler is set up (as
    under `-p no:logging`), adds a stderr handler of its own at the first request — the test server's output, not
    sinkbench's; keep it out of the captured stderr."""
    logger = logging.getLogger("werkzeug")
    handlers, propagate = list(logger.handlers), logger.propagate
    logger.handlers[:] = [logging.NullHandler()]
    logger.propagate = False
    yield
    logger.handlers[:] = handlers
    logger.propagate = propagate


def _assert_clean(r, tmp_path: Path) -> None:
    r.assert_no_traceback()
    assert r.report is not None and r.junit is not None and r.summary is not None
    outputs = {"stdout": r.out, "stderr": r.err, "json": json.dumps(r.report), "junit": r.junit.read_text(),
               "markdown": r.summary.read_text()}
    for where, text in outputs.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked into {where}"
    headers = r.report["settings"]["sink"]["headers"]
    assert headers["X-Tenant"] == "acme"
    assert CUSTOM not in json.dumps(headers)


def test_mock_run_leaks_no_header_secret(tmp_path: Path, secret_env: None, restore_logger: None) -> None:
    endpoint = '''
        [[endpoint.faults]]
        requests = [1, 2]
        action = "status"
        status = 503
        body = "down"
    '''
    path = tmp_path / "s.toml"
    path.write_text(synthetic(40, batch_length=20, sink=HEADERS, endpoint=endpoint, expect='delivered = ">= 0"'))
    r = run_cli(["run", str(path), "-vv"], reports=tmp_path / "out")
    assert r.code == 0, (r.out, r.err)
    assert r.report["totals"]["retries"] >= 1      # the verbose path (a retry logged) really ran
    _assert_clean(r, tmp_path)


def test_real_url_leaks_no_cookie_or_custom_secret(tmp_path: Path, httpserver: HTTPServer, secret_env: None,
                                                   restore_logger: None, quiet_werkzeug: None) -> None:
    seen: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        seen.append(dict(request.headers))
        return Response("no", status=503) if len(seen) == 1 else Response("ok", status=200)

    httpserver.expect_request("/ingest").respond_with_handler(handler)
    url = f"http://bob:{PASSWORD}@127.0.0.1:{httpserver.port}/ingest?token={QUERY}"
    path = tmp_path / "s.toml"
    path.write_text(synthetic(30, batch_length=30, url=url, sink=HEADERS, expect='delivered = ">= 0"'))
    r = run_cli(["run", str(path), "-vv"], reports=tmp_path / "out")
    assert r.code == 0, (r.out, r.err)
    _assert_clean(r, tmp_path)
    assert seen[0]["Cookie"] == f"session={COOKIE}" and seen[0]["X-Custom"] == CUSTOM   # really sent


@pytest.mark.parametrize("url", [f"http://bob:{PASSWORD}@[::1/x", f"ftp://bob:{PASSWORD}@127.0.0.1/x",
                                 f"http://bob:{PASSWORD}@127.0.0.1:99999/x",
                                 f"http://bob:{PASSWORD}@/x?token={QUERY}"])
def test_bad_url_errors_do_not_echo_credentials(tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f"[plugin_config]\nurl = {json.dumps(url)}\n")
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert PASSWORD not in out + err and QUERY not in out + err
    assert "Traceback" not in out + err


def test_secret_from_env_in_a_bad_header_value_is_not_echoed(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SB_BAD", f"{TOKEN}\r\nX-Injected: 1")
    path = tmp_path / "c.toml"
    path.write_text('[plugin_config]\nurl = "http://127.0.0.1:1/x"\n[plugin_config.headers]\nX-Custom = "${SB_BAD}"\n')
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert TOKEN not in out + err


# ------------------------------------------------------------------ the endpoint's journal

async def test_journal_redacts_secrets_sent_to_the_mock() -> None:
    endpoint = Endpoint(parse_endpoint_settings({}, None, ()))
    await endpoint.start()
    try:
        base = endpoint.url.replace("http://", f"http://bob:{PASSWORD}@")
        headers = {"Authorization": f"Bearer {TOKEN}", "X-Api-Key": API_KEY, "Cookie": f"session={COOKIE}",
                   "Proxy-Authorization": f"Basic {PROXY}", "X-Tenant": "acme"}
        async with httpx.AsyncClient(timeout=5.0, trust_env=False) as http:
            r = await http.post(base + f"?token={QUERY}&tenant=acme", content=b'{"a": 1}', headers=headers)
            assert r.status_code < 300
            r = await http.post(endpoint.url, content=b'{"a": 2}', headers={"X-Api-Key": API_KEY})
        async with AdminClient(endpoint.url) as admin:
            journal = await admin.requests()
        local = endpoint.requests()
        for entries in (journal, local):
            text = json.dumps(entries)
            for secret in (TOKEN, API_KEY, COOKIE, PROXY, QUERY, PASSWORD):
                assert secret not in text, secret
            assert "tenant=acme" in text and "acme" in json.dumps(entries[0]["headers"])
        # userinfo went as Basic auth: redacted like any Authorization
        assert PASSWORD not in json.dumps(journal)
    finally:
        await endpoint.stop()


_NAMES = st.sampled_from(["Authorization", "X-Api-Key", "Cookie", "Proxy-Authorization", "X-Auth-Token",
                          "X-Client-Secret", "Api-Key", "X-Session-Id"])
_PARAMS = st.sampled_from(["token", "access_token", "api_key", "apikey", "secret", "password", "auth", "sessionid",
                           "X-Amz-Signature", "client_secret"])
_VALUES = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~", min_size=12,
                  max_size=30).map(lambda s: "S3c" + s)


@settings(max_examples=25, deadline=2000)
@given(name=_NAMES, case=st.sampled_from([str, str.lower, str.upper]), value=_VALUES, param=_PARAMS,
       qvalue=_VALUES)
def test_journal_redacts_any_secret_looking_header_or_parameter(name, case, value: str, param: str,
                                                               qvalue: str) -> None:
    import asyncio

    async def go() -> list[dict]:
        endpoint = Endpoint(parse_endpoint_settings({}, None, ()))
        await endpoint.start()
        try:
            async with httpx.AsyncClient(timeout=5.0, trust_env=False) as http:
                await http.post(endpoint.url, params={param: qvalue, "n": "1"}, content=b"{}",
                                headers={case(name): value})
            return endpoint.requests()
        finally:
            await endpoint.stop()

    text = json.dumps(asyncio.run(go()))
    assert value not in text
    assert qvalue not in text


def test_journal_hides_known_secret_values_and_credential_schemes_in_any_header() -> None:
    from sinkbench.endpoint.journal import Journal

    journal = Journal(10, secret_values=[CUSTOM, "short"])
    raw = ((b"X-Custom", f"v={CUSTOM}".encode()), (b"X-Forwarded-Auth-For", b"fine"),
           (b"X-Upstream", f"Bearer {TOKEN}".encode()), (b"X-Tenant", b"acme"))
    journal.record((1, 0.0, "POST", f"/ingest/{CUSTOM}?trace={CUSTOM}&tenant=acme", raw, None, 0, None, 200))
    text = json.dumps(journal.last())
    assert CUSTOM not in text and TOKEN not in text
    entry = journal.last()[0]
    assert entry["headers"]["X-Tenant"] == "acme" and "tenant=acme" in entry["path"]


async def test_the_bench_tells_its_endpoint_process_which_values_are_secret(monkeypatch) -> None:
    # A ${VAR} value in a harmless-looking header reaches the endpoint's journal only redacted, also when the
    # endpoint runs in its own process (the values travel on its stdin, never on its command line).
    from sinkbench.run.bench import BenchRun
    from sinkbench.scenario.load import scenario_from_text

    monkeypatch.setenv("SB_CUSTOM", CUSTOM)
    scenario = scenario_from_text(
        '[source]\nkind = "synthetic"\ncount = 1\n[sink]\nurl = "mock"\n[sink.headers]\nX-Custom = "${SB_CUSTOM}"\n',
        "secrets.toml")
    run = BenchRun(scenario, endpoint_in_process=False)
    url = await run._start_endpoint()
    try:
        pid = run._endpoint.pid
        assert CUSTOM not in Path(f"/proc/{pid}/cmdline").read_text()
        async with httpx.AsyncClient(timeout=5.0, trust_env=False) as http:
            r = await http.post(url + "ingest", content=b"{}", headers={"X-Custom": CUSTOM})
            assert r.status_code == 200
        assert run.admin is not None
        journal = await run.admin.requests()
        assert len(journal) == 1 and CUSTOM not in json.dumps(journal)
    finally:
        await run._stop_endpoint()
