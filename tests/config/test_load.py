"""Config defaults, parsing, validation and warnings — the Iggy sink's own test list and sinkbench's stricter rules."""

from __future__ import annotations

import pytest

from sinkbench.config import BatchMode, Jitter, Method, Profile, resolve_sink, table_locator
from sinkbench.config.connector import connector_from_source, load_connector
from sinkbench.config.load import parse_env_value
from sinkbench.config.settings import DEFAULT_SUCCESS, SinkSettings, open_problems
from sinkbench.errors import InputErrors
from sinkbench.tomlsrc import parse_toml

URL = "https://api.example.com/ingest"


def load(table: dict, env: dict | None = None, unknown_is_error: bool = False):
    return resolve_sink(table, table_locator(None, ("plugin_config",), "test"), env=env or {},
                        unknown_is_error=unknown_is_error)


def errors_of(table: dict, **kw) -> list[str]:
    with pytest.raises(InputErrors) as info:
        load(table, **kw)
    return [str(e) for e in info.value.errors]


def test_all_defaults_applied_when_only_url_given():
    s = load({"url": URL}).settings
    assert s.method is Method.POST
    assert s.timeout == 30.0
    assert s.max_payload_size_bytes == 10_485_760
    assert s.batch_mode is BatchMode.INDIVIDUAL
    assert s.include_metadata is True
    assert (s.include_checksum, s.include_origin_timestamp) == (False, False)
    assert (s.health_check_enabled, s.health_check_method) == (False, Method.HEAD)
    assert (s.max_retries, s.retry_delay, s.retry_backoff_multiplier, s.max_retry_delay) == (3, 1.0, 2, 30.0)
    assert s.success_status_codes == frozenset({200, 201, 202, 204})
    assert (s.tls_danger_accept_invalid_certs, s.max_connections, s.verbose_logging) == (False, 10, False)
    assert s.profile is Profile.IGGY


def test_explicit_values_override_defaults():
    s = load({
        "url": URL, "method": "PUT", "timeout": "10s", "max_payload_size_bytes": 5000,
        "headers": {"X-Custom": "v"}, "batch_mode": "ndjson", "include_metadata": False,
        "include_checksum": True, "include_origin_timestamp": True, "health_check_enabled": True,
        "health_check_method": "GET", "max_retries": 5, "retry_delay": "500ms", "retry_backoff_multiplier": 3,
        "max_retry_delay": "60s", "success_status_codes": [200, 202], "tls_danger_accept_invalid_certs": True,
        "max_connections": 20, "verbose_logging": True,
    }).settings
    assert s.method is Method.PUT and s.timeout == 10.0 and s.max_payload_size_bytes == 5000
    assert s.headers == (("X-Custom", "v"),) and s.batch_mode is BatchMode.NDJSON
    assert s.retry_delay == 0.5 and s.retry_backoff_multiplier == 3 and s.max_retry_delay == 60.0
    assert s.success_status_codes == frozenset({200, 202}) and s.max_connections == 20
    assert s.health_check_method is Method.GET and s.max_retries == 5


def test_multiplier_below_one_clamped_with_warning():
    loaded = load({"url": URL, "retry_backoff_multiplier": 0})
    assert loaded.settings.retry_backoff_multiplier == 1
    assert any("clamped to 1" in str(w) for w in loaded.warnings)


def test_retry_delay_greater_than_max_is_swapped_with_warning():
    loaded = load({"url": URL, "retry_delay": "60s", "max_retry_delay": "5s"})
    assert (loaded.settings.retry_delay, loaded.settings.max_retry_delay) == (5.0, 60.0)
    assert any("swapped" in str(w) for w in loaded.warnings)


@pytest.mark.parametrize("text,seconds", [("30s", 30), ("500ms", 0.5), ("2m", 120), ("1h", 3600)])
def test_valid_durations(text, seconds):
    assert load({"url": URL, "timeout": text}).settings.timeout == seconds


def test_invalid_duration_is_an_error_unlike_iggy_fallback():
    [msg] = errors_of({"url": URL, "timeout": "ten seconds"})
    assert "plugin_config.timeout" in msg and "invalid duration" in msg and "silently" in msg


def test_duration_given_as_number_is_a_type_error():
    [msg] = errors_of({"url": URL, "retry_delay": 5})
    assert "plugin_config.retry_delay" in msg and "duration string" in msg


@pytest.mark.parametrize("key,value,needle", [
    ("retry_backoff_multiplier", 2**32, "at most 4294967295"),             # a u32 in Iggy
    ("max_retries", 2**32, "at most 4294967295"),
    ("max_payload_size_bytes", 2**63, "at most 9223372036854775807"),     # past TOML's signed 64 bits
    ("max_connections", 10**5000, "a number far past 64 bits"),           # str() of it would raise
    ("dead_letter_path", "dead\x00letters.jsonl", "NUL"),
], ids=["multiplier-u32", "retries-u32", "payload-i64", "connections-huge", "dead-letter-nul"])
def test_values_no_connector_file_can_hold_are_errors(key, value, needle):
    table = {"url": URL, key: value}
    if key == "dead_letter_path":
        table["profile"] = "enhanced"
    [msg] = errors_of(table)
    assert f"plugin_config.{key}" in msg and needle in msg and len(msg) < 300


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
def test_uppercase_methods_parse(method):
    assert load({"url": URL, "method": method}).settings.method == method


@pytest.mark.parametrize("method", ["DELEET", "post", "OPTIONS"])
def test_invalid_or_lowercase_method_rejected(method):
    [msg] = errors_of({"url": URL, "method": method})
    assert "plugin_config.method" in msg and method in msg


@pytest.mark.parametrize("mode", ["xml", "nd_json", "NDJSON"])
def test_invalid_batch_mode_rejected(mode):
    [msg] = errors_of({"url": URL, "batch_mode": mode})
    assert "batch_mode" in msg and "individual, ndjson, json_array, raw" in msg


def test_batch_mode_names_content_types_and_display():
    assert [m.value for m in BatchMode] == ["individual", "ndjson", "json_array", "raw"]
    assert [m.display_name for m in BatchMode] == ["individual", "NDJSON", "JSON array", "raw"]
    assert [m.content_type for m in BatchMode] == [
        "application/json", "application/x-ndjson", "application/json", "application/octet-stream"]


@pytest.mark.parametrize("url,needle", [
    ("", "empty"), ("not a url", "not a valid URL"), ("file:///etc/passwd", "not allowed"),
    ("ftp://example.com/x", "not allowed"),
])
def test_url_rules(url, needle):
    [msg] = errors_of({"url": url})
    assert needle in msg and "plugin_config.url" in msg


@pytest.mark.parametrize("url", ["http://localhost:8080/ingest", "https://api.example.com/ingest"])
def test_http_and_https_urls_accepted(url):
    assert load({"url": url}).settings.url == url


def test_missing_url_is_an_error():
    [msg] = errors_of({})
    assert "missing required key 'url'" in msg


def test_invalid_header_name_and_value():
    [msg] = errors_of({"url": URL, "headers": {"Invalid Header\r\n": "x"}})
    assert "Invalid header name" in msg
    [msg] = errors_of({"url": URL, "headers": {"X-A": "bad\r\nvalue"}})
    assert "Invalid header value for 'X-A'" in msg


def test_valid_headers_pass_and_content_type_is_dropped_with_warning():
    loaded = load({"url": URL, "headers": {"Authorization": "Bearer t", "X-Custom-ID": "1",
                                           "Content-Type": "text/plain", "content-type": "x/y"}})
    assert loaded.settings.request_headers() == {"Authorization": "Bearer t", "X-Custom-ID": "1"}
    assert sum("Content-Type is set by batch_mode" in str(w) for w in loaded.warnings) == 2


@pytest.mark.parametrize("codes,needle", [([], "must not be empty"), ([200, 999], "999"), ([0], "0"), ([100], "100")])
def test_success_status_code_rules(codes, needle):
    [msg] = errors_of({"url": URL, "success_status_codes": codes})
    assert "success_status_codes" in msg and needle in msg


def test_success_codes_overlapping_transient_warn():
    loaded = load({"url": URL, "success_status_codes": [200, 503]})
    assert any("503" in str(w) and "disabling retry" in str(w) for w in loaded.warnings)


def test_construction_warnings_tls_raw_metadata_get_with_batch():
    loaded = load({"url": URL, "tls_danger_accept_invalid_certs": True, "batch_mode": "raw"})
    text = " ".join(str(w) for w in loaded.warnings)
    assert "DISABLED" in text and "include_metadata is ignored" in text
    loaded = load({"url": URL, "method": "GET", "batch_mode": "ndjson"})
    assert any("a request body will be sent" in str(w) for w in loaded.warnings)


def test_enhanced_key_under_iggy_profile_is_an_error():
    [msg] = errors_of({"url": URL, "jitter": "none"})
    assert "plugin_config.jitter" in msg and "enhanced" in msg


def test_enhanced_profile_accepts_its_keys():
    s = load({"url": URL, "profile": "enhanced", "jitter": "none", "retry_after": "ignore", "max_in_flight": 16,
              "retry_statuses": [503], "split_oversize_batches": True, "http2": False}).settings
    assert s.enhanced and s.effective_jitter is Jitter.NONE and not s.honors_retry_after
    assert s.effective_max_in_flight == 16 and s.transient_statuses == frozenset({503})


def test_iggy_profile_keeps_iggy_behaviour_for_enhanced_defaults():
    s = load({"url": URL}).settings
    assert s.effective_jitter is Jitter.FULL and not s.honors_retry_after and s.effective_max_in_flight == 1


def test_unknown_key_warns_in_connector_and_errors_in_scenario():
    loaded = load({"url": URL, "max_retry": 5})
    assert any("unknown key 'max_retry'" in str(w) and "did you mean 'max_retries'" in str(w) for w in loaded.warnings)
    [msg] = errors_of({"url": URL, "max_retry": 5}, unknown_is_error=True)
    assert "unknown key 'max_retry'" in msg


def test_every_error_is_listed_not_just_the_first():
    msgs = errors_of({"url": URL, "timeout": "x", "method": "post", "max_retries": -1})
    assert len(msgs) == 3


def test_env_expansion_and_missing_variable():
    loaded = load({"url": URL, "headers": {"Authorization": "Bearer ${TOKEN}"}}, env={"TOKEN": "s3cr3t"})
    assert loaded.settings.request_headers()["Authorization"] == "Bearer s3cr3t"
    assert "s3cr3t" in loaded.settings.secret_values
    [msg] = errors_of({"url": URL, "headers": {"Authorization": "Bearer ${NOPE}"}})
    assert "NOPE is not set" in msg and "headers.Authorization" in msg


def test_env_value_parsing_follows_iggy_runtime():
    assert parse_env_value("TRUE") is True
    assert parse_env_value("30") == 30
    assert parse_env_value("1.5") == 1.5
    assert parse_env_value("[a, 'b,c']") == ["a", "b,c"]
    assert parse_env_value("10s") == "10s"


def test_open_problems_order_matches_iggy():
    # success codes are checked before the URL, as in the connector's open()
    s = SinkSettings(url="", success_status_codes=frozenset())
    assert open_problems(s)[0][0] == "success_status_codes"
    assert open_problems(SinkSettings(url=""))[0] == ("url", "URL is empty")
    assert open_problems(SinkSettings(url=URL, success_status_codes=DEFAULT_SUCCESS)) == []


CONNECTOR = """type = "sink"
key = "http"

[[streams]]
stream = "orders"
topics = ["a", "b"]
schema = "json"
batch_length = 50
poll_interval = "100ms"

[plugin_config]
url = "http://127.0.0.1:9/ingest"
timeout = "5s"

[plugin_config.headers]
X-Custom-Header = "v"
"""


def test_connector_file_streams_and_plugin_config():
    c = connector_from_source(parse_toml(CONNECTOR, "c.toml"), env={})
    assert c.key == "http" and c.streams[0].topics == ("a", "b") and c.streams[0].batch_length == 50
    assert c.streams[0].poll_interval == 0.1 and c.sink.settings.timeout == 5.0


def test_connector_env_overrides_flat_nested_and_streams():
    env = {
        "IGGY_CONNECTORS_SINK_HTTP_PLUGIN_CONFIG_TIMEOUT": "10s",
        "IGGY_CONNECTORS_SINK_HTTP_PLUGIN_CONFIG_MAX_RETRIES": "7",
        "IGGY_CONNECTORS_SINK_HTTP_PLUGIN_CONFIG_HEADERS_AUTHORIZATION": "Bearer from-env",
        "IGGY_CONNECTORS_SINK_HTTP_PLUGIN_CONFIG_HEADERS_X_CUSTOM_HEADER": "changed",
        "IGGY_CONNECTORS_SINK_HTTP_STREAMS_0_BATCH_LENGTH": "7",
        "IGGY_CONNECTORS_SINK_HTTP_STREAMS_0_TOPICS": "[x,y,z]",
        "IGGY_CONNECTORS_SINK_OTHER_PLUGIN_CONFIG_TIMEOUT": "1s",
    }
    c = connector_from_source(parse_toml(CONNECTOR, "c.toml"), env=env)
    s = c.sink.settings
    assert s.timeout == 10.0 and s.max_retries == 7
    assert dict(s.headers) == {"X-Custom-Header": "changed", "authorization": "Bearer from-env"}
    assert c.streams[0].batch_length == 7 and c.streams[0].topics == ("x", "y", "z")
    assert c.sink.origins["timeout"] == "env IGGY_CONNECTORS_SINK_HTTP_PLUGIN_CONFIG_TIMEOUT"


def test_connector_errors_name_file_and_line():
    bad = CONNECTOR.replace('timeout = "5s"', 'timeout = "5 parsecs"')
    with pytest.raises(InputErrors) as info:
        connector_from_source(parse_toml(bad, "c.toml"), env={})
    assert str(info.value).startswith("c.toml:13: key 'plugin_config.timeout'")


def test_numeric_env_override_for_duration_is_rejected_naming_variable():
    env = {"IGGY_CONNECTORS_SINK_HTTP_PLUGIN_CONFIG_TIMEOUT": "30"}
    with pytest.raises(InputErrors) as info:
        connector_from_source(parse_toml(CONNECTOR, "c.toml"), env=env)
    assert "IGGY_CONNECTORS_SINK_HTTP_PLUGIN_CONFIG_TIMEOUT" in str(info.value)


def test_bare_table_file(tmp_path):
    p = tmp_path / "bare.toml"
    p.write_text('url = "http://127.0.0.1/x"\nbatch_mode = "json_array"\n')
    c = load_connector(p, env={})
    assert c.bare and c.sink.settings.batch_mode is BatchMode.JSON_ARRAY


def test_shipped_config_toml_is_valid_and_documents_every_key():
    from pathlib import Path

    from sinkbench.config.settings import IGGY_KEYS
    root = Path(__file__).resolve().parents[2]
    c = load_connector(root / "config.toml", env={})
    text = (root / "config.toml").read_text()
    assert c.sink.warnings == ()
    for key in IGGY_KEYS:
        assert f"\n{key} = " in text or key == "headers", key


def test_syntax_error_names_line(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[plugin_config]\nurl = "http://x"\ntimeout = = 3\n')
    with pytest.raises(Exception) as info:
        load_connector(p, env={})
    assert f"{p}:3" in str(info.value)
