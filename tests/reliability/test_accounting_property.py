"""Issue 8, "nothing lost": whatever the endpoint does, every message is accounted for exactly once and the
bench's lost/duplicate figures are the endpoint ledger's."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sinkbench.run.bench import BenchRun
from sinkbench.scenario.load import scenario_from_text

TIMEOUT = 5.0


@st.composite
def faults(draw: st.DrawFn) -> str:
    out: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        p = draw(st.sampled_from([0.05, 0.2]))
        kind = draw(st.sampled_from(["500", "503", "429", "reset", "close", "malformed", "delay"]))
        if kind in ("500", "503", "429"):
            body = f'action = "status"\nstatus = {kind}\n'
            if kind == "429":
                body += 'retry_after = "1ms"\n'
        elif kind == "delay":
            body = 'action = "delay"\ndelay = "400ms"\n'   # past the sink's 300 ms timeout
        else:
            body = f'action = "{kind}"\n'
        out.append(f"[[endpoint.faults]]\nprobability = {p}\n{body}")
    return "\n".join(out)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[str, bool, str]:
    enhanced = draw(st.booleans())
    count = draw(st.integers(50, 150))
    mode = draw(st.sampled_from(["individual", "ndjson", "json_array", "raw"]))
    commit = draw(st.sampled_from(["after_polling", "after_consuming"]))
    endpoint = f"[endpoint]\nseed = {draw(st.integers(0, 1000))}\n"
    if draw(st.booleans()):
        endpoint += f"max_body_bytes = {draw(st.sampled_from([300, 1500, 6000]))}\n"
    if draw(st.booleans()):
        endpoint += 'rate_limit = { requests_per_second = 200, burst = 5, retry_after = "1ms" }\n'
    endpoint += draw(faults())
    sink = (f'url = "mock"\nbatch_mode = "{mode}"\ntimeout = "300ms"\nmax_retries = {draw(st.integers(0, 2))}\n'
            'retry_delay = "1ms"\nmax_retry_delay = "5ms"\n')
    if enhanced:
        sink += 'profile = "enhanced"\nretry_after = "ignore"\ndead_letter_path = "DEADLETTER"\n'
    text = (f'[scenario]\nseed = {draw(st.integers(0, 100))}\ntimeout = "{TIMEOUT:g}s"\n'
            f'[source]\nkind = "synthetic"\ncount = {count}\nrate = 0\npayload_bytes = 64\n'
            f'[runtime]\nbatch_length = {draw(st.sampled_from([1, 10, 50]))}\npoll_interval = "1ms"\n'
            f'offset_commit = "{commit}"\n[sink]\n{sink}\n{endpoint}')
    return text, enhanced, commit


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenarios())
def test_every_message_accounted_for(tmp_path_factory, case: tuple[str, bool, str]) -> None:
    text, enhanced, commit = case
    folder = tmp_path_factory.mktemp("acct")
    dead = folder / "dead.jsonl"
    text = text.replace("DEADLETTER", str(dead))
    scenario = scenario_from_text(text, str(folder / "s.toml"), (), env={})
    started = time.monotonic()
    result = asyncio.run(BenchRun(scenario, endpoint_in_process=True).run())
    elapsed = time.monotonic() - started
    t = result.totals
    ep = result.endpoint
    assert ep is not None
    assert elapsed < TIMEOUT + 3, (elapsed, text)
    assert t["delivered"] + t["failed"] + t["skipped"] + t["undelivered"] == t["total"], (t, text)
    assert t["lost"] == t["total"] - ep["unique_messages"], (t, ep, text)
    assert t["duplicates"] == ep["duplicates"], (t, ep, text)
    if enhanced:
        lines = dead.read_text().splitlines() if dead.exists() else []
        written = max(0, len(lines) - 1)   # a header line, then one line per message
        gone = t["failed"] + t["skipped"]
        assert written >= gone, (written, t, text)          # every failed or skipped message is in the file
        if commit == "after_polling":
            assert written == gone, (written, t, text)      # ... and only those
        for line in lines[1:]:
            json.loads(line)


def test_dead_letters_after_consuming_are_only_final_failures(tmp_path: Path) -> None:
    dead = tmp_path / "dead.jsonl"
    text = (f'[scenario]\ntimeout = "5s"\n[source]\nkind = "synthetic"\ncount = 5\nrate = 0\n'
            f'[runtime]\nbatch_length = 1\npoll_interval = "1ms"\noffset_commit = "after_consuming"\n'
            f'[sink]\nurl = "mock"\nbatch_mode = "individual"\nmax_retries = 0\nretry_delay = "1ms"\n'
            f'profile = "enhanced"\ndead_letter_path = "{dead}"\n'
            f'[[endpoint.faults]]\nrequests = [1, 1]\naction = "status"\nstatus = 500\n')
    result = asyncio.run(BenchRun(scenario_from_text(text, "s.toml", (), env={}), endpoint_in_process=True).run())
    assert result.totals["delivered"] == 5 and result.totals["failed"] == 0
    lines = dead.read_text().splitlines() if dead.exists() else []
    assert max(0, len(lines) - 1) == result.totals["failed"]
