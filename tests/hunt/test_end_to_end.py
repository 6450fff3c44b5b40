"""The acceptance case, scaled to a test: a fragile setting (Iggy profile, after_polling commits, max_retries = 1,
lost == 0) is broken by a plan the hunt finds, shrinks and writes, and `sinkbench run` on that file fails."""

from __future__ import annotations

import time
from pathlib import Path

from run.conftest import run_cli

from sinkbench.scenario.load import load_scenario

# 1,500 messages at 1,000/s: candidates are cut to 1,000 (one second of the rate), so scaling is exercised too.
FRAGILE = """\
[scenario]
name = "fragile"
seed = 3
timeout = "20s"

[source]
kind = "synthetic"
count = 1500
rate = 1000
payload_bytes = 64

[runtime]
batch_length = 100
poll_interval = "5ms"
offset_commit = "after_polling"

[sink]
url = "mock"
profile = "iggy"
batch_mode = "ndjson"
max_retries = 1          # one retry, then the batch is gone: its offsets were committed before sending
retry_delay = "200ms"

[expect]
lost = "== 0"
"""


def test_a_hunt_breaks_a_fragile_setting_and_the_found_file_fails_under_run(tmp_path: Path) -> None:
    path = tmp_path / "fragile.toml"
    path.write_text(FRAGILE)
    started = time.monotonic()
    r = run_cli(["hunt", str(path), "--time", "18s"])
    took = time.monotonic() - started
    r.assert_no_traceback()
    assert r.code == 1, (r.out, r.err)
    assert took < 45, took      # 18 s of search, then three confirming runs of 1.5 s and, maybe, a second plan
    assert "hunt: searching: candidates of 1000 messages" in r.err
    found = tmp_path / "fragile.found.toml"
    assert r.out.startswith("found after ") and f"wrote {found}" in r.out
    text = found.read_text()
    assert "# Found by `sinkbench hunt` (seed 0) in fragile.toml." in text
    assert "# Confirmed: 3 runs of 3 of this file failed its [expect] (lost == 0)" in text
    assert "# One retry, then" not in text and "# one retry, then the batch is gone" in text   # comments kept

    scenario = load_scenario(found)
    assert 1 <= len(scenario.endpoint.faults) + (scenario.endpoint.rate_limit is not None) + \
        (scenario.endpoint.max_body_bytes > 0) <= 2
    assert [(e.metric, e.expression) for e in scenario.expectations] == [("lost", "== 0")]
    assert scenario.sink.settings.max_retries == 1 and scenario.source.options["count"] == 1500
    assert "loses" in scenario.description and "with max_retries = 1 and after_polling commits" in \
        scenario.description

    again = run_cli(["run", str(found), "--quiet"])
    assert again.code == 1, again.out
    assert "lost == 0" in again.out and "FAILED" in again.out
