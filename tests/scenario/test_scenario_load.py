"""The scenario loader (DESIGN §6): every section and key, defaults, connector merging, errors, --set."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sinkbench.config.settings import BatchMode, Profile
from sinkbench.endpoint.settings import EndpointSettings
from sinkbench.errors import InputError, InputErrors
from sinkbench.runtime import OffsetCommit
from sinkbench.scenario.load import DEFAULT_TIMEOUT, load_scenario, parse_set, scenario_from_text
from sinkbench.scenario.model import Scenario

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = '[source]\ncount = 5\n[sink]\nurl = "mock"\n'


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "scenario.toml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return write


def load(text: str, *, overrides: tuple[str, ...] = (), env: dict[str, str] | None = None,
         name: str = "/scenarios/my-scenario.toml") -> Scenario:
    return scenario_from_text(textwrap.dedent(text), name, overrides=overrides, env={} if env is None else env)


def errors_of(text: str, **kwargs: Any) -> list[InputError]:
    with pytest.raises(InputError) as info:
        load(text, **kwargs)
    exc = info.value
    return list(exc.errors) if isinstance(exc, InputErrors) else [exc]


def one_error(text: str, **kwargs: Any) -> InputError:
    errors = errors_of(text, **kwargs)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def line_of(text: str, start: str) -> int:
    lines = textwrap.dedent(text).splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.strip().startswith(start))


# -- defaults ---------------------------------------------------------------------------------------


def test_defaults() -> None:
    sc = load(MINIMAL)
    assert sc.name == "my-scenario"                      # the file's stem
    assert sc.description == ""
    assert sc.seed == 0
    assert sc.timeout == DEFAULT_TIMEOUT == 120.0
    assert sc.file == "/scenarios/my-scenario.toml"
    assert sc.runtime.batch_length == 1000 and sc.runtime.poll_interval == 0.005
    assert sc.runtime.offset_commit is OffsetCommit.AFTER_POLLING
    assert sc.source.kind == "synthetic"
    assert sc.source.options == {"count": 5, "stream": "bench", "topics": ["events"]}
    assert sc.mock is True
    s = sc.sink.settings
    assert s.profile is Profile.IGGY
    assert s.batch_mode is BatchMode.INDIVIDUAL
    assert (s.max_retries, s.retry_delay, s.max_retry_delay, s.timeout) == (3, 1.0, 30.0, 30.0)
    assert s.method == "POST"
    assert sc.endpoint == EndpointSettings()
    assert sc.expectations == ()
    assert sc.warnings == ()


def test_load_scenario_from_a_file_takes_its_stem(write: Callable[..., Path]) -> None:
    sc = load_scenario(write(MINIMAL, "nightly-outage.toml"))
    assert sc.name == "nightly-outage"


def test_every_section_and_key() -> None:
    sc = load('''
        [scenario]
        name = "outage-503"
        description = "Endpoint returns 503 for 10 s"
        seed = 42
        timeout = "90s"

        [source]
        kind = "synthetic"
        count = 5000
        rate = 500
        schema = "text"
        payload_bytes = 256
        stream = "shop"
        topics = ["orders", "payments"]
        partitions = 3
        headers = { x-tenant = "acme" }

        [runtime]
        batch_length = 100
        poll_interval = "10ms"
        offset_commit = "after_consuming"

        [sink]
        url = "mock"
        profile = "enhanced"
        batch_mode = "ndjson"
        max_retries = 5
        retry_delay = "200ms"
        max_retry_delay = "2s"
        jitter = "none"
        include_checksum = true
        [sink.headers]
        Authorization = "Bearer ${API_TOKEN}"

        [endpoint]
        latency = "2ms"
        max_body_bytes = 1000000
        [endpoint.rate_limit]
        requests_per_second = 100
        burst = 20
        [[endpoint.faults]]
        after = "3s"
        until = "13s"
        action = "status"
        status = 503

        [expect]
        delivered = "== total"
        lost = "== 0"
        duplicates = "== 0"
        retries = "<= 200"
        "latency.delivery" = ["p(95) < 2s", "max < 15s"]
        duration = "< 60s"
        "status.503" = "> 0"
    ''', env={"API_TOKEN": "t0k3n"})
    assert (sc.name, sc.description, sc.seed, sc.timeout) == ("outage-503", "Endpoint returns 503 for 10 s", 42, 90.0)
    assert sc.source.kind == "synthetic"
    assert sc.source.options == {"count": 5000, "rate": 500, "schema": "text", "payload_bytes": 256, "stream": "shop",
                                 "topics": ["orders", "payments"], "partitions": 3, "headers": {"x-tenant": "acme"}}
    assert sc.runtime.batch_length == 100 and sc.runtime.poll_interval == 0.01
    assert sc.runtime.offset_commit is OffsetCommit.AFTER_CONSUMING
    s = sc.sink.settings
    assert s.profile is Profile.ENHANCED and s.batch_mode is BatchMode.NDJSON
    assert (s.max_retries, s.retry_delay, s.max_retry_delay) == (5, 0.2, 2.0)
    assert str(s.jitter) == "none" and s.include_checksum is True
    assert dict(s.headers) == {"Authorization": "Bearer t0k3n"}
    assert "t0k3n" in s.secret_values
    assert sc.mock is True
    ep = sc.endpoint
    assert ep.latency.value == 0.002 and ep.max_body_bytes == 1_000_000
    assert ep.rate_limit is not None and ep.rate_limit.requests_per_second == 100 and ep.rate_limit.burst == 20
    assert len(ep.faults) == 1
    fault = ep.faults[0]
    assert (fault.after, fault.until, fault.action, fault.status) == (3.0, 13.0, "status", 503)
    got = [(e.metric, e.expression) for e in sc.expectations]
    assert got == [("delivered", "== total"), ("lost", "== 0"), ("duplicates", "== 0"), ("retries", "<= 200"),
                   ("latency.delivery", "p(95) < 2s"), ("latency.delivery", "max < 15s"), ("duration", "< 60s"),
                   ("status.503", "> 0")]
    assert sc.expectations[4].value == 2000.0      # latencies compare in ms
    assert sc.expectations[6].value == 60.0        # durations in s


def test_unquoted_dotted_latency_metric_is_the_same_as_quoted() -> None:
    quoted = load(MINIMAL + '[expect]\n"latency.delivery" = ["p(95) < 2s"]\n')
    dotted = load(MINIMAL + '[expect]\nlatency.delivery = ["p(95) < 2s"]\n')
    assert [(e.metric, e.expression) for e in quoted.expectations] == [("latency.delivery", "p(95) < 2s")]
    assert quoted.expectations == dotted.expectations


def test_recorded_source_path_is_relative_to_the_scenario(write: Callable[..., Path], tmp_path: Path) -> None:
    stream = write('{"sinkbench_stream": 1, "stream": "s", "topic": "t", "schema": "json"}\n',
                   "suite/streams/s.jsonl")
    sc = load_scenario(write('[source]\nkind = "recorded"\npath = "streams/s.jsonl"\nspeed = 4.0\n'
                             '[sink]\nurl = "mock"\n', "suite/sc.toml"))
    assert sc.source.kind == "recorded"
    assert sc.source.path is not None and sc.source.path.resolve() == stream.resolve()
    assert sc.source.options == {"path": "streams/s.jsonl", "speed": 4.0}


@pytest.mark.parametrize("speed", ['"max"', '"realtime"', "4.0", "2", "0.5"])
def test_recorded_speeds(speed: str) -> None:
    path = ROOT / "scenarios" / "streams" / "orders.jsonl"
    sc = load(f'[source]\nkind = "recorded"\npath = "{path}"\nspeed = {speed}\n[sink]\nurl = "mock"\n')
    assert sc.source.path == path


@pytest.mark.parametrize("speed", ["0", "-1", '"fast"', "true", '"4x"'])
def test_bad_recorded_speed(speed: str) -> None:
    path = ROOT / "scenarios" / "streams" / "orders.jsonl"
    e = one_error(f'[source]\nkind = "recorded"\npath = "{path}"\nspeed = {speed}\n[sink]\nurl = "mock"\n')
    assert (e.where.line, e.where.key) == (4, "source.speed")


def test_recorded_source_needs_an_existing_path() -> None:
    e = one_error('[source]\nkind = "recorded"\n[sink]\nurl = "mock"\n')
    assert e.where.key == "source.path"
    e = one_error('[source]\nkind = "recorded"\npath = "streams/none.jsonl"\n[sink]\nurl = "mock"\n')
    assert (e.where.line, e.where.key) == (3, "source.path") and "not found" in e.message


def test_iggy_source_unknown_key_is_still_named() -> None:
    with pytest.raises(InputErrors) as info:
        load('[source]\nkind = "iggy"\nconection = "x"\n[sink]\nurl = "mock"\n')
    assert any(e.where.key == "source.conection" for e in info.value.errors)


def test_unknown_source_kind_with_hint() -> None:
    e = one_error('[source]\nkind = "recored"\n[sink]\nurl = "mock"\n')
    assert (e.where.line, e.where.key) == (2, "source.kind") and "recorded" in e.message


def test_keys_of_another_source_kind_are_errors() -> None:
    path = ROOT / "scenarios" / "streams" / "orders.jsonl"
    e = one_error(f'[source]\nkind = "recorded"\npath = "{path}"\nrate = 5\n[sink]\nurl = "mock"\n')
    assert (e.where.line, e.where.key) == (4, "source.rate") and "recorded" in e.message


# -- url ----------------------------------------------------------------------------------------


def test_url_mock_and_real() -> None:
    assert load(MINIMAL).mock is True
    real = load('[source]\ncount = 5\n[sink]\nurl = "https://example.com/ingest"\n')
    assert real.mock is False
    assert real.sink.settings.url == "https://example.com/ingest"
    assert real.warnings == ()


def test_endpoint_table_with_a_real_url_is_ignored_with_a_warning() -> None:
    sc = load('[source]\ncount = 5\n[sink]\nurl = "http://127.0.0.1:9/x"\n[endpoint]\nstatus = 503\n')
    assert sc.mock is False
    assert any("[endpoint] is ignored" in w for w in sc.warnings)


def test_missing_url_is_an_error() -> None:
    e = one_error('[source]\ncount = 5\n[sink]\nbatch_mode = "ndjson"\n')
    assert e.where.key == "sink.url"


# -- errors with lines --------------------------------------------------------------------------


@pytest.mark.parametrize("extra, key, at", [
    ('[scenario]\nnmae = "x"\n', "scenario.nmae", "nmae"),
    ('[runtime]\nbatch_size = 10\n', "runtime.batch_size", "batch_size"),
    ('[sink.extra]\n', "sink.extra", "[sink.extra]"),
    ('[endpoint]\nstatuss = 200\n', "endpoint.statuss", "statuss"),
    ('[expect]\nlots = "== 0"\n', "expect.lots", "lots"),
    ('[expectations]\nlost = "== 0"\n', "expectations", "[expectations]"),
    ('[endpoint.rate_limit]\nrps = 3\n', "endpoint.rate_limit.rps", "rps"),
])
def test_unknown_keys_and_sections_name_their_line(extra: str, key: str, at: str) -> None:
    text = MINIMAL + extra
    e = one_error(text)
    assert e.where.file == "/scenarios/my-scenario.toml"
    assert e.where.key == key
    assert e.where.line == line_of(text, at), str(e)


def test_unknown_sink_key_with_hint() -> None:
    e = one_error(MINIMAL + "max_retry = 3\n")
    assert (e.where.line, e.where.key) == (5, "sink.max_retry")
    assert "max_retries" in e.message


def test_every_error_is_listed_with_its_line() -> None:
    text = '''
        [scenario]
        seed = -1
        timeout = "0s"
        name = 3
        [source]
        count = 5
        [runtime]
        batch_length = 0
        poll_interval = 5
        offset_commit = "whenever"
        [sink]
        url = "ftp://example.com"
        batch_mode = "xml"
        [expect]
        lost = 0
    '''
    errors = errors_of(text)
    got = {(e.where.key, e.where.line) for e in errors}
    for key, start in [("scenario.seed", "seed"), ("scenario.timeout", "timeout"), ("scenario.name", "name"),
                       ("runtime.batch_length", "batch_length"), ("runtime.poll_interval", "poll_interval"),
                       ("runtime.offset_commit", "offset_commit"), ("sink.url", "url"),
                       ("sink.batch_mode", "batch_mode"), ("expect.lost", "lost")]:
        assert (key, line_of(text, start)) in got, (key, sorted(got, key=str))
    assert len(errors) == 9, [str(e) for e in errors]


@pytest.mark.parametrize("key", ["retry_after", "jitter", "retry_statuses", "max_in_flight",
                                 "split_oversize_batches", "dead_letter_path", "tls_ca_file", "http2"])
def test_enhanced_keys_are_errors_under_the_iggy_profile(key: str) -> None:
    value = {"retry_after": '"ignore"', "jitter": '"none"', "retry_statuses": "[503]", "max_in_flight": "4",
             "split_oversize_batches": "true", "dead_letter_path": '"dead.jsonl"', "tls_ca_file": '"ca.pem"',
             "http2": "true"}[key]
    e = one_error(f'{MINIMAL}{key} = {value}\n')
    assert (e.where.line, e.where.key) == (5, f"sink.{key}")
    assert "enhanced" in e.message
    if key != "tls_ca_file":     # a CA file must exist, whatever the profile
        sc = load(f'{MINIMAL}profile = "enhanced"\n{key} = {value}\n')
        assert sc.sink.settings.profile is Profile.ENHANCED


def test_missing_environment_variable_is_named() -> None:
    e = one_error(MINIMAL + '[sink.headers]\nAuthorization = "Bearer ${NOT_SET_ANYWHERE}"\n')
    assert "NOT_SET_ANYWHERE" in e.message
    assert (e.where.line, e.where.key) == (6, "sink.headers.Authorization")


def test_invalid_toml_names_the_line() -> None:
    e = one_error('[source]\ncount = = 5\n')
    assert e.where.line == 2 and "TOML" in e.message


@pytest.mark.parametrize("source", ['[source]\nkind = "synthetic"\n', '[source]\ncount = 5\ncolour = "red"\n'])
def test_one_error_per_source_problem(source: str) -> None:
    e = one_error(source + '[sink]\nurl = "mock"\n')
    assert "SyntheticSource" not in str(e)


def test_source_header_error_names_its_line() -> None:
    e = one_error('[sink]\nurl = "mock"\n[source]\ncount = 5\nheaders = { a = 1 }\n')
    assert e.where.line == 5


def test_duplicate_key_is_an_input_error() -> None:
    try:
        load('[source]\ncount = 5\ncount = 6\n[sink]\nurl = "mock"\n')
    except InputError as exc:
        assert "count" in str(exc)
    else:
        pytest.fail("a duplicate key must not load")


# -- connector = "..." -------------------------------------------------------------------------

CONNECTOR = '''\
type = "sink"
key = "http"
enabled = true
version = 0
name = "HTTP sink"
path = "libiggy_connector_http_sink"

[[streams]]
stream = "shop"
topics = ["orders"]
schema = "text"
batch_length = 77
poll_interval = "7ms"
consumer_group = "sinks"

[plugin_config]
url = "http://127.0.0.1:8080/ingest"
batch_mode = "json_array"
max_retries = 2
retry_delay = "300ms"
include_origin_timestamp = true

[plugin_config.headers]
X-Custom = "from-connector"
'''


@pytest.fixture
def connector_dir(write: Callable[..., Path]) -> Path:
    return write(CONNECTOR, "conf/connector.toml").parent


def test_connector_is_the_starting_point_and_scenario_keys_apply_last(write: Callable[..., Path],
                                                                      connector_dir: Path) -> None:
    path = write('''
        [source]
        count = 10
        [sink]
        connector = "../conf/connector.toml"
        url = "mock"
        max_retries = 6
    ''', "suite/sc.toml")
    sc = load_scenario(path, env={})
    s = sc.sink.settings
    assert sc.mock is True
    assert s.batch_mode is BatchMode.JSON_ARRAY              # connector
    assert s.retry_delay == 0.3                              # connector
    assert s.include_origin_timestamp is True                # connector
    assert s.max_retries == 6                                # scenario, applied last
    assert dict(s.headers) == {"X-Custom": "from-connector"}
    assert sc.runtime.batch_length == 77                     # [[streams]]
    assert sc.runtime.poll_interval == 0.007
    assert sc.source.options["stream"] == "shop"             # a synthetic source follows [[streams]]
    assert sc.source.options["topics"] == ["orders"]
    assert sc.source.options["schema"] == "text"


def test_scenario_runtime_keys_beat_the_connector_streams(write: Callable[..., Path], connector_dir: Path) -> None:
    path = write('''
        [source]
        count = 10
        stream = "other"
        [runtime]
        batch_length = 5
        [sink]
        connector = "../conf/connector.toml"
        url = "mock"
    ''', "suite/sc.toml")
    sc = load_scenario(path, env={})
    assert sc.runtime.batch_length == 5
    assert sc.runtime.poll_interval == 0.007
    assert sc.source.options["stream"] == "other"


def test_connector_without_url_override_keeps_its_real_url(write: Callable[..., Path], connector_dir: Path) -> None:
    sc = load_scenario(write('[source]\ncount = 1\n[sink]\nconnector = "../conf/connector.toml"\n', "s/sc.toml"),
                       env={})
    assert sc.mock is False
    assert sc.sink.settings.url == "http://127.0.0.1:8080/ingest"


def test_connector_environment_overrides(write: Callable[..., Path], connector_dir: Path) -> None:
    env = {"IGGY_CONNECTORS_SINK_HTTP_PLUGIN_CONFIG_MAX_RETRIES": "9",
           "IGGY_CONNECTORS_SINK_HTTP_PLUGIN_CONFIG_BATCH_MODE": "ndjson",
           "IGGY_CONNECTORS_SINK_HTTP_STREAMS_0_BATCH_LENGTH": "33"}
    path = write('''
        [source]
        count = 1
        [sink]
        connector = "../conf/connector.toml"
        url = "mock"
        batch_mode = "individual"
    ''', "suite/sc.toml")
    sc = load_scenario(path, env=env)
    assert sc.sink.settings.max_retries == 9                    # the override applies to the connector file
    assert sc.sink.settings.batch_mode is BatchMode.INDIVIDUAL  # the scenario's own key applies last
    assert sc.runtime.batch_length == 33


def test_the_shipped_config_as_connector(write: Callable[..., Path]) -> None:
    sc = load_scenario(write(f'[source]\ncount = 1\n[sink]\nconnector = "{ROOT / "config.toml"}"\nurl = "mock"\n'),
                       env={})
    assert sc.sink.settings.batch_mode is BatchMode.NDJSON
    assert sc.runtime.batch_length == 100 and sc.runtime.poll_interval == 0.005


def test_missing_connector_file(write: Callable[..., Path]) -> None:
    path = write('[source]\ncount = 1\n[sink]\nconnector = "nope.toml"\nurl = "mock"\n')
    with pytest.raises(InputError) as info:
        load_scenario(path, env={})
    assert "nope.toml" in str(info.value)


def test_connector_errors_point_into_the_connector_file(write: Callable[..., Path]) -> None:
    write(CONNECTOR.replace('retry_delay = "300ms"', 'retry_delay = 300'), "conf/connector.toml")
    path = write('[source]\ncount = 1\n[sink]\nconnector = "../conf/connector.toml"\nurl = "mock"\n', "s/sc.toml")
    with pytest.raises(InputError) as info:
        load_scenario(path, env={})
    errors = info.value.errors if isinstance(info.value, InputErrors) else [info.value]
    assert any(e.where.file and e.where.file.endswith("connector.toml")
               and e.where.line == line_of(CONNECTOR, "retry_delay") for e in errors), [str(e) for e in errors]


# -- --set --------------------------------------------------------------------------------------


@pytest.mark.parametrize("item, path, value", [
    ("sink.max_retries=5", ["sink", "max_retries"], 5),
    ("sink.timeout=5s", ["sink", "timeout"], "5s"),
    ('sink.timeout="5s"', ["sink", "timeout"], "5s"),
    ('sink.max_retries="5"', ["sink", "max_retries"], "5"),
    ("sink.include_checksum=true", ["sink", "include_checksum"], True),
    ("sink.success_status_codes=[200, 201]", ["sink", "success_status_codes"], [200, 201]),
    ("source.speed=4.0", ["source", "speed"], 4.0),
    ("expect.lost=== 0", ["expect", "lost"], "== 0"),
    ("sink.url=http://h/x?a=b", ["sink", "url"], "http://h/x?a=b"),
    ("scenario.description=two words", ["scenario", "description"], "two words"),
    ("sink.headers.X-Tenant=acme", ["sink", "headers", "X-Tenant"], "acme"),
    (" runtime.batch_length = 7 ", ["runtime", "batch_length"], 7),
    # Not one TOML value: taken whole, so the key complains instead of silently getting the 5.
    ("sink.max_retries=5\nx = 1", ["sink", "max_retries"], "5\nx = 1"),
])
def test_parse_set(item: str, path: list[str], value: Any) -> None:
    assert parse_set(item) == (path, value)


@pytest.mark.parametrize("item", ["sink.batch_mode", "sink=3", ".x=1", "sink..x=1"])
def test_parse_set_rejects(item: str) -> None:
    with pytest.raises(InputError) as info:
        parse_set(item)
    assert info.value.where.file == "--set"


def test_set_applies_to_every_section() -> None:
    sc = load(MINIMAL, overrides=("scenario.name=renamed", "scenario.seed=3", 'scenario.timeout="5s"',
                                  "source.count=7", "source.rate=100", "runtime.batch_length=10",
                                  "runtime.offset_commit=after_consuming", "sink.batch_mode=ndjson",
                                  "sink.headers.X-Tenant=acme", "endpoint.latency=5ms", "endpoint.status=202",
                                  "expect.delivered=== total"))
    assert (sc.name, sc.seed, sc.timeout) == ("renamed", 3, 5.0)
    assert sc.source.options["count"] == 7 and sc.source.options["rate"] == 100
    assert sc.runtime.batch_length == 10 and sc.runtime.offset_commit is OffsetCommit.AFTER_CONSUMING
    assert sc.sink.settings.batch_mode is BatchMode.NDJSON
    assert dict(sc.sink.settings.headers) == {"X-Tenant": "acme"}
    assert sc.endpoint.latency.value == 0.005 and sc.endpoint.status == 202
    assert [(e.metric, e.expression) for e in sc.expectations] == [("delivered", "== total")]


def test_set_replaces_a_bad_value_of_the_file() -> None:
    sc = load(MINIMAL + 'batch_mode = "xml"\n', overrides=("sink.batch_mode=raw",))
    assert sc.sink.settings.batch_mode is BatchMode.RAW


def test_set_replaces_a_connector_key(write: Callable[..., Path], connector_dir: Path) -> None:
    path = write('[source]\ncount = 1\n[sink]\nconnector = "../conf/connector.toml"\nurl = "mock"\n', "s/sc.toml")
    sc = load_scenario(path, overrides=["sink.retry_delay=50ms"], env={})
    assert sc.sink.settings.retry_delay == 0.05


@pytest.mark.parametrize("override, key", [
    ("sink.batch_mode=xml", "sink.batch_mode"),
    ('sink.max_retries="5"', "sink.max_retries"),
    ("runtime.poll_interval=5", "runtime.poll_interval"),
    ("scenario.seed=-2", "scenario.seed"),
    ("source.count=-3", "source.count"),
    ("endpoint.status=99", "endpoint.status"),
    ("sink.max_retry=3", "sink.max_retry"),
    ("sink.url=ftp://x", "sink.url"),
    ("expect.delivered=== lots", "expect.delivered"),
    ("bogus.x=1", "bogus.x"),
])
def test_set_errors_name_set_not_a_line(override: str, key: str) -> None:
    e = one_error(MINIMAL + '[expect]\ndelivered = "== total"\n', overrides=(override,))
    assert e.where.file == "--set", str(e)
    assert e.where.line is None
    assert e.where.key == key


def test_set_errors_and_file_errors_together() -> None:
    errors = errors_of(MINIMAL + "retries = 3\n", overrides=("runtime.batch_length=0",))
    assert {(e.where.file, e.where.key) for e in errors} == {
        ("/scenarios/my-scenario.toml", "sink.retries"), ("--set", "runtime.batch_length")}
