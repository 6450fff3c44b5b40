"""Issue 8, "Secrets ... never appear in the screen, logs or reports", where tests/reliability/test_secrets.py and
test_more_input.py do not look: `sinkbench sweep --write-best CONFIG` (with and without --dry-run), whose diff
shows the connector file's lines around each change, and the interactive session — every screen (the panes, the
settings form, the save diff, help, the toasts) and its JSON export.

The connector file carries an Authorization header, an X-Api-Key header, a header taken from ${VAR}, URL userinfo
and a ?token= parameter, and the URL is a real server's, so the secrets are really sent. None may be shown or
reported, and the writes must keep every one of them in the file unchanged — never replaced by a redaction marker.

Covered elsewhere: test_secrets.py (`run`'s outputs and logs, the endpoint's journal, errors about bad URLs and
header values), test_more_input.py (sweep's four reports with the secrets in the scenario itself, `sinkbench
mock`), tests/tui/test_session.py (the endpoint pane's and the sink line's text, without a screen).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType

import pytest
from pytest_httpserver import HTTPServer
from textual.widgets import Input
from tui.conftest import live_scenario, until
from werkzeug import Request, Response

from reliability.test_secrets import quiet_werkzeug  # noqa: F401 - a fixture: the test server's own request log
from sinkbench.cli import main
from sinkbench.config.connector import load_connector
from sinkbench.tui.app import make_app
from sinkbench.tui.screens.help import HelpScreen
from sinkbench.tui.screens.save import SaveScreen
from sinkbench.tui.screens.settings import SettingsScreen
from sinkbench.tui.session import open_scenario

AUTH = "tok-Sw33p-4c1d"          # Authorization = "Bearer AUTH", literal
API_KEY = "key-Sw33p-8e2a"       # X-Api-Key, literal
FROM_ENV = "env-Sw33p-19bf"      # X-Custom = "${SB_SW_SECRET}": a harmless name, a secret value
PASSWORD = "pw-Sw33p-6a0c"       # http://bob:PASSWORD@host
QUERY = "q-Sw33p-d57e"           # ?token=QUERY
SECRETS = (AUTH, API_KEY, FROM_ENV, PASSWORD, QUERY)
ENV = MappingProxyType({"SB_SW_SECRET": FROM_ENV})   # the environment the session and loads see

# Compact on purpose: every key a test changes is within a diff's three lines of context of the URL or headers.
CONNECTOR = """\
type = "sink"
key = "http"
enabled = true
version = 0
name = "http sink"
path = "target/release/libiggy_connector_http_sink"

[[streams]]
stream = "bench"
topics = ["events"]
schema = "json"
batch_length = 20
poll_interval = "20ms"
consumer_group = "sinkbench_secrets"

[plugin_config]
url = "{url}"
batch_mode = "ndjson"
timeout = "5s"
max_retries = 3
retry_delay = "50ms"
[plugin_config.headers]
Authorization = "Bearer {auth}"
X-Api-Key = "{api_key}"
X-Custom = "${{SB_SW_SECRET}}"
X-Tenant = "acme"
"""

SWEEP_SCENARIO = """\
[scenario]
name = "secrets"
seed = 3
timeout = "20s"

[source]
kind = "synthetic"
count = 40
rate = 0
payload_bytes = 32

[runtime]
batch_length = 10
poll_interval = "2ms"

[sink]
connector = "config.toml"
"""


@pytest.fixture
def receiver(httpserver: HTTPServer, quiet_werkzeug: None) -> tuple[str, list[dict[str, str]]]:  # noqa: F811
    """(the connector's URL with its credentials, the requests' headers and query as the server got them)."""
    seen: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        seen.append({**request.headers, "?token": request.args.get("token", "")})
        return Response("", status=200)

    httpserver.expect_request("/ingest").respond_with_handler(handler)
    url = httpserver.url_for("/ingest").replace("http://", f"http://bob:{PASSWORD}@") + f"?token={QUERY}&tenant=acme"
    return url, seen


def _connector(folder: Path, url: str) -> Path:
    path = folder / "config.toml"
    path.write_text(CONNECTOR.format(url=url, auth=AUTH, api_key=API_KEY))
    return path


def _shown(url: str) -> str:
    return url.replace(f"bob:{PASSWORD}@", "").replace(QUERY, "[redacted]")


def _clean(outputs: dict[str, str]) -> None:
    for where, text in outputs.items():
        assert "Traceback" not in text, (where, text)
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked into {where}"


def _secrets_were_sent(seen: list[dict[str, str]]) -> None:
    """The bench really sent every secret, so their absence from the outputs means something."""
    assert seen
    first = seen[0]
    assert first["Authorization"] == f"Bearer {AUTH}" and first["X-Api-Key"] == API_KEY
    assert first["X-Custom"] == FROM_ENV and first["?token"] == QUERY


def _kept_in_file(config: Path, original: str, changed: set[str]) -> None:
    """Only the `changed` keys' lines differ; every line holding a secret is as the user wrote it (and the
    settings it loads to are the backup's, which is the original)."""
    old, new = original.splitlines(), config.read_text().splitlines()
    assert len(old) == len(new)
    differ = [(a, b) for a, b in zip(old, new) if a != b]
    assert {a.split("=")[0].strip() for a, _ in differ} == changed, differ
    for line in old:
        if any(s in line for s in SECRETS) or "${SB_SW_SECRET}" in line:
            assert line in new, line
    assert "[redacted]" not in config.read_text()
    before = load_connector(f"{config}.bak", env=ENV).sink.settings          # the backup: the original
    after = load_connector(config, env=ENV).sink.settings
    assert (after.url, after.headers) == (before.url, before.headers)


# -- sweep --write-best ------------------------------------------------------------------------

@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "write"])
def test_write_best_shows_no_secret_and_keeps_them_all_in_the_file(tmp_path: Path, capsys, monkeypatch,
                                                                   receiver, dry_run: bool) -> None:
    url, seen = receiver
    monkeypatch.setenv("SB_SW_SECRET", FROM_ENV)
    config = _connector(tmp_path, url)
    original = config.read_text()
    scenario = tmp_path / "secrets.toml"
    scenario.write_text(SWEEP_SCENARIO)
    out = tmp_path / "out"
    args = ["sweep", str(scenario), "--vary", "timeout=6s,7s", "--vary", "retry_delay=60ms",
            "--set", "sink.max_retries=2", "--report", str(out / "s.json"), "--csv", str(out / "s.csv"),
            "--markdown", str(out / "s.md"), "--chart", str(out / "s.svg"), "--write-best", str(config)]
    code = main(args + (["--dry-run"] if dry_run else []))
    stdout, stderr = capsys.readouterr()
    assert code == 0, (stdout, stderr)
    _secrets_were_sent(seen)
    outputs = {"stdout": stdout, "stderr": stderr}
    for name in ("s.json", "s.csv", "s.md", "s.svg"):
        outputs[name] = (out / name).read_text()
    json.loads(outputs["s.json"])
    _clean(outputs)
    # The diff was printed with its context — the URL and the headers — redacted, not left out.
    assert f' url = "{_shown(url)}"' in stdout, stdout
    assert ' Authorization = "[redacted]"' in stdout and ' X-Api-Key = "[redacted]"' in stdout
    assert "\n-max_retries = 3\n" in stdout and "\n+max_retries = 2\n" in stdout
    if dry_run:
        assert f"dry run: {config} not written" in stdout
        assert config.read_text() == original
        assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "out", "secrets.toml"]
    else:
        assert f"wrote {config} (the original is in {config}.bak)" in stdout
        assert Path(f"{config}.bak").read_text() == original
        _kept_in_file(config, original, {"timeout", "max_retries", "retry_delay"})


# -- the interactive session -------------------------------------------------------------------

def _screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def _frame_text(app) -> str:
    """What the panes are given to draw, whole: a pane clips its lines, so a leak could sit past its edge."""
    f = await app.session.frame()
    parts = [f.scenario, f.state, f.detail, f.sink, *f.live_faults, *(text for _, text in f.endpoint),
             *(row.text for row in f.log), *(label for _, label in f.marks)]
    return "\n".join(parts)


async def _settle(app, pilot) -> None:
    await pilot.pause()
    controls = [w for w in app.workers if w.group != "bench"]
    if controls:
        await app.workers.wait_for_complete(controls)
    await pilot.pause()


def _recording(app) -> list[str]:
    seen: list[str] = []
    show = app.notify

    def notify(message: str, **kw) -> None:
        seen.append(f"{kw.get('title', '')}: {message}")
        show(message, **kw)

    app.notify = notify   # type: ignore[method-assign]
    return seen


async def test_the_session_shows_and_exports_no_secret_and_saves_them_all_back(tmp_path: Path, receiver) -> None:
    url, seen = receiver
    config = _connector(tmp_path, url)
    original = config.read_text()
    scenario = live_scenario(tmp_path, 'connector = "config.toml"')
    scenario.write_text(scenario.read_text().split("[endpoint]")[0])   # a real URL: no embedded endpoint
    app = make_app(open_scenario(scenario, env=ENV), env=ENV, cwd=tmp_path, refresh_interval=0.3)
    notes = _recording(app)
    shown: dict[str, str] = {}

    async def look(name: str, pilot, *, frame: bool = False) -> None:
        await pilot.pause()
        shown[name] = _screen_text(app) + ("\n" + await _frame_text(app) if frame else "")

    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        s = app.session
        await until(lambda: s.bench is not None and s.bench.snapshot() is not None and s.bench.snapshot().delivered > 0)
        await pilot.pause(0.4)                          # a frame with the requests and the endpoint pane
        await look("dashboard", pilot, frame=True)
        assert f"sends to {_shown(url)}" in shown["dashboard"]       # the URL is shown, redacted

        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        await look("settings", pilot)
        form = app.screen
        form.query_one("#field-max_retries", Input).value = "6"
        form.query_one("#field-retry_delay", Input).value = "60ms"
        form.query_one("#field-timeout", Input).value = "6s"
        await pilot.pause()
        await look("settings, changed", pilot)
        await pilot.press("ctrl+s")
        await _settle(app, pilot)
        await look("dashboard, tuned", pilot, frame=True)

        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, SaveScreen)
        diff = app.screen.plan.diff
        shown["the save screen's diff"] = diff
        await look("save", pilot)
        assert ' Authorization = "[redacted]"' in diff and "token=[redacted]" in diff   # context shown, redacted
        await pilot.press("y")
        await _settle(app, pilot)
        await look("saved", pilot, frame=True)

        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await look("help", pilot)
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("x")
        await pilot.pause()
        app.screen.query_one("#value", Input).value = "out/report.json"
        await pilot.press("enter")
        await _settle(app, pilot)
        await pilot.resize_terminal(80, 24)
        await look("dashboard, small", pilot, frame=True)
        await app.action_quit()
    assert app.return_code == 0
    _secrets_were_sent(seen)
    report = (tmp_path / "out" / "report.json").read_text()
    sink = json.loads(report)["settings"]["sink"]
    assert sink["url"] == _shown(url) and sink["headers"]["X-Tenant"] == "acme"
    _clean({**shown, "notifications": "\n".join(notes), "the exported report": report})
    assert any("saved max_retries, retry_delay, timeout into config.toml" in n for n in notes), notes
    assert (tmp_path / "config.toml.bak").read_text() == original
    _kept_in_file(config, original, {"timeout", "max_retries", "retry_delay"})

