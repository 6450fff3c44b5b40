"""Issue 12: PUT replaces, PATCH merges, reset restores the configured settings; the ledger question."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import orjson
import pytest

from sinkbench.endpoint import client as client_module
from sinkbench.endpoint.admin import merge_patch
from sinkbench.endpoint.client import AdminClient, AdminError
from sinkbench.endpoint.ledger import Recognizer, digest

from .conftest import Serve
from .test_ledger import envelope

JSON = {"Content-Type": "application/json"}
CONFIGURED = {"status": 202, "latency": "1ms",
              "faults": [{"requests": [3, 3], "action": "status", "status": 500}]}


def test_merge_patch_follows_rfc_7396() -> None:
    # The examples of RFC 7396 §3 that apply to objects.
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge_patch({"a": "b"}, {"a": None}) == {}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}
    assert merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert merge_patch("x", {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}
    target = {"a": {"b": 1}}
    merge_patch(target, {"a": {"b": 2}})
    assert target == {"a": {"b": 1}}   # the target is left as it was


async def test_put_replaces_the_whole_document(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve(CONFIGURED)
    r = await http.put(ep.admin_url + "endpoint", json={"status": 503})
    # The configured latency and fault are gone: PUT is a replacement (the admin API's docstring says so).
    assert r.json() == {"status": 503, "latency": "0ms", "max_body_bytes": 0, "tls": False, "faults": [], "seed": 0}


async def test_patch_merges_and_keeps_the_rest(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve(CONFIGURED)
    r = await http.patch(ep.admin_url + "endpoint", json={"status": 503})
    assert r.status_code == 200, r.text
    assert r.json() == {**(await http.get(ep.admin_url + "endpoint")).json(), "status": 503}
    assert r.json()["faults"] == CONFIGURED["faults"] and r.json()["latency"] == "1ms"
    # null removes a key (its default applies); a list is replaced whole; an object merges.
    r = await http.patch(ep.admin_url + "endpoint", json={"latency": None, "faults": [{"every": 2, "action": "close"}],
                                                           "rate_limit": {"requests_per_second": 5}})
    doc = r.json()
    assert (doc["latency"], doc["faults"], doc["rate_limit"]["requests_per_second"]) == \
        ("0ms", [{"every": 2, "action": "close"}], 5)
    r = await http.patch(ep.admin_url + "endpoint", json={"rate_limit": {"burst": 9}})
    assert (r.json()["rate_limit"]["requests_per_second"], r.json()["rate_limit"]["burst"]) == (5, 9)


@pytest.mark.parametrize(("patch", "reason"), [
    ({"stauts": 500}, "key 'stauts': unknown key 'stauts' (did you mean 'status'?)"),
    ({"faults": [{"action": "status"}]}, "key 'faults[0]': action 'status' needs 'status'"),
    ({"tls": True}, "key 'tls': tls cannot change while the endpoint runs"),
    ({"rate_limit": {"requests_per_second": -1}}, "rate_limit.requests_per_second"),
    ([1], "expected a JSON object"),
])
async def test_a_wrong_patch_changes_nothing(serve: Serve, http: httpx.AsyncClient, patch: Any, reason: str) -> None:
    ep = await serve(CONFIGURED)
    before = ep.settings
    r = await http.patch(ep.admin_url + "endpoint", json=patch)
    assert r.status_code == 400 and reason in r.json()["error"], r.text
    assert ep.settings is before


async def test_reset_restores_the_configured_settings(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve(CONFIGURED)
    configured = (await http.get(ep.admin_url + "endpoint")).json()
    await http.put(ep.admin_url + "endpoint", json={"status": 503})
    await http.patch(ep.admin_url + "endpoint", json={"seed": 4})
    assert (await http.post(ep.url, content=b"x")).status_code == 503
    assert (await http.post(ep.admin_url + "reset")).status_code == 200
    assert (await http.get(ep.admin_url + "endpoint")).json() == configured
    codes = [(await http.post(ep.url, content=b"x")).status_code for _ in range(3)]
    assert codes == [202, 202, 500]   # the configured fault is back, on the restarted numbering


async def test_client_patch_reset_and_on_change(serve: Serve) -> None:
    ep = await serve(CONFIGURED)
    heard: list[dict[str, Any]] = []
    async with AdminClient(ep.url, on_change=heard.append) as admin:
        merged = await admin.patch_settings({"status": 504})
        assert merged["status"] == 504 and merged["faults"] == CONFIGURED["faults"]
        replaced = await admin.put_settings({"status": 503})
        assert replaced["faults"] == []
        await admin.reset()
        with pytest.raises(AdminError, match="unknown key 'stauts'"):
            await admin.patch_settings({"stauts": 1})
    assert [h["status"] for h in heard] == [504, 503, 202]   # a refused change is not heard
    assert heard[-1]["faults"] == CONFIGURED["faults"]


# --- the ledger question ----------------------------------------------------------------


async def test_ledger_question_by_addresses_and_identities(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"faults": [{"requests": [2, 2], "action": "status", "status": 503}]})
    for i in (0, 1, 2, 3, 3):     # the second request (offset 1) is refused, offset 3 arrives twice
        await http.post(ep.url, content=orjson.dumps(envelope(i)), headers=JSON)
    for body in (b"beat", b"beat", b"other"):
        await http.post(ep.url, content=body, headers={"Content-Type": "application/octet-stream"})
    question = {"addresses": [{"stream": "s", "topic": "t", "partition": 0, "offsets": [[0, 3], [3, 10]]},
                              {"stream": "s", "topic": "t", "partition": 1, "offsets": [[0, 10]]}],
                "identities": [digest(b"beat"), digest(b"other"), digest(b"never")]}
    r = await http.post(ep.admin_url + "ledger", json=question)
    assert r.json() == {"held": 3, "accepted": [2, 1, 0], "address_duplicates": 1}
    assert (await http.post(ep.admin_url + "ledger", json={})).json() == \
        {"held": 0, "accepted": [], "address_duplicates": 1}
    assert ep.stats()["requests"] == 8   # questions are not requests of the run


async def test_ledger_question_takes_identities_past_64_bits(serve: Serve, http: httpx.AsyncClient) -> None:
    # A bare payload that looks like an envelope gets an address identity (past 64 bits): still askable.
    ep = await serve()
    await http.post(ep.url, content=orjson.dumps(envelope(5)), headers=JSON)
    identity = Recognizer().address("s", "t", 0, 5)
    r = await http.post(ep.admin_url + "ledger", content=f'{{"identities": [{identity}, {identity + 1}]}}',
                        headers=JSON)
    assert r.json()["accepted"] == [1, 0]


@pytest.mark.parametrize(("doc", "reason"), [
    ({"addresses": {}}, "addresses: expected a list"),
    ({"identities": "x"}, "identities: expected a list"),
    ({"adresses": []}, "unknown key 'adresses'"),
    ({"addresses": [{"stream": "s", "topic": "t", "partition": 0}]}, "addresses[0]: expected an object"),
    ({"addresses": [{"stream": 1, "topic": "t", "partition": 0, "offsets": []}]}, "addresses[0]: stream and topic"),
    ({"addresses": [{"stream": "s", "topic": "t", "partition": -1, "offsets": []}]}, "addresses[0].partition"),
    ({"addresses": [{"stream": "s", "topic": "t", "partition": 0, "offsets": [[5, 2]]}]},
     "addresses[0].offsets[0]: expected [first, end]"),
    ({"addresses": [{"stream": "s", "topic": "t", "partition": 0, "offsets": [[0, 2 ** 64 + 1]]}]},
     "addresses[0].offsets[0]"),
    ({"identities": [1, -2]}, "identities[1]: expected a whole number"),
    ({"identities": [1, True]}, "identities[1]"),
])
async def test_wrong_ledger_questions_are_named(serve: Serve, http: httpx.AsyncClient, doc: Any, reason: str) -> None:
    ep = await serve()
    r = await http.post(ep.admin_url + "ledger", content=json.dumps(doc), headers=JSON)
    assert r.status_code == 400 and reason in r.json()["error"], r.text
    assert (await http.get(ep.admin_url + "ledger")).status_code == 405


async def test_client_splits_a_big_question(serve: Serve, http: httpx.AsyncClient,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "LEDGER_CHUNK", 7)
    ep = await serve()
    for i in range(0, 40, 2):   # every other offset: 20 runs of one
        await http.post(ep.url, content=orjson.dumps(envelope(i)), headers=JSON)
    bodies = [f"m{i}".encode() for i in range(30)]
    for body in bodies[::3]:
        await http.post(ep.url, content=body, headers={"Content-Type": "application/octet-stream"})
    calls = 0
    async with AdminClient(ep.url) as admin:
        original = admin._call

        async def counting(*args: Any, **kwargs: Any) -> Any:
            nonlocal calls
            calls += args[1] == "ledger"
            return await original(*args, **kwargs)

        admin._call = counting   # type: ignore[method-assign]
        answer = await admin.ledger([("s", "t", 0, [(i, i + 1) for i in range(40)])], [digest(b) for b in bodies])
    assert answer.held == 20
    assert answer.accepted == [1 if i % 3 == 0 else 0 for i in range(30)]
    assert calls == 6 + 5   # 40 runs and 30 identities, 7 at a time


async def test_a_question_over_a_fragmented_ledger_stays_cheap(serve: Serve, http: httpx.AsyncClient) -> None:
    # Every other offset accepted: 50,000 runs. A hostile question of 20,000 runs, each over all of them,
    # would be a billion steps run by run; it is a few lookups each.
    ep = await serve()
    r = Recognizer()
    ep.ledger.add([r.address("s", "t", 0, o) for o in range(0, 100_000, 2)])
    assert ep.ledger.runs == 50_000
    question = {"addresses": [{"stream": "s", "topic": "t", "partition": 0,
                               "offsets": [[0, 2 ** 64]] * 20_000}]}
    loop = asyncio.get_running_loop()
    started = loop.time()
    answer = (await http.post(ep.admin_url + "ledger", json=question)).json()
    assert answer["held"] == 20_000 * 50_000
    assert loop.time() - started < 2.0
