"""`--vary` parsing and validation: every combination checked before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sinkbench.errors import InputError, InputErrors
from sinkbench.sweep.plan import normalise_key, parse_vary, plan_sweep, split_values, validate_plan

from .conftest import tiny


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(tiny())
    return path


@pytest.mark.parametrize("text, items", [
    ("ndjson,json_array", ["ndjson", "json_array"]),
    (" 0, 3 ,6 ", ["0", "3", "6"]),
    ('"a,b",c', ['"a,b"', "c"]),
    ("'x,y',z", ["'x,y'", "z"]),
    ("[200, 202],[200]", ["[200, 202]", "[200]"]),
    ('{a = 1, b = 2},{}', ["{a = 1, b = 2}", "{}"]),
    (r'"q\",r",s', [r'"q\",r"', "s"]),
    ("one", ["one"]),
    ("a,,b", ["a", "", "b"]),
])
def test_values_split_on_commas_outside_quotes_and_brackets(text: str, items: list[str]) -> None:
    assert split_values(text) == items


@pytest.mark.parametrize("key, full", [
    ("sink.max_retries", "sink.max_retries"),
    ("max_retries", "sink.max_retries"),
    ("batch_mode", "sink.batch_mode"),
    ("batch_length", "runtime.batch_length"),
    ("poll_interval", "runtime.poll_interval"),
    ("runtime.offset_commit", "runtime.offset_commit"),
    ("offset_commit", "runtime.offset_commit"),
    ("headers.X-Team", "sink.headers.X-Team"),
    ("sink.jitter", "sink.jitter"),      # known; whether the profile allows it is the scenario's to say
])
def test_keys_are_normalised(key: str, full: str) -> None:
    assert normalise_key(key) == full


@pytest.mark.parametrize("key, words", [
    ("max_retry", ["unknown key 'max_retry'", "did you mean 'max_retries'"]),
    ("sink.max_retry", ["unknown key 'max_retry' in [sink]", "max_retries"]),
    ("runtime.batch_size", ["unknown key 'batch_size' in [runtime]"]),
    ("endpoint.latency", ["[endpoint] keys cannot be varied", "--set"]),
    ("scenario.seed", ["[scenario] keys cannot be varied"]),
    ("sink.url", ["'url' cannot be varied"]),
    ("sink.connector", ["'connector' cannot be varied"]),
    ("sink.headers", ["one header at a time"]),
    ("sink.max_retries.x", ["takes no sub-key"]),
    ("sink", ["expected a key inside [sink]"]),
    ("sink..x", ["expected a key"]),
])
def test_keys_that_cannot_be_varied_are_named(key: str, words: list[str]) -> None:
    with pytest.raises(InputError) as info:
        normalise_key(key)
    assert info.value.where.file == "--vary"
    for word in words:
        assert word in str(info.value)


def test_values_are_toml_values() -> None:
    vary = parse_vary('sink.success_status_codes=[200, 202],[200]')
    assert [v.value for v in vary.values] == [[200, 202], [200]]
    assert [v.shown for v in parse_vary("max_retries=0,3").values] == ["0", "3"]
    assert [v.value for v in parse_vary("max_retries=0,3").values] == [0, 3]
    assert [v.value for v in parse_vary("retry_delay=100ms,\"1s\"").values] == ["100ms", "1s"]
    assert [v.value for v in parse_vary("include_metadata=true,false").values] == [True, False]


@pytest.mark.parametrize("item, words", [
    ("max_retries", ["expected KEY=V1,V2"]),
    ("max_retries=", ["empty value"]),
    ("max_retries=1,,2", ["empty value"]),
    ("max_retries=1,1", ["given twice"]),
    ("retry_delay=1s,\"1s\"", ["given twice"]),
])
def test_malformed_vary_is_an_error(item: str, words: list[str]) -> None:
    with pytest.raises(InputError) as info:
        parse_vary(item)
    for word in words:
        assert word in str(info.value)


def test_combinations_are_the_product_in_vary_order(scenario: Path) -> None:
    plan = plan_sweep(scenario, ["batch_mode=individual,ndjson", "sink.max_retries=0,3,6"],
                      ["runtime.offset_commit=after_consuming"])
    assert plan.size == 6
    assert [c.label for c in plan.combinations[:4]] == [
        "batch_mode=individual max_retries=0", "batch_mode=individual max_retries=3",
        "batch_mode=individual max_retries=6", "batch_mode=ndjson max_retries=0"]
    assert [c.index for c in plan.combinations] == [1, 2, 3, 4, 5, 6]
    assert plan.combinations[4].overrides == ["sink.batch_mode=ndjson", "sink.max_retries=3"]
    assert plan.combinations[4].values == {"sink.batch_mode": "ndjson", "sink.max_retries": 3}
    validated = validate_plan(plan)
    assert len(validated.scenarios) == 6
    sc = validated.scenarios[4]
    assert (str(sc.sink.settings.batch_mode), sc.sink.settings.max_retries) == ("ndjson", 3)
    assert str(sc.runtime.offset_commit) == "after_consuming"       # the fixed --set applies to each
    assert {s.seed for s in validated.scenarios} == {5}              # the same seed for every combination


def test_a_key_varied_twice_or_also_set_is_an_error(scenario: Path) -> None:
    with pytest.raises(InputErrors) as info:
        plan_sweep(scenario, ["max_retries=1,2", "sink.max_retries=3,4"])
    assert "varied twice" in str(info.value)
    with pytest.raises(InputErrors) as info:
        plan_sweep(scenario, ["max_retries=1,2"], ["sink.max_retries=3"])
    assert "both varied and set" in str(info.value)


def test_every_problem_is_listed_before_anything_runs(scenario: Path) -> None:
    with pytest.raises(InputErrors) as info:
        plan_sweep(scenario, ["max_retry=1,2", "endpoint.status=200,503", "batch_mode=ndjson"])
    assert len(info.value.errors) == 2


def test_enhanced_key_under_the_iggy_profile_names_vary_and_the_key(scenario: Path) -> None:
    plan = plan_sweep(scenario, ["sink.jitter=full,none"])
    with pytest.raises(InputErrors) as info:
        validate_plan(plan)
    (err,) = info.value.errors       # the same problem in both combinations: said once
    assert err.where.file == "--vary" and err.where.key == "sink.jitter"
    assert 'profile = "enhanced"' in str(err)


def test_enhanced_key_is_fine_in_the_enhanced_combinations_only(scenario: Path) -> None:
    plan = plan_sweep(scenario, ["profile=iggy,enhanced", "jitter=full,none"])
    with pytest.raises(InputErrors) as info:
        validate_plan(plan)
    (err,) = info.value.errors
    assert "in 2 of 4 combinations" in str(err) and "profile=iggy jitter=full" in str(err)
    ok = validate_plan(plan_sweep(scenario, ["jitter=full,none"], ["sink.profile=enhanced"]))
    assert [str(s.sink.settings.jitter) for s in ok.scenarios] == ["full", "none"]


@pytest.mark.parametrize("item, key, words", [
    ("max_retries=1,abc", "sink.max_retries", ["expected an integer", "1 of 2 combinations", "max_retries=abc"]),
    ("batch_mode=ndjson,jsonl", "sink.batch_mode", ["jsonl", "batch_mode=jsonl"]),
    ("retry_delay=100ms,10", "sink.retry_delay", ["duration"]),
    ("batch_length=0,10", "runtime.batch_length", ["at least 1"]),
    ("offset_commit=after_polling,sometimes", "runtime.offset_commit", ["sometimes"]),
])
def test_bad_values_name_vary_the_key_and_the_combination(scenario: Path, item: str, key: str,
                                                          words: list[str]) -> None:
    with pytest.raises(InputErrors) as info:
        validate_plan(plan_sweep(scenario, [item]))
    (err,) = info.value.errors
    assert err.where.file == "--vary" and err.where.key == key, err
    for word in words:
        assert word in str(err)
