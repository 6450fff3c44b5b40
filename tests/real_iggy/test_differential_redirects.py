"""Redirects: the real connector (reqwest's default policy, which the Iggy sink does not configure) and the
engine follow them the same way — method, path, every header but Host, and the body of the followed request
(docs/fidelity.md)."""

from __future__ import annotations

import pytest

from sinkbench.model import Message, Schema
from tests.real_iggy.differential import Case, assert_same, both

pytestmark = pytest.mark.real_iggy


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("mode", ["ndjson", "individual"])
def test_a_redirected_request_is_followed_as_the_real_connector_follows_it(status, mode, iggy_server, connectors,
                                                                            tmp_path):
    messages = [Message(id=500 + i, offset=i, timestamp=0, payload={"n": i}) for i in range(2)]
    case = Case(f"redirect_{status}_{mode}", Schema.JSON, messages,
                {"batch_mode": mode, "max_retries": 0, "headers": {"x-api-key": "k1"}}, batch_length=2)
    # Every request to the sink's URL is redirected once; the followed request gets a 200.
    sides = both(iggy_server, connectors, case, tmp_path,
                 answer=lambda n: (status, {"Location": "/landed?from=sink"}) if n % 2 else (200, {}))
    assert len(sides.real) == 2 * (1 if mode == "ndjson" else 2), [(r.method, r.path) for r in sides.real]
    # Each side has its own capture server: a Referer naming it (as Host does) is compared without its port.
    for request in (*sides.real, *sides.engine):
        referer = request.headers.get("referer")
        if referer is not None:
            assert referer == f"http://{request.headers['host']}/ingest", referer
            request.headers["referer"] = "http://<this capture server>/ingest"
    assert_same(sides)
