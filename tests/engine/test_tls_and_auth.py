"""HTTPS against a self-signed certificate (trustme), and URL credentials turned into Basic auth."""

from __future__ import annotations

import base64
import random
import ssl

import pytest
import trustme
from pytest_httpserver import HTTPServer

from sinkbench.clock import ManualClock
from sinkbench.config import resolve_sink, table_locator
from sinkbench.engine import HttpSink, Outcome
from sinkbench.model import BatchMetadata, Message, Schema, TopicMetadata

TOPIC = TopicMetadata("s", "t")
META = BatchMetadata(0, 0, Schema.JSON)
MSG = [Message(id=1, offset=0, timestamp=1, payload={"a": 1})]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_server(ca: trustme.CA):
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=server_ctx)
    server.start()
    server.expect_request("/ingest").respond_with_data("ok")
    yield server
    server.clear()
    server.stop()


def make(url: str, **kw) -> HttpSink:
    loaded = resolve_sink({"url": url, "max_retries": 0, **kw}, table_locator(None, (), "t"), env={})
    return HttpSink(loaded.settings, clock=ManualClock(), rng=random.Random(0))


async def test_self_signed_rejected_by_default(https_server: HTTPServer):
    sink = make(https_server.url_for("/ingest"))
    await sink.open()
    result = await sink.consume(TOPIC, META, MSG)
    assert result.outcomes == [Outcome.FAILED] and sink.stats.transport_errors["tls"] == 1
    await sink.close()


async def test_self_signed_accepted_with_danger_flag(https_server: HTTPServer):
    sink = make(https_server.url_for("/ingest"), tls_danger_accept_invalid_certs=True)
    await sink.open()
    assert (await sink.consume(TOPIC, META, MSG)).ok
    await sink.close()


async def test_self_signed_accepted_with_custom_ca_in_enhanced(https_server: HTTPServer, ca: trustme.CA, tmp_path):
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    sink = make(https_server.url_for("/ingest"), profile="enhanced", tls_ca_file=str(ca_file))
    await sink.open()
    assert (await sink.consume(TOPIC, META, MSG)).ok
    await sink.close()


async def test_mutual_tls_client_certificate(ca: trustme.CA, tmp_path):
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    ca.configure_trust(server_ctx)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=server_ctx)
    server.start()
    server.expect_request("/ingest").respond_with_data("ok")
    try:
        ca_file, cert_file = tmp_path / "ca.pem", tmp_path / "client.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        ca.issue_cert("client@example.com").private_key_and_cert_chain_pem.write_to_path(str(cert_file))
        without = make(server.url_for("/ingest"), profile="enhanced", tls_ca_file=str(ca_file))
        await without.open()
        assert not (await without.consume(TOPIC, META, MSG)).ok
        await without.close()
        with_cert = make(server.url_for("/ingest"), profile="enhanced", tls_ca_file=str(ca_file),
                         tls_client_cert=str(cert_file))
        await with_cert.open()
        assert (await with_cert.consume(TOPIC, META, MSG)).ok
        await with_cert.close()
    finally:
        server.clear()
        server.stop()


async def test_url_credentials_become_basic_auth_and_leave_the_url(httpserver: HTTPServer):
    httpserver.expect_request("/ingest").respond_with_data("ok")
    url = httpserver.url_for("/ingest").replace("http://", "http://alice:s3cret@")
    sink = make(url)
    await sink.open()
    assert (await sink.consume(TOPIC, META, MSG)).ok
    request = httpserver.log[0][0]
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()
    assert "s3cret" not in sink.safe_url
    await sink.close()


async def test_cookies_are_neither_kept_nor_sent(httpserver: HTTPServer):
    # reqwest, as the Iggy sink builds it, has no cookie store.
    httpserver.expect_request("/ingest").respond_with_data("ok", headers={"Set-Cookie": "session=abc; Path=/"})
    sink = make(httpserver.url_for("/ingest"))
    await sink.open()
    assert (await sink.consume(TOPIC, META, MSG)).ok
    assert (await sink.consume(TOPIC, META, MSG)).ok
    assert "Cookie" not in httpserver.log[1][0].headers
    await sink.close()
