"""The settings form's URL, method, TLS files and headers: validated without widgets, then typed into the
form against a real bench run (embedded endpoint in process) and saved into a connector file. A secret
header's value typed in the form shows nowhere: not on screen, in a toast, the timeline, the save preview
or the exported report.
"""

from __future__ import annotations

import json
from pathlib import Path

import trustme
from textual.widgets import Button, Input, Select

from sinkbench.config.connector import load_connector
from sinkbench.redact import REDACTED
from sinkbench.runtime import RuntimeSettings
from sinkbench.tui.app import make_app
from sinkbench.tui.form import initial_headers, initial_values, validate
from sinkbench.tui.screens.dashboard import DashboardScreen
from sinkbench.tui.screens.save import SaveScreen
from sinkbench.tui.screens.settings import SettingsScreen
from sinkbench.tui.session import open_scenario

from .conftest import in_process, live_scenario, until

SIZE = (110, 36)
TYPED_SECRET = "Bearer typed-Zq81-secret"
RUNTIME = RuntimeSettings(batch_length=10, poll_interval=0.005)
TABLE = {"url": "http://127.0.0.1:9/ingest", "headers": {"X-Tenant": "acme", "Authorization": "Bearer old-W2x"}}


def _validate(table=TABLE, headers=None, **values):
    initial = {"url": table["url"], "method": "POST", "profile": "iggy"}
    return validate(table, initial, {**initial, **values}, RUNTIME, env={}, headers=headers)


# -- without widgets ---------------------------------------------------------------------------
def test_headers_added_edited_and_removed_are_changes_by_name():
    v = _validate(headers=[("X-Tenant", "globex"), ("X-Trace", "on")])      # Authorization removed
    assert v.ok, v.errors
    assert v.table["headers"] == {"X-Tenant": "globex", "X-Trace": "on"}
    assert v.loaded.settings.headers == (("X-Tenant", "globex"), ("X-Trace", "on"))
    assert v.changed == {"headers.X-Tenant": ("acme", "globex"), "headers.Authorization": (REDACTED, ""),
                         "headers.X-Trace": ("", "on")}
    assert v.label() == ("sink: headers.X-Tenant acme→globex, headers.Authorization removed, "
                         "headers.X-Trace = on")
    assert _validate(headers=initial_headers(TABLE)).changed == {}    # the rows as they were: no change


def test_a_secret_header_value_never_reaches_a_change_or_an_error():
    v = _validate(headers=[("X-Tenant", "acme"), ("Authorization", TYPED_SECRET), ("X-Env", "${SB_NOT_SET}")])
    assert TYPED_SECRET not in v.label() and "${SB_NOT_SET}" not in v.label()
    assert v.changed["headers.Authorization"] == (REDACTED, REDACTED)
    # A value the loader refuses is quoted in its message: the form's copy of it is redacted.
    bad = _validate(headers=[("Authorization", "Bearer line\nbreak-Kp3")])
    assert "headers" in bad.errors and "break-Kp3" not in bad.errors["headers"]


def test_header_rows_without_a_name_or_twice_the_same_name_are_errors():
    assert _validate(headers=[("", "v")]).errors == {"headers": "header 1: a value without a name"}
    twice = _validate(headers=[("X-A", "1"), ("x-a", "2")])
    assert twice.errors == {"headers": "header 'x-a' given twice (names are case-insensitive)"}
    assert _validate(headers=[("", ""), ("X-A", "1")]).ok       # an added row left empty is no header


def test_url_and_method_are_checked_by_the_loader_and_credentials_stay_out_of_the_label():
    assert "url" in _validate(url="ftp://nowhere").errors
    v = _validate(url="http://user:pw-Hq7@127.0.0.1:9/other", method="PUT")
    assert v.ok and str(v.loaded.settings.method) == "PUT" and v.table["method"] == "PUT"
    assert v.label() == "sink: url http://127.0.0.1:9/ingest→http://[redacted]@127.0.0.1:9/other, method POST→PUT"


def test_a_url_with_credentials_shows_redacted_and_must_be_typed_whole_to_change():
    table = {**TABLE, "url": "http://bob:pw-Lk2@127.0.0.1:9/ingest?token=tk-Lk2"}
    settings = _validate(table).loaded.settings
    shown = initial_values(table, settings, RUNTIME)["url"]
    assert shown == "http://[redacted]@127.0.0.1:9/ingest?token=[redacted]"
    initial = {"url": shown, "profile": "iggy"}
    same = validate(table, initial, dict(initial), RUNTIME, env={})
    assert same.ok and same.changed == {} and same.table["url"] == table["url"]   # left as shown: kept
    edited = validate(table, initial, {**initial, "url": shown.replace("/ingest", "/other")}, RUNTIME, env={})
    assert "type the whole URL again" in edited.errors["url"]                    # never half a secret
    retyped = validate(table, initial, {**initial, "url": "http://bob:pw-Lk2@127.0.0.1:9/other"}, RUNTIME, env={})
    assert retyped.ok and retyped.table["url"] == "http://bob:pw-Lk2@127.0.0.1:9/other"
    assert "pw-Lk2" not in retyped.label()


def test_tls_files_are_enhanced_and_resolve_beside_the_connector_file(tmp_path, connector):
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    iggy = _validate(tls_ca_file="ca.pem")
    assert "tls_ca_file" not in iggy.table     # profile = "iggy" drops the enhanced keys
    initial = {"url": TABLE["url"], "profile": "iggy"}
    v = validate(TABLE, initial, {**initial, "profile": "enhanced", "tls_ca_file": "ca.pem"}, RUNTIME, env={},
                 file=str(tmp_path / "config.toml"))
    assert v.ok, v.errors
    assert v.table["tls_ca_file"] == "ca.pem" and v.loaded.settings.tls_ca_file == str(tmp_path / "ca.pem")
    missing = validate(TABLE, initial, {**initial, "profile": "enhanced", "tls_client_cert": "nope.pem"},
                       RUNTIME, env={}, file=str(tmp_path / "config.toml"))
    assert "tls_client_cert" in missing.errors


# -- in the form, against a running bench ------------------------------------------------------
async def _running(app):
    s = app.session
    await until(lambda: s.bench is not None and s.bench.snapshot() is not None and s.bench.snapshot().delivered > 0)
    await until(lambda: s._endpoint_doc is not None)
    return s.bench


async def _settle(app, pilot) -> None:
    await pilot.pause()
    controls = [w for w in app.workers if w.group != "bench"]
    if controls:
        await app.workers.wait_for_complete(controls)
    await pilot.pause()


def _rows(form: SettingsScreen) -> dict[str, tuple[Input, Input, Button]]:
    out = {}
    for row in form.query(".header"):
        name = row.query_one(".header-name", Input)
        out[name.value] = (name, row.query_one(".header-value", Input), row.query_one(".remove-header", Button))
    return out


async def _click(pilot, widget) -> None:
    """Clicks it as a user would, scrolled into view first (the form scrolls)."""
    widget.scroll_visible(animate=False, immediate=True)
    await pilot.pause()
    assert await pilot.click(widget), widget
    await pilot.pause()


async def _add_header(pilot, form: SettingsScreen, name: str, value: str) -> None:
    await _click(pilot, form.query_one("#add-header", Button))
    for text in (name, value):      # typed: the name goes to the new row's focused input, then tab
        for ch in text:
            await pilot.press("space" if ch == " " else ch)
        await pilot.press("tab")
    await pilot.pause()


def _screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_headers_url_method_and_tls_reach_the_running_sink_and_the_connector_file(tmp_path, connector):
    trustme.CA().cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    path = live_scenario(tmp_path, 'connector = "config.toml"\nurl = "mock"')
    app = make_app(open_scenario(path, env={}), bench_factory=in_process, env={}, cwd=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        bench = await _running(app)
        new_url = bench._endpoint.url.rstrip("/") + "/ingest?tenant=globex"
        await pilot.press("s")
        await pilot.pause()
        form = app.screen
        assert isinstance(form, SettingsScreen)
        rows = _rows(form)
        assert set(rows) == {"Authorization", "X-Custom-Header"}
        assert rows["Authorization"][1].password and not rows["X-Custom-Header"][1].password
        rows["X-Custom-Header"][1].value = "edited"                  # edit one
        await _click(pilot, rows["Authorization"][2])                 # remove one
        await _add_header(pilot, form, "X-Trace", "on")              # add one
        form.query_one("#field-url", Input).value = new_url
        form.query_one("#field-method", Select).value = "PUT"
        form.query_one("#field-profile", Select).value = "enhanced"
        await pilot.pause()
        form.query_one("#field-tls_ca_file", Input).value = "ca.pem"     # beside config.toml
        await pilot.pause()
        assert form.headers() == [("X-Custom-Header", "edited"), ("X-Trace", "on")]
        await pilot.press("ctrl+s")
        await _settle(app, pilot)
        assert isinstance(app.screen, DashboardScreen)
        s = bench.sink_settings
        assert s.headers == (("X-Custom-Header", "edited"), ("X-Trace", "on"))
        assert (s.url, str(s.method)) == (new_url, "PUT")
        assert bench.sink.settings.url == new_url                     # the new sink sends there
        assert bench.sink.settings.tls_ca_file == str(tmp_path / "ca.pem")
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, SaveScreen)
        diff = app.screen.plan.diff
        assert '-Authorization = "[redacted]"' in diff and '+X-Trace = "on"' in diff
        assert '-X-Custom-Header = "custom-value"\n+X-Custom-Header = "edited"' in diff
        await pilot.press("y")
        await _settle(app, pilot)
        await app.action_quit()
    saved = load_connector(connector, env={}).sink.settings
    assert saved.headers == (("X-Custom-Header", "edited"), ("X-Trace", "on"))
    assert (saved.url, str(saved.method)) == (new_url, "PUT")
    assert (str(saved.profile), saved.tls_ca_file) == ("enhanced", str(tmp_path / "ca.pem"))
    assert 'tls_ca_file = "ca.pem"' in connector.read_text()
    text = connector.read_text()
    assert "Authorization" not in text.split("[plugin_config.headers]")[1].split("\n", 4)[-1]
    assert "# Sent with every request, the health check included." in text     # the comments stay


async def test_a_secret_header_typed_in_the_form_shows_nowhere(tmp_path, connector):
    path = live_scenario(tmp_path, 'connector = "config.toml"\nurl = "mock"')
    app = make_app(open_scenario(path, env={}), bench_factory=in_process, env={}, cwd=tmp_path)
    notes: list[str] = []
    show = app.notify

    def notify(message: str, **kw) -> None:
        notes.append(f"{kw.get('title', '')}: {message}")
        show(message, **kw)

    app.notify = notify   # type: ignore[method-assign]
    shown: dict[str, str] = {}
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        bench = await _running(app)
        await pilot.press("s")
        await pilot.pause()
        form = app.screen
        url = form.query_one("#field-url", Input)
        first = url.value
        url.value = "http://bob:pw-Typed-9x@127.0.0.1:1/ingest"     # a URL typed with credentials: masked
        await pilot.pause()
        assert url.password and "pw-Typed-9x" not in _screen_text(app)
        url.value = first
        await pilot.pause()
        assert not url.password
        await _click(pilot, _rows(form)["Authorization"][2])
        await _add_header(pilot, form, "X-Api-Key", TYPED_SECRET)     # typed key by key, as a user does
        assert ("X-Api-Key", TYPED_SECRET) in form.headers()
        shown["the form"] = _screen_text(app) + app.export_screenshot()
        await pilot.press("ctrl+s")
        await _settle(app, pilot)
        assert ("X-Api-Key", TYPED_SECRET) in bench.sink_settings.headers     # it is the sink's now
        await pilot.pause(0.3)
        shown["the dashboard"] = _screen_text(app) + app.export_screenshot()
        f = await app.session.frame()
        shown["the frame"] = "\n".join([*(row.text for row in f.log), *(label for _, label in f.marks)])
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, SaveScreen)
        shown["the save preview"] = app.screen.plan.diff + _screen_text(app)
        assert f'+X-Api-Key = "{REDACTED}"' in app.screen.plan.diff
        await pilot.press("y")
        await _settle(app, pilot)
        report = await app.session.export("out/report.json")
        await app.action_quit()
    shown["the report"] = Path(report).read_text()
    shown["the toasts"] = "\n".join(notes)
    assert json.loads(shown["the report"])["settings"]["sink"]["headers"]["X-Api-Key"] == REDACTED
    assert any("headers.X-Api-Key" in n for n in notes), notes       # the change was announced, not its value
    for where, text in shown.items():
        assert TYPED_SECRET not in text and "typed-Zq81" not in text, f"the secret leaked into {where}"
    assert f'X-Api-Key = "{TYPED_SECRET}"' in connector.read_text()   # the file keeps it, as typed
