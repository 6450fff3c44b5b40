"""A run whose source cannot be read to the end is invalid input, never a pass; an empty source is said so."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from sinkbench.model import Message
from sinkbench.sources.recorded import StreamWriter

from .conftest import check_accounting, run_cli


def write_stream(path: Path, count: int) -> Path:
    with StreamWriter(path, stream="shop", topic="orders", schema="json") as w:
        for i in range(count):
            w.write(None, Message(id=i + 1, offset=i, timestamp=1_790_000_000_000_000 + i, payload={"n": i}))
    return path


def recorded(stream: Path, expect: str = "") -> str:
    text = (f'[scenario]\nname = "bad"\ntimeout = "20s"\n[source]\nkind = "recorded"\npath = "{stream.name}"\n'
            '[runtime]\nbatch_length = 10\npoll_interval = "1ms"\n[sink]\nurl = "mock"\nbatch_mode = "ndjson"\n')
    return text + (f"[expect]\n{expect}\n" if expect else "")


@pytest.fixture
def corrupt_stream(tmp_path: Path) -> Path:
    """Header, one message, then line 3 broken, then more messages the run never reaches."""
    path = write_stream(tmp_path / "data.jsonl", 5)
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = '{"partition": 0, "offset": 1, broken\n'
    path.write_text("".join(lines))
    return path


@pytest.mark.parametrize("expect", ["", 'delivered = "== total"\nlost = "== 0"'])
def test_a_corrupt_stream_is_invalid_input_with_reports_marked(scenario_file: Callable[..., Path], tmp_path: Path,
                                                                corrupt_stream: Path, expect: str) -> None:
    path = scenario_file(recorded(corrupt_stream, expect))
    r = run_cli(["run", str(path), "--quiet"], reports=tmp_path / "out")
    assert r.code == 2, (r.out, r.err)
    r.assert_no_traceback()
    assert f"error: {corrupt_stream}:3: invalid JSON" in r.err
    assert "PASSED" not in r.out and "FAILED" in r.out
    rep = r.report
    assert rep is not None
    assert (rep["status"], rep["passed"]) == ("invalid_input", False)
    # The figures of what was read are kept: one message before the bad line.
    assert (rep["totals"]["total"], rep["totals"]["delivered"]) == (1, 1)
    check_accounting(rep)
    assert any(f"{corrupt_stream}:3" in note for note in rep["notes"])
    assert r.junit is not None
    failures = ET.parse(r.junit).getroot().iter("failure")
    assert any(f.get("type") == "invalid_input" for f in failures)
    assert r.summary is not None and "invalid input" in r.summary.read_text()


def test_a_corrupt_stream_fails_among_passing_scenarios(scenario_file: Callable[..., Path], tmp_path: Path,
                                                        corrupt_stream: Path) -> None:
    good = scenario_file(recorded(write_stream(tmp_path / "good.jsonl", 3)), "good.toml")
    bad = scenario_file(recorded(corrupt_stream), "bad.toml")
    r = run_cli(["run", str(good), str(bad), "--quiet", "--report", str(tmp_path / "r.json")])
    assert r.code == 2, r.err
    runs = json.loads((tmp_path / "r.json").read_text())["runs"]
    assert [run["status"] for run in runs] == ["completed", "invalid_input"]


def test_a_header_only_stream_warns_and_its_run_says_it_sent_nothing(scenario_file: Callable[..., Path],
                                                                       tmp_path: Path) -> None:
    stream = write_stream(tmp_path / "empty.jsonl", 0)
    path = scenario_file(recorded(stream))
    r = run_cli(["run", str(path), "--quiet"], reports=tmp_path / "out")
    assert r.code == 0, r.err
    assert r.report is not None and r.report["totals"]["total"] == 0
    text = r.out + r.err
    assert text.count("holds no messages") == 1, text
    assert "total 0" in r.out and "nothing was sent" in r.out
    assert any("nothing was sent" in note for note in r.report["notes"])

    v = run_cli(["validate", str(stream), str(path)])
    assert v.code == 0
    assert v.err.count("holds no messages") == 2, v.err      # the stream itself, and the scenario using it


def test_a_synthetic_source_of_zero_messages_warns(scenario_file: Callable[..., Path]) -> None:
    path = scenario_file('[source]\nkind = "synthetic"\ncount = 0\n[sink]\nurl = "mock"\n')
    v = run_cli(["validate", str(path)])
    assert v.code == 0
    assert f"{path}:3: key 'source.count': count = 0: the source is empty" in v.err
