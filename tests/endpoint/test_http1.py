"""HTTP/1.1 framing as clients see it (sinkbench/endpoint/http1.py): what aiohttp's server did for the endpoint
and a client would notice if it changed — versions, keep-alive, HEAD, pipelining, Date, limits, bad framing."""

from __future__ import annotations

import asyncio
import email.utils
import re
import time

import orjson

from sinkbench.clock import RealClock

from .conftest import Serve, post, raw_exchange
from .test_ledger import envelope

ROUTES = {"routes": [{"path": "/route", "status": 201, "body": '{"a":1}', "content_type": "application/json"},
                     {"path": "/fast", "status": 202}]}


def statuses(data: bytes) -> list[bytes]:
    return re.findall(rb"HTTP/1\.[01] (\d\d\d) ", data)


async def test_http10_closes_unless_asked_to_keep_alive(serve: Serve) -> None:
    ep = await serve()
    received, outcome = await raw_exchange(ep, b"POST /i HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}", timeout=1.0)
    assert received.startswith(b"HTTP/1.0 200 OK\r\n") and b"Connection" not in received
    assert outcome == "eof"
    received, outcome = await raw_exchange(
        ep, b"POST /i HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}", timeout=0.5)
    assert received.startswith(b"HTTP/1.0 200 OK\r\n") and b"\r\nConnection: keep-alive\r\n" in received
    assert outcome == "timeout"  # still open


async def test_connection_close_is_answered_and_honoured(serve: Serve) -> None:
    ep = await serve()
    received, outcome = await raw_exchange(ep, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert statuses(received) == [b"200"] and b"\r\nConnection: close\r\n" in received
    assert outcome == "eof"


async def test_head_gets_the_length_but_no_body_and_framing_holds(serve: Serve) -> None:
    ep = await serve(ROUTES)
    received, _ = await raw_exchange(
        ep, b"HEAD /route HTTP/1.1\r\nHost: x\r\n\r\nGET /route HTTP/1.1\r\nHost: x\r\n\r\n", timeout=0.5)
    first, second = received.split(b"HTTP/1.1 201", 2)[1:]
    assert b"Content-Length: 7\r\n" in first and first.endswith(b"\r\n\r\n")
    assert second.endswith(b'\r\n\r\n{"a":1}')


async def test_answers_carry_a_date(serve: Serve) -> None:
    ep = await serve()
    received, _ = await raw_exchange(ep, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", timeout=0.3)
    date = re.search(rb"\r\nDate: ([^\r]+)\r\n", received)
    assert date is not None
    assert abs(email.utils.parsedate_to_datetime(date.group(1).decode()).timestamp() - time.time()) < 5


async def test_pipelined_requests_are_answered_in_order_also_behind_a_wait(serve: Serve) -> None:
    ep = await serve({**ROUTES, "faults": [{"path": "/route", "action": "delay", "delay": "200ms"}]},
                     clock=RealClock())
    get = b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n"
    received, _ = await raw_exchange(ep, get % b"/route" + get % b"/fast" + get % b"/route" + get % b"/fast",
                                     timeout=1.5)
    assert statuses(received) == [b"201", b"202", b"201", b"202"]
    assert [e["path"] for e in ep.requests()] == ["/route", "/fast", "/route", "/fast"]


async def test_a_client_that_does_not_read_its_answers_gets_them_all_in_the_end(serve: Serve) -> None:
    # Thousands of pipelined requests sent before reading a byte: the endpoint stops reading while its
    # answers back up, and resumes; nothing is lost or reordered.
    ep = await serve(ROUTES)
    n = 4000
    reader, writer = await asyncio.open_connection(ep.host, ep.port)
    writer.write(b"".join(b"GET /%s HTTP/1.1\r\nHost: x\r\n\r\n" % (b"route" if i % 2 else b"fast")
                          for i in range(n)))
    await asyncio.sleep(0.3)
    data = b""
    async with asyncio.timeout(10):
        while data.count(b"HTTP/1.1 ") < n:
            data += await reader.read(1 << 16)
    writer.close()
    assert statuses(data) == [b"202", b"201"] * (n // 2)
    assert ep.stats()["requests"] == n


async def test_expect_100_continue_gets_no_interim_answer_and_the_body_is_read(serve: Serve) -> None:
    # As aiohttp's low-level server: no "100 Continue"; clients send the body after their own short wait.
    ep = await serve()
    body = orjson.dumps(envelope(1))
    reader, writer = await asyncio.open_connection(ep.host, ep.port)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body))
    await writer.drain()
    early = b""
    try:
        async with asyncio.timeout(0.3):
            early = await reader.read(100)
    except TimeoutError:
        pass
    assert early == b""
    writer.write(body)
    async with asyncio.timeout(2):
        head = await reader.readuntil(b"\r\n\r\n")
    writer.close()
    assert head.startswith(b"HTTP/1.1 200") and ep.stats()["messages"] == 1


async def test_a_request_without_host_is_refused(serve: Serve) -> None:
    ep = await serve()
    received, outcome = await raw_exchange(ep, b"GET / HTTP/1.1\r\n\r\n")
    assert received.startswith(b"HTTP/1.0 400") and b"Host" in received and outcome == "eof"
    assert ep.stats()["requests"] == 0


async def test_header_values_are_trimmed_as_http_says(serve: Serve) -> None:
    ep = await serve({"routes": [{"headers": {"X-Mode": "fast"}, "status": 202}]})
    received, _ = await raw_exchange(ep, b"GET / HTTP/1.1\r\nHost: x\r\nx-mode:   fast  \t\r\n\r\n", timeout=0.3)
    assert statuses(received) == [b"202"]


async def test_a_header_dribbled_past_the_limits_is_refused_not_buffered(serve: Serve) -> None:
    ep = await serve()
    reader, writer = await asyncio.open_connection(ep.host, ep.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Endless: ")

    async def dribble() -> None:
        for _ in range(40):  # 40 KB of one header value that never ends
            try:
                writer.write(b"a" * 1000)
                await writer.drain()
            except ConnectionError:
                return
            await asyncio.sleep(0.005)

    sender = asyncio.create_task(dribble())
    data = b""
    try:
        async with asyncio.timeout(5):
            while chunk := await reader.read(1000):  # read as it comes: a reset after the answer loses nothing
                data += chunk
    except ConnectionError:
        pass
    await sender
    writer.close()
    assert data.startswith(b"HTTP/1.0 400"), data[:60]


async def test_broken_chunking_after_a_good_request_answers_both_in_order(serve: Serve) -> None:
    # aiohttp answered only the 400 here: the good request before it went unanswered.
    ep = await serve()
    good = post(orjson.dumps(envelope(1)))
    bad = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nnope\r\n0\r\n\r\n"
    received, outcome = await raw_exchange(ep, good + bad)
    assert statuses(received) == [b"200", b"400"] and outcome == "eof"
    assert ep.stats()["requests"] == 1 and ep.stats()["messages"] == 1


async def test_an_upgrade_request_is_answered_then_the_connection_closes(serve: Serve) -> None:
    # What follows an upgrade request is not HTTP/1.1 (aiohttp answered the websocket frame with a 400).
    ep = await serve()
    received, outcome = await raw_exchange(
        ep, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello")
    assert statuses(received) == [b"200"] and outcome == "eof"


async def test_answers_that_have_no_body_send_none_whatever_the_settings_say(serve: Serve) -> None:
    # 1xx, 204 and 304 have no body (RFC 9110 §6.4.1): a route's body there would be read by the client as
    # the start of the next answer. As aiohttp: neither the body nor a Content-Length.
    ep = await serve({"routes": [{"path": "/nothing", "status": 204, "body": "x"},
                                 {"path": "/same", "status": 304, "body": "y"}, {"path": "/fast", "status": 202}]})
    get = b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n"
    received, _ = await raw_exchange(ep, get % b"/nothing" + get % b"/same" + get % b"/fast", timeout=0.5)
    assert statuses(received) == [b"204", b"304", b"202"]
    assert b"Content-Length" not in received.split(b"HTTP/1.1 202")[0]
    assert b"x" not in received.replace(b"text/plain", b"") and not received.endswith((b"x", b"y"))
