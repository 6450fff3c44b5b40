"""The interactive gaps of issue 18: the help shows each pane's help, the picker opens any path, the request
log scrolls and filters."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Markdown

from sinkbench.tui.app import make_app
from sinkbench.tui.screens.help import HelpScreen
from sinkbench.tui.session import default_scenario
from sinkbench.tui.versus import open_versus

from .replay import frames, versus

PANES = ["## Delivery", "## Latency", "## Endpoint", "## Status codes", "## Request log"]


def _single(cwd: Path):
    return make_app(default_scenario(cwd, env={}), env={}, cwd=cwd,
                    replay=lambda s: frames(s, down=True)[-1:])


def _headings(app) -> list[str]:
    return [m.source.splitlines()[0] for m in app.screen.query(Markdown)]


async def test_the_help_shows_each_panes_help(tmp_path):
    app = _single(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert _headings(app) == PANES


async def test_side_by_side_the_help_has_the_comparison_and_the_tab_key(tmp_path):
    opened = open_versus(None, ["runtime.offset_commit=after_consuming"], cwd=tmp_path, env={})
    app = make_app(opened, env={}, cwd=tmp_path, replay=versus)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert _headings(app) == ["## A vs B", "## Delivery", "## Latency", "## Endpoint", "## Status codes",
                                  "## Request log"]
        assert any(key == "tab" and command == "view: switch side" for key, command, _ in app.key_rows())


async def test_the_picker_opens_any_path_and_lists_any_folder(tmp_path):
    from textual.widgets import Input, OptionList, Static

    from sinkbench.tui.screens.open import OpenScreen

    from .conftest import in_process, live_scenario, until

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other = live_scenario(elsewhere, name="other.toml")
    other.write_text(other.read_text().replace('name = "live"', 'name = "other"'))
    app = make_app(default_scenario(tmp_path, env={}), bench_factory=in_process, env={}, cwd=tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("o")
        await pilot.pause()
        assert isinstance(app.screen, OpenScreen)
        field = app.screen.query_one("#path", Input)
        field.focus()
        field.value = "no/such.toml"
        await pilot.press("enter")
        await pilot.pause()
        error = app.screen.query_one("#path-error", Static)
        assert error.display and str(error.content) == "no such file or folder: no/such.toml"
        field.value = "elsewhere"                     # a folder, relative to the working directory: listed
        await pilot.press("enter")
        await pilot.pause()
        options = app.screen.query_one("#scenarios", OptionList)
        assert [options.get_option_at_index(i).id for i in range(options.option_count)] == [str(other)]
        field.value = str(other)                      # any file, outside scenarios/
        await pilot.press("enter")
        await until(lambda: app.session.scenario.name == "other" and app.session.running)
        await app.action_quit()


async def test_w_removes_a_key_cleared_in_the_form_and_keeps_its_comments(tmp_path, connector):
    from sinkbench.config import load_connector
    from sinkbench.tui.form import initial_values, validate
    from sinkbench.tui.session import Session, open_scenario

    from .conftest import live_scenario

    connector.write_text(connector.read_text().replace("max_retries = 3", "max_retries = 6  # tuned last week"))
    path = live_scenario(tmp_path, 'connector = "config.toml"\nurl = "mock"')
    session = Session(open_scenario(path, env={}), env={}, cwd=tmp_path)
    initial = initial_values(session.table, session.sink_settings, session.runtime)
    await session.apply(validate(session.table, initial, {**initial, "max_retries": "", "timeout": "10s"},
                                 session.runtime, env={}))
    plan = session.plan_save()
    assert plan.changes == {"timeout": "10s"} and plan.removed == ("max_retries",)
    assert plan.keys == ["timeout", "max_retries (removed)"] and not plan.not_written
    assert "-max_retries = 6  # tuned last week" in plan.diff
    session.save(plan)
    text = connector.read_text()
    assert "max_retries" not in text and "# Retries after the first attempt" in text   # the key, not its comment
    assert load_connector(connector, env={}).sink.settings.max_retries == 3


async def test_back_to_the_iggy_profile_removes_the_enhanced_keys_it_rejects(tmp_path, connector):
    from sinkbench.config import load_connector
    from sinkbench.tui.form import initial_values, validate
    from sinkbench.tui.session import Session, open_scenario

    from .conftest import live_scenario

    connector.write_text(connector.read_text().replace('batch_mode = "ndjson"',
                                                       'batch_mode = "ndjson"\nprofile = "enhanced"\njitter = "none"'))
    path = live_scenario(tmp_path, 'connector = "config.toml"\nurl = "mock"')
    session = Session(open_scenario(path, env={}), env={}, cwd=tmp_path)
    initial = initial_values(session.table, session.sink_settings, session.runtime)
    await session.apply(validate(session.table, initial, {**initial, "profile": "iggy"}, session.runtime, env={}))
    plan = session.plan_save()
    assert plan.changes == {"profile": "iggy"} and plan.removed == ("jitter",)
    session.save(plan)
    settings = load_connector(connector, env={}).sink.settings     # loads: no key profile = "iggy" rejects
    assert str(settings.profile) == "iggy" and "jitter" not in connector.read_text()


# -- the request log: filter and scroll ---------------------------------------------------------------------
def _row(t: float, outcome: str = "200", kind: str = "request"):
    from sinkbench.tui.frames import LogRow

    if kind == "event":
        return LogRow(t=t, kind=kind, text="break")
    return LogRow(t=t, kind=kind, method="POST", outcome=outcome)


def test_log_filters_keep_what_they_name_and_every_event():
    import pytest

    from sinkbench.tui.faults import ValueProblem
    from sinkbench.tui.logview import parse_log_filter

    rows = [_row(5, "503"), _row(4, "reset"), _row(3, kind="event"), _row(2, "429"), _row(1, "200")]
    kept = {text: [r.outcome or r.kind for r in rows if parse_log_filter(text).matches(r)]
            for text in ("", "errors", "503", "5xx", "429, reset", "4xx 200")}
    assert kept == {"": ["503", "reset", "event", "429", "200"], "errors": ["503", "reset", "event", "429"],
                    "503": ["503", "event"], "5xx": ["503", "event"], "429, reset": ["reset", "event", "429"],
                    "4xx 200": ["event", "429", "200"]}
    assert parse_log_filter("5xx, 429").label() == "429, 5xx"
    for bad in ("5x", "errors 503", "700", "oops"):
        with pytest.raises(ValueProblem):
            parse_log_filter(bad)


def test_a_scrolled_log_stays_put_while_rows_arrive():
    from sinkbench.tui.logview import LogFilter, log_view, scrolled

    rows = [_row(t) for t in range(10, 0, -1)]               # newest first
    anchor = scrolled(rows, LogFilter(), None, 3)
    view = log_view(rows, LogFilter(), anchor)
    assert view.rows[0].t == 7 and view.above == 3
    newer = [_row(t) for t in (13, 12, 11)] + rows
    view = log_view(newer, LogFilter(), anchor)               # three new rows came in above
    assert view.rows[0].t == 7 and view.above == 6
    assert scrolled(newer, LogFilter(), anchor, -6) is None   # back to the newest: following again
    assert log_view(newer[:5], LogFilter(), anchor).rows[0].t == 9   # the anchor fell off: the oldest kept


async def test_f_filters_the_log_and_pagedown_scrolls_it(tmp_path):
    from textual.widgets import Input, Static

    from sinkbench.tui.widgets.requestlog import RequestLogPane

    app = _single(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        pane = app.screen.query_one(RequestLogPane)

        def outcomes() -> set[str]:
            return {line.split()[2] for line in pane.render().plain.splitlines()[1:] if line.strip() and "──" not in line}

        assert outcomes() == {"503"}                          # the newest rows: the outage
        await pilot.press("f")
        await pilot.pause()
        app.screen.query_one("#value", Input).value = "5x"
        await pilot.pause()
        assert app.screen.query_one("#error", Static).display   # a bad filter keeps the prompt open
        app.screen.query_one("#value", Input).value = "200"
        await pilot.press("enter")
        await pilot.pause()
        assert outcomes() == {"200"} and pane.border_title == "request log · 200 (40 requests)"
        await pilot.press("f")
        await pilot.pause()
        app.screen.query_one("#value", Input).value = ""
        await pilot.press("enter")
        await pilot.pause()
        top = pane.data.view.rows[0]
        await pilot.press("pagedown")
        await pilot.pause()
        assert pane.data.view.above == pane.page() and pane.border_title.endswith(f"↑ {pane.page()} newer (home)")
        assert pane.data.view.rows[0].t < top.t
        await pilot.press("home")
        await pilot.pause()
        assert pane.data.view.rows[0] == top and pane.border_title == "request log"
