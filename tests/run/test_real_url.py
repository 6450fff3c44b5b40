"""Runs against a real URL (pytest-httpserver): what arrives, what stays unknown, replay pace, secrets."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sinkbench.model import Message
from sinkbench.sources.recorded import StreamWriter

from .conftest import check_accounting, run_cli, synthetic


class Receiver:
    """Records every request the server gets: arrival time, method, content type, headers, query and body."""

    def __init__(self, answer: Callable[[int, Request], int] = lambda n, req: 200) -> None:
        self.answer = answer
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self._lock:
            n = len(self.requests) + 1
            self.requests.append({"t": time.monotonic(), "method": request.method,
                                  "content_type": request.headers.get("Content-Type"),
                                  "headers": dict(request.headers), "query": request.query_string.decode(),
                                  "body": request.get_data()})
        return Response("ok", status=self.answer(n, request))

    def posts(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "POST"]


@pytest.fixture
def receiver(httpserver: HTTPServer) -> Receiver:
    rec = Receiver()
    httpserver.expect_request("/ingest").respond_with_handler(rec)
    return rec


@pytest.fixture
def restore_sinkbench_logger() -> Iterator[None]:
    """`-v` adds a handler to the "sinkbench" logger; take it off again after an in-process run."""
    logger = logging.getLogger("sinkbench")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- delivery to a real URL -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["ndjson", "json_array", "individual", "raw"])
def test_real_url_delivery_bodies_match_the_batch_mode(mode: str, receiver: Receiver, httpserver: HTTPServer,
                                                       scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    url = httpserver.url_for("/ingest")
    path = scenario_file(synthetic(60, batch_length=20, batch_mode=mode, url=url,
                                   endpoint="[endpoint]\nstatus = 503",     # ignored with a real URL, with a warning
                                   expect='delivered = "== total"\nfailed = "== 0"'))
    r = run_cli(["run", str(path), "--quiet"], reports=tmp_path / "out")
    assert r.code == 0, (r.out, r.err)
    r.assert_no_traceback()
    assert (r.out + r.err).count("[endpoint] is ignored") == 1       # in the summary, once
    rep = r.report
    assert rep is not None
    t = rep["totals"]
    assert t["delivered"] == 60 and t["total"] == 60
    assert t["lost"] is None and t["duplicates"] is None          # the bench cannot read a real ledger
    assert rep["endpoint"] is None
    assert rep["settings"]["endpoint"] is None
    assert rep["settings"]["sink"]["url"] == url
    check_accounting(rep)
    assert "unknown" in r.out

    posts = receiver.posts()
    assert t["requests"] == len(posts)
    assert t["bytes"] == sum(len(p["body"]) for p in posts)
    if mode in ("ndjson", "json_array"):
        assert len(posts) == 3                  # everything available at once: full batches of 20
        values: list[Any] = []
        for p in posts:
            if mode == "ndjson":
                assert p["content_type"] == "application/x-ndjson"
                assert p["body"].endswith(b"\n")
                values += [json.loads(line) for line in p["body"].split(b"\n")[:-1]]
            else:
                assert p["content_type"] == "application/json"
                batch = json.loads(p["body"])
                assert isinstance(batch, list) and len(batch) == 20
                values += batch
    else:
        assert len(posts) == 60                 # one request per message
        if mode == "individual":
            assert all(p["content_type"] == "application/json" for p in posts)
        else:
            assert all(p["content_type"] == "application/octet-stream" for p in posts)
        values = [json.loads(p["body"]) for p in posts]
    assert len(values) == 60
    if mode == "raw":
        assert all("metadata" not in v for v in values)           # raw never sends an envelope
        assert len({json.dumps(v, sort_keys=True) for v in values}) == 60
    else:
        ids = [v["metadata"]["iggy_id"] for v in values]
        assert len(set(ids)) == 60 and all(len(i) == 32 for i in ids)
        assert [v["metadata"]["iggy_offset"] for v in values] == list(range(60))
        assert {(v["metadata"]["iggy_stream"], v["metadata"]["iggy_topic"]) for v in values} == {("bench", "events")}


def test_unreachable_real_url_is_what_the_scenario_shows_not_exit_3(scenario_file: Callable[..., Path],
                                                                   tmp_path: Path) -> None:
    path = scenario_file(synthetic(30, batch_length=10, url=f"http://127.0.0.1:{closed_port()}/ingest",
                                   sink="max_retries = 0", expect='delivered = "== 0"\nfailed = "== total"'))
    r = run_cli(["run", str(path), "--quiet"], reports=tmp_path / "out")
    assert r.code == 0, (r.out, r.err)
    r.assert_no_traceback()
    rep = r.report
    assert rep is not None and rep["status"] == "completed"
    t = rep["totals"]
    assert t["delivered"] == 0 and t["failed"] == 30 and t["requests"] == 3
    assert t["lost"] is None and t["duplicates"] is None
    assert sum(rep["failed_message_attempts_by_reason"].values()) == 30
    check_accounting(rep)


# -- recorded replay pace -----------------------------------------------------------------------

SPAN_S = 2.0
STEP_US = 50_000


@pytest.fixture(scope="module")
def paced_stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """41 messages, one every 50 ms: 2 s of recorded time."""
    path = tmp_path_factory.mktemp("pace") / "paced.jsonl"
    with StreamWriter(path, stream="shop", topic="orders", schema="json") as writer:
        for i in range(int(SPAN_S * 1_000_000 / STEP_US) + 1):
            writer.write(None, Message(id=i + 1, offset=i, timestamp=1_790_000_000_000_000 + i * STEP_US,
                                       payload={"order": i}))
    return path


@pytest.mark.parametrize("speed, expected", [('"realtime"', SPAN_S), ("4.0", SPAN_S / 4)])
def test_recorded_replay_keeps_the_recorded_pace(speed: str, expected: float, paced_stream: Path,
                                                 receiver: Receiver, httpserver: HTTPServer,
                                                 scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    path = scenario_file(f'''
        [source]
        kind = "recorded"
        path = "{paced_stream}"
        speed = {speed}
        [runtime]
        batch_length = 1
        poll_interval = "1ms"
        [sink]
        url = "{httpserver.url_for('/ingest')}"
        batch_mode = "individual"
        [expect]
        delivered = "== total"
    ''')
    r = run_cli(["run", str(path), "--quiet"], reports=tmp_path / "out")
    assert r.code == 0, (r.out, r.err)
    rep = r.report
    assert rep is not None and rep["totals"]["delivered"] == 41
    posts = receiver.posts()
    assert len(posts) == 41
    # The pace as the receiver sees it, from the 11th request to the last (30 of the 40 steps): the first
    # requests may leave late on a loaded machine (the run starting up) and catch up, which says nothing
    # about the pace and would shorten a first-to-last span.
    span = posts[-1]["t"] - posts[10]["t"]
    assert expected * 0.75 * 0.9 <= span <= expected * 0.75 * 1.1, span
    # The run's duration covers that span plus the sink's start-up (its HTTP client) and close.
    assert expected * 0.9 <= rep["duration_s"] <= expected * 1.1 + 0.4, rep["duration_s"]


def test_recorded_replay_at_max_speed_does_not_wait(paced_stream: Path, receiver: Receiver, httpserver: HTTPServer,
                                                   scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    path = scenario_file(f'''
        [source]
        kind = "recorded"
        path = "{paced_stream}"
        [runtime]
        batch_length = 100
        [sink]
        url = "{httpserver.url_for('/ingest')}"
        batch_mode = "ndjson"
    ''')
    r = run_cli(["run", str(path), "--quiet"], reports=tmp_path / "out")
    assert r.code == 0, r.err
    assert r.report is not None and r.report["totals"]["delivered"] == 41
    assert len(receiver.posts()) == 1           # speed "max" (the default): one full batch at once
    assert r.report["duration_s"] < SPAN_S / 2


# -- secrets ------------------------------------------------------------------------------------

TOKEN = "tok-S3cret-7f3a9c"                 # from the environment, through ${TOKEN}
API_KEY = "key-S3cret-42d1"                 # a literal X-Api-Key header value
QUERY_TOKEN = "q-S3cret-b8e0"               # ?token=...
URL_PASSWORD = "pw-S3cret-5c21"             # http://user:password@host
SECRETS = (TOKEN, API_KEY, QUERY_TOKEN, URL_PASSWORD)


@pytest.mark.parametrize("case", ["flaky", "health_check_fails", "unreachable"])
def test_secrets_appear_in_no_output(case: str, httpserver: HTTPServer, scenario_file: Callable[..., Path],
                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     restore_sinkbench_logger: None) -> None:
    monkeypatch.setenv("TOKEN", TOKEN)
    # flaky: one 503 then 200s (a retry, logged); health_check_fails: the probe gets 503 (a note naming the URL).
    receiver = Receiver(lambda n, req: 503 if (n == 1 or req.method == "HEAD" and case == "health_check_fails")
                        else 200)
    httpserver.expect_request("/ingest").respond_with_handler(receiver)
    port = httpserver.port if case != "unreachable" else closed_port()
    url = f"http://bob:{URL_PASSWORD}@127.0.0.1:{port}/ingest?token={QUERY_TOKEN}&tenant=acme"
    sink = f'''
        max_retries = 1
        retry_delay = "10ms"
        verbose_logging = true
        health_check_enabled = {"true" if case == "health_check_fails" else "false"}
        [sink.headers]
        Authorization = "Bearer ${{TOKEN}}"
        X-Api-Key = "{API_KEY}"
        X-Tenant = "acme"
    '''
    path = scenario_file(synthetic(40, batch_length=20, url=url, sink=sink, expect='delivered = ">= 0"'))
    r = run_cli(["run", str(path), "-vv"], reports=tmp_path / "out")     # progress and debug logs on stderr
    assert r.code == 0, (r.out, r.err)
    r.assert_no_traceback()
    assert r.report is not None and r.junit is not None and r.summary is not None
    outputs = {"stdout": r.out, "stderr": r.err, "json": json.dumps(r.report), "junit": r.junit.read_text(),
               "markdown": r.summary.read_text()}
    for where, text in outputs.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked into {where}"
    settings = r.report["settings"]["sink"]
    assert settings["headers"]["X-Tenant"] == "acme"
    assert settings["headers"]["Authorization"] != f"Bearer {TOKEN}"
    assert "tenant=acme" in settings["url"]
    if case != "unreachable":
        # The secrets were really used: the server got them.
        first = receiver.requests[0]
        assert first["headers"]["Authorization"] == f"Bearer {TOKEN}"
        assert first["headers"]["X-Api-Key"] == API_KEY
        assert f"token={QUERY_TOKEN}" in first["query"]
    if case == "flaky":
        assert r.report["totals"]["retries"] >= 1 and r.report["totals"]["delivered"] == 40
    if case == "health_check_fails":
        assert r.report["status"] == "sink_not_opened"
        assert any("503" in note and "127.0.0.1" in note for note in r.report["notes"])
    if case == "unreachable":
        assert r.report["totals"]["failed"] == 40
