"""Issue 8, "Bad input ... through the TUI's settings form", and the TUI's write-back (`w`).

The core (no Textual): any text in any field of the form, checked by the config loader, is either an error
at that very field — then the session refuses to apply it and `w` has nothing to write — or a sane setting
that the write-back saves into the connector file so that it loads back the same. Then the real app, driven
with Pilot: typed and pasted bad values never crash it nor show a traceback, the error sits under the
field, applying is refused and the running bench keeps its settings; `w` against a connector file that is
invalid, read-only, deleted or changed on disk is a notification naming the file, the file is left exactly
as it was, and the `.bak` backups are made as the README says.

Covered elsewhere: tests/tui/test_session.py (one example of each loader message the form repeats, the save
plan's own cases), tests/tui/test_app_live.py (the form applied and saved with good values),
tests/reliability/test_bad_input.py (bad connector files and scenarios through the loaders and `sinkbench
validate`), tests/reliability/test_secrets_tui_sweep.py (secrets on the TUI's screens and in --write-best).
"""

from __future__ import annotations

import asyncio
import math
import shutil
import stat
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from textual import events
from textual.widgets import Button, Input, Static
from tui.conftest import CONFIG, in_process, live_scenario, until

from sinkbench.config.connector import load_connector
from sinkbench.tui.app import make_app
from sinkbench.tui.form import (
    DURATION_KEYS,
    FIELDS,
    LIST_KEYS,
    initial_values,
    parse_value,
    validate,
    value_text,
)
from sinkbench.tui.screens.dashboard import DashboardScreen
from sinkbench.tui.screens.save import SaveScreen
from sinkbench.tui.screens.settings import SettingsScreen
from sinkbench.tui.session import ControlError, Session, open_scenario

FEW = settings(max_examples=150, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                      HealthCheck.data_too_large])
MANY = settings(FEW, max_examples=400)   # validation alone is cheap: more texts
# TOML integers are 64-bit: a bigger one written into config.toml makes a file the Iggy runtime cannot read.
I64 = (-2**63, 2**63 - 1)
SIZE = (120, 40)
REFRESH = 3.0   # seconds between the dashboard's frames: the tests read the bench itself, so fewer renders suffice
WITH_CONNECTOR = 'connector = "config.toml"\nurl = "mock"'   # the file's settings, as the session starts

MALFORMED = st.sampled_from([
    "1e400", "-1e400", "1e-400", "nan", "-nan", "inf", "+inf", "-inf",
    "-1", "-0", "-9223372036854775809", "9223372036854775808", "1" + "0" * 30, "9" * 400, "9" * 400 + "s",
    "99999999999999999999h", "5 parsecs", "5parsec", "1.5s", "-5s", "s", "ms5", "1e400s", "0x10", "0o7", "1_000",
    "", " ", "\t", "\x00", "1\x00", "\r\n", "a\r\nb", "5\r", "\x1b[31m5",
    "é", "５", "１ｓ", "5 秒", "\U0001F642", "\u202e5s", "[/]", "[bold]5", "[/x", "[@click=app.quit]1", "$x",
    "true", "false", "[]", "[1, 2]", "[200, 700]", "200, [/]", "{a = 1}", '"5s"', "'5s'", '"', "'''", "1979-05-27",
])
LONG = st.integers(1_000, 40_000).flatmap(lambda n: st.sampled_from(["9" * n, "a" * n, "5" * n + "s", "[" * n]))
NUMBERS = st.one_of(st.integers(-2**70, 2**70).map(str), st.floats().map(repr))
DURATIONS = st.tuples(st.integers(-10, 10**25), st.sampled_from(["ns", "ms", "s", "m", "h", "d", "parsecs", "",
                                                                  "MS", " s"])).map(lambda t: f"{t[0]}{t[1]}")
ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)
VALUES = st.one_of(MALFORMED, NUMBERS, DURATIONS, ANY_TEXT, LONG)
# Good values too, so that the write-back gets to save many (some with odd but valid text: a dead-letter path).
PLAUSIBLE = st.one_of(
    st.integers(0, 10**6).map(str), st.integers(0, 10**6).map(lambda n: f"{n}ms"),
    st.sampled_from(sorted({c for f in FIELDS for c in f.choices})),
    st.lists(st.integers(200, 599), min_size=1, max_size=4).map(lambda codes: ", ".join(map(str, codes))))


def _values(session: Session, key: str, text: str) -> tuple[dict[str, str], dict[str, str]]:
    """(initial, typed): the form as opened, then with `text` in `key` (and profile enhanced for its keys)."""
    initial = initial_values(session.table, session.sink_settings, session.runtime)
    typed = {**initial, key: text}
    if next(f for f in FIELDS if f.key == key).enhanced:
        typed["profile"] = "enhanced"
    return initial, typed


def _connector_session(folder: Path) -> Session:
    shutil.copy(CONFIG, folder / "config.toml")
    path = live_scenario(folder, WITH_CONNECTOR)
    return Session(open_scenario(path, env={}), env={}, cwd=folder)


@pytest.fixture(scope="module")
def form_session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    return _connector_session(tmp_path_factory.mktemp("form"))


# -- the core: the form model through resolve_sink --------------------------------------------

@MANY
@given(field=st.sampled_from(FIELDS), text=VALUES)
def test_any_text_in_any_field_is_an_error_at_that_field_or_a_sane_setting(form_session: Session, field,
                                                                           text: str) -> None:
    s = form_session
    initial, typed = _values(s, field.key, text)
    v = validate(s.table, initial, typed, s.runtime, env={})         # never raises, whatever the text
    assert v.ok == (not v.errors)
    if "\x00" in text:   # no setting holds a NUL: not a number, a duration, a choice, nor a path (the OS refuses)
        assert not v.ok, v.table.get(field.key)
    if not v.ok:
        assert set(v.errors) == {field.key}, v.errors                  # the error is the field's, not "general"
        message = v.errors[field.key]
        assert message.strip()
        if not field.choices:   # an Input's error is one line under it: control characters are escaped
            assert not {"\x00", "\r", "\n", "\x1b"} & set(message), message
        return
    if field.key == "batch_length":
        assert isinstance(v.batch_length, int) and 1 <= v.batch_length <= I64[1]
        return
    if field.key == "poll_interval":
        assert math.isfinite(v.poll_interval) and v.poll_interval >= 0
        return
    value = getattr(v.loaded.settings, field.key)
    if not text.strip():
        assert field.key not in v.table                                # empty: the key's default
    elif field.key in DURATION_KEYS:
        assert math.isfinite(value) and value >= 0
    elif field.choices:
        assert value_text(value) in field.choices
    elif field.key in LIST_KEYS:
        assert value or field.key == "retry_statuses"              # none: retry on no status, a choice
        assert all(isinstance(c, int) and 100 <= c <= 599 for c in value)
    elif isinstance(value, int):
        assert I64[0] <= value <= I64[1], value
    else:
        assert field.key == "dead_letter_path" and value == parse_value(field.key, text)   # a bare word or TOML


@FEW
@given(field=st.sampled_from(FIELDS), text=st.integers(0, 2).flatmap(lambda i: VALUES if i == 0 else PLAUSIBLE))
def test_a_bad_value_is_never_applied_nor_saved_and_a_good_one_saves_and_loads_back(field, text: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        s = _connector_session(folder)
        config = folder / "config.toml"
        before = config.read_bytes()
        initial, typed = _values(s, field.key, text)
        v = validate(s.table, initial, typed, s.runtime, env={}, file=s.settings_file())
        if not v.ok:
            kept = (dict(s.table), s.sink_settings, s.runtime, set(s.changed_keys))
            with pytest.raises(ControlError, match="the settings have errors"):
                asyncio.run(s.apply(v))
            assert (s.table, s.sink_settings, s.runtime, s.changed_keys) == kept
            with pytest.raises(ControlError, match="nothing to save"):
                s.plan_save()
            assert config.read_bytes() == before
            assert sorted(p.name for p in folder.iterdir()) == ["config.toml", "live.toml"]
            event("refused")
            return
        asyncio.run(s.apply(v))
        try:
            plan = s.plan_save()
        except ControlError as exc:   # a cleared key, or the file's own value
            assert "nothing to save" in str(exc)
            assert config.read_bytes() == before
            event("accepted, nothing to write")
            return
        assert s.save(plan) == folder / "config.toml.bak"
        assert (folder / "config.toml.bak").read_bytes() == before
        connector = load_connector(config, env={})
        reloaded = connector.sink.settings
        for key in plan.changes:
            if key in ("batch_length", "poll_interval"):       # the runtime's, in the first [[streams]] entry
                assert getattr(connector.streams[0], key) == getattr(v, key), key
            else:
                assert getattr(reloaded, key) == getattr(v.loaded.settings, key), key
        old, new = before.decode().splitlines(), config.read_text().splitlines()
        gone = [line for line in old if line not in new]
        # A line goes only when its key was changed or reset to its default (removed from the file).
        assert all(line.split("=")[0].strip() in (*plan.changes, *plan.removed) for line in gone), gone
        for key in plan.removed:
            assert key not in connector.source.data.get("plugin_config", {}), key
            assert getattr(reloaded, key) == getattr(v.loaded.settings, key), key
        event("accepted and written")


# -- the real app ------------------------------------------------------------------------------

async def _running(app) -> None:
    s = app.session
    await until(lambda: s.bench is not None and s.bench.snapshot() is not None and s.bench.snapshot().delivered > 0)


async def _settle(app, pilot) -> None:
    await pilot.pause()
    controls = [w for w in app.workers if w.group != "bench"]
    if controls:
        await app.workers.wait_for_complete(controls)
    await pilot.pause()


def _screen_text(app) -> str:
    """What the terminal shows now: every layer, the modal and the toasts over the dashboard."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def _alive(app) -> None:
    assert app._exception is None and app.is_running
    assert "Traceback" not in _screen_text(app)


def _recording(app) -> list[str]:
    """Notifications, kept for the assertions and still shown (so rendering them is tested too)."""
    seen: list[str] = []
    show = app.notify

    def notify(message: str, **kw) -> None:
        seen.append(str(message))
        show(message, **kw)

    app.notify = notify   # type: ignore[method-assign]
    return seen


def _marks(bench) -> list[str]:
    return [m for row in bench.metrics.timeline.rows() for m in row.get("marks", [])]


# Rounds of (field, text, how it gets in): typed key by key (short ones: each key re-checks the whole form) or
# pasted (control characters, very long text). Each round fills its fields at once; each field gets its own error.
ROUNDS = (
    (("max_retries", "[/]", "type"), ("timeout", "nan", "type"), ("batch_length", "-3", "type"),
     ("retry_backoff_multiplier", "1e400", "paste"), ("retry_delay", "[@click=app.quit]1s", "paste"),
     ("max_retry_delay", "é５ms", "paste"), ("success_status_codes", "200, [/]", "paste"),
     ("poll_interval", "9" * 400 + "s", "paste")),
    (("max_retries", "4\x00", "paste"), ("timeout", "1s\tx", "paste"),
     ("retry_backoff_multiplier", "1" + "0" * 30, "paste"), ("max_retry_delay", "9" * 5000 + "ms", "paste"),
     ("retry_delay", "5 parsecs", "paste"), ("batch_length", "1" + "0" * 30, "paste")),
)


async def test_bad_values_typed_or_pasted_show_under_their_field_and_never_reach_the_running_sink(
        tmp_path: Path) -> None:
    s = _connector_session(tmp_path)
    config = tmp_path / "config.toml"
    before = config.read_bytes()
    app = make_app(s.opened, bench_factory=in_process, env={}, cwd=tmp_path, refresh_interval=REFRESH)
    notes = _recording(app)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _running(app)
        bench = app.session.bench
        sink, settings_before, runtime_before = bench.sink, bench.sink_settings, bench.runtime.settings
        for bad in ROUNDS:
            await pilot.press("s")
            await pilot.pause()
            form = app.screen
            assert isinstance(form, SettingsScreen)
            for key, text, how in bad:
                field = form.query_one(f"#field-{key}", Input)
                field.focus()
                field.value = ""
                if how == "type":
                    await pilot.press(*text)
                else:
                    field.post_message(events.Paste(text))
                await pilot.pause()
                assert field.value == text, key
                _alive(app)
            expected = validate(form.table, form.initial, form.values(), form.runtime, env={}).errors
            assert set(expected) == {key for key, _, _ in bad}, expected
            screen = _screen_text(app)
            for key, text, _ in bad:
                error = form.query_one(f"#error-{key}", Static)
                assert error.display and error.visual.plain == expected[key], (key, text)   # text, never markup
                assert error.region.y == form.query_one(f"#row-{key}").region.y + 1      # right under its field
                if len(expected[key]) < 50:
                    assert expected[key] in screen
            assert form.query_one("#apply", Button).disabled
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.screen is form and notes[-1] == "fix the fields marked in red first"
            await pilot.press("escape")
            await _settle(app, pilot)
            assert isinstance(app.screen, DashboardScreen)
            _alive(app)
        assert bench.sink is sink and bench.sink_settings == settings_before
        assert bench.runtime.settings == runtime_before
        assert not [m for m in _marks(bench) if m.startswith(("sink:", "runtime:"))]
        delivered = bench.snapshot().delivered
        await until(lambda: bench.snapshot().delivered > delivered)            # still delivering
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen) and "nothing to save" in notes[-1]
        # The endpoint's prompts quote the value in their error too.
        await pilot.press("e")
        await pilot.pause()
        prompt = app.screen.query_one("#value", Input)
        prompt.value = ""
        await pilot.press(*"[/]")
        await pilot.pause()
        _alive(app)
        error = app.screen.query_one("#error", Static)
        assert error.visual.plain == "expected a percentage such as 30 or 2.5, got '[/]'"
        await pilot.press("escape")
        await pilot.pause()
        await app.action_quit()
    assert app.return_code == 0
    assert config.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "live.toml"]


async def _tune(app, pilot, max_retries: str) -> None:
    await pilot.press("s")
    await pilot.pause()
    app.screen.query_one("#field-max_retries", Input).value = max_retries
    await pilot.pause()
    await pilot.press("ctrl+s")
    await _settle(app, pilot)
    assert isinstance(app.screen, DashboardScreen)


async def test_save_against_a_broken_connector_file_names_it_and_leaves_it_as_it_was(tmp_path: Path) -> None:
    s = _connector_session(tmp_path)
    config = tmp_path / "config.toml"
    original = config.read_bytes()
    app = make_app(s.opened, bench_factory=in_process, env={}, cwd=tmp_path, refresh_interval=REFRESH)
    notes = _recording(app)

    def files() -> list[str]:
        return sorted(p.name for p in tmp_path.iterdir())

    async def refused_at_w(pilot, content: bytes | None) -> str:
        """`w` with the file replaced by `content` (None: deleted): a notification, no preview, no write."""
        if content is None:
            config.unlink()
        else:
            config.write_bytes(content)
        n = len(notes)
        await pilot.press("w")
        await _settle(app, pilot)
        _alive(app)
        assert isinstance(app.screen, DashboardScreen)
        assert len(notes) == n + 1, notes[n:]
        if content is None:
            assert not config.exists()
        else:
            assert config.read_bytes() == content
        assert files() == [f for f in ["config.toml", "live.toml"] if f != "config.toml" or content is not None]
        return notes[-1]

    async def refused_at_y(pilot, change) -> str:
        """The preview shown, then the file changed by `change()`, then `y`: refused, the file as changed."""
        config.write_bytes(original)
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, SaveScreen)
        change()
        expected = config.read_bytes() if config.exists() else None
        n = len(notes)
        await pilot.press("y")
        await _settle(app, pilot)
        _alive(app)
        assert isinstance(app.screen, DashboardScreen)
        assert len(notes) == n + 1, notes[n:]
        assert (config.read_bytes() if config.exists() else None) == expected
        assert [f for f in files() if ".bak" in f] == []
        return notes[-1]

    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await _running(app)
        await _tune(app, pilot, "6")

        text = original.decode()
        message = await refused_at_w(pilot, (text + "\n[plugin_config\nurl = \n").encode())
        assert "config.toml" in message and "invalid TOML" in message
        message = await refused_at_w(pilot, b"\xff\xfe" + original)
        assert "config.toml" in message and "UTF-8" in message
        message = await refused_at_w(pilot, b'type = "sink"\nplugin_config = 3\n')
        assert "config.toml" in message and "plugin_config" in message
        message = await refused_at_w(pilot, b'type = "sink"\n')
        assert "config.toml" in message and "no [plugin_config] table" in message
        assert "[plugin_config]" in _screen_text(app)        # the toast shows it as text, not as markup
        message = await refused_at_w(pilot, None)
        assert "config.toml" in message and "not found" in message

        config.write_bytes(original)
        config.chmod(0o444)
        try:
            await pilot.press("w")
            await pilot.pause()
            assert isinstance(app.screen, SaveScreen)
            await pilot.press("y")
            await _settle(app, pilot)
            _alive(app)
            assert "cannot write config.toml" in notes[-1] and "read-only" in notes[-1]
            assert config.read_bytes() == original and stat.S_IMODE(config.stat().st_mode) == 0o444
            assert files() == ["config.toml", "live.toml"]
        finally:
            config.chmod(0o644)

        def edited_elsewhere() -> None:
            config.write_text(text.replace("max_connections = 10", "max_connections = 12"))

        message = await refused_at_y(pilot, edited_elsewhere)
        assert "cannot write config.toml" in message and "changed" in message
        message = await refused_at_y(pilot, config.unlink)
        assert "cannot write config.toml" in message
        assert not config.exists()

        # Changed on disk since the session loaded it: the preview is of the file as it is now, and the other
        # edit survives the write.
        config.write_text(text.replace("max_connections = 10", "max_connections = 12"))
        edited = config.read_bytes()
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, SaveScreen) and "+max_retries = 6" in app.screen.plan.diff
        await pilot.press("y")
        await _settle(app, pilot)
        assert "saved max_retries into config.toml" in notes[-1] and "config.toml.bak" in notes[-1]
        first = config.read_bytes()
        assert b"max_retries = 6" in first and b"max_connections = 12" in first
        assert (tmp_path / "config.toml.bak").read_bytes() == edited

        await _tune(app, pilot, "7")                  # a second save keeps the first backup: .bak.1
        await pilot.press("w")
        await pilot.pause()
        await pilot.press("y")
        await _settle(app, pilot)
        assert "config.toml.bak.1" in notes[-1]
        assert (tmp_path / "config.toml.bak").read_bytes() == edited
        assert (tmp_path / "config.toml.bak.1").read_bytes() == first
        assert b"max_retries = 7" in config.read_bytes()
        assert files() == ["config.toml", "config.toml.bak", "config.toml.bak.1", "live.toml"]
        _alive(app)
        await app.action_quit()
    assert app.return_code == 0
    assert not [n for n in notes if "internal error" in n or "Traceback" in n], notes
