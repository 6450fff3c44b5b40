"""The endpoint answers first and reads the messages after; nothing that reads the counts misses one."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import orjson

from sinkbench.endpoint.ledger import Recognizer

from .conftest import Serve, post, raw_exchange
from .test_ledger import envelope, ndjson

NDJSON = "application/x-ndjson"


class _PeekingRecognizer(Recognizer):
    """Looks, each time it is asked for a body's messages, at what the client has received so far."""

    def __init__(self, client: socket.socket) -> None:
        super().__init__()
        self.client = client
        self.seen_by_client: list[bytes] = []

    def identities(self, content_type: str | None, body: bytes) -> list[int]:
        try:
            self.seen_by_client.append(self.client.recv(65536, socket.MSG_PEEK | socket.MSG_DONTWAIT))
        except BlockingIOError:
            self.seen_by_client.append(b"")
        return super().identities(content_type, body)


async def test_the_answer_is_on_its_way_before_the_messages_are_read(serve: Serve) -> None:
    ep = await serve({"status": 200})
    client = socket.create_connection((ep.host, ep.port))
    try:
        spy = _PeekingRecognizer(client)
        ep._recognizer = spy   # the recogniser the endpoint's next request uses
        client.sendall(post(ndjson([envelope(i) for i in range(50)]), NDJSON))
        for _ in range(200):
            if spy.seen_by_client:
                break
            await asyncio.sleep(0.005)
        assert len(spy.seen_by_client) == 1
        assert spy.seen_by_client[0].startswith(b"HTTP/1.1 200 ")
    finally:
        client.close()
    assert ep.stats()["messages"] == 50


def _stats_in(answers: bytes) -> Any:
    """The JSON body of the last answer in a pipelined exchange (the admin call's)."""
    return orjson.loads(answers[answers.rindex(b"\r\n\r\n") + 4:])


async def test_stats_asked_before_the_endpoint_read_the_messages_include_them(serve: Serve) -> None:
    # Pipelined on one connection and read in one go: the stats are answered in the same turn of the loop
    # as the batch, before the turn that reads the batch's messages; they must take them in first.
    ep = await serve({"status": 200})
    batch = post(ndjson([envelope(i) for i in range(1, 8)]), NDJSON)
    stats = b"GET /__sinkbench/stats HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    answers, outcome = await raw_exchange(ep, batch + stats)
    assert outcome == "eof"
    assert answers.count(b"HTTP/1.1 200 ") == 2
    figures = _stats_in(answers)
    assert (figures["requests"], figures["messages"], figures["unique_messages"]) == (1, 7, 7)


async def test_the_journal_asked_before_the_endpoint_read_the_messages_shows_them(serve: Serve) -> None:
    ep = await serve({"status": 200})
    batch = post(ndjson([envelope(i) for i in range(5)]), NDJSON)
    journal = b"GET /__sinkbench/requests HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    answers, _ = await raw_exchange(ep, batch + journal)
    entries = _stats_in(answers)
    assert [(e["seq"], e["messages"]) for e in entries] == [(1, 5)]


async def test_a_repeat_the_journal_and_a_ledger_question_keep_the_order_of_the_requests(serve: Serve) -> None:
    ep = await serve({"status": 200})
    batch = post(ndjson([envelope(i) for i in range(3)]), NDJSON)
    empty = b"POST /h HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n"
    question = orjson.dumps({"addresses": [{"stream": "s", "topic": "t", "partition": 0, "offsets": [[0, 3]]}]})
    ask = (b"POST /__sinkbench/ledger HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
           b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(question)) + question
    answers, _ = await raw_exchange(ep, batch + batch + empty + ask)
    assert answers.count(b"HTTP/1.1 200 ") == 4, answers
    assert _stats_in(answers) == {"held": 3, "accepted": [], "address_duplicates": 3}
    assert ep.stats()["repeats"] == 1
    assert [(e["seq"], e["messages"]) for e in ep.requests()] == [(1, 3), (2, 3), (3, 0)]


async def test_a_reset_forgets_what_was_answered_before_it(serve: Serve) -> None:
    ep = await serve({"status": 200})
    await raw_exchange(ep, post(ndjson([envelope(i) for i in range(4)]), NDJSON)
                       + b"POST /__sinkbench/reset HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
                         b"Content-Length: 0\r\n\r\n")
    assert ep.stats()["messages"] == 0
    assert ep.requests() == []
