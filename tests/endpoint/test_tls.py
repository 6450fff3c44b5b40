"""`tls = true`: HTTPS with a certificate made at start, verifiable with the CA the endpoint hands out."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import orjson
import pytest
from cryptography import x509

from sinkbench.endpoint.client import AdminClient
from sinkbench.endpoint.tls import generate

from .conftest import Serve
from .test_ledger import envelope


async def test_https_verified_with_the_generated_ca(serve: Serve) -> None:
    ep = await serve({"tls": True, "faults": [{"requests": [2, 2], "action": "reset"}]})
    assert ep.url.startswith("https://127.0.0.1:")
    assert ep.ca_pem_path is not None and Path(ep.ca_pem_path).is_file()
    ctx = ssl.create_default_context(cafile=ep.ca_pem_path)
    async with httpx.AsyncClient(verify=ctx) as client:
        r = await client.post(ep.url, content=orjson.dumps(envelope(1)), headers={"Content-Type": "application/json"})
        assert r.status_code == 200
        with pytest.raises(httpx.HTTPError):  # reset under TLS too
            await client.post(ep.url, content=b"x")
        local = ep.url.replace("127.0.0.1", "localhost")
        assert (await client.get(local)).status_code == 200  # the name is in the certificate too
    async with AdminClient(ep.url, verify=ep.ca_pem_path) as admin:
        assert (await admin.stats())["messages"] == 1


async def test_https_without_the_ca_fails_verification(serve: Serve) -> None:
    ep = await serve({"tls": True})
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(ep.url)


async def test_ca_file_removed_on_stop(serve: Serve) -> None:
    ep = await serve({"tls": True})
    path = Path(ep.ca_pem_path or "")
    await ep.stop()
    assert not path.exists()
    assert ep.ca_pem_path is None


def test_generated_material(tmp_path: Path) -> None:
    material = generate("10.1.2.3")
    try:
        ca = x509.load_pem_x509_certificate(material.ca_pem_path.read_bytes())
        leaf = x509.load_pem_x509_certificate(material.cert_path.read_bytes())
        assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert leaf.issuer == ca.subject
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert "localhost" in san.get_values_for_type(x509.DNSName)
        assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1", "10.1.2.3"}
        assert material.key_path.stat().st_mode & 0o077 == 0
        material.server_context()  # loads
    finally:
        material.remove()
    assert not material.directory.exists()
