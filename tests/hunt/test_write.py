"""The found scenario: the original text kept, the plan and the broken expectation written, and it loads."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sinkbench.endpoint.settings import Fault, RateLimit, RetryAfter
from sinkbench.hunt.plan import Plan
from sinkbench.hunt.target import negate, parse_break
from sinkbench.hunt.write import FoundFile, default_out, write_found

ORIGINAL = textwrap.dedent('''\
    # My retry setting, under review.
    [scenario]
    name = "mine"
    timeout = "20s"   # keep CI short

    [source]
    kind = "synthetic"
    count = 500
    rate = 500

    [sink]
    url = "mock"
    max_retries = 3   # what we ship
    batch_mode = "ndjson"

    [endpoint]
    latency = "1ms"   # a fast endpoint
    max_body_bytes = 9000

    [endpoint.rate_limit]
    requests_per_second = 5

    [[endpoint.faults]]
    after = "1s"
    until = "2s"
    action = "status"
    status = 503

    [expect]
    lost = "== 0"
    duplicates = "== 0"   # exactly once
    ''')

PLAN = Plan((Fault("status", after=0.0, until=0.55, status=502), Fault("reset", requests=(3, 5), probability=0.3)),
            RateLimit(50.0, 3, RetryAfter(2.0, as_date=True)), 4000)


def _file(tmp_path: Path, text: str = ORIGINAL, name: str = "mine.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_plan_and_the_broken_expectation_replace_the_scenarios_own(tmp_path: Path) -> None:
    src = _file(tmp_path)
    found = FoundFile(src, default_out(src), ("sink.max_retries=1",))
    text = found.render(PLAN, [negate(parse_break("lost > 0"))], name="mine-found", description='a "503" window',
                        header=["Found by sinkbench hunt.", "", "Second line."])
    assert text.startswith("# Found by sinkbench hunt.\n#\n# Second line.\n\n# My retry setting, under review.\n")
    # Comments elsewhere survive; the overridden value is written (its comment kept by tomlkit's item).
    assert 'timeout = "20s"   # keep CI short' in text and 'latency = "1ms"   # a fast endpoint' in text
    assert "max_retries = 1   # what we ship" in text and "max_retries = 3" not in text
    assert "duplicates" not in text and 'lost = "<= 0"' in text
    scenario = found.load(text)
    assert scenario.name == "mine-found" and scenario.description == 'a "503" window'
    assert scenario.seed == 0 and "seed = 0" in text
    assert scenario.sink.settings.max_retries == 1
    assert scenario.endpoint.faults == PLAN.faults
    assert scenario.endpoint.rate_limit == PLAN.rate_limit and scenario.endpoint.max_body_bytes == 4000
    assert scenario.endpoint.latency.value == 0.001
    assert [(e.metric, e.expression) for e in scenario.expectations] == [("lost", "<= 0")]


def test_an_empty_plan_leaves_no_fault_limit_or_threshold(tmp_path: Path) -> None:
    found = FoundFile(_file(tmp_path), tmp_path / "out.toml")
    scenario = found.load(found.render(Plan(), [parse_break("lost == 0")], name="x"))
    assert scenario.endpoint.faults == () and scenario.endpoint.rate_limit is None
    assert scenario.endpoint.max_body_bytes == 0


@pytest.mark.parametrize("endpoint", [
    '[[endpoint.faults]]\naction = "reset"\n',
    '[endpoint]\nfaults = [{ action = "reset" }]\n',
    "",
])
def test_whatever_shape_the_faults_had(tmp_path: Path, endpoint: str) -> None:
    text = f'[scenario]\nseed = 4\n[source]\ncount = 10\n[sink]\nurl = "mock"\n{endpoint}'
    found = FoundFile(_file(tmp_path, text), tmp_path / "out.toml")
    scenario = found.load(found.render(PLAN, [parse_break("lost == 0")], name="x"))
    assert scenario.endpoint.faults == PLAN.faults and scenario.seed == 4


def test_a_scenario_without_a_scenario_table_gets_one(tmp_path: Path) -> None:
    found = FoundFile(_file(tmp_path, '[source]\ncount = 10\n[sink]\nurl = "mock"\n'), tmp_path / "out.toml")
    scenario = found.load(found.render(Plan(), [parse_break("lost == 0")], name="x", description="why"))
    assert (scenario.name, scenario.description, scenario.seed) == ("x", "why", 0)


def test_relative_paths_still_point_at_the_same_files_from_another_folder(tmp_path: Path) -> None:
    (tmp_path / "streams").mkdir()
    (tmp_path / "streams" / "s.jsonl").write_text('{"payload": {"a": 1}}\n')
    src = _file(tmp_path, '[source]\nkind = "recorded"\npath = "streams/s.jsonl"\n[sink]\nurl = "mock"\n')
    elsewhere = tmp_path / "found" / "deeper"
    elsewhere.mkdir(parents=True)
    found = FoundFile(src, elsewhere / "s.found.toml")
    text = found.render(Plan(), [parse_break("lost == 0")], name="x")
    assert 'path = "../../streams/s.jsonl"' in text
    assert found.load(text).source.path.resolve() == (tmp_path / "streams" / "s.jsonl").resolve()
    # Beside the original, nothing is rewritten.
    beside = FoundFile(src, default_out(src)).render(Plan(), [parse_break("lost == 0")], name="x")
    assert 'path = "streams/s.jsonl"' in beside


def test_default_out_and_a_whole_write(tmp_path: Path) -> None:
    assert default_out(tmp_path / "quick.toml") == tmp_path / "quick.found.toml"
    out = tmp_path / "a.toml"
    write_found(out, "x = 1\n")
    assert out.read_text() == "x = 1\n" and [p.name for p in tmp_path.iterdir()] == ["a.toml"]
