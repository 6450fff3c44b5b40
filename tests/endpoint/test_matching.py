"""Request matching (method, path, prefix, regex, headers) in fault rules and routes, as WireMock matches."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from multidict import CIMultiDict

from sinkbench.clock import ManualClock
from sinkbench.endpoint.faults import Policy
from sinkbench.endpoint.matching import Matcher
from sinkbench.endpoint.settings import (
    HeaderMatch,
    RequestMatch,
    load_endpoint_file,
    parse_endpoint_settings,
    settings_to_dict,
)
from sinkbench.errors import InputError

from .conftest import Serve


@dataclass
class Req:
    method: str = "POST"
    path: str = "/ingest"
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)


def req(method: str = "POST", path: str = "/ingest", **headers: str | list[str]) -> Req:
    h: CIMultiDict[str] = CIMultiDict()
    for name, value in headers.items():
        for v in value if isinstance(value, list) else [value]:
            h.add(name.replace("_", "-"), v)
    return Req(method, path, h)


def parse(doc: dict[str, Any]):
    return parse_endpoint_settings(doc, None, ())


def policy(doc: dict[str, Any]) -> Policy:
    return Policy(parse(doc), 0.0)


def fault(**matchers: Any) -> dict[str, Any]:
    return {**matchers, "action": "status", "status": 503}


# --- the matcher alone -----------------------------------------------------------------------


def test_method_one_or_several_any_case_in_the_settings() -> None:
    one = Matcher(parse({"faults": [fault(method="post")]}).faults[0].match)  # type: ignore[arg-type]
    assert one(req("POST")) and not one(req("GET")) and not one(req("PUT"))
    several = Matcher(RequestMatch(methods=("PUT", "PATCH")))
    assert several(req("PUT")) and several(req("PATCH")) and not several(req("POST"))


def test_path_exact_prefix_and_regex() -> None:
    exact = Matcher(RequestMatch(path="/ingest"))
    assert exact(req(path="/ingest")) and not exact(req(path="/ingest/")) and not exact(req(path="/ingestx"))
    prefix = Matcher(RequestMatch(path_prefix="/api/"))
    assert prefix(req(path="/api/v1/logs")) and prefix(req(path="/api/")) and not prefix(req(path="/apix"))
    regex = Matcher(RequestMatch(path_regex=r"/v[0-9]+/ingest"))
    assert regex(req(path="/v2/ingest")) and regex(req(path="/v10/ingest"))
    # The whole path must match, as WireMock's `matches`: not a search.
    assert not regex(req(path="/x/v2/ingest")) and not regex(req(path="/v2/ingest/more"))


def test_headers_exact_regex_any_spelling_any_of_several_values() -> None:
    m = Matcher(RequestMatch(headers=(HeaderMatch("X-Tenant", value="acme"),
                                      HeaderMatch("authorization", regex="Bearer .+"))))
    assert m(req(x_tenant="acme", Authorization="Bearer abc"))
    assert m(req(X_TENANT="acme", AUTHORIZATION="Bearer abc"))              # names in any case
    assert not m(req(x_tenant="acme"))                                      # a header that is missing
    assert not m(req(x_tenant="acme2", Authorization="Bearer abc"))         # exact means exact
    assert not m(req(x_tenant="acme", Authorization="Basic abc"))
    assert not m(req(x_tenant="acme", Authorization="xBearer abc"))         # regex over the whole value
    assert m(req(x_tenant=["other", "acme"], Authorization="Bearer z"))     # one of the values will do


def test_every_part_must_hold() -> None:
    m = Matcher(RequestMatch(methods=("POST",), path_prefix="/api/", headers=(HeaderMatch("X-A", value="1"),)))
    assert m(req("POST", "/api/x", X_A="1"))
    assert not m(req("GET", "/api/x", X_A="1"))
    assert not m(req("POST", "/other", X_A="1"))
    assert not m(req("POST", "/api/x", X_A="2"))


# --- in the decision, with the other matchers ----------------------------------------------------


def test_matchers_combine_with_windows_and_request_numbers() -> None:
    p = policy({"faults": [fault(after="5s", until="10s", method="POST", path="/ingest")]})
    assert p.decide(1, 6.0, 6.0, 10, req("POST", "/ingest")).status == 503
    assert p.decide(2, 6.0, 6.0, 10, req("GET", "/ingest")).status == 200       # method does not match
    assert p.decide(3, 6.0, 6.0, 10, req("POST", "/health")).status == 200      # path does not match
    assert p.decide(4, 4.0, 4.0, 10, req("POST", "/ingest")).status == 200      # before the window
    assert p.decide(5, 10.0, 10.0, 10, req("POST", "/ingest")).status == 200    # after it

    p = policy({"faults": [fault(requests=[2, 3], headers={"X-Retry": {"regex": "[1-9]"}})]})
    got = [p.decide(n, 0.0, 0.0, 10, req(X_Retry=r)).status for n, r in ((1, "1"), (2, "0"), (2, "1"), (3, "7"))]
    assert got == [200, 200, 503, 503]


def test_first_matching_rule_acts_in_order() -> None:
    p = policy({"faults": [{"path": "/a", "action": "status", "status": 500},
                           {"path_prefix": "/", "action": "status", "status": 503}]})
    assert p.decide(1, 0.0, 0.0, 1, req(path="/a")).status == 500
    assert p.decide(2, 0.0, 0.0, 1, req(path="/b")).status == 503


def test_probability_draws_only_for_requests_that_match() -> None:
    """A health check between two data requests must not shift the seeded sequence of the data path."""
    doc = {"faults": [fault(path="/ingest", probability=0.5)], "seed": 11}
    plain, with_checks = policy(doc), policy(doc)
    data = [plain.decide(n, 0.0, 0.0, 1, req(path="/ingest")).status for n in range(1, 200)]
    mixed = []
    for n in range(1, 200):
        with_checks.decide(n, 0.0, 0.0, 1, req("GET", "/health"))
        mixed.append(with_checks.decide(n, 0.0, 0.0, 1, req(path="/ingest")).status)
    assert data == mixed and 503 in data and 200 in data


def test_routes_answer_what_no_fault_takes() -> None:
    p = policy({"status": 503,
                "routes": [{"method": "GET", "path": "/health", "body": "ok"},
                           {"path_prefix": "/oauth/", "status": 201, "body": '{"access_token": "t"}',
                            "content_type": "application/json"}],
                "faults": [fault(path="/health", requests=[1, 1])]})
    assert p.decide(1, 0.0, 0.0, 0, req("GET", "/health")).status == 503          # a fault comes first
    d = p.decide(2, 0.0, 0.0, 0, req("GET", "/health"))
    assert (d.status, d.body, d.route, d.accepted) == (200, b"ok", 0, True)
    d = p.decide(3, 0.0, 0.0, 0, req("POST", "/oauth/token"))
    assert (d.status, d.route, d.content_type) == (201, 1, "application/json")
    d = p.decide(4, 0.0, 0.0, 0, req("POST", "/ingest"))                             # no route: the default
    assert (d.status, d.route) == (503, -1)


def test_routes_come_after_the_body_limit_and_the_rate_limit() -> None:
    p = policy({"max_body_bytes": 10, "rate_limit": {"requests_per_second": 1, "burst": 1},
                "routes": [{"path": "/health"}]})
    assert p.decide(1, 0.0, 0.0, 11, req("GET", "/health")).status == 413
    assert p.decide(2, 0.0, 0.0, 0, req("GET", "/health")).status == 200
    assert p.decide(3, 0.0, 0.0, 0, req("GET", "/health")).status == 429


# --- over HTTP ---------------------------------------------------------------------------------


async def test_health_checks_answered_while_the_data_path_breaks(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"routes": [{"method": ["GET", "HEAD"], "path": "/health", "body": "ok\n"}],
                      "faults": [{"method": "POST", "path": "/ingest", "action": "status", "status": 503,
                                  "retry_after": "1s"},
                                 {"headers": {"X-Break": "reset"}, "action": "reset"}]})
    r = await http.get(ep.url + "health")
    assert (r.status_code, r.text) == (200, "ok\n")
    r = await http.post(ep.url + "ingest", content=b'{"a": 1}', headers={"Content-Type": "application/json"})
    assert (r.status_code, r.headers["Retry-After"]) == (503, "1")
    r = await http.post(ep.url + "other", content=b'{"a": 2}', headers={"Content-Type": "application/json"})
    assert r.status_code == 200
    with pytest.raises(httpx.TransportError):
        await http.post(ep.url + "other", content=b"{}", headers={"X-Break": "reset"})
    # Query strings are not part of the path.
    r = await http.get(ep.url + "health?verbose=1")
    assert r.status_code == 200 and r.text == "ok\n"
    stats = ep.stats()
    assert stats["requests"] == 5 and stats["faults"] == {"0": 1, "1": 1} and stats["routes"] == {"0": 2}
    assert stats["by_status"] == {"200": 3, "503": 1, "reset": 1}
    assert [e["status"] for e in ep.requests()] == [200, 503, 200, "reset", 200]


async def test_a_route_answers_with_its_content_type(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"routes": [{"method": "POST", "path": "/oauth/token", "body": '{"access_token": "x"}',
                                  "content_type": "application/json; charset=utf-8"}]})
    r = await http.post(ep.url + "oauth/token", data={"grant_type": "client_credentials"})
    assert r.status_code == 200 and r.json() == {"access_token": "x"}
    assert r.headers["content-type"] == "application/json; charset=utf-8"


async def test_percent_encoded_paths_are_matched_decoded(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve({"faults": [{"path": "/a b", "action": "status", "status": 418}]})
    assert (await http.post(ep.url + "a%20b", content=b"x")).status_code == 418


async def test_admin_api_round_trip_of_matchers_and_routes(serve: Serve, http: httpx.AsyncClient) -> None:
    ep = await serve()
    doc = {"routes": [{"method": "GET", "path": "/health", "status": 204}],
           "faults": [{"method": ["POST", "PUT"], "path_regex": "/v[0-9]+/.*",
                       "headers": {"X-Tenant": "acme", "Authorization": {"regex": "Bearer .*"}},
                       "after": "1s", "action": "status", "status": 503}]}
    r = await http.put(ep.admin_url + "endpoint", json=doc)
    assert r.status_code == 200, r.text
    shown = r.json()
    assert shown["routes"] == [{"method": "GET", "path": "/health", "status": 204}]
    assert shown["faults"][0]["headers"] == {"X-Tenant": "acme", "Authorization": {"regex": "Bearer .*"}}
    assert (await http.get(ep.admin_url + "endpoint")).json() == shown
    assert parse(shown) == ep.settings
    # A merge patch replaces the routes list whole, and a wrong matcher changes nothing.
    r = await http.patch(ep.admin_url + "endpoint", json={"routes": [{"path_prefx": "/x"}]})
    assert r.status_code == 400 and "routes[0].path_prefx" in r.json()["error"]
    assert "did you mean 'path_prefix'" in r.json()["error"]
    assert (await http.get(ep.admin_url + "endpoint")).json() == shown


def test_round_trip_through_the_document() -> None:
    s = parse({"routes": [{"path_prefix": "/api/", "headers": {"A": {"regex": "x+"}}, "status": 404,
                           "body": "none", "content_type": "text/html"}],
               "faults": [{"method": "get", "path": "/health", "action": "close"}]})
    assert parse(settings_to_dict(s)) == s
    assert settings_to_dict(s)["faults"][0] == {"method": "GET", "path": "/health", "action": "close"}


# --- what is refused, naming the key and line --------------------------------------------------

BAD = [
    ({"faults": [fault(method="")]}, "faults[0].method", "not an HTTP method"),
    ({"faults": [fault(method=[])]}, "faults[0].method", "non-empty list"),
    ({"faults": [fault(method=["POST", 3])]}, "faults[0].method", "not an HTTP method"),
    ({"faults": [fault(path="ingest")]}, "faults[0].path", "starts with '/'"),
    ({"faults": [fault(path="/ingest?x=1")]}, "faults[0].path", "without the query"),
    ({"faults": [fault(path_prefix=5)]}, "faults[0].path_prefix", "expected a path"),
    ({"faults": [fault(path="/a", path_prefix="/b")]}, "faults[0].path_prefix", "one of path, path_prefix"),
    ({"faults": [fault(path_regex="(")]}, "faults[0].path_regex", "invalid regular expression"),
    ({"faults": [fault(path_regex="")]}, "faults[0].path_regex", "empty regular expression"),
    ({"faults": [fault(path_regex="a" * 5000)]}, "faults[0].path_regex", "too long"),
    ({"faults": [fault(path_regex="a{99999999999}")]}, "faults[0].path_regex", "invalid regular expression"),
    ({"faults": [fault(path_regex="(?P<a>x)(?P<a>y)")]}, "faults[0].path_regex", "redefinition of group"),
    ({"faults": [fault(headers={})]}, "faults[0].headers", "an empty table"),
    ({"faults": [fault(headers="X-A: 1")]}, "faults[0].headers", "expected a table"),
    ({"faults": [fault(headers={"X A": "1"})]}, "faults[0].headers.X A", "not a header name"),
    ({"faults": [fault(headers={"X-A": "1", "x-a": "2"})]}, "faults[0].headers.x-a", "given twice"),
    ({"faults": [fault(headers={"X-A": 1})]}, "faults[0].headers.X-A", "exact value"),
    ({"faults": [fault(headers={"X-A": {"regx": "1"}})]}, "faults[0].headers.X-A.regx", "did you mean 'regex'"),
    ({"faults": [fault(headers={"X-A": {"regex": "[a-"}})]}, "faults[0].headers.X-A.regex", "invalid regular"),
    ({"faults": [fault(paht="/x")]}, "faults[0].paht", "did you mean 'path'"),
    ({"routes": {"path": "/x"}}, "routes", "list of tables"),
    ({"routes": [{"status": 200}]}, "routes[0]", "needs at least one of method"),
    ({"routes": [{"path": "/x", "status": 99}]}, "routes[0].status", "out of range"),
    ({"routes": [{"path": "/x", "body": 1}]}, "routes[0].body", "expected a string"),
    ({"routes": [{"path": "/x", "content_type": "a\nb"}]}, "routes[0].content_type", "media type"),
    ({"routes": [{"path": "/x", "action": "reset"}]}, "routes[0].action", "unknown key 'action'"),
]


@pytest.mark.parametrize(("doc", "key", "words"), BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_bad_matchers_and_routes_are_refused_naming_the_key(doc: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        parse(doc)
    assert info.value.where.key == key, str(info.value)
    assert words in str(info.value)


def test_errors_in_a_file_name_its_line(tmp_path: Path) -> None:
    path = tmp_path / "ep.toml"
    path.write_text('[endpoint]\nstatus = 200\n\n[[endpoint.routes]]\npath = "/health"\n\n'
                    '[[endpoint.faults]]\nmethod = "POST"\npath_regex = "(unclosed"\naction = "reset"\n')
    with pytest.raises(InputError) as info:
        load_endpoint_file(path)
    assert info.value.where.line == 9 and info.value.where.key == "endpoint.faults[0].path_regex"
    assert str(info.value).startswith(f"{path}:9:")


async def test_no_matcher_no_cost_on_the_request_path(serve: Serve, http: httpx.AsyncClient,
                                                      clock: ManualClock) -> None:
    """Rules without request matchers compile to no matcher at all (the hot loop checks a None)."""
    ep = await serve({"faults": [{"every": 2, "action": "status", "status": 503}]})
    assert ep._policy.rules[0][5] is None and ep._policy.routes == ()
    got = [(await http.post(ep.url + "x", content=b"1")).status_code for _ in range(4)]
    assert got == [200, 503, 200, 503]
