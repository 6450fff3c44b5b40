"""The endpoint counts repeats — requests whose every message had arrived before — as an external sink's retries."""

from __future__ import annotations

import asyncio

import httpx

from sinkbench.endpoint.ledger import Ledger
from sinkbench.endpoint.server import Endpoint
from sinkbench.endpoint.settings import parse_endpoint_settings

NDJSON = {"Content-Type": "application/x-ndjson"}


def test_a_body_sent_again_is_a_repeat_whether_its_first_answer_was_accepted_or_not() -> None:
    settings = parse_endpoint_settings({"faults": [{"requests": [1, 1], "action": "status", "status": 503}]},
                                       path=())

    async def run() -> list[int]:
        async with Endpoint(settings) as ep, httpx.AsyncClient() as http:
            seen = []
            for body in (b'{"a":1}\n{"a":2}\n',       # 503: arrived, not accepted
                         b'{"a":1}\n{"a":2}\n',       # the retry: a repeat
                         b'{"a":2}\n{"a":3}\n',       # one new message: not a repeat
                         b'{"a":3}\n',                # all arrived before: a repeat
                         b""):                        # nothing in it: not a repeat
                await http.post(ep.url + "ingest", content=body, headers=NDJSON)
                seen.append(ep.stats()["repeats"])
            return seen

    assert asyncio.run(run()) == [0, 1, 1, 2, 2]


def test_holds_all_takes_the_fast_path_for_a_partitions_next_offsets_and_checks_each_otherwise() -> None:
    from sinkbench.endpoint.ledger import Recognizer
    r = Recognizer()
    base = [r.address("s", "t", 0, o) for o in range(10)]
    ledger = Ledger()
    ledger.add(base[:5])
    assert ledger.holds_all(base[:5]) and not ledger.holds_all(base[:6]) and not ledger.holds_all([])
    ledger.add([7, 8])
    assert ledger.holds_all([8, base[2], 7]) and not ledger.holds_all([8, 9])
