"""`transport.redirect`: the request a redirect leads to, by reqwest 0.13's rules (tower-http's redirect layer and
reqwest's own policy), which the real connector follows (tests/real_iggy/test_differential_redirects.py)."""

from __future__ import annotations

import pytest

from sinkbench.engine.transport import Hop, TransportError, redirect

SENSITIVE = {"Authorization": "Bearer t", "Cookie": "a=b", "Cookie2": "c", "Proxy-Authorization": "p",
             "WWW-Authenticate": "w"}


def hop(url: str = "http://h.example:8080/ingest?x=1", method: str = "POST", **headers: str) -> Hop:
    return Hop(method, url, {"Content-Type": "application/json", "Content-Length": "2", **headers}, b"{}")


def test_the_followed_request_names_the_one_before_without_credentials_or_fragment():
    nxt = redirect(hop("http://user:secret@h.example:8080/ingest?x=1#frag"), 307, "/next")
    assert nxt.url == "http://user:secret@h.example:8080/next"
    assert nxt.headers["Referer"] == "http://h.example:8080/ingest?x=1"
    assert redirect(hop("https://h.example:443"), 307, "/n").headers["Referer"] == "https://h.example/"


def test_no_referer_from_https_to_http():
    assert "Referer" not in redirect(hop("https://h.example/ingest"), 307, "http://h.example/plain").headers


def test_a_referer_of_the_request_before_replaces_an_older_one():
    first = redirect(hop(), 307, "/a")
    second = redirect(first, 307, "/b")
    assert second.headers["Referer"] == "http://h.example:8080/a"
    assert [k for k in second.headers if k.lower() == "referer"] == ["Referer"]


@pytest.mark.parametrize("target", ["http://other.example:8080/n", "http://h.example:9090/n",
                                    "https://h.example:8080/n"])
def test_another_origin_loses_credentials(target):
    nxt = redirect(hop(**SENSITIVE, **{"X-Api-Key": "k"}), 307, target)
    assert not set(SENSITIVE) & set(nxt.headers) and nxt.headers["X-Api-Key"] == "k"


def test_the_same_origin_keeps_them():
    nxt = redirect(hop(**SENSITIVE), 308, "http://H.EXAMPLE:8080/n")
    assert {k: nxt.headers[k] for k in SENSITIVE} == SENSITIVE


@pytest.mark.parametrize(("status", "method", "after", "body"), [
    (301, "POST", "GET", False), (302, "POST", "GET", False), (303, "POST", "GET", False),
    (301, "PUT", "PUT", True), (302, "PATCH", "PATCH", True), (303, "PUT", "GET", False),
    (303, "HEAD", "HEAD", False), (307, "POST", "POST", True), (308, "PUT", "PUT", True),
])
def test_method_body_and_payload_headers(status, method, after, body):
    nxt = redirect(hop(method=method, **{"Content-Encoding": "gzip", "Transfer-Encoding": "chunked"}), status, "/n")
    assert nxt.method == after and (nxt.body == b"{}") is body
    payload = {"Content-Type", "Content-Length", "Content-Encoding", "Transfer-Encoding"}
    assert (payload <= set(nxt.headers)) is body and (not payload & set(nxt.headers)) is (not body)


def test_only_http_and_https():
    with pytest.raises(TransportError) as err:
        redirect(hop(), 302, "ftp://h.example/file")
    assert err.value.kind == "protocol"
