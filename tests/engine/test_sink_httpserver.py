"""The engine against an endpoint we did not write (pytest-httpserver): what it sends, how it retries, how it counts."""

from __future__ import annotations

import asyncio
import random
import socket
import time

import orjson
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sinkbench.clock import ManualClock
from sinkbench.config.settings import SinkSettings
from sinkbench.engine import HttpSink, Outcome, SinkError
from sinkbench.engine.accounting import partial_result
from sinkbench.model import BatchMetadata, HeaderValue, Message, Schema, TopicMetadata

TOPIC = TopicMetadata("test_stream", "test_topic")
META = BatchMetadata(0, 0, Schema.JSON)


def messages(n: int, start: int = 0) -> list[Message]:
    return [Message(id=100 + i, offset=i, timestamp=1710064800000000 + i, payload={"n": i},
                    headers={"x-correlation-id": HeaderValue.string(f"c{i}")}) for i in range(start, start + n)]


def sink_for(url: str, clock: ManualClock | None = None, **kw) -> HttpSink:
    kw.setdefault("retry_delay", "10ms")
    from sinkbench.config import resolve_sink, table_locator
    loaded = resolve_sink({"url": url, **kw}, table_locator(None, (), "test"), env={})
    return HttpSink(loaded.settings, clock=clock or ManualClock(), rng=random.Random(1))


@pytest.fixture
def threaded_server():
    """A fresh threaded server for slow handlers, so a late answer never leaks into the next test."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("mode,requests,ctype", [("individual", 3, "application/json"),
                                                  ("ndjson", 1, "application/x-ndjson"),
                                                  ("json_array", 1, "application/json"),
                                                  ("raw", 3, "application/octet-stream")])
async def test_bodies_and_headers_received_in_each_mode(httpserver: HTTPServer, mode, requests, ctype):
    httpserver.expect_request("/ingest", method="POST").respond_with_data("ok")
    sink = sink_for(httpserver.url_for("/ingest"), batch_mode=mode,
                    headers={"X-Custom": "yes", "Content-Type": "text/plain"})
    await sink.open()
    result = await sink.consume(TOPIC, META, messages(3))
    await sink.close()
    assert result.outcomes == [Outcome.DELIVERED] * 3 and result.ok
    log = [r for r, _ in httpserver.log]
    assert len(log) == requests
    for r in log:
        assert r.headers["Content-Type"] == ctype and r.headers["X-Custom"] == "yes"
    bodies = [r.get_data() for r in log]
    if mode == "individual":
        docs = [orjson.loads(b) for b in bodies]
        assert [d["metadata"]["iggy_offset"] for d in docs] == [0, 1, 2]
        assert docs[0]["metadata"]["iggy_headers"] == {"x-correlation-id": "c0"}
    elif mode == "ndjson":
        assert bodies[0].endswith(b"\n") and len(bodies[0].strip().split(b"\n")) == 3
    elif mode == "json_array":
        assert [d["payload"]["n"] for d in orjson.loads(bodies[0])] == [0, 1, 2]
    else:
        assert bodies == [b'{"n":0}', b'{"n":1}', b'{"n":2}']


async def test_503_then_200_is_retried_with_the_right_attempts(httpserver: HTTPServer):
    httpserver.expect_oneshot_request("/ingest").respond_with_data("busy", status=503)
    httpserver.expect_oneshot_request("/ingest").respond_with_data("busy", status=503)
    httpserver.expect_request("/ingest").respond_with_data("ok", status=200)
    clock = ManualClock()
    sink = sink_for(httpserver.url_for("/ingest"), clock, batch_mode="ndjson", retry_delay="100ms")
    await sink.open()
    result = await sink.consume(TOPIC, META, messages(5))
    assert result.outcomes == [Outcome.DELIVERED] * 5
    assert len(httpserver.log) == 3
    assert sink.stats.requests == 3 and sink.stats.retries == 2 and sink.stats.send_attempts == 1
    assert len(clock.sleeps) == 2 and clock.sleeps[0] < 0.1 and clock.sleeps[1] < 0.2
    await sink.close()


async def test_400_is_not_retried(httpserver: HTTPServer):
    httpserver.expect_request("/ingest").respond_with_data("bad", status=400)
    sink = sink_for(httpserver.url_for("/ingest"), batch_mode="json_array")
    await sink.open()
    result = await sink.consume(TOPIC, META, messages(4))
    assert result.outcomes == [Outcome.FAILED] * 4 and result.error == "status 400"
    assert len(httpserver.log) == 1 and sink.stats.errors == 4
    await sink.close()


async def test_retries_exhausted_counts_max_retries_plus_one_attempts(httpserver: HTTPServer):
    httpserver.expect_request("/ingest").respond_with_data("down", status=503)
    sink = sink_for(httpserver.url_for("/ingest"), batch_mode="ndjson", max_retries=2)
    await sink.open()
    result = await sink.consume(TOPIC, META, messages(2))
    assert result.outcomes == [Outcome.FAILED] * 2 and len(httpserver.log) == 3
    await sink.close()


async def test_connection_refused_is_retried_then_failed():
    clock = ManualClock()
    sink = sink_for(f"http://127.0.0.1:{free_port()}/ingest", clock, batch_mode="ndjson", max_retries=2)
    await sink.open()
    result = await sink.consume(TOPIC, META, messages(2))
    assert result.outcomes == [Outcome.FAILED] * 2
    assert sink.stats.requests == 3 and sink.stats.transport_errors["connect"] == 3 and len(clock.sleeps) == 2
    await sink.close()


async def test_timeout_is_a_transport_error_and_retried(threaded_server: HTTPServer):
    def slow(request: Request) -> Response:
        time.sleep(0.3)
        return Response("late")

    threaded_server.expect_request("/ingest").respond_with_handler(slow)
    sink = sink_for(threaded_server.url_for("/ingest"), batch_mode="ndjson", timeout="100ms", max_retries=1)
    await sink.open()
    result = await sink.consume(TOPIC, META, messages(1))
    assert result.outcomes == [Outcome.FAILED] and sink.stats.transport_errors["timeout"] == 2
    await sink.close()


async def test_retry_after_honoured_in_enhanced_on_the_injected_clock(httpserver: HTTPServer):
    httpserver.expect_oneshot_request("/ingest").respond_with_data("slow down", status=429, headers={"Retry-After": "3"})
    httpserver.expect_request("/ingest").respond_with_data("ok")
    clock = ManualClock()
    sink = sink_for(httpserver.url_for("/ingest"), clock, batch_mode="ndjson", profile="enhanced",
                    retry_delay="100ms", max_retry_delay="10s")
    await sink.open()
    result = await sink.consume(TOPIC, META, messages(1))
    assert result.ok and clock.sleeps == [3.0]
    await sink.close()


async def test_retry_after_ignored_in_iggy_profile(httpserver: HTTPServer):
    httpserver.expect_oneshot_request("/ingest").respond_with_data("slow down", status=429, headers={"Retry-After": "3"})
    httpserver.expect_request("/ingest").respond_with_data("ok")
    clock = ManualClock()
    sink = sink_for(httpserver.url_for("/ingest"), clock, batch_mode="ndjson", retry_delay="100ms")
    await sink.open()
    assert (await sink.consume(TOPIC, META, messages(1))).ok
    assert len(clock.sleeps) == 1 and clock.sleeps[0] < 0.1
    await sink.close()


async def test_abort_after_three_consecutive_failures(httpserver: HTTPServer):
    httpserver.expect_request("/ingest").respond_with_data("no", status=500)
    sink = sink_for(httpserver.url_for("/ingest"), max_retries=0)
    await sink.open()
    result = await sink.consume(TOPIC, META, messages(10))
    assert result.outcomes == [Outcome.FAILED] * 10
    assert len(httpserver.log) == 3
    assert sum(1 for r in result.reasons.values() if "abandoned" in r) == 7
    assert sink.stats.errors == 10
    await sink.close()


async def test_fail_success_fail_never_aborts(httpserver: HTTPServer):
    for status in [500, 200, 500, 500, 200, 500, 500]:
        httpserver.expect_ordered_request("/ingest").respond_with_data("x", status=status)
    sink = sink_for(httpserver.url_for("/ingest"), max_retries=0)
    await sink.open()
    result = await sink.consume(TOPIC, META, messages(7))
    D, F = Outcome.DELIVERED, Outcome.FAILED
    assert result.outcomes == [F, D, F, F, D, F, F]
    await sink.close()


async def test_oversize_message_skipped_and_oversize_batch_fails_whole(httpserver: HTTPServer):
    httpserver.expect_request("/ingest").respond_with_data("ok")
    msgs = messages(3)
    msgs[1].payload = {"n": 1, "pad": "x" * 500}
    sink = sink_for(httpserver.url_for("/ingest"), max_payload_size_bytes=300)
    await sink.open()
    result = await sink.consume(TOPIC, META, msgs)
    assert result.outcomes == [Outcome.DELIVERED, Outcome.SKIPPED, Outcome.DELIVERED]
    assert len(httpserver.log) == 2 and "exceeds max size" in result.reasons[1]
    await sink.close()
    httpserver.clear_log()
    sink = sink_for(httpserver.url_for("/ingest"), batch_mode="ndjson", max_payload_size_bytes=300)
    await sink.open()
    result = await sink.consume(TOPIC, META, msgs)
    assert result.outcomes == [Outcome.SKIPPED] * 3 and len(httpserver.log) == 0
    await sink.close()


async def test_split_oversize_batches_in_enhanced(httpserver: HTTPServer):
    httpserver.expect_request("/ingest").respond_with_data("ok")
    sink = sink_for(httpserver.url_for("/ingest"), batch_mode="json_array", profile="enhanced",
                    split_oversize_batches=True, max_payload_size_bytes=400)
    await sink.open()
    result = await sink.consume(TOPIC, META, messages(6))
    assert result.outcomes == [Outcome.DELIVERED] * 6
    bodies = [r.get_data() for r, _ in httpserver.log]
    assert len(bodies) > 1 and all(len(b) <= 400 for b in bodies)
    assert [d["metadata"]["iggy_offset"] for b in bodies for d in orjson.loads(b)] == list(range(6))
    await sink.close()


async def test_health_check_pass_and_fail(httpserver: HTTPServer):
    httpserver.expect_request("/ingest", method="HEAD").respond_with_data("")
    sink = sink_for(httpserver.url_for("/ingest"), health_check_enabled=True)
    await sink.open()
    assert sink.is_open and httpserver.log[0][0].method == "HEAD"
    assert "Content-Type" not in httpserver.log[0][0].headers
    await sink.close()
    httpserver.clear()
    httpserver.expect_request("/ingest", method="GET").respond_with_data("nope", status=404)
    sink = sink_for(httpserver.url_for("/ingest"), health_check_enabled=True, health_check_method="GET")
    with pytest.raises(SinkError) as info:
        await sink.open()
    assert "Health check returned status 404" in str(info.value) and not sink.is_open


async def test_health_check_transport_failure_names_url_without_credentials():
    sink = sink_for(f"http://user:pw@127.0.0.1:{free_port()}/ingest", health_check_enabled=True, max_retries=1)
    with pytest.raises(SinkError) as info:
        await sink.open()
    assert "Health check failed for URL 'http://127.0.0.1:" in str(info.value) and "pw" not in str(info.value)


async def test_consume_before_open_is_an_init_error():
    sink = sink_for("http://127.0.0.1:9/")
    with pytest.raises(SinkError) as info:
        await sink.consume(TOPIC, META, messages(1))
    assert "not initialized" in str(info.value)


async def test_open_validates_like_iggy():
    for settings, needle in [(SinkSettings(url=""), "empty"), (SinkSettings(url="ftp://x/"), "not allowed"),
                             (SinkSettings(url="http://x/", success_status_codes=frozenset()), "success_status_codes"),
                             (SinkSettings(url="http://x/", headers=(("Bad Name", "v"),)), "Invalid header name")]:
        with pytest.raises(SinkError) as info:
            await HttpSink(settings).open()
        assert needle in str(info.value)


async def test_empty_batch_sends_nothing(httpserver: HTTPServer):
    sink = sink_for(httpserver.url_for("/ingest"))
    await sink.open()
    result = await sink.consume(TOPIC, META, [])
    assert result.ok and result.outcomes == [] and len(httpserver.log) == 0
    await sink.close()


async def test_max_in_flight_sends_concurrently_and_keeps_order_of_judgement(threaded_server: HTTPServer):
    def slow(request: Request) -> Response:
        time.sleep(0.05)
        return Response("ok")

    threaded_server.expect_request("/ingest").respond_with_handler(slow)
    sink = sink_for(threaded_server.url_for("/ingest"), profile="enhanced", max_in_flight=8)
    await sink.open()
    started = time.perf_counter()
    result = await sink.consume(TOPIC, META, messages(16))
    elapsed = time.perf_counter() - started
    assert result.outcomes == [Outcome.DELIVERED] * 16
    # 16 × 50 ms one after another would take 0.8 s; pytest-httpserver serves requests on threads.
    assert elapsed < 0.6
    await sink.close()


async def test_cancelled_consume_ends_its_request_window_and_hands_on_what_it_decided(threaded_server: HTTPServer):
    # Regression: cut off by the run's end (timeout, Ctrl-C), consume() left the window's other requests
    # running — they outlived the run, then failed on the closed client ("Task exception was never
    # retrieved") — and what it had decided was lost, so a delivered message counted undelivered.
    def first_fast(request: Request) -> Response:
        if orjson.loads(request.get_data())["payload"]["n"] != 0:
            time.sleep(0.5)
        return Response("ok")

    threaded_server.expect_request("/ingest").respond_with_handler(first_fast)
    sink = sink_for(threaded_server.url_for("/ingest"), profile="enhanced", max_in_flight=4, max_retries=0)
    await sink.open()
    consume = asyncio.create_task(sink.consume(TOPIC, META, messages(4)))
    for _ in range(200):
        if sink.stats.delivered:
            break
        await asyncio.sleep(0.01)
    consume.cancel()
    with pytest.raises(asyncio.CancelledError) as cut:
        await consume
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    partial = partial_result(cut.value)
    assert partial is not None
    assert partial.outcomes == [Outcome.DELIVERED, Outcome.PENDING, Outcome.PENDING, Outcome.PENDING]
    await sink.close()
