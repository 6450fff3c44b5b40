"""The endpoint over real HTTP: answers, every action, matchers, the ledger, the journal, bad clients."""

from __future__ import annotations

import asyncio
import email.utils
import socket
import time

import httpx
import orjson
import pytest

from sinkbench.clock import ManualClock, RealClock
from sinkbench.endpoint.server import MALFORMED, Endpoint
from sinkbench.endpoint.settings import EndpointSettings, parse_endpoint_settings
from sinkbench.errors import BenchError, InputError

from .conftest import Serve, post, raw_exchange
from .test_ledger import envelope, ndjson

JSON = {"Content-Type": "application/json"}


def request_tasks() -> list[asyncio.Task[object]]:
    """Tasks handling a request (one runs only for an answer that waits); idle keep-alive connections have none."""
    return [t for t in asyncio.all_tasks() if "_handle_request" in t.get_coro().__qualname__]


async def no_request_tasks_left() -> bool:
    for _ in range(100):
        if not request_tasks():
            return True
        await asyncio.sleep(0.01)
    return False


async def test_answers_every_method_and_path(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"status": 202})
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        r = await http.request(method, ep.url + "any/where?x=1", content=b"" if method in ("GET", "HEAD") else b"x")
        assert r.status_code == 202, method
    assert ep.stats()["requests"] == 7
    assert ep.stats()["by_status"] == {"202": 7}


async def test_url_and_port(serve: Serve) -> None:
    ep = await serve()
    assert ep.port > 0
    assert ep.url == f"http://127.0.0.1:{ep.port}/"
    assert ep.admin_url == f"http://127.0.0.1:{ep.port}/__sinkbench/"
    assert ep.ca_pem_path is None


async def test_status_fault_with_retry_after_seconds_and_body(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"faults": [{"action": "status", "status": 503, "retry_after": "1500ms", "body": "busy"}]})
    r = await http.post(ep.url, content=b"x")
    assert (r.status_code, r.text, r.headers["retry-after"]) == (503, "busy", "2")  # whole seconds, rounded up


async def test_status_fault_with_retry_after_http_date(serve: Serve, http: httpx.AsyncClient,
                                                       clock: ManualClock) -> None:
    ep = await serve({"faults": [{"action": "status", "status": 429, "retry_after": "date:+2s"}]})
    r = await http.post(ep.url, content=b"x")
    assert r.status_code == 429
    when = email.utils.parsedate_to_datetime(r.headers["retry-after"]).timestamp()
    assert when == int(clock.wall() + 2)


async def test_latency_applies_to_normal_answers(serve: Serve, http: httpx.AsyncClient, clock: ManualClock) -> None:
    ep = await serve({"latency": "7ms", "faults": [{"requests": [2, 2], "action": "status", "status": 500}]})
    await http.post(ep.url, content=b"x")
    await http.post(ep.url, content=b"x")
    assert clock.sleeps == [0.007]  # the fault's answer came without it


async def test_delay_adds_to_latency_and_still_counts(serve: Serve, http: httpx.AsyncClient,
                                                      clock: ManualClock) -> None:
    ep = await serve({"latency": "2ms", "faults": [{"action": "delay", "delay": "3s"}]})
    r = await http.post(ep.url, content=orjson.dumps(envelope(1)), headers=JSON)
    assert r.status_code == 200
    assert clock.sleeps == [pytest.approx(3.002)]
    assert ep.stats()["messages"] == 1 and ep.stats()["faults"] == {"0": 1}


async def test_delay_past_the_client_timeout_still_counts_as_received(serve: Serve) -> None:
    # The endpoint processed the body; the client gave up. Sending it again is a duplicate (§4).
    ep = await serve({"faults": [{"requests": [1, 1], "action": "delay", "delay": "2s"}]}, clock=RealClock())
    body = orjson.dumps(envelope(1))
    async with httpx.AsyncClient(timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(ep.url, content=body, headers=JSON)
        r = await client.post(ep.url, content=body, headers=JSON)
    assert r.status_code == 200
    s = ep.stats()
    assert (s["messages"], s["unique_messages"], s["duplicates"]) == (2, 1, 1)


async def test_slow_body_dribbles_the_answer(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"faults": [{"action": "slow_body", "delay": "300ms", "body": "0123456789"}]}, clock=RealClock())
    start = time.monotonic()
    async with http.stream("POST", ep.url, content=orjson.dumps(envelope(1)), headers=JSON) as r:
        headers_at = time.monotonic() - start
        chunks = [c async for c in r.aiter_raw()]
    total = time.monotonic() - start
    assert r.status_code == 200
    assert b"".join(chunks) == b"0123456789"
    assert headers_at < 0.2 and total >= 0.28
    assert len(chunks) > 1
    assert ep.stats()["messages"] == 1  # a 2xx, late: accepted


async def test_slow_body_with_status_on_manual_clock(serve: Serve, http: httpx.AsyncClient,
                                                     clock: ManualClock) -> None:
    ep = await serve({"faults": [{"action": "slow_body", "delay": "1s", "status": 503, "retry_after": "1s"}]})
    r = await http.post(ep.url, content=b"x")
    assert r.status_code == 503 and r.headers["retry-after"] == "1" and r.content
    assert sum(clock.sleeps) == pytest.approx(1.0)
    assert ep.stats()["messages"] == 0


async def test_reset_sends_rst_without_answer(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"faults": [{"action": "reset"}]})
    received, outcome = await raw_exchange(ep, post(orjson.dumps(envelope(1))))
    assert (received, outcome) == (b"", "reset")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        await http.post(ep.url, content=b"x")
    s = ep.stats()
    assert s["by_status"] == {"reset": 2} and s["messages"] == 0 and s["requests"] == 2


async def test_close_ends_cleanly_without_answer(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"faults": [{"action": "close"}]})
    assert await raw_exchange(ep, post(b"hello")) == (b"", "eof")
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post(ep.url, content=b"x")
    assert ep.stats()["by_status"] == {"close": 2}


async def test_malformed_writes_garbage(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"faults": [{"action": "malformed"}]})
    received, outcome = await raw_exchange(ep, post(b"hello"))
    assert (received, outcome) == (MALFORMED, "eof")
    assert not received.startswith(b"HTTP/")
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post(ep.url, content=b"x")
    assert ep.stats()["by_status"] == {"malformed": 2}


async def test_hang_never_answers_and_frees_the_handler_when_the_client_leaves(serve: Serve) -> None:
    ep = await serve({"faults": [{"requests": [1, 1], "action": "hang"}]})
    reader, writer = await asyncio.open_connection(ep.host, ep.port)
    writer.write(post(orjson.dumps(envelope(1))))
    await writer.drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(1), 0.3)
    assert len(request_tasks()) == 1  # hanging
    writer.close()
    assert await no_request_tasks_left()  # the client left: its handler was cancelled
    assert ep.stats()["by_status"] == {"hang": 1} and ep.stats()["messages"] == 0
    async with httpx.AsyncClient() as client:  # request 2 is answered as usual
        assert (await client.get(ep.url)).status_code == 200


async def test_stop_ends_hanging_requests_promptly() -> None:
    ep = Endpoint(parse_endpoint_settings({"faults": [{"action": "hang"}]}, None, ()), clock=ManualClock())
    await ep.start()
    reader, writer = await asyncio.open_connection(ep.host, ep.port)
    writer.write(post(b"x"))
    await writer.drain()
    await asyncio.sleep(0.1)
    start = time.monotonic()
    await ep.stop()
    assert time.monotonic() - start < 1.0
    with pytest.raises(ConnectionResetError):
        async with asyncio.timeout(2):
            assert await reader.read(100) == b""
            raise ConnectionResetError  # a clean EOF is as good: no answer came
    writer.close()
    leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert not leftover


async def test_stop_does_not_wait_for_long_delays() -> None:
    ep = Endpoint(parse_endpoint_settings({"latency": "30s"}, None, ()))
    await ep.start()
    async with httpx.AsyncClient() as client:
        task = asyncio.create_task(client.post(ep.url, content=b"x"))
        await asyncio.sleep(0.1)
        start = time.monotonic()
        await ep.stop()
        assert time.monotonic() - start < 2.0
        with pytest.raises(httpx.HTTPError):
            await task


async def test_request_numbers_over_http(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"faults": [{"requests": [2, 3], "action": "status", "status": 503},
                                 {"every": 4, "action": "status", "status": 500}]})
    codes = [(await http.post(ep.url, content=b"x")).status_code for _ in range(8)]
    assert codes == [200, 503, 503, 500, 200, 200, 200, 500]
    assert ep.stats()["faults"] == {"0": 2, "1": 2}


async def test_admin_calls_are_not_numbered(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"faults": [{"requests": [2, 2], "action": "status", "status": 503}]})
    assert (await http.post(ep.url, content=b"x")).status_code == 200
    await http.get(ep.admin_url + "stats")
    await http.get(ep.admin_url + "health")
    assert (await http.post(ep.url, content=b"x")).status_code == 503
    assert ep.stats()["requests"] == 2


async def test_time_window_on_the_injected_clock(serve: Serve, http: httpx.AsyncClient, clock: ManualClock) -> None:
    ep = await serve({"faults": [{"after": "5s", "until": "15s", "action": "status", "status": 503}]})
    codes = []
    for t in (0, 5, 14, 15):
        clock.advance(t - (clock.now() - 0))
        codes.append((await http.post(ep.url, content=b"x")).status_code)
    assert codes == [200, 503, 503, 200]


async def test_clock_and_numbers_restart_at_reset(serve: Serve, http: httpx.AsyncClient, clock: ManualClock) -> None:
    ep = await serve({"faults": [{"until": "5s", "requests": [1, 1], "action": "status", "status": 503}]})
    assert (await http.post(ep.url, content=b"x")).status_code == 503
    clock.advance(10)
    ep.reset()
    assert (await http.post(ep.url, content=b"x")).status_code == 503  # request 1 at t = 0 again
    assert ep.stats()["requests"] == 1


async def test_same_seed_same_faults_over_http(serve: Serve, http: httpx.AsyncClient) -> None:
    doc = {"faults": [{"probability": 0.4, "action": "status", "status": 503}], "seed": 9}

    async def sequence() -> list[int]:
        ep = await serve(doc)
        return [(await http.post(ep.url, content=b"x")).status_code for _ in range(60)]

    first, second = await sequence(), await sequence()
    assert first == second and 503 in first and 200 in first
    other = await serve({**doc, "seed": 10})
    assert [(await http.post(other.url, content=b"x")).status_code for _ in range(60)] != first


async def test_reset_reseeds(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"faults": [{"probability": 0.5, "action": "status", "status": 503}], "seed": 3})
    first = [(await http.post(ep.url, content=b"x")).status_code for _ in range(30)]
    ep.reset()
    assert [(await http.post(ep.url, content=b"x")).status_code for _ in range(30)] == first


async def test_max_body_bytes_answers_413_and_keeps_the_connection(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"max_body_bytes": 1000})
    r = await http.post(ep.url, content=b"x" * 1001, headers=JSON)
    assert r.status_code == 413
    assert (await http.post(ep.url, content=b"x" * 1000)).status_code == 200
    s = ep.stats()
    assert s["by_status"] == {"200": 1, "413": 1} and s["bytes"] == 2001 and s["messages"] == 1


async def test_huge_body_over_the_buffer_cap_is_drained_not_kept(serve: Serve, http: httpx.AsyncClient,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sinkbench.endpoint.server.BODY_CAP", 4096)
    monkeypatch.setattr("sinkbench.endpoint.faults.BODY_CAP", 4096)
    ep = await serve({"faults": [{"requests": [2, 2], "action": "status", "status": 200}]})

    async def chunks():
        for _ in range(10):
            yield b"y" * 1000

    assert (await http.post(ep.url, content=chunks())).status_code == 413
    assert (await http.post(ep.url, content=chunks())).status_code == 200  # a fault took it; too big to read
    entries = ep.requests()
    assert [e["body_bytes"] for e in entries] == [10_000, 10_000]
    assert [e["messages"] for e in entries] == [None, None]
    assert ep.stats()["messages"] == 0


async def test_rate_limit_429_with_retry_after(serve: Serve, http: httpx.AsyncClient, clock: ManualClock) -> None:
    ep = await serve({"rate_limit": {"requests_per_second": 10, "burst": 2, "retry_after": "3s"}})
    codes = [(await http.post(ep.url, content=b"x")).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    r = await http.post(ep.url, content=b"x")
    assert r.headers["retry-after"] == "3"
    clock.advance(0.1)
    assert (await http.post(ep.url, content=b"x")).status_code == 200


async def test_ledger_per_batch_mode(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    values = [envelope(i) for i in range(10)]
    for v in values[:3]:  # individual
        await http.post(ep.url, content=orjson.dumps(v), headers=JSON)
    await http.post(ep.url, content=ndjson(values[3:6]), headers={"Content-Type": "application/x-ndjson"})
    await http.post(ep.url, content=orjson.dumps(values[6:10]), headers=JSON)  # json_array
    await http.post(ep.url, content=b"\x00raw", headers={"Content-Type": "application/octet-stream"})
    await http.post(ep.url, content=b"\x01raw", headers={"Content-Type": "application/octet-stream"})
    await http.post(ep.url, content=orjson.dumps([{"bare": 1}, {"bare": 2}]), headers=JSON)  # no metadata
    s = ep.stats()
    assert (s["messages"], s["unique_messages"], s["duplicates"]) == (14, 14, 0)
    # The same messages again, each in another mode: all duplicates.
    await http.post(ep.url, content=ndjson(values[:3]), headers={"Content-Type": "application/x-ndjson"})
    await http.post(ep.url, content=orjson.dumps(values[3]), headers=JSON)
    await http.post(ep.url, content=b"\x00raw", headers={"Content-Type": "application/octet-stream"})
    s = ep.stats()
    assert (s["messages"], s["unique_messages"], s["duplicates"]) == (19, 14, 5)
    assert [e["messages"] for e in ep.requests()][-3:] == [3, 1, 1]


async def test_only_accepted_bodies_count(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"faults": [
        {"requests": [1, 1], "action": "status", "status": 503},
        {"requests": [2, 2], "action": "status", "status": 500, "accept": True},
        {"requests": [3, 3], "action": "status", "status": 201},
        {"requests": [4, 4], "action": "close"},
        {"requests": [5, 5], "action": "close", "accept": True},
    ]})
    for i in range(1, 7):
        try:
            await http.post(ep.url, content=orjson.dumps(envelope(i)), headers=JSON)
        except httpx.HTTPError:
            pass
    s = ep.stats()
    assert (s["messages"], s["unique_messages"]) == (4, 4)  # 2, 3, 5 and 6
    assert s["by_status"] == {"200": 1, "201": 1, "500": 1, "503": 1, "close": 2}
    assert [e["messages"] for e in ep.requests()] == [1] * 6  # the journal shows what each body held


async def test_journal_entries_and_redaction(serve: Serve, http: httpx.AsyncClient, clock: ManualClock) -> None:
    ep = await serve({"faults": [{"requests": [2, 2], "action": "reset"}]})
    clock.advance(1.5)
    await http.post(ep.url + "ingest?api_token=s3cret&x=1", content=orjson.dumps(envelope(1)),
                    headers={**JSON, "Authorization": "Bearer s3cret", "X-Api-Key": "k", "X-Auth-Token": "t",
                             "X-Trace": "visible"})
    with pytest.raises(httpx.HTTPError):
        await http.put(ep.url + "p", content=b"")
    first, second = ep.requests()
    assert first["seq"] == 1 and first["time"] == 1.5 and first["method"] == "POST"
    assert first["path"] == "/ingest?api_token=[redacted]&x=1"
    assert first["headers"]["Authorization"] == "[redacted]"
    assert first["headers"]["X-Api-Key"] == "[redacted]"
    assert first["headers"]["X-Auth-Token"] == "[redacted]"
    assert first["headers"]["X-Trace"] == "visible"
    assert "s3cret" not in orjson.dumps(ep.requests()).decode()
    assert (first["content_type"], first["body_bytes"], first["messages"], first["status"]) == \
        ("application/json", len(orjson.dumps(envelope(1))), 1, 200)
    assert (second["seq"], second["method"], second["status"], second["messages"]) == (2, "PUT", "reset", 0)


async def test_journal_is_a_bounded_ring(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve(journal_size=5)
    for _ in range(12):
        await http.post(ep.url, content=b"x")
    assert [e["seq"] for e in ep.requests()] == [8, 9, 10, 11, 12]
    assert [e["seq"] for e in ep.requests(2)] == [11, 12]
    assert ep.requests(0) == []


async def test_apply_takes_effect_on_the_next_request(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    assert (await http.post(ep.url, content=b"x")).status_code == 200
    ep.apply(parse_endpoint_settings({"status": 503}, None, ()))
    assert (await http.post(ep.url, content=b"x")).status_code == 503
    with pytest.raises(InputError, match="tls cannot change"):
        ep.apply(EndpointSettings(tls=True))
    assert ep.stats()["requests"] == 2  # numbering went on


async def test_port_in_use_is_a_bench_error(serve: Serve) -> None:
    ep = await serve()
    with pytest.raises(BenchError, match=f"127.0.0.1:{ep.port}: the port is already in use"):
        await Endpoint(port=ep.port).start()


async def test_start_twice_and_stop_twice(serve: Serve) -> None:
    ep = await serve()
    with pytest.raises(RuntimeError):
        await ep.start()
    await ep.stop()
    await ep.stop()


# --- bad clients ------------------------------------------------------------------


async def test_malformed_request_line(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    for garbage in (b"\x16\x03\x01 TLS on a plain port\r\n\r\n", b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                    b"\x00\xff\xfe\r\n\r\n"):
        received, outcome = await raw_exchange(ep, garbage)
        assert received.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400", b"HTTP/1.1 505")), received
        assert outcome == "eof"
    assert (await http.get(ep.url)).status_code == 200
    assert ep.stats()["requests"] == 1  # the garbage never became a request


async def test_oversized_headers(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    big = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    received, _ = await raw_exchange(ep, big)
    assert received.startswith((b"HTTP/1.0 4", b"HTTP/1.1 4")), received[:40]
    many = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(500)) + b"\r\n"
    received, _ = await raw_exchange(ep, many)
    assert received.startswith((b"HTTP/1.0 4", b"HTTP/1.1 4")), received[:40]
    assert (await http.get(ep.url)).status_code == 200


async def test_client_disconnects_mid_body(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    for _ in range(5):
        reader, writer = await asyncio.open_connection(ep.host, ep.port)
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"z" * 5000)
        await writer.drain()
        writer.close()
    await asyncio.sleep(0.1)
    assert (await http.post(ep.url, content=b"x")).status_code == 200
    assert await no_request_tasks_left()
    assert ep.stats()["requests"] == 1


async def test_slow_sender_does_not_block_others(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    reader, writer = await asyncio.open_connection(ep.host, ep.port)
    body = orjson.dumps(envelope(1))
    writer.write(f"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                 "\r\n".encode() + body[:10])
    await writer.drain()
    start = time.monotonic()
    for _ in range(5):  # others are answered while the slow one trickles
        assert (await http.post(ep.url, content=b"x")).status_code == 200
    assert time.monotonic() - start < 1.0
    for i in range(10, len(body), 20):
        writer.write(body[i:i + 20])
        await writer.drain()
        await asyncio.sleep(0.01)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 2)
    assert head.startswith(b"HTTP/1.1 200")
    writer.close()
    last = ep.requests()[-1]
    assert (last["seq"], last["messages"], last["status"]) == (6, 1, 200)


async def test_broken_chunked_body(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    received, _ = await raw_exchange(
        ep, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nnope\r\n0\r\n\r\n")
    assert received.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400")), received[:40]
    assert (await http.get(ep.url)).status_code == 200


async def test_chunked_and_pipelined_requests(serve: Serve) -> None:
    ep = await serve()
    body = ndjson([envelope(1), envelope(2)])
    chunked = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
    reader, writer = await asyncio.open_connection(ep.host, ep.port)
    writer.write(chunked + post(orjson.dumps(envelope(3))))
    await writer.drain()
    data = b""
    async with asyncio.timeout(2):
        while data.count(b"HTTP/1.1 200") < 2:
            data += await reader.read(4096)
    writer.close()
    assert ep.stats()["unique_messages"] == 3


async def test_many_connections_at_once(serve: Serve) -> None:
    ep = await serve({"faults": [{"every": 7, "action": "reset"}]})
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=50)) as client:
        async def one(i: int) -> int:
            try:
                return (await client.post(ep.url, content=orjson.dumps(envelope(i)), headers=JSON)).status_code
            except httpx.HTTPError:
                return 0

        codes = await asyncio.gather(*(one(i) for i in range(100)))
    assert codes.count(0) == 100 // 7
    assert ep.stats()["unique_messages"] == 100 - 100 // 7


def test_reset_sets_linger_zero() -> None:
    # The RST comes from SO_LINGER {1, 0}; make sure the platform accepts that option shape.
    s = socket.socket()
    try:
        import struct

        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        s.close()
