"""Issue 8: malformed input on every input path ends in an InputError (exit 2) naming where — never another
exception, never a hang."""

from __future__ import annotations

import gzip
import json
import math
import string
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sinkbench.cli import main
from sinkbench.config.connector import connector_from_source
from sinkbench.endpoint.server import Endpoint
from sinkbench.endpoint.settings import parse_endpoint_settings, settings_to_dict
from sinkbench.errors import InputError
from sinkbench.scenario.load import parse_set, scenario_from_text
from sinkbench.sources.recorded import read_stream, validate_stream
from sinkbench.tomlsrc import load_toml, parse_toml

FAST = settings(max_examples=40, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])
FEW = settings(max_examples=12, deadline=3000, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])


def _named(exc: InputError) -> None:
    """The error says where: a file (or --set / environment variable) at least."""
    text = str(exc)
    assert text.strip()
    errors = getattr(exc, "errors", [exc])
    for e in errors:
        assert e.where.file or e.where.key or e.where.line is not None, f"no location: {e!r}"


# ------------------------------------------------------------------ TOML values

def toml_scalar() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1).map(str),
        st.sampled_from(["nan", "inf", "-inf", "+nan", "1e308", "-0.0", "9" * 40, "0x7fffffffffffffff",
                         "true", "false", "[]", "{}", "[1, \"a\"]", "{a = 1}", "1979-05-27T07:32:00Z",
                         "\"\"", "\"${NOPE}\"", "\"ftp://x/y\"", "\"file:///etc/passwd\"",
                         "\"http://user:pw@127.0.0.1:1/x\"", "\"http://[::1\"", "\"http://\"",
                         "\"javascript:alert(1)\"", "\"10 parsecs\"", "\"-5s\"", "\"1e400s\"",
                         "\"ms\"", "\"99999999999999999999h\"", "[[]]", "[{}]"]),
        st.floats(allow_nan=True, allow_infinity=True).map(lambda f: repr(f) if math.isfinite(f) else
                                                            ("nan" if math.isnan(f) else ("inf" if f > 0 else "-inf"))),
        st.text(max_size=20).map(json.dumps),
    )


SINK_KEYS = ["url", "method", "timeout", "max_payload_size_bytes", "headers", "batch_mode", "include_metadata",
             "max_retries", "retry_delay", "retry_backoff_multiplier", "max_retry_delay", "success_status_codes",
             "max_connections", "profile", "retry_after", "jitter", "retry_statuses", "max_in_flight",
             "dead_letter_path", "http2", "health_check_method", "bogus_key"]


@st.composite
def plugin_configs(draw: st.DrawFn) -> str:
    lines = ['type = "sink"', 'key = "http"', "[plugin_config]", 'url = "http://127.0.0.1:1/x"']
    for key in draw(st.lists(st.sampled_from(SINK_KEYS), min_size=1, max_size=4, unique=True)):
        lines.append(f"{key} = {draw(toml_scalar())}")
    if draw(st.booleans()):
        name = draw(st.sampled_from(["X-Ok", "X\rBad", "X\nBad", "X Bad", "", "Authorization"]))
        value = draw(st.sampled_from(["v", "a\r\nInjected: 1", "a\nb", "\x00", "${MISSING_VAR_XYZ}", "é"]))
        lines.append("[plugin_config.headers]")
        lines.append(f"{json.dumps(name)} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def _connector(text: str) -> None:
    try:
        src = parse_toml(text, "conn.toml")
        connector_from_source(src, env={})
    except InputError as exc:
        _named(exc)


@FAST
@given(plugin_configs())
def test_connector_wrong_values(text: str) -> None:
    _connector(text)


@FAST
@given(st.text(alphabet=string.printable + "[]=\"'{}.#é\u2028", max_size=200))
def test_connector_garbled_text(text: str) -> None:
    _connector(text)


@FAST
@given(st.sampled_from(SINK_KEYS), toml_scalar(), toml_scalar())
def test_connector_duplicate_keys(key: str, a: str, b: str) -> None:
    text = f'[plugin_config]\nurl = "http://127.0.0.1:1/x"\n{key} = {a}\n{key} = {b}\n'
    with pytest.raises(InputError) as info:
        connector_from_source(parse_toml(text, "dup.toml"), env={})
    assert info.value.where.file == "dup.toml"
    assert info.value.where.line is not None


@pytest.mark.parametrize("text", [
    '[plugin_config]\nurl = "http://127.0.0.1:1/x"\n[plugin_config]\nmethod = "PUT"\n',
    '[plugin_config]\nurl = "http://127.0.0.1:1/x"\nheaders.a = "1"\n[plugin_config.headers]\na = "2"\n',
])
def test_connector_duplicate_tables(text: str) -> None:
    with pytest.raises(InputError) as info:
        connector_from_source(parse_toml(text, "dup.toml"), env={})
    assert "dup.toml" in str(info.value)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "file:///etc/passwd", "ws://h/x", "http://", "127.0.0.1:80",
                                 "http://user:pw@[::1", "javascript:alert(1)", "", "http://h:99999/"])
def test_connector_bad_urls(url: str) -> None:
    with pytest.raises(InputError) as info:
        connector_from_source(parse_toml(f'[plugin_config]\nurl = {json.dumps(url)}\n', "u.toml"), env={})
    _named(info.value)
    assert "pw" not in str(info.value)


@pytest.mark.parametrize("name,value", [("X\rBad", "v"), ("X\nBad", "v"), ("X-Ok", "a\r\nInjected: 1"),
                                        ("X-Ok", "a\nb"), ("X-Ok", "a\x00b"), ("", "v"), ("X Bad", "v")])
def test_connector_header_injection_rejected(name: str, value: str) -> None:
    text = f'[plugin_config]\nurl = "http://127.0.0.1:1/x"\n[plugin_config.headers]\n{json.dumps(name)} = {json.dumps(value)}\n'
    with pytest.raises(InputError) as info:
        connector_from_source(parse_toml(text, "h.toml"), env={})
    assert "headers" in str(info.value)


@FEW
@given(st.binary(max_size=200))
def test_load_toml_random_bytes(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "f.toml"
    path.write_bytes(raw)
    try:
        connector_from_source(load_toml(path), env={})
    except InputError as exc:
        assert str(path) in str(exc)


@pytest.mark.parametrize("raw", [b"\xff\xfe[plugin_config]\n", b'[plugin_config]\nurl = "\xc3\x28"\n',
                                 b"a = 1\n\x80\n", b"\xef\xbb\xbf[plugin_config]\nurl = 1\n"])
def test_load_toml_not_utf8(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(raw)
    with pytest.raises(InputError) as info:
        connector_from_source(load_toml(path), env={})
    assert info.value.where.file == str(path)


# ------------------------------------------------------------------ scenarios and --set

BASE_SCENARIO = """\
[scenario]
timeout = "5s"
[source]
kind = "synthetic"
count = 10
[sink]
url = "mock"
"""

SET_KEYS = ["scenario.timeout", "scenario.seed", "scenario.name", "source.count", "source.rate", "source.kind",
            "source.payload_bytes", "source.topics", "source.headers", "runtime.batch_length",
            "runtime.poll_interval", "runtime.offset_commit", "sink.batch_mode", "sink.url", "sink.max_retries",
            "sink.timeout", "sink.headers", "sink.profile", "sink.dead_letter_path", "endpoint.status",
            "endpoint.latency", "endpoint.faults", "endpoint.rate_limit", "endpoint.max_body_bytes",
            "expect.lost", "expect.latency.delivery", "expect.bogus", "nosection.x", "sink", "sink.",
            ".sink", "sink.headers.X-A", "scenario.timeout.deep"]


@st.composite
def set_items(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=30))
    key = draw(st.sampled_from(SET_KEYS))
    value = draw(st.one_of(toml_scalar(), st.text(alphabet=string.printable, max_size=15)))
    return f"{key}={value}"


@FAST
@given(st.lists(set_items(), min_size=1, max_size=3))
def test_scenario_random_set_overrides(items: list[str]) -> None:
    for item in items:
        try:
            parse_set(item)
        except InputError as exc:
            assert exc.where.file == "--set"
    try:
        scenario_from_text(BASE_SCENARIO, "s.toml", items, env={})
    except InputError as exc:
        _named(exc)


@FAST
@given(st.text(alphabet=string.printable + "é", max_size=300))
def test_scenario_garbled_text(text: str) -> None:
    try:
        scenario_from_text(text, "s.toml", (), env={})
    except InputError as exc:
        _named(exc)


@FAST
@given(st.sampled_from(["[scenario]", "[source]", "[runtime]", "[sink]", "[endpoint]", "[expect]"]),
       st.sampled_from(["timeout", "count", "rate", "kind", "batch_length", "status", "lost", "url", "x"]),
       toml_scalar())
def test_scenario_wrong_types(section: str, key: str, value: str) -> None:
    text = BASE_SCENARIO + f"\n{section}\n{key} = {value}\n"
    try:
        scenario_from_text(text, "s.toml", (), env={})
    except InputError as exc:
        _named(exc)


# ------------------------------------------------------------------ recorded streams

HEADER = json.dumps({"sinkbench_stream": 1, "stream": "s", "topic": "t", "schema": "json"}).encode() + b"\n"


def _stream_paths_fail_cleanly(path: Path) -> None:
    count, errors = validate_stream(path)
    assert count >= 0
    for e in errors:
        assert isinstance(e, InputError)
        assert str(path) in str(e)
    try:
        for _ in read_stream(path):
            pass
    except InputError as exc:
        assert str(path) in str(exc)


@FAST
@given(st.binary(max_size=300), st.booleans())
def test_stream_random_bytes(tmp_path: Path, raw: bytes, with_header: bool) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes((HEADER if with_header else b"") + raw)
    _stream_paths_fail_cleanly(path)


@FEW
@given(st.integers(min_value=0, max_value=400))
def test_stream_truncated_gzip(tmp_path: Path, cut: int) -> None:
    lines = [HEADER] + [json.dumps({"offset": i, "payload": {"i": i}}).encode() + b"\n" for i in range(30)]
    data = gzip.compress(b"".join(lines))
    path = tmp_path / "s.jsonl.gz"
    path.write_bytes(data[: min(cut, len(data) - 1)])
    _stream_paths_fail_cleanly(path)


@pytest.mark.parametrize("depth", [100, 5000, 100_000])
def test_stream_deeply_nested_json(tmp_path: Path, depth: int) -> None:
    path = tmp_path / "deep.jsonl"
    deep = b'{"offset": 0, "payload": ' + b"[" * depth + b"]" * depth + b"}\n"
    path.write_bytes(HEADER + deep)
    _stream_paths_fail_cleanly(path)


def test_stream_deeply_nested_header(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000 + b"\n")
    _stream_paths_fail_cleanly(path)


# ------------------------------------------------------------------ endpoint settings (admin API)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10)

ENDPOINT_KEYS = ["status", "latency", "max_body_bytes", "tls", "rate_limit", "faults", "seed", "bogus"]
FAULT_KEYS = ["after", "until", "requests", "every", "probability", "action", "status", "retry_after", "body",
              "delay", "accept"]


@st.composite
def endpoint_docs(draw: st.DrawFn) -> object:
    if draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    doc = {k: draw(json_values) for k in draw(st.lists(st.sampled_from(ENDPOINT_KEYS), max_size=3, unique=True))}
    if draw(st.booleans()):
        doc["faults"] = [{k: draw(st.one_of(json_values, st.sampled_from(["reset", "status", "delay", "1s", "5ms"])))
                          for k in draw(st.lists(st.sampled_from(FAULT_KEYS), max_size=4, unique=True))}
                         for _ in range(draw(st.integers(1, 2)))]
    if draw(st.booleans()):
        doc["rate_limit"] = {k: draw(json_values) for k in
                             draw(st.lists(st.sampled_from(["requests_per_second", "burst", "retry_after", "x"]),
                                           max_size=3, unique=True))}
    return doc


@settings(max_examples=150, deadline=1000)
@given(endpoint_docs())
def test_endpoint_settings_random_documents(doc: object) -> None:
    try:
        parsed = parse_endpoint_settings(doc, None, ())  # type: ignore[arg-type]
    except InputError as exc:
        assert str(exc)
        return
    # Whatever is accepted round-trips through the shape GET /__sinkbench/endpoint shows.
    assert parse_endpoint_settings(json.loads(json.dumps(settings_to_dict(parsed))), None, ()) == parsed


async def test_admin_put_bad_document_is_400_and_changes_nothing() -> None:
    endpoint = Endpoint(parse_endpoint_settings({"status": 202}, None, ()))
    await endpoint.start()
    try:
        async with httpx.AsyncClient(timeout=5.0, trust_env=False) as http:
            before = (await http.get(endpoint.admin_url + "endpoint")).json()
            bad = [{"status": 9999}, {"faults": [{"action": "teleport"}]}, {"latency": "soon"}, [1, 2],
                   {"status": "200"}, {"max_body_bytes": 2 ** 80}, {"faults": [{"action": "status"}]}, None,
                   {"rate_limit": {"requests_per_second": -1}}]
            for doc in bad:
                r = await http.put(endpoint.admin_url + "endpoint", json=doc)
                assert r.status_code == 400, (doc, r.text)
                assert r.text.strip()
            for content in (b"\xff\xfe", b"NaN", b'{"status": NaN}', b'{"status": 1e999}', b"[" * 50_000):
                r = await http.put(endpoint.admin_url + "endpoint", content=content)
                assert r.status_code == 400, (content[:20], r.text)
            after = (await http.get(endpoint.admin_url + "endpoint")).json()
            assert after == before
            assert (await http.post(endpoint.url, content=b"{}")).status_code == 202
    finally:
        await endpoint.stop()


# ------------------------------------------------------------------ sinkbench validate

BAD_FILES = [
    b"[plugin_config]\nurl = 5\n",
    b"[scenario]\ntimeout = \"ten\"\n[source]\nkind = \"synthetic\"\n[sink]\nurl = \"mock\"\n",
    b"\xff\xfe\x00garbage",
    b"= = =\n[[[\n",
    b'{"sinkbench_stream": 1, "stream": "s"\n',
    gzip.compress(HEADER + b'{"offset": 0}\n')[:-10],
    b"[plugin_config]\nurl = \"http://127.0.0.1:1/\"\n[plugin_config.headers]\n\"X\\r\\nY\" = \"1\"\n",
    b"[endpoint]\nstatus = nan\n",
    # A NUL in a path the file names: the OS refuses it with a ValueError, not an OSError.
    b'[source]\nkind = "synthetic"\ncount = 1\n[sink]\nurl = "mock"\nconnector = "a\\u0000b.toml"\n',
    b'[source]\nkind = "recorded"\npath = "a\\u0000b.jsonl"\n[sink]\nurl = "mock"\n',
    b'[plugin_config]\nurl = "http://127.0.0.1:1/"\nprofile = "enhanced"\ndead_letter_path = "d\\u0000.jsonl"\n',
    b'[plugin_config]\nurl = "https://127.0.0.1:1/"\ntls_ca_file = "ca\\u0000.pem"\n',
]


@pytest.mark.parametrize("index", range(len(BAD_FILES)))
def test_validate_bad_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], index: int) -> None:
    raw = BAD_FILES[index]
    path = tmp_path / ("bad.jsonl.gz" if raw[:2] == b"\x1f\x8b" else f"bad{index}.toml")
    path.write_bytes(raw)
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in out + err
    assert str(path) in out + err


@FEW
@given(st.binary(max_size=120), st.sampled_from(["x.toml", "x.jsonl", "x.jsonl.gz", "x"]))
def test_validate_random_bytes_never_crashes(tmp_path: Path, capsys: pytest.CaptureFixture[str], raw: bytes,
                                             name: str) -> None:
    path = tmp_path / name
    path.write_bytes(raw)
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 2), (code, out, err)
    assert "Traceback" not in out + err
