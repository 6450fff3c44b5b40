"""`--shard K/N`: the slices (disjoint, complete, balanced, the same everywhere) and the plan's fingerprint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sinkbench.errors import InputError
from sinkbench.sweep.plan import plan_sweep, validate_plan
from sinkbench.sweep.shard import Shard, parse_shard, slices

from .conftest import ROOT, tiny


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 200).flatmap(lambda size: st.tuples(st.just(size), st.integers(1, size))))
def test_every_combination_is_in_exactly_one_slice(size_n: tuple[int, int]) -> None:
    size, n = size_n
    cut = slices(size, n)
    assert len(cut) == n
    every = [i for part in cut for i in part]
    assert sorted(every) == list(range(1, size + 1))            # each combination once, none lost
    lengths = [len(part) for part in cut]
    assert max(lengths) - min(lengths) <= 1 and min(lengths) >= 1   # balanced; none empty when N ≤ size
    assert all(list(part) == sorted(part) for part in cut)      # plan order within a slice
    owner = {i: k for k, part in enumerate(cut, start=1) for i in part}
    assert all(Shard(owner[i], n).holds(i) and not Shard(owner[i] % n + 1, n).holds(i) or n == 1
               for i in range(1, size + 1))
    assert slices(size, n) == cut                                # the same on a second look


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 20), st.integers(1, 40))
def test_more_slices_than_combinations_leaves_some_empty_and_still_covers_all(size: int, n: int) -> None:
    cut = slices(size, n)
    assert sorted(i for part in cut for i in part) == list(range(1, size + 1))
    assert sum(1 for part in cut if not part) == max(0, n - size)


def test_slices_deal_the_plan_round_robin() -> None:
    assert slices(6, 3) == [(1, 4), (2, 5), (3, 6)]
    assert slices(7, 3) == [(1, 4, 7), (2, 5), (3, 6)]
    assert slices(2, 3) == [(1,), (2,), ()]


@pytest.mark.parametrize("text, k, n", [("1/1", 1, 1), ("2/3", 2, 3), (" 3/3 ", 3, 3), ("10/12", 10, 12)])
def test_shard_parses(text: str, k: int, n: int) -> None:
    assert parse_shard(text) == Shard(k, n)
    assert parse_shard(text).text == f"{k}/{n}"


@pytest.mark.parametrize("text, words", [
    ("0/3", ["K must be from 1 to N (3)", "'0/3'"]),
    ("4/3", ["K must be from 1 to N (3)"]),
    ("1/0", ["N must be at least 1"]),
    ("3", ["expected K/N", "such as 2/3"]),
    ("", ["expected K/N"]),
    ("a/b", ["expected K/N"]),
    ("-1/3", ["expected K/N"]),
    ("1/3/4", ["expected K/N"]),
    ("1.5/3", ["expected K/N"]),
    ("٢/٣", ["expected K/N"]),          # Arabic-Indic digits: int() would take them, no CI matrix means them
])
def test_bad_shards_are_errors_naming_the_flag(text: str, words: list[str]) -> None:
    with pytest.raises(InputError) as info:
        parse_shard(text)
    assert info.value.where.file == "--shard"
    assert str(info.value).startswith("--shard: ")
    for word in words:
        assert word in str(info.value)


# -- the fingerprint ------------------------------------------------------------------------------

@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(tiny())
    return path


def _fingerprint(path: Path, varies: list[str], sets: list[str] = ()) -> str:
    return validate_plan(plan_sweep(path, varies, list(sets))).fingerprint


def test_the_fingerprint_is_the_content_the_varies_the_sets_and_the_seed(scenario: Path, tmp_path: Path) -> None:
    base = _fingerprint(scenario, ["max_retries=0,3", "batch_mode=ndjson,json_array"])
    assert len(base) == 16 and int(base, 16) >= 0
    # The same plan written otherwise, or the same file elsewhere (each CI machine checks it out elsewhere).
    assert _fingerprint(scenario, ["sink.max_retries=0, 3", "sink.batch_mode=ndjson,\"json_array\""]) == base
    elsewhere = tmp_path / "elsewhere" / "copy.toml"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(scenario.read_bytes())
    assert _fingerprint(elsewhere, ["max_retries=0,3", "batch_mode=ndjson,json_array"]) == base
    # Anything that changes which combinations run, or how, changes it.
    assert _fingerprint(scenario, ["max_retries=3,0", "batch_mode=ndjson,json_array"]) != base    # order
    assert _fingerprint(scenario, ["batch_mode=ndjson,json_array", "max_retries=0,3"]) != base    # key order
    assert _fingerprint(scenario, ["max_retries=0,3,6", "batch_mode=ndjson,json_array"]) != base
    assert _fingerprint(scenario, ["max_retries=0,3", "batch_mode=ndjson,json_array"], ["retry_delay=5ms"]) != base
    assert _fingerprint(scenario, ["max_retries=0,3", "batch_mode=ndjson,json_array"], ["scenario.seed=6"]) != base
    scenario.write_text(tiny().replace("count = 40", "count = 41"))
    assert _fingerprint(scenario, ["max_retries=0,3", "batch_mode=ndjson,json_array"]) != base


def test_the_fingerprint_and_the_slices_are_the_same_in_another_process(scenario: Path) -> None:
    """Stable across runs: nothing in them depends on the process (hash seeds, set order, the clock)."""
    code = ("import json, sys; from sinkbench.sweep.plan import plan_sweep, validate_plan; "
            "from sinkbench.sweep.shard import slices; "
            "plan = validate_plan(plan_sweep(sys.argv[1], ['max_retries=0,3', 'batch_mode=ndjson,json_array'])); "
            "print(json.dumps([plan.fingerprint, slices(plan.size, 3)]))")
    # This process's hash seed is random (pytest does not fix it); the other's is another.
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run([sys.executable, "-c", code, str(scenario)], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True)
    here = validate_plan(plan_sweep(scenario, ["max_retries=0,3", "batch_mode=ndjson,json_array"]))
    assert json.loads(done.stdout) == [here.fingerprint, [list(s) for s in slices(4, 3)]]
