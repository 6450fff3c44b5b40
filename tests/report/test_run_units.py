"""Counts and settings as a real run reports them: each count in its unit, each setting the profile has.

A skipped message counts once however often after_consuming polls it again; the per-pass figure is
kept under its own name. The report's sink settings are those of the profile that ran.
"""

from __future__ import annotations

import asyncio

import pytest

from sinkbench.config.settings import ENHANCED_KEYS, IGGY_KEYS
from sinkbench.report import markdown_summary, summary_text
from sinkbench.run.bench import BenchRun
from sinkbench.run.result import RunResult
from sinkbench.scenario.load import scenario_from_text


def oversize_run(commit: str, timeout: str = "1s", sink: str = "") -> RunResult:
    """Ten messages, every one over max_payload_size_bytes, one request per message (individual)."""
    text = (f'[scenario]\ntimeout = "{timeout}"\n'
            '[source]\nkind = "synthetic"\ncount = 10\nrate = 0\npayload_bytes = 200\n'
            f'[runtime]\nbatch_length = 10\npoll_interval = "2ms"\noffset_commit = "{commit}"\n'
            f'[sink]\nurl = "mock"\nbatch_mode = "individual"\nmax_payload_size_bytes = 100\n{sink}')
    return asyncio.run(BenchRun(scenario_from_text(text, "s.toml", (), env={}), endpoint_in_process=True).run())


def test_after_consuming_counts_a_skipped_message_once_however_often_it_is_polled_again():
    r = oversize_run("after_consuming")
    # Its batch never commits (a skip is an error), so the runtime polls the same ten until the timeout.
    assert r.totals["skipped"] == 10
    assert r.skipped == {"oversize": 10}
    assert r.skipped_attempts["oversize"] > 10 * 5          # five passes at the very least
    assert r.totals["message_attempts"] == r.skipped_attempts["oversize"]
    data = r.to_json()
    assert data["skipped_messages_by_reason"] == {"oversize": 10}
    assert data["skipped_message_attempts_by_reason"] == r.skipped_attempts
    assert data["failed_message_attempts_by_reason"] == {}                # a skip is not a failure
    attempts = f"{r.skipped_attempts['oversize']:,}"
    assert f"  skipped messages         10  oversize (skipped on {attempts} message-attempts)" in \
        summary_text(r, color=False).splitlines()
    assert f"| oversize | 10 | {attempts} |" in markdown_summary(r)


def test_after_polling_skips_each_message_once_and_says_so_once():
    r = oversize_run("after_polling", timeout="10s")
    assert r.totals["skipped"] == 10 and r.skipped == {"oversize": 10} and r.skipped_attempts == {"oversize": 10}
    assert "  skipped messages         10  oversize" in summary_text(r, color=False).splitlines()


@pytest.mark.parametrize("profile", ["iggy", "enhanced"])
def test_the_reported_sink_settings_are_those_of_the_profile(profile: str):
    r = oversize_run("after_polling", timeout="10s", sink=f'profile = "{profile}"\n')
    sink = r.to_json()["settings"]["sink"]
    assert sink["profile"] == profile
    assert set(IGGY_KEYS) <= sink.keys()
    if profile == "iggy":
        assert not set(ENHANCED_KEYS) & sink.keys(), sink      # e.g. no "retry_after": "honor" it ignores
        assert set(sink) == {*IGGY_KEYS, "profile"}
    else:
        assert set(ENHANCED_KEYS) <= sink.keys() and sink["retry_after"] == "honor"
    assert "secret_values" not in sink
