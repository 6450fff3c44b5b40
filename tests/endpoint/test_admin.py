"""The admin API under /__sinkbench/ and its client."""

from __future__ import annotations

import httpx
import orjson
import pytest

from sinkbench.endpoint.client import AdminClient, AdminError
from sinkbench.endpoint.server import Endpoint

from .conftest import Serve
from .test_ledger import envelope

JSON = {"Content-Type": "application/json"}


async def test_health(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    r = await http.get(ep.admin_url + "health")
    assert (r.status_code, r.json(), r.headers["content-type"]) == (200, {"status": "ok"}, "application/json")


async def test_stats_shape(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"faults": [{"requests": [2, 2], "action": "status", "status": 503}, {"requests": [99, 99],
                                                                                           "action": "reset"}]})
    for i in (1, 2, 1):
        await http.post(ep.url, content=orjson.dumps(envelope(i)), headers=JSON)
    stats = (await http.get(ep.admin_url + "stats")).json()
    body_len = len(orjson.dumps(envelope(1)))
    assert stats == {"requests": 3, "by_status": {"200": 2, "503": 1}, "faults": {"0": 1, "1": 0}, "messages": 2,
                     "unique_messages": 1, "duplicates": 1, "bytes": 3 * body_len,
                     "repeats": 1}   # the third request's message arrived with the first


async def test_requests_limit(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    for _ in range(4):
        await http.post(ep.url + "p", content=b"x")
    assert [e["seq"] for e in (await http.get(ep.admin_url + "requests")).json()] == [1, 2, 3, 4]
    assert [e["seq"] for e in (await http.get(ep.admin_url + "requests?limit=2")).json()] == [3, 4]
    entry = (await http.get(ep.admin_url + "requests?limit=1")).json()[0]
    assert set(entry) == {"seq", "time", "method", "path", "headers", "content_type", "body_bytes", "messages",
                          "status"}
    for bad in ("x", "-1", "1.5"):
        r = await http.get(ep.admin_url + f"requests?limit={bad}")
        assert r.status_code == 400 and "limit" in r.json()["error"]


async def test_get_and_put_settings(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    assert (await http.get(ep.admin_url + "endpoint")).json() == \
        {"status": 200, "latency": "0ms", "max_body_bytes": 0, "tls": False, "faults": [], "seed": 0}
    doc = {"status": 201, "faults": [{"every": 2, "action": "status", "status": 503, "retry_after": "date:+1s"}]}
    r = await http.put(ep.admin_url + "endpoint", json=doc)
    assert r.status_code == 200
    assert r.json()["faults"] == [{"every": 2, "action": "status", "status": 503, "retry_after": "date:+1s"}]
    codes = [(await http.post(ep.url, content=b"x")).status_code for _ in range(4)]
    assert codes == [201, 503, 201, 503]  # from the very next request


@pytest.mark.parametrize(("doc", "reason"), [
    ({"faults": [{"action": "status"}]}, "key 'faults[0]': action 'status' needs 'status'"),
    ({"faults": [{"action": "explode"}]}, "key 'faults[0].action': unknown action 'explode'"),
    ({"stauts": 500}, "key 'stauts': unknown key 'stauts' (did you mean 'status'?)"),
    ({"latency": "soon"}, "key 'latency': invalid duration 'soon'"),
    ({"tls": True}, "key 'tls': tls cannot change while the endpoint runs"),
    ([1, 2], "expected a JSON object"),
])
async def test_put_invalid_document_changes_nothing(serve: Serve, http: httpx.AsyncClient, doc: object,
                                                   reason: str) -> None:
    ep = await serve({"status": 202})
    before = ep.settings
    r = await http.put(ep.admin_url + "endpoint", json=doc)
    assert r.status_code == 400
    assert reason in r.json()["error"]
    assert ep.settings is before
    assert (await http.post(ep.url, content=b"x")).status_code == 202


async def test_put_not_json(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    r = await http.put(ep.admin_url + "endpoint", content=b"{status: 1")
    assert r.status_code == 400 and r.json()["error"].startswith("body is not valid JSON")


async def test_put_keeps_tls_when_left_out(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    r = await http.put(ep.admin_url + "endpoint", json={"status": 204, "tls": False})
    assert r.status_code == 200 and r.json()["tls"] is False


async def test_reset(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"faults": [{"requests": [1, 1], "action": "status", "status": 503}]})
    await http.post(ep.url, content=orjson.dumps(envelope(1)), headers=JSON)
    await http.post(ep.url, content=orjson.dumps(envelope(1)), headers=JSON)
    r = await http.post(ep.admin_url + "reset")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    assert (await http.get(ep.admin_url + "stats")).json() == {
        "requests": 0, "by_status": {}, "faults": {"0": 0}, "messages": 0, "unique_messages": 0, "duplicates": 0,
        "bytes": 0, "repeats": 0}
    assert (await http.get(ep.admin_url + "requests")).json() == []
    assert (await http.post(ep.url, content=b"x")).status_code == 503  # numbering restarted
    await http.post(ep.url, content=orjson.dumps(envelope(1)), headers=JSON)
    assert (await http.get(ep.admin_url + "stats")).json()["repeats"] == 0   # what arrived before is forgotten


async def test_unknown_call_and_wrong_methods(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    r = await http.get(ep.admin_url + "nope")
    assert r.status_code == 404 and "health, stats" in r.json()["error"]
    for method, name, allow in (("POST", "stats", "GET"), ("GET", "reset", "POST"), ("DELETE", "endpoint", "GET, PUT, PATCH"),
                                ("POST", "requests", "GET"), ("PUT", "health", "GET")):
        r = await http.request(method, ep.admin_url + name)
        assert (r.status_code, r.headers["allow"]) == (405, allow), name
    assert ep.stats()["requests"] == 0


# --- the client ---------------------------------------------------------------------


async def test_client_round_trip(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    async with AdminClient(ep.url) as admin:
        assert admin.admin_url == ep.admin_url
        assert await admin.health() == {"status": "ok"}
        await http.post(ep.url, content=orjson.dumps(envelope(1)), headers=JSON)
        assert (await admin.stats())["messages"] == 1
        assert len(await admin.requests()) == 1
        assert await admin.requests(0) == []
        new = await admin.put_settings({"status": 503})
        assert new["status"] == 503 and (await admin.get_settings())["status"] == 503
        await admin.reset()
        assert (await admin.stats())["requests"] == 0


async def test_client_accepts_the_admin_url_too(serve: Serve) -> None:
    ep = await serve()
    async with AdminClient(ep.admin_url) as admin:
        assert await admin.health() == {"status": "ok"}


async def test_client_rejected_document_is_admin_error_with_reason(serve: Serve) -> None:
    ep = await serve()
    async with AdminClient(ep.url) as admin:
        with pytest.raises(AdminError) as info:
            await admin.put_settings({"faults": [{"action": "status", "status": 700}]})
    assert info.value.status == 400
    assert "key 'faults[0].status': 700 is out of range (expected 100..599)" in str(info.value)


async def test_client_unreachable_is_admin_error() -> None:
    ep = Endpoint()
    await ep.start()
    url = ep.url
    await ep.stop()
    async with AdminClient(url, timeout=1.0) as admin:
        with pytest.raises(AdminError, match="unreachable") as info:
            await admin.stats()
    assert info.value.status is None


async def test_put_document_arriving_in_pieces(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    doc = orjson.dumps({"status": 418, "faults": [{"every": 1000, "action": "close"}] * 50})

    async def pieces():
        for i in range(0, len(doc), 100):
            yield doc[i:i + 100]

    r = await http.put(ep.admin_url + "endpoint", content=pieces())
    assert r.status_code == 200, r.text
    assert ep.settings.status == 418 and len(ep.settings.faults) == 50


async def test_put_too_large(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    r = await http.put(ep.admin_url + "endpoint", content=b" " * (1024 * 1024 + 1))
    assert r.status_code == 400 and "larger than" in r.json()["error"]
