"""Redaction and bounds of the request journal."""

from __future__ import annotations

import pytest

from sinkbench.endpoint.journal import (
    REDACTED,
    Journal,
    format_headers,
    is_secret_header,
    keepable_headers,
    redact_path,
)


@pytest.mark.parametrize("name", ["Authorization", "proxy-authorization", "Cookie", "Set-Cookie", "X-Api-Key",
                                  "X-Auth-Token", "X-Client-Secret", "Api-Key", "X-Access-Key", "X-Session-Id",
                                  "X-Signature", "X-Password"])
def test_secret_headers(name: str) -> None:
    assert is_secret_header(name)


@pytest.mark.parametrize("name", ["Content-Type", "Content-Length", "Host", "User-Agent", "Keep-Alive",
                                  "X-Request-Id", "Accept"])
def test_ordinary_headers(name: str) -> None:
    assert not is_secret_header(name)


def test_format_headers_redacts_and_joins_repeats() -> None:
    raw = ((b"Authorization", b"Bearer abc"), (b"X-Tag", b"a"), (b"X-Tag", b"b"), (b"Content-Type", b"text/plain"))
    assert format_headers(raw) == {"Authorization": REDACTED, "X-Tag": "a, b", "Content-Type": "text/plain"}


@pytest.mark.parametrize(("path", "expected"), [
    ("/ingest", "/ingest"),
    ("/ingest?x=1&y=2", "/ingest?x=1&y=2"),
    ("/ingest?access_token=abc&x=1", "/ingest?access_token=[redacted]&x=1"),
    ("/i?apiKey=abc&password=p&design=ok", "/i?apiKey=[redacted]&password=[redacted]&design=ok"),
    ("/i?Signature=abc", "/i?Signature=[redacted]"),
])
def test_redact_path(path: str, expected: str) -> None:
    assert redact_path(path) == expected


def test_keepable_headers_cuts_hostile_blocks() -> None:
    small = ((b"Host", b"x"),)
    assert keepable_headers(small) is small
    huge = tuple((f"X-{i}".encode(), b"v" * 1000) for i in range(100))
    kept = keepable_headers(huge)
    assert len(kept) == 64 and all(len(v) == 256 for _, v in kept)


def test_ring_is_bounded_and_oldest_first() -> None:
    j = Journal(3)
    for i in range(1, 6):
        j.record((i, float(i), "POST", "/", (), None, 0, 0, 200))
    assert len(j) == 3 and j.size == 3
    assert [e["seq"] for e in j.last()] == [3, 4, 5]
    assert [e["seq"] for e in j.last(1)] == [5]
    j.clear()
    assert j.last() == []
