"""`sinkbench run SCENARIO --versus KEY=VALUE...`: A as written and B with the changes, at once, each against
its own embedded endpoint with the same faults; two reports, one comparison, the worse exit code."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import SCENARIOS, check_accounting, run_cli, synthetic

# A short outage (0.3 s to 1.1 s) longer than one retry: at most once loses batches, at least once none.
OUTAGE = synthetic(
    600, rate=600, batch_length=50, runtime='offset_commit = "after_consuming"',
    sink='max_retries = 1\nretry_delay = "50ms"',
    endpoint='[endpoint]\n[[endpoint.faults]]\nafter = "300ms"\nuntil = "1100ms"\naction = "status"\nstatus = 503',
    expect='lost = "== 0"')


def _lines(out: str, label: str) -> list[str]:
    """The comparison table's rows for `label` (the summaries above it have no " | ")."""
    return [line for line in out.splitlines() if line.strip().startswith(label + " ") and " | " in line]


def test_the_shipped_outage_a_loses_nothing_b_loses_and_the_exit_code_is_bs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run_cli(["run", str(SCENARIOS / "outage-503.toml"), "--quiet", "--versus",
                 "runtime.offset_commit=after_polling"], reports=out)
    r.assert_no_traceback()
    assert r.code == 1, (r.out, r.err)           # B's `lost == 0` failed; A's held
    a, b = r.report, json.loads((out / "run.b.json").read_text())
    assert a is not None
    assert a["settings"]["runtime"]["offset_commit"] == "after_consuming"
    assert b["settings"]["runtime"]["offset_commit"] == "after_polling"
    assert a["totals"]["lost"] == 0 and a["passed"] is True
    assert b["totals"]["lost"] > 0 and b["passed"] is False
    for rep in (a, b):
        check_accounting(rep)
        assert rep["requests_by_status"].get("503", 0) > 0          # the same faults on both sides
        assert rep["settings"]["endpoint"] == a["settings"]["endpoint"]
    assert a["versus"] == {"side": "A", "changes": ["runtime.offset_commit=after_polling"], "other_report": "run.b.json"}
    assert b["versus"] == {"side": "B", "changes": ["runtime.offset_commit=after_polling"], "other_report": "run.json"}
    # The comparison table: "lost  0 | 804  ≠"
    [lost] = _lines(r.out, "lost")
    assert lost.split()[:4] == ["lost", "0", "|", f"{b['totals']['lost']:,}"] and lost.endswith("≠")
    assert "B · runtime.offset_commit=after_polling" in r.out
    assert "PASSED  outage-503 · A" in r.out and "FAILED  outage-503 · B" in r.out
    md = r.summary.read_text()
    assert "# A vs B: outage-503" in md and "| **lost** | **0** |" in md
    assert "outage-503 · A" in md and "outage-503 · B" in md
    suites = [s.get("name") for s in ET.parse(out / "run.b.xml").getroot().iter("testsuite")]
    assert suites == ["outage-503 · B"]


def test_the_exit_code_is_the_worse_of_the_two(scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    path = scenario_file(OUTAGE)
    both_hold = run_cli(["run", str(path), "-q", "--versus", "max_retries=2"])
    assert both_hold.code == 0, both_hold.out
    a_fails = run_cli(["run", str(path), "-q", "--set", "runtime.offset_commit=after_polling",
                       "--versus", "runtime.offset_commit=after_consuming"])
    assert a_fails.code == 1, a_fails.out
    assert "FAILED  scenario · A" in a_fails.out and "PASSED  scenario · B" in a_fails.out


def test_several_items_after_one_flag_and_short_keys(scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    path = scenario_file(synthetic(200))
    r = run_cli(["run", str(path), "-q", "--versus", "batch_mode=json_array", "batch_length=20",
                 "--report", str(tmp_path / "r.json")])
    assert r.code == 0, r.err
    b = json.loads((tmp_path / "r.b.json").read_text())
    assert b["settings"]["sink"]["batch_mode"] == "json_array" and b["settings"]["runtime"]["batch_length"] == 20
    assert b["versus"]["changes"] == ["sink.batch_mode=json_array", "runtime.batch_length=20"]
    [sent] = _lines(r.out, "sent")
    assert sent.split()[:4] == ["sent", "2", "|", "10"] and sent.endswith("≠")


@pytest.mark.parametrize(("items", "message"), [
    (["source.rate=5"], "--versus: key 'source.rate': only [sink] and [runtime] keys may differ"),
    (["endpoint.latency=5ms"], "--versus: key 'endpoint.latency': only [sink] and [runtime] keys"),
    (["sink.url=http://x"], "--versus: key 'sink.url': sink.url is the same on both sides"),
    (["max_retries"], "--versus: expected KEY=VALUE, got 'max_retries'"),
    (["sink.max_retries=lots"], "--versus: key 'sink.max_retries'"),
    (["sink.max_retry=3"], "--versus: key 'sink.max_retry'"),
    (["timeout=5s"], "'timeout' is ambiguous"),
    (["batch_mode=ndjson"], "--versus: B's settings are the same as A's"),
])
def test_bad_items_are_exit_2_naming_versus_before_anything_runs(scenario_file, tmp_path, items, message) -> None:
    r = run_cli(["run", str(scenario_file(synthetic(50))), "-q", "--versus", *items,
                 "--report", str(tmp_path / "r.json")])
    r.assert_no_traceback()
    assert r.code == 2, (r.out, r.err)
    assert message in r.err, r.err
    assert r.out == "" and not (tmp_path / "r.json").exists()


def test_a_real_url_or_a_live_source_is_refused(scenario_file: Callable[..., Path]) -> None:
    real = run_cli(["run", str(scenario_file(synthetic(50, url="http://127.0.0.1:9/in"))), "--versus",
                    "max_retries=1"])
    assert real.code == 2 and "each side needs its own embedded endpoint" in real.err, real.err
    live = scenario_file('[source]\nkind = "iggy"\nconnection = "iggy+tcp://u:p@127.0.0.1:1"\nstream = "s"\n'
                         'topics = ["t"]\n[sink]\nurl = "mock"\n', "live.toml")
    r = run_cli(["run", str(live), "--versus", "max_retries=1"])
    assert r.code == 2 and "a live Iggy source cannot yet feed both sides" in r.err, r.err
    assert "u:p@" not in r.err
    external = scenario_file('[source]\nkind = "synthetic"\ncount = 10\n[sink]\nkind = "external"\n'
                             'command = ["true"]\n[feed]\nkind = "stdin"\n', "external.toml")
    r = run_cli(["run", str(external), "--versus", "sink.command=[\"false\"]"])
    assert r.code == 2 and "an external sink is a program benched as it is" in r.err, r.err


def test_b_reports_need_a_file_beside_a(scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    r = run_cli(["run", str(scenario_file(synthetic(50))), "--versus", "max_retries=1", "--report", "/dev/null"])
    assert r.code == 2 and "B's report goes beside A's, as /dev/null.b" in r.err, r.err
    blocked = tmp_path / "r.b.json"
    blocked.mkdir()
    r = run_cli(["run", str(scenario_file(synthetic(50))), "--versus", "max_retries=1", "--report",
                 str(tmp_path / "r.json")])
    assert r.code == 2 and f"B's report {blocked}: is a folder" in r.err, r.err


def test_secrets_in_the_changes_never_show(scenario_file: Callable[..., Path], tmp_path: Path) -> None:
    path = scenario_file(synthetic(50))
    r = run_cli(["run", str(path), "-q", "--versus", 'sink.headers={Authorization = "Bearer s3cret", X-Team = "qa"}',
                 "--report", str(tmp_path / "r.json"), "--summary", str(tmp_path / "s.md")])
    assert r.code == 0, r.err
    texts = [r.out, r.err, (tmp_path / "r.json").read_text(), (tmp_path / "r.b.json").read_text(),
             (tmp_path / "s.md").read_text()]
    assert all("s3cret" not in t for t in texts)
    assert "X-Team" in r.out and "[redacted]" in r.out


# -- the core, without a bench ------------------------------------------------------------------------
def test_run_side_by_side_stops_the_other_side_when_one_fails() -> None:
    from sinkbench.errors import BenchError
    from sinkbench.run.versus import run_side_by_side

    stopped = asyncio.Event()

    async def fails() -> int:
        await asyncio.sleep(0.01)
        raise BenchError("port taken")

    async def runs_until_stopped() -> int:
        await stopped.wait()
        return 1

    async def go() -> None:
        with pytest.raises(BenchError, match="port taken"):
            await run_side_by_side(runs_until_stopped(), fails(), stopped.set)
        assert stopped.is_set()
        assert await run_side_by_side(asyncio.sleep(0, 1), asyncio.sleep(0.01, 2), stopped.set) == (1, 2)

    asyncio.run(go())


def test_what_counts_as_different() -> None:
    from sinkbench.report.versus import compare, differs

    assert differs("count", 0, 3) and not differs("count", 0, 0)
    assert not differs("count", 3200, 3180) and differs("count", 3200, 3000)   # 2% apart is the same run
    assert not differs("ms", 4.0, 5.9) and differs("ms", 4.0, 6.0)             # 1.5 times
    assert differs("s", None, 1.2) and not differs("s", None, None)
    c = compare({"lost": 0, "delivered": 100, "status.200": 5}, {"lost": 905, "delivered": 100, "status.503": 2},
                scenario="s", changes=["x=1"])
    assert [(r.key, r.a, r.b, r.differs) for r in c.rows] == [
        ("delivered", "100", "100", False), ("lost", "0", "905", True),
        ("status.200", "5", "0", True), ("status.503", "0", "2", True)]


def test_b_path_naming() -> None:
    from sinkbench.report.versus import b_path

    assert b_path("out/report.json") == "out/report.b.json"
    assert b_path("junit.xml") == "junit.b.xml"
    assert b_path("out/report") == "out/report.b"


def test_the_progress_shows_both_sides_on_one_line_or_as_two_statements() -> None:
    import io

    from sinkbench.report.versus import VersusProgress

    snap = {"elapsed": 2.0, "delivered": 1500, "total": 4000, "lost": 0, "requests": 30}
    other = {**snap, "delivered": 1200, "lost": 300}
    now = [0.0]
    tty = io.StringIO()
    line = VersusProgress(tty, tty=True, now=lambda: now[0], width=100)
    line.update(0, snap)
    line.update(1, other)            # at once: too soon after the last redraw, skipped
    assert " │ B starting" in tty.getvalue()
    now[0] = 0.5
    line.update(1, other)
    drawn = tty.getvalue().split("\r")[-1]
    assert drawn.startswith("A  2.0s  delivered 1,500/4,000") and " │ B  2.0s  delivered 1,200/4,000" in drawn
    assert len(drawn.replace("\x1b[K", "")) <= 99
    log = io.StringIO()
    now[0] = 0.0
    plain = VersusProgress(log, tty=False, interval_s=5, now=lambda: now[0])
    plain.update(0, snap)            # before the first interval: nothing yet
    assert log.getvalue() == ""
    now[0] = 6.0
    plain.update(0, snap)
    plain.update(1, other)
    assert log.getvalue().splitlines() == [
        "A: progress at 2.0s: 1,500 of 4,000 messages delivered (38%); 0 lost; 30 requests",
        "B: progress at 2.0s: 1,200 of 4,000 messages delivered (30%); 300 lost; 30 requests"]
