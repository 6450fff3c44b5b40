"""The `[endpoint]` table: parsing, every rejection naming its key, and the round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from sinkbench.endpoint.settings import (
    EndpointSettings,
    Fault,
    Latency,
    RateLimit,
    RetryAfter,
    load_endpoint_file,
    parse_endpoint_settings,
    settings_to_dict,
)
from sinkbench.errors import InputError
from sinkbench.tomlsrc import parse_toml

DESIGN_EXAMPLE = """\
[endpoint]
status = 200
latency = "2ms"
max_body_bytes = 0
tls = false
[endpoint.rate_limit]
requests_per_second = 100
burst = 20
retry_after = "1s"
[[endpoint.faults]]
after = "5s"
until = "15s"
requests = [10, 20]
every = 5
probability = 0.3
action = "status"
status = 503
retry_after = "2s"
body = "busy"
accept = false
"""


def parse(doc: dict[str, Any]) -> EndpointSettings:
    return parse_endpoint_settings(doc, None, ())


def error_of(doc: dict[str, Any]) -> str:
    with pytest.raises(InputError) as info:
        parse(doc)
    return str(info.value)


def test_defaults() -> None:
    s = parse({})
    assert s == EndpointSettings()
    assert (s.status, s.max_body_bytes, s.tls, s.rate_limit, s.faults, s.seed) == (200, 0, False, None, (), 0)
    assert s.latency.is_zero


def test_design_example_parses() -> None:
    src = parse_toml(DESIGN_EXAMPLE, "scenario.toml")
    s = parse_endpoint_settings(src.data["endpoint"], src)
    assert s.latency == Latency("fixed", value=0.002)
    assert s.rate_limit == RateLimit(100.0, 20, RetryAfter(1.0))
    assert s.faults == (Fault(action="status", after=5.0, until=15.0, requests=(10, 20), every=5, probability=0.3,
                              status=503, retry_after=RetryAfter(2.0), body="busy"),)


def test_latency_distributions() -> None:
    assert parse({"latency": {"distribution": "uniform", "min": "1ms", "max": "5ms"}}).latency == \
        Latency("uniform", min=0.001, max=0.005)
    assert parse({"latency": {"distribution": "lognormal", "median": "5ms", "sigma": 0.5}}).latency == \
        Latency("lognormal", median=0.005, sigma=0.5)


def test_retry_after_forms() -> None:
    f = parse({"faults": [{"action": "status", "status": 429, "retry_after": "date:+2s"}]}).faults[0]
    assert f.retry_after == RetryAfter(2.0, as_date=True)
    f = parse({"faults": [{"action": "status", "status": 429, "retry_after": 3}]}).faults[0]
    assert f.retry_after == RetryAfter(3.0)


def test_rate_limit_default_burst_is_one_second() -> None:
    assert parse({"rate_limit": {"requests_per_second": 50}}).rate_limit == RateLimit(50.0, 50, RetryAfter(1.0))


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"stauts": 200}, "key 'stauts': unknown key 'stauts' (did you mean 'status'?)"),
        ({"status": 600}, "key 'status': 600 is out of range (expected 100..599)"),
        ({"status": True}, "key 'status': expected an integer, got a boolean"),
        ({"status": "200"}, "key 'status': expected an integer, got a string"),
        ({"latency": "fast"}, "key 'latency': invalid duration 'fast'"),
        ({"latency": 5}, "key 'latency': expected a duration"),
        ({"latency": {"distribution": "normal"}}, "key 'latency.distribution': unknown distribution 'normal'"),
        ({"latency": {"distribution": "uniform", "min": "5ms", "max": "1ms"}}, "min (5ms) is greater than max"),
        ({"latency": {"distribution": "uniform", "min": "5ms"}}, "missing 'max'"),
        ({"latency": {"distribution": "lognormal", "median": "5ms", "sigma": -1}}, "sigma -1.0 is out of range"),
        ({"max_body_bytes": -1}, "key 'max_body_bytes': -1 is out of range (expected >= 0)"),
        ({"tls": "yes"}, "key 'tls': expected true or false"),
        ({"rate_limit": {"burst": 5}}, "key 'rate_limit': missing 'requests_per_second'"),
        ({"rate_limit": {"requests_per_second": 0}}, "key 'rate_limit.requests_per_second': 0 is out of range"),
        ({"rate_limit": {"requests_per_second": 10, "burst": 0}}, "key 'rate_limit.burst': 0 is out of range"),
        ({"rate_limit": {"requests_per_second": 10, "retry_after": "soon"}}, "key 'rate_limit.retry_after'"),
        ({"faults": {"action": "reset"}}, "key 'faults': expected a list of tables"),
        ({"faults": [{}]}, "key 'faults[0]': missing 'action'"),
        ({"faults": [{"action": "explode"}]},
         "key 'faults[0].action': unknown action 'explode' (expected one of: status, delay, reset, hang, close, "
         "malformed, slow_body)"),
        ({"faults": [{"action": "rest"}]}, "unknown action 'rest' (did you mean 'reset'?)"),
        ({"faults": [{"action": "status"}]}, "key 'faults[0]': action 'status' needs 'status'"),
        ({"faults": [{"action": "delay"}]}, "action 'delay' needs 'delay'"),
        ({"faults": [{"action": "slow_body"}]}, "action 'slow_body' needs 'delay'"),
        ({"faults": [{"action": "reset", "status": 503}]},
         "key 'faults[0].status': 'status' does not apply to action 'reset'"),
        ({"faults": [{"action": "reset", "probabilty": 0.5}]},
         "unknown key 'probabilty' (did you mean 'probability'?)"),
        ({"faults": [{"action": "reset", "probability": 1.5}]}, "key 'faults[0].probability': 1.5 is out of range"),
        ({"faults": [{"action": "reset", "requests": [0, 3]}]}, "key 'faults[0].requests': 0 is out of range"),
        ({"faults": [{"action": "reset", "requests": [5, 2]}]}, "first request number 5 is greater than last 2"),
        ({"faults": [{"action": "reset", "requests": 5}]}, "expected [first, last] request numbers"),
        ({"faults": [{"action": "reset", "requests": [1, 2, 3]}]}, "expected [first, last] request numbers"),
        ({"faults": [{"action": "reset", "every": 0}]}, "key 'faults[0].every': 0 is out of range"),
        ({"faults": [{"action": "reset", "after": "5s", "until": "5s"}]}, "until (5s) must be later than after (5s)"),
        ({"faults": [{"action": "reset", "after": "-1s"}]}, "key 'faults[0].after': invalid duration"),
        ({"faults": [{"action": "status", "status": 503, "retry_after": "date:2s"}]},
         "invalid retry_after 'date:2s' (expected \"date:+<duration>\""),
        ({"faults": [{"action": "status", "status": 503, "retry_after": 1.5}]}, "expected a duration"),
        ({"faults": [{"action": "status", "status": 503, "body": 5}]}, "key 'faults[0].body': expected a string"),
        ({"faults": [{"action": "reset", "accept": 1}]}, "key 'faults[0].accept': expected true or false"),
        ({"faults": [{"action": "reset"}, {"action": "hang", "delay": "1s"}]},
         "key 'faults[1].delay': 'delay' does not apply to action 'hang'"),
        ({"seed": -1}, "key 'seed': -1 is out of range"),
    ],
)
def test_rejections_name_the_key(doc: dict[str, Any], expected: str) -> None:
    assert expected in error_of(doc)


def test_non_table_document() -> None:
    with pytest.raises(InputError, match="expected a table"):
        parse_endpoint_settings([], None, ())  # type: ignore[arg-type]


def test_errors_from_a_file_name_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text('[scenario]\nname = "x"\n\n[endpoint]\nlatency = "2ms"\n\n[[endpoint.faults]]\naction = "reset"\n'
                    '\n[[endpoint.faults]]\nevery = 2\naction = "explode"\n')
    with pytest.raises(InputError) as info:
        load_endpoint_file(path)
    assert str(info.value).startswith(f"{path}:12: key 'endpoint.faults[1].action': unknown action 'explode'")


def test_file_without_endpoint_table_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text('[scenario]\nname = "x"\n[sink]\nurl = "mock"\nbatch_mode = "ndjson"\n')
    assert load_endpoint_file(path) == EndpointSettings()


def test_file_other_tables_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "scenario.toml"
    path.write_text('[scenario]\nseed = 42\n[sink]\nnonsense = 1\n[endpoint]\nstatus = 503\n[expect]\nlost = "== 0"\n')
    assert load_endpoint_file(path) == EndpointSettings(status=503)


def test_missing_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_endpoint_file(tmp_path / "nope.toml")


def test_round_trip_of_design_example() -> None:
    src = parse_toml(DESIGN_EXAMPLE, "scenario.toml")
    s = parse_endpoint_settings(src.data["endpoint"], src)
    doc = settings_to_dict(s)
    assert doc["latency"] == "2ms"
    assert doc["rate_limit"] == {"requests_per_second": 100, "burst": 20, "retry_after": "1s"}
    assert doc["faults"][0]["requests"] == [10, 20]
    assert parse(doc) == s


def test_round_trip_keeps_sub_millisecond_durations() -> None:
    s = parse({"latency": "1500us", "faults": [{"action": "delay", "delay": "250us"}]})
    doc = settings_to_dict(s)
    assert doc["latency"] == "1500us"
    assert parse(doc) == s


durations = st.integers(0, 10**7).map(lambda us: f"{us}us")
faults = st.one_of(
    st.fixed_dictionaries({"action": st.just("status"), "status": st.integers(100, 599)},
                          optional={"retry_after": st.one_of(durations, durations.map(lambda d: f"date:+{d}")),
                                    "body": st.text(max_size=10), "accept": st.booleans()}),
    st.fixed_dictionaries({"action": st.just("delay"), "delay": durations}),
    st.fixed_dictionaries({"action": st.sampled_from(["reset", "hang", "close", "malformed"])},
                          optional={"accept": st.booleans()}),
    st.fixed_dictionaries({"action": st.just("slow_body"), "delay": durations},
                          optional={"status": st.integers(100, 599), "body": st.text(max_size=10)}),
).flatmap(lambda f: st.fixed_dictionaries(
    {}, optional={"after": durations, "every": st.integers(1, 100), "probability": st.floats(0, 1),
                  "requests": st.tuples(st.integers(1, 50), st.integers(0, 50)).map(lambda t: [t[0], t[0] + t[1]])},
).map(lambda m: {**m, **f}))


@hsettings(max_examples=150, deadline=None)
@given(doc=st.fixed_dictionaries({}, optional={
    "status": st.integers(100, 599),
    "latency": st.one_of(durations, st.just({"distribution": "lognormal", "median": "5ms", "sigma": 0.25})),
    "max_body_bytes": st.integers(0, 10**9),
    "tls": st.booleans(),
    "rate_limit": st.fixed_dictionaries({"requests_per_second": st.integers(1, 10**5)},
                                        optional={"burst": st.integers(1, 1000)}),
    "faults": st.lists(faults, max_size=4),
    "seed": st.integers(0, 2**32),
}))
def test_round_trip_property(doc: dict[str, Any]) -> None:
    s = parse(doc)
    assert parse(settings_to_dict(s)) == s


@pytest.mark.parametrize("doc,key,reason", [
    ({"latency": "366d"}, "latency", "at most 365d"),
    ({"latency": {"distribution": "lognormal", "median": "10000000h", "sigma": 10}}, "latency.median", "at most 365d"),
    ({"faults": [{"action": "status", "status": 503, "retry_after": "date:+300000000d"}]}, "faults[0].retry_after",
     "at most 365d"),
    ({"faults": [{"action": "status", "status": 503, "retry_after": 10**30}]}, "faults[0].retry_after", "out of range"),
    ({"latency": "1" + "0" * 400 + "s"}, "latency", "number too large"),
    ({"rate_limit": {"requests_per_second": 1e20}}, "rate_limit.requests_per_second", "at most 1e+09"),
    ({"rate_limit": {"requests_per_second": 10**5000}}, "rate_limit.requests_per_second", "out of range"),
    ({"rate_limit": {"requests_per_second": 5, "burst": 10**30}}, "rate_limit.burst", "out of range"),
])
def test_values_too_large_to_use_are_refused_naming_the_key(doc: dict[str, Any], key: str, reason: str) -> None:
    # Each of these once passed and then broke the endpoint: a Retry-After date past the calendar, a lognormal
    # latency overflowing a float, a rate the admin API could not show back.
    with pytest.raises(InputError) as info:
        parse_endpoint_settings(doc, None, ())
    assert key in str(info.value) and reason in str(info.value)
    assert len(str(info.value)) < 300


def test_the_largest_values_still_work() -> None:
    s = parse_endpoint_settings({"latency": "365d", "rate_limit": {"requests_per_second": 1e9, "burst": 10**9},
                                 "faults": [{"action": "status", "status": 503, "retry_after": "date:+365d"}]},
                                None, ())
    assert s.latency.value == 365 * 86400 and s.rate_limit is not None and s.rate_limit.burst == 10**9
    settings_to_dict(s)   # and they can be shown back
