"""The session's core without a screen: the default scenario, the form's validation, the endpoint's
breaks, the save plan, the frames, the command's exit codes. None of this imports Textual.
"""

from __future__ import annotations

import shutil

import pytest

from sinkbench.config.load import resolve_sink
from sinkbench.endpoint.settings import parse_endpoint_settings, settings_to_dict
from sinkbench.errors import InputError, InputErrors, Where
from sinkbench.run.metrics import Snapshot
from sinkbench.tui import command
from sinkbench.tui.faults import (
    LiveFaults,
    ValueProblem,
    describe_endpoint,
    endpoint_document,
    parse_error_rate,
    parse_latency,
    parse_rate_limit,
    parse_retry_after,
)
from sinkbench.tui.form import initial_values, validate
from sinkbench.tui.frames import FrameBuilder
from sinkbench.tui.session import (
    ControlError,
    Session,
    default_scenario,
    open_scenario,
    packaged_quickstart,
)

from .conftest import CONFIG, ROOT, live_scenario


def test_the_packaged_quickstart_is_the_shipped_one():
    assert packaged_quickstart().read_bytes() == (ROOT / "scenarios" / "quickstart.toml").read_bytes()


def test_the_default_is_the_quickstart_made_continuous(tmp_path):
    opened = default_scenario(tmp_path, env={})
    sc = opened.scenario
    assert (sc.name, sc.mock, opened.connector, opened.continuous) == ("quickstart", True, None, True)
    assert sc.source.options["count"] == 100_000_000 and sc.source.options["rate"] == 500
    assert sc.timeout == 24 * 3600
    assert sc.sink.settings.retry_delay == 0.2            # the quickstart's own sink


def test_the_default_takes_the_sink_from_config_toml(tmp_path):
    shutil.copy(CONFIG, tmp_path / "config.toml")
    opened = default_scenario(tmp_path, env={})
    s = opened.scenario.sink.settings
    assert opened.connector == (tmp_path / "config.toml").resolve()
    assert opened.scenario.mock                            # against the embedded endpoint, not the file's URL
    assert (s.retry_delay, s.max_retries, s.max_retry_delay) == (1.0, 3, 30.0)   # the file's, not the quickstart's
    assert dict(s.headers)["Authorization"] == "Bearer <YOUR_TOKEN_HERE>"


def test_an_invalid_config_toml_names_its_line_and_key(tmp_path):
    text = CONFIG.read_text().replace('retry_delay = "1s"', 'retry_delay = "soon"')
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(InputError) as caught:
        default_scenario(tmp_path, env={})
    assert "config.toml:" in str(caught.value) and "retry_delay" in str(caught.value)


def test_command_reports_an_invalid_scenario_before_the_screen_opens(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\ntimeout = "ten"\n[source]\ncount = 1\n[sink]\nurl = "mock"\n')
    assert command.main(str(bad)) == 2
    err = capsys.readouterr().err
    assert f"error: {bad}:2: key 'scenario.timeout': invalid duration 'ten'" in err
    assert "Traceback" not in err
    assert command.main(str(tmp_path / "missing.toml")) == 2
    assert "file not found" in capsys.readouterr().err


# -- the settings form -------------------------------------------------------------------
def _form(tmp_path, **values: str):
    sc = open_scenario(live_scenario(tmp_path), env={}).scenario
    initial = initial_values(sc.sink_table, sc.sink.settings, sc.runtime)
    return initial, validate(sc.sink_table, initial, {**initial, **values}, sc.runtime, env={})


@pytest.mark.parametrize("key, text, value", [
    ("max_retries", "abc", "abc"),
    ("max_retries", "-1", -1),
    ("retry_delay", "1.5s", "1.5s"),
    ("timeout", "10", 10),
    ("retry_backoff_multiplier", "2.5", 2.5),
    ("success_status_codes", "200, 700", [200, 700]),
    ("success_status_codes", "", []),
    ("batch_mode", "ndjsn", "ndjsn"),
])
def test_the_form_says_what_the_config_loader_says(tmp_path, key, text, value):
    _, v = _form(tmp_path, **{key: text})
    if text == "":
        assert key not in v.table and v.ok          # empty: the key's default
        return
    with pytest.raises(InputErrors) as caught:
        resolve_sink({"url": "http://127.0.0.1/", key: value}, lambda k: Where(key=k))
    assert not v.ok
    assert v.errors[key] == caught.value.errors[0].message


def test_runtime_fields_are_checked_like_the_scenario_loader(tmp_path):
    _, v = _form(tmp_path, batch_length="0", poll_interval="fast")
    assert v.errors["batch_length"] == "must be at least 1, got 0"
    assert v.errors["poll_interval"].startswith("invalid duration 'fast'")


def test_empty_runtime_fields_mean_the_runtime_defaults(tmp_path):
    _, v = _form(tmp_path, batch_length=" ", poll_interval="")
    assert v.ok, v.errors
    assert (v.batch_length, v.poll_interval) == (1000, 0.005)


def test_the_form_keeps_what_it_did_not_touch_and_drops_enhanced_keys_under_iggy(tmp_path):
    initial, v = _form(tmp_path, max_retries="5", retry_delay="120ms")
    assert v.ok and v.table["max_retries"] == 5 and v.table["retry_delay"] == "120ms"
    assert v.table["batch_mode"] == "ndjson" and "jitter" not in v.table
    assert v.changed == {"max_retries": ("3", "5"), "retry_delay": ("50ms", "120ms")}
    assert v.label() == "sink: max_retries 3→5, retry_delay 50ms→120ms"
    _, v = _form(tmp_path, profile="enhanced", jitter="none", max_in_flight="4")
    assert v.ok and v.loaded.settings.max_in_flight == 4
    table = dict(v.table)
    _, v = _form(tmp_path, jitter="none")             # still iggy: the enhanced key is dropped, not an error
    assert v.ok and "jitter" not in v.table
    assert table["jitter"] == "none"


def test_a_swapped_retry_delay_is_a_warning_not_an_error(tmp_path):
    _, v = _form(tmp_path, retry_delay="40s", max_retry_delay="1s")
    assert v.ok and any("swapped" in w for w in v.warnings)


# -- breaking the endpoint ---------------------------------------------------------------
def test_every_break_is_a_document_the_endpoint_accepts(tmp_path):
    sc = open_scenario(ROOT / "scenarios" / "quickstart.toml", env={}).scenario
    base = settings_to_dict(sc.endpoint)
    live = LiveFaults(down="503", error_rate=0.3, too_many=2, latency=0.25, rate_limit=50)
    doc = endpoint_document(base, live)
    s = parse_endpoint_settings(doc, None, ())
    assert [f.action for f in s.faults] == ["status", "status", "status", "status"]
    assert [f.status for f in s.faults] == [503, 429, 500, 503]       # the breaks first, the scenario's last
    assert s.faults[1].retry_after.seconds == 2 and s.faults[2].probability == 0.3
    assert s.latency.value == 0.25 and s.rate_limit.requests_per_second == 50
    for down in ("reset", "hang"):
        parse_endpoint_settings(endpoint_document(base, LiveFaults(down=down)), None, ())
    assert endpoint_document(base, LiveFaults()) == base
    lines = [text for _, text in describe_endpoint(doc, len(live.rules))]
    assert lines[0] == "answers 200 after 250ms"
    assert "▼ 503 always" in lines and "▼ 500 30%" in lines and "· 503 1s–2s (scenario)" in lines
    assert live.labels() == ("down (503)", "429 Retry-After 2s", "30% errors", "+250ms latency", "limit 50/s")


@pytest.mark.parametrize("parse, text, value", [
    (parse_error_rate, "30", 0.3), (parse_error_rate, "2.5%", 0.025), (parse_error_rate, "", None),
    (parse_error_rate, "0", None), (parse_retry_after, "5", 5), (parse_retry_after, "0", 0),
    (parse_retry_after, "", None), (parse_latency, "200ms", 0.2), (parse_latency, "", None),
    (parse_rate_limit, "100", 100.0), (parse_rate_limit, "0", None),
])
def test_prompt_values(parse, text, value):
    assert parse(text) == value


@pytest.mark.parametrize("parse, text", [
    (parse_error_rate, "lots"), (parse_error_rate, "150"), (parse_retry_after, "1.5"),
    (parse_latency, "soon"), (parse_rate_limit, "-3"),
])
def test_bad_prompt_values(parse, text):
    with pytest.raises(ValueProblem):
        parse(text)


# -- saving ------------------------------------------------------------------------------
async def test_the_save_plan_writes_only_what_changed(tmp_path, connector):
    path = live_scenario(tmp_path, 'connector = "config.toml"\nurl = "mock"')
    session = Session(open_scenario(path, env={}), env={}, cwd=tmp_path)
    with pytest.raises(ControlError, match="nothing to save"):
        session.plan_save()
    initial = initial_values(session.table, session.sink_settings, session.runtime)
    v = validate(session.table, initial, {**initial, "retry_delay": "1000ms"}, session.runtime, env={})
    assert "kept for the next run" in await session.apply(v)
    with pytest.raises(ControlError, match="config.toml already holds these settings"):
        session.plan_save()                               # 1000ms is the file's 1s
    initial = initial_values(session.table, session.sink_settings, session.runtime)
    v = validate(session.table, initial, {**initial, "max_retries": "9", "max_in_flight": ""}, session.runtime,
                 env={})
    await session.apply(v)
    plan = session.plan_save()
    assert plan.changes == {"max_retries": 9} and plan.display == "config.toml"
    assert plan.diff.startswith("--- config.toml (current)\n+++ config.toml (tuned)\n")
    backup = session.save(plan)
    assert backup == tmp_path / "config.toml.bak"
    assert "max_retries = 9" in connector.read_text()
    with pytest.raises(ControlError, match="nothing to save"):
        session.plan_save()


async def test_runtime_keys_are_saved_into_streams_or_named_as_not_written(tmp_path, connector):
    path = live_scenario(tmp_path, 'connector = "config.toml"\nurl = "mock"')
    session = Session(open_scenario(path, env={}), env={}, cwd=tmp_path)
    initial = initial_values(session.table, session.sink_settings, session.runtime)
    await session.apply(validate(session.table, initial, {**initial, "batch_length": "50", "poll_interval": "5ms",
                                                           "max_retries": "6"}, session.runtime, env={}))
    plan = session.plan_save()      # poll_interval 5ms is the file's own value: not a change to write
    assert plan.changes == {"batch_length": 50, "max_retries": 6} and not plan.not_written
    # A bare connector file (no [[streams]]): the runtime's keys are named, not silently dropped.
    bare = tmp_path / "bare.toml"
    bare.write_text('url = "http://127.0.0.1:8080/ingest"\nmax_retries = 3\n')
    session = Session(open_scenario(live_scenario(tmp_path, 'connector = "bare.toml"\nurl = "mock"', "b.toml"),
                                    env={}), env={}, cwd=tmp_path)
    initial = initial_values(session.table, session.sink_settings, session.runtime)
    await session.apply(validate(session.table, initial, {**initial, "batch_length": "50"}, session.runtime, env={}))
    with pytest.raises(ControlError, match=r"nothing to save into bare\.toml: batch_length = 50: the file has no "
                                           r"\[\[streams\]\] entry to hold it"):
        session.plan_save()
    initial = initial_values(session.table, session.sink_settings, session.runtime)
    await session.apply(validate(session.table, initial, {**initial, "max_retries": "4"}, session.runtime, env={}))
    plan = session.plan_save()
    assert plan.changes == {"max_retries": 4}
    assert plan.not_written == ("batch_length = 50: the file has no [[streams]] entry to hold it",)


def test_a_cleared_field_names_the_default_it_stands_for(tmp_path):
    sink = 'url = "mock"\nmax_retries = 7\nsuccess_status_codes = [200]\nprofile = "enhanced"\n' \
           'dead_letter_path = "dead.jsonl"'
    session = Session(open_scenario(live_scenario(tmp_path, sink), env={}), env={}, cwd=tmp_path)
    initial = initial_values(session.table, session.sink_settings, session.runtime)
    cleared = {key: "" for key in ("max_retries", "success_status_codes", "dead_letter_path", "batch_length")}
    v = validate(session.table, initial, {**initial, **cleared}, session.runtime, env={})
    assert v.ok, v.errors
    assert v.describe("max_retries") == "max_retries 7→3 (default)"
    assert v.describe("success_status_codes") == "success_status_codes 200→200, 201, 202, 204 (default)"
    assert v.describe("dead_letter_path") == "dead_letter_path dead.jsonl→none (default)"
    assert v.describe("batch_length") == "batch_length 20→1000 (default)"
    assert "→(default)" not in v.label()


def test_without_a_connector_file_saving_says_where_it_looks(tmp_path):
    session = Session(open_scenario(live_scenario(tmp_path), env={}), env={}, cwd=tmp_path)
    with pytest.raises(ControlError, match=r"no connector file to save into.*\./config\.toml"):
        session.plan_save()


# -- frames ------------------------------------------------------------------------------
def _snap(t: float, requests: int, codes: dict[str, int], recent=(), marks=None) -> Snapshot:
    rows = tuple({"t": s, "delivered": 0, "requests": 0, "retries": 0, "errors": 0, "in_flight": 0,
                  **({"marks": marks[s]} if marks and s in marks else {})} for s in range(int(t) + 1))
    return Snapshot(elapsed=t, total=None, fed=0, delivered=0, failed=0, skipped=0, requests=requests, retries=0,
                    errors=0, in_flight=0, rate=0.0, request_rate=0.0, paused=False, status_codes=codes,
                    latency_request={}, latency_delivery={}, timeline=rows, recent_requests=tuple(recent))


def test_the_builder_logs_each_request_once_and_counts_codes_per_second():
    from sinkbench.engine.accounting import Attempt

    def attempt(t: float, status: int | None, error: str | None = None) -> Attempt:
        return Attempt(started=100 + t, latency=0.01, method="POST", status=status, error=error, attempt=0,
                       messages=10, body_bytes=100)

    b = FrameBuilder("x")
    a1, a2, a3 = attempt(0.1, 200), attempt(0.2, 503), attempt(1.5, None, "reset")
    b.update(_snap(0.5, 2, {"200": 1, "503": 1}, [a1, a2]), state="running", origin=100)
    b.event("endpoint: take down (503)", t=1.0)
    f = b.update(_snap(1.6, 3, {"200": 1, "503": 1, "reset": 1}, [a1, a2, a3], marks={1: ["m1", "m2"]}),
                 state="running", origin=100)
    f = b.update(_snap(1.7, 3, {"200": 1, "503": 1, "reset": 1}, [a1, a2, a3], marks={1: ["m1", "m2"]}),
                 state="running", origin=100)
    assert [(r.kind, r.outcome or r.text) for r in f.log] == [
        ("request", "reset"), ("event", "endpoint: take down (503)"), ("request", "503"), ("request", "200")]
    assert f.log[0].t == pytest.approx(1.5)
    assert f.marks == ((1, "m1"), (1, "m2"))
    by_code = {s.code: (s.total, s.per_second[-2:]) for s in f.status}
    assert by_code == {"200": (1, (1, 0)), "503": (1, (1, 0)), "reset": (1, (0, 1))}
    assert [s.code for s in f.status] == ["200", "503", "reset"]


def test_secrets_stay_off_the_screen(tmp_path):
    path = live_scenario(tmp_path, 'url = "http://user:hunter2@127.0.0.1:1/ingest?token=abc123"\n'
                                   '[sink.headers]\nAuthorization = "Bearer ${TOKEN}"')
    path.write_text(path.read_text().split("[endpoint]")[0])
    session = Session(open_scenario(path, env={"TOKEN": "s3cret"}), env={"TOKEN": "s3cret"}, cwd=tmp_path)
    shown = " ".join(text for _, text in session._endpoint_lines()) + session.sink_line()
    shown += " ".join(initial_values(session.table, session.sink_settings, session.runtime).values())
    for secret in ("hunter2", "abc123", "s3cret"):
        assert secret not in shown
    assert "127.0.0.1:1/ingest" in shown


def test_command_opens_the_session_and_a_quit_is_exit_code_0(tmp_path, monkeypatch):
    """`sinkbench` with no argument, from a folder without config.toml: the packaged quickstart runs."""
    from sinkbench.tui.app import SinkbenchApp

    from .conftest import until

    seen = {}

    async def quit_once_delivering(pilot):
        s = pilot.app.session
        await until(lambda: s.bench is not None and s.bench.snapshot() is not None
                    and s.bench.snapshot().delivered > 0, timeout=20)
        seen["scenario"], seen["count"] = s.scenario.name, s.scenario.source.options["count"]
        await pilot.app.action_quit()

    run = SinkbenchApp.run
    monkeypatch.setattr(SinkbenchApp, "run", lambda self: run(self, headless=True, auto_pilot=quit_once_delivering))
    monkeypatch.chdir(tmp_path)
    assert command.main(None) == 0
    assert seen == {"scenario": "quickstart", "count": 100_000_000}
