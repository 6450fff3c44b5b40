"""The interactive session's core: one scenario, its bench run, and what the user changes.

The Textual app drives a `Session` and renders its frames; the session drives
the very `BenchRun` that `sinkbench run` drives (docs/architecture.md) and
re-implements nothing of the engine: breaking the endpoint is a PUT through
its admin API, tuning is `BenchRun.apply_sink_settings`, saving is
`config.writeback`, exporting is `report.write_json`. No Textual here, so all
of it is testable without a screen.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sinkbench.clock import Clock
from sinkbench.config.settings import ENHANCED_KEYS
from sinkbench.config.writeback import (
    WriteBack,
    apply_write_back,
    has_stream_entry,
    plan_write_back,
)
from sinkbench.durations import DurationError, format_duration, parse_duration
from sinkbench.endpoint.client import AdminError
from sinkbench.endpoint.settings import settings_to_dict
from sinkbench.engine.sink import SinkError
from sinkbench.errors import BenchError, InputError
from sinkbench.metrics.expect import format_seconds
from sinkbench.redact import redact_url
from sinkbench.run.bench import BenchRun
from sinkbench.run.result import RunResult, RunStatus
from sinkbench.scenario.load import parse_set, scenario_from_source
from sinkbench.scenario.model import Scenario
from sinkbench.tomlsrc import load_toml
from sinkbench.tui.faults import LiveFaults, describe_endpoint, endpoint_document
from sinkbench.tui.form import DURATION_KEYS, FIELD_KEYS, HEADERS, RUNTIME_KEYS, Validation
from sinkbench.tui.frames import Frame, FrameBuilder

# The bundled default: the quickstart made continuous, so the session does not end after three seconds.
CONTINUOUS = ("source.count=100000000", "source.rate=500", 'scenario.timeout="24h"')
STATS_INTERVAL = 1.0   # seconds between reads of the endpoint's stats while the run goes on

BenchFactory = Callable[[Scenario], BenchRun]


class ControlError(Exception):
    """A control the session could not carry out; the message says why and what to do."""


@dataclass(frozen=True)
class Opened:
    """A scenario ready to run, with the connector file tuned settings are saved into (if any)."""

    scenario: Scenario
    connector: Path | None
    continuous: bool = False
    overrides: tuple[str, ...] = ()   # `--set` items it was opened with (side B's changes), for its sweeps


# -- opening scenarios ---------------------------------------------------------------
def packaged_quickstart() -> Path:
    return Path(str(resources.files("sinkbench") / "data" / "quickstart.toml"))


def default_scenario(cwd: Path | None = None, env: Mapping[str, str] | None = None,
                     extra: Sequence[str] = ()) -> Opened:
    """The quickstart, continuous, against the embedded endpoint; `./config.toml`'s sink when present.

    With a `./config.toml` the connector file is the sink's starting point
    (its `[plugin_config]` and its first `[[streams]]` batch settings) and the
    quickstart's own sink and runtime keys are dropped, so what runs is the
    user's connector, unchanged, against the embedded endpoint.
    `extra`: `--set` items laid over it (side B's changes).
    Raises InputError (naming file, line and key) when a file is invalid.
    """
    cwd = Path.cwd() if cwd is None else cwd
    path = cwd / "scenarios" / "quickstart.toml"
    if not path.is_file():
        path = packaged_quickstart()
    src = load_toml(path)
    overrides = list(CONTINUOUS)
    connector = cwd / "config.toml"
    if connector.is_file():
        connector = connector.resolve()
        src.data["sink"] = {}
        runtime = src.data.get("runtime")
        if isinstance(runtime, dict):
            runtime.pop("batch_length", None)
            runtime.pop("poll_interval", None)
        overrides += [f"sink.connector={json.dumps(str(connector))}", 'sink.url="mock"']
    else:
        connector = None
    return Opened(scenario_from_source(src, [*overrides, *extra], env), connector, continuous=True,
                  overrides=tuple(extra))


def open_scenario(path: str | Path, env: Mapping[str, str] | None = None, extra: Sequence[str] = ()) -> Opened:
    """A scenario file as `sinkbench run` loads it (`extra`: `--set` items over it, side B's changes).
    Raises InputError naming file, line and key."""
    from sinkbench.scenario.load import load_scenario

    scenario = load_scenario(path, extra, env=env)
    return Opened(scenario, connector_of(Path(path)), overrides=tuple(extra))


def connector_of(scenario_path: Path, overrides: tuple[str, ...] = ()) -> Path | None:
    """The connector file a scenario names (`[sink] connector = "..."`, or a `--set sink.connector=`)."""
    raw: Any = None
    for item in overrides:
        key, value = parse_set(item)
        if key == ["sink", "connector"]:
            raw = value
    if raw is None:
        try:
            sink = load_toml(scenario_path).data.get("sink", {})
        except InputError:
            return None
        raw = sink.get("connector") if isinstance(sink, dict) else None
    if not isinstance(raw, str) or not raw:
        return None
    p = Path(raw)
    return (p if p.is_absolute() else scenario_path.resolve().parent / p).resolve()


def list_scenarios(folder: Path) -> list[tuple[Path, str, str]]:
    """(path, name, first line of the description) of each scenario in `folder`, by file name."""
    out = []
    for path in sorted(folder.glob("*.toml")):
        try:
            meta = load_toml(path).data.get("scenario", {})
        except InputError as exc:
            out.append((path, path.stem, f"invalid: {exc.message}"))
            continue
        if not isinstance(meta, dict):
            meta = {}
        name = meta.get("name", path.stem)
        text = str(meta.get("description", "")).strip()
        out.append((path, str(name), text.split(". ")[0].split("\n")[0]))
    return out


def picked_path(text: str, cwd: Path) -> Path:
    """The file or folder the picker's path field names: relative to the working directory, `~` expanded.
    Raises ControlError saying why nothing can be opened there."""
    typed = text.strip()
    if not typed:
        raise ControlError("type the path of a scenario file, or of a folder of them")
    path = Path(typed).expanduser()
    if not path.is_absolute():
        path = cwd / path
    if not path.exists():
        raise ControlError(f"no such file or folder: {typed}")
    if not (path.is_file() or path.is_dir()):
        raise ControlError(f"not a file or a folder: {typed}")
    return path


def describe_error(exc: BaseException) -> str:
    """An exception as a notification: the reason, never a traceback."""
    if isinstance(exc, BenchError):
        return f"the bench could not start: {exc}"
    if isinstance(exc, (InputError, ControlError)):
        return str(exc)
    return f"internal error: {type(exc).__name__}: {exc}"


# -- the session ---------------------------------------------------------------------
@dataclass(frozen=True)
class SavePlan:
    target: Path
    display: str                       # the target as shown (relative to the working directory when inside it)
    write: WriteBack
    changes: dict[str, Any]
    not_written: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()      # keys whose lines go (reset to their default)

    @property
    def keys(self) -> list[str]:
        """Every key the save touches, as a message names them ("max_retries, timeout (removed)")."""
        return [*self.changes, *(f"{k} (removed)" for k in self.removed)]

    @property
    def diff(self) -> str:
        return "".join(line.replace(str(self.target), self.display) if line.startswith(("---", "+++")) else line
                       for line in self.write.diff.splitlines(keepends=True))


class Session:
    """One scenario at a time: its bench run, the endpoint's breaks, the tuned sink settings."""

    def __init__(self, opened: Opened, *, bench_factory: BenchFactory | None = None, clock: Clock | None = None,
                 env: Mapping[str, str] | None = None, cwd: Path | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.env = os.environ if env is None else env
        self.cwd = Path.cwd() if cwd is None else cwd
        self._factory = bench_factory or (lambda sc: BenchRun(sc, clock=self.clock))
        self._monotonic = monotonic
        self.bench: BenchRun | None = None
        self.result: RunResult | None = None
        self.error: str | None = None
        self.state = "idle"
        self.live = LiveFaults()
        self._stopping = False
        self._stats: dict[str, Any] | None = None
        self._decided = 0              # messages with an outcome just before _stats was read
        self._stats_at = -math.inf
        self._endpoint_doc: dict[str, Any] | None = None
        self._answered = True          # for the "cannot reach the endpoint" alert
        self.alerts: list[tuple[str, str]] = []   # (severity, message) for the app to show once
        self.use(opened)

    # -- the scenario ----------------------------------------------------------------
    def use(self, opened: Opened) -> None:
        """Make `opened` the session's scenario; tuned settings start over from it."""
        self.opened = opened
        self.scenario = opened.scenario
        self.connector = opened.connector
        self.table: dict[str, Any] = dict(opened.scenario.sink_table)
        self.sink_settings = opened.scenario.sink.settings
        self.runtime = opened.scenario.runtime
        # Keys it was opened with (side B's changes) count as changed: `w` saves them as it saves tuned ones.
        self.changed_keys: set[str] = set(_form_keys(opened.overrides))
        self.builder = FrameBuilder(self.scenario.name)

    @property
    def focused(self) -> Session:
        """The session `s`, `w` and the sweep work on: this one (side by side, the side with focus)."""
        return self

    @property
    def secret_values(self) -> frozenset[str]:
        return self.sink_settings.secret_values

    def open(self, path: Path) -> Opened:
        """Another scenario file, to `use` (the picker's choice). Raises InputError naming file, line and key."""
        return open_scenario(path, env=self.env)

    def sweep_overrides(self) -> list[str]:
        """`--set` items that start a sweep from the settings as tuned (after those it was opened with)."""
        from sinkbench.sweep.interactive import tuned_overrides

        return [*self.opened.overrides,
                *tuned_overrides(self.scenario, self.table, self.sink_settings, self.runtime)]

    def display(self, path: Path | str | None) -> str:
        if path is None:
            return "(none)"
        p = Path(path)
        try:
            return str(p.resolve().relative_to(self.cwd.resolve()))
        except ValueError:
            return str(p)

    def tuned_scenario(self) -> Scenario:
        sc = self.scenario
        return dataclasses.replace(sc, sink=dataclasses.replace(sc.sink, settings=self.sink_settings),
                                   runtime=self.runtime, sink_table=dict(self.table))

    # -- the bench run ---------------------------------------------------------------
    def new_bench(self) -> BenchRun:
        """A bench run of the scenario with the settings as tuned so far; `run()` runs it."""
        self.bench = self._factory(self.tuned_scenario())
        if self.scenario.is_external:
            # The program's output joins the request log, and the endpoint's journal fills the log's requests.
            self.bench.on_sink_output = lambda line: self.builder.event(f"sink: {line}")
            self.bench.log_requests = True
        self.result = None
        self.error = None
        self.state = "starting"
        self.live = LiveFaults()
        self._stopping = False
        self._stats = None
        self._decided = 0
        self._stats_at = -math.inf
        self._endpoint_doc = None
        self._answered = True
        self.builder = FrameBuilder(self.scenario.name)
        return self.bench

    async def run(self) -> RunResult:
        """Runs the current bench to its end. Raises what the bench raises (BenchError: it could not start)."""
        bench = self.bench
        if bench is None:
            raise ControlError("no bench run to start")
        try:
            result = await bench.run()
        except BaseException as exc:
            if bench is self.bench:
                self.state = "failed"
                self.error = describe_error(exc)
            raise
        if bench is self.bench:
            self.result = result
            self.state = "stopped" if self._stopping else "finished"
            self.builder.event(f"run {self.state}: {self.outcome()}")
        return result

    def stop(self) -> bool:
        """Interrupts the run (quit, restart, another scenario). True if one was running."""
        if self.bench is not None and self.running:
            self._stopping = True
            self.bench.interrupt()
            return True
        return False

    @property
    def running(self) -> bool:
        return self.state in ("starting", "running")

    def end_notice(self) -> tuple[str, str, str] | None:
        """(message, title, severity) of the toast when the run ended, None before."""
        r = self.result
        if r is None:
            return None
        return "\n".join([self.outcome(), *r.notes]), r.scenario, "information" if r.passed else "warning"

    def outcome(self) -> str:
        r = self.result
        if r is None:
            return self.error or ""
        held = sum(1 for e in r.expectations if e.passed)
        status = {RunStatus.COMPLETED: "completed", RunStatus.TIMEOUT: "timed out",
                  RunStatus.INTERRUPTED: "interrupted", RunStatus.SINK_NOT_OPENED: "sink not opened"}.get(
                      r.status, str(r.status).replace("_", " "))   # a status added later reads as its name
        verdict = (f"{held}/{len(r.expectations)} expectations held" if r.expectations else "no expectations")
        return f"{status} after {format_seconds(r.duration)}, {verdict}"

    # -- frames ----------------------------------------------------------------------
    async def frame(self) -> Frame:
        """What the screen shows now (reads the endpoint's stats at most once a second).

        The only wait comes first: from the snapshot on, nothing yields, so two
        overlapping calls (the timer's and a control's) never fold out of order.
        """
        if self.running and self.bench is not None:
            await self._poll_endpoint(self.bench)
        bench = self.bench
        snap = bench.snapshot() if bench is not None else None
        origin = bench.clock.now() - snap.elapsed if (bench is not None and snap is not None) else 0.0
        if snap is not None and self.state == "starting":
            self.state = "running"
        previous = self.builder.requests_seen
        state = "paused" if (snap is not None and snap.paused and self.state == "running") else self.state
        lost, duplicates = self._ledger()
        frame = self.builder.update(
            snap, state=state, origin=origin, detail=self.outcome() if state in ("finished", "stopped", "failed") else "",
            lost=lost, duplicates=duplicates, endpoint_lines=self._endpoint_lines(), sink=self.sink_line(),
            live_faults=self.live.labels())
        if snap is not None:
            self._watch_reachability(frame, snap.requests - previous)
        return frame

    async def _poll_endpoint(self, bench: BenchRun) -> None:
        """Reads the endpoint's settings for its pane, until it has them (at most once a second).

        Lost and duplicates need no polling here: the bench keeps them per message (`_ledger`).
        """
        if bench.admin is None or not self.scenario.mock or self._endpoint_doc is not None:
            return
        now = self._monotonic()
        if now - self._stats_at < STATS_INTERVAL:
            return
        self._stats_at = now
        try:
            self._endpoint_doc = await bench.admin.get_settings()
        except Exception:
            pass

    def _ledger(self) -> tuple[int | None, int | None]:
        """Lost and duplicates (None with a real URL): at the end the report's, during the run the bench's
        live figures, which count only messages with a final outcome and so never go down."""
        if self.result is not None:
            return self.result.totals.get("lost"), self.result.totals.get("duplicates")
        loss = self.bench.loss if self.bench is not None else None
        if loss is None or not self.scenario.mock:
            return None, None
        return loss.lost, loss.duplicates

    def _endpoint_lines(self) -> tuple[tuple[str, str], ...]:
        if not self.scenario.mock:
            return (("muted", f"sends to {redact_url(self.sink_settings.url)}"),
                    ("muted", "no embedded endpoint: nothing to break here"))
        doc = self._endpoint_doc if self._endpoint_doc is not None else settings_to_dict(self.scenario.endpoint)
        return describe_endpoint(doc, len(self.live.rules))

    def _watch_reachability(self, frame: Frame, new: int) -> None:
        """One alert when requests stop getting answers (unreachable URL, endpoint gone), not one per request."""
        if new <= 0:
            return
        rows = [r for r in frame.log if r.kind == "request"][:new]
        answered = any(r.outcome.isdigit() for r in rows)
        if answered:
            self._answered = True
        elif self._answered and any(r.outcome == "connect" for r in rows):
            self._answered = False
            where = "the embedded endpoint" if self.scenario.mock else redact_url(self.sink_settings.url)
            self.alerts.append(("error", f"cannot reach {where}: requests fail with connection errors"))

    def sink_line(self) -> str:
        if self.scenario.external is not None:
            return external_line(self.scenario)
        s, rt = self.sink_settings, self.runtime
        parts = [str(s.batch_mode), f"batch {rt.batch_length}", f"retries {s.max_retries}",
                 f"delay {format_duration(s.retry_delay)}…{format_duration(s.max_retry_delay)}",
                 f"timeout {format_duration(s.timeout)}", str(s.profile)]
        return " · ".join(parts)

    def external_view(self) -> list[tuple[str, list[str]]]:
        """What the settings form shows for an external sink, read-only: (heading, lines) per section —
        its command line and environment as run (redacted), feed, readiness, the endpoint's settings now,
        its last lines of output."""
        from sinkbench.run.external import command_line, shown_env
        sc = self.scenario
        ext, feed = sc.external, sc.feed
        if ext is None or feed is None:
            raise ControlError("the sink is sinkbench's engine: s opens its settings form")
        run = self.bench.external if self.bench is not None else None
        command = run.command_text if run is not None else command_line(ext.command, ext.secret_values)
        env = run.env_shown if run is not None else shown_env(ext.env, ext.secret_values)
        ready = ext.ready
        when = (f"once {redact_url(ready.url)} answers 2xx (within {format_seconds(ready.timeout)})" if ready.url
                else f"once a line of its output matches {ready.log!r} (within {format_seconds(ready.timeout)})"
                if ready.log else f"after {format_seconds(ready.delay)}")
        options = [f"{k} = {v}" for k, v in feed.options.items()] + ([f"path = {feed.path}"] if feed.path else [])
        endpoint = [f"{'listening at ' + run.endpoint_url if run is not None else 'starts with the run'}"
                    f" · identify {sc.endpoint.identify}"]
        endpoint += [text for _, text in self._endpoint_lines()]
        view = [("command (read-only: the sink's settings are its own)", [command or "(none: the sink runs on its own)"]),
                ("runs in", [str(ext.cwd or "")]),
                ("environment, added to the bench's", [f"{k}={v}" for k, v in env.items()] or ["(none)"]),
                ("feed", [f"kind = {feed.kind}", *options]),
                ("ready and settle", [f"feeds {when}", f"settles {format_seconds(ext.settle)} after the last message"]),
                ("endpoint (break it with the endpoint keys)", endpoint)]
        if run is not None:
            tail = run.output_text().splitlines()[-20:]
            view.append(("its output, last lines (secrets redacted)", tail or ["(nothing yet)"]))
        return view

    # -- breaking the endpoint -------------------------------------------------------------
    async def break_endpoint(self, kind: str, value: Any = None) -> str:
        """Applies one break (or lifts it) through the admin API; returns what changed, as logged.

        kind: "down" (value "503" | "reset" | "hang"; again to lift), "error_rate"
        (share or None), "too_many" (Retry-After seconds or None), "latency"
        (seconds or None), "rate_limit" (requests/s or None), "normal".
        """
        live = self.live
        if kind == "down":
            lifting = live.down == value
            new = dataclasses.replace(live, down=None if lifting else value)
            label = f"back up ({value} lifted)" if lifting else f"take down ({value})"
        elif kind == "error_rate":
            new = dataclasses.replace(live, error_rate=value)
            label = f"error rate {value * 100:g}% (500)" if value else "error rate lifted"
        elif kind == "too_many":
            new = dataclasses.replace(live, too_many=value)
            label = f"429 with Retry-After {value}s" if value is not None else "429s lifted"
        elif kind == "latency":
            new = dataclasses.replace(live, latency=value)
            label = f"latency {format_duration(value)}" if value else "added latency lifted"
        elif kind == "rate_limit":
            new = dataclasses.replace(live, rate_limit=value)
            label = f"rate limit {value:g}/s" if value else "rate limit lifted"
        elif kind == "normal":
            new = LiveFaults()
            label = "back to normal (the scenario's settings)"
        else:
            raise ValueError(f"unknown break {kind!r}")
        bench = self._live_bench()
        if not self.scenario.mock or bench.admin is None:
            raise ControlError("this scenario sends to a real URL: there is no embedded endpoint to break")
        doc = endpoint_document(settings_to_dict(self.scenario.endpoint), new)
        try:
            await bench.admin.put_settings(doc)
            self._endpoint_doc = await bench.admin.get_settings()
        except AdminError as exc:
            raise ControlError(f"the endpoint did not take the change: {exc}") from None
        self.live = new
        label = f"endpoint: {label}"
        bench.mark(label)
        self._event(label)
        return label

    def _live_bench(self) -> BenchRun:
        if self.bench is None or not self.running:
            raise ControlError("the run is not going on (ctrl+r runs the scenario again)")
        return self.bench

    def _event(self, label: str) -> None:
        snap = self.bench.snapshot() if self.bench is not None else None
        self.builder.event(label, t=snap.elapsed if snap is not None else None)

    def toggle_pause(self) -> str:
        bench = self._live_bench()
        snap = bench.snapshot()
        if snap is None:
            raise ControlError("the run is still starting")
        if snap.paused:
            bench.resume()
            label = "resumed"
        else:
            bench.pause()
            label = ("paused: the feed stops; the sink keeps what it holds" if self.scenario.is_external
                     else "paused: polling stops, batches in flight finish")
        self._event(label)
        return label

    def hold(self, why: str) -> bool:
        """Pauses the live run for a while (a sweep); True if it did, and then `release()` resumes it."""
        bench = self.bench
        snap = bench.snapshot() if bench is not None and self.running else None
        if snap is None or snap.paused:
            return False
        bench.pause()  # type: ignore[union-attr]
        self._event(f"paused: {why}")
        return True

    def release(self) -> None:
        """Resumes a run `hold()` paused (nothing if it has ended meanwhile)."""
        if self.bench is not None and self.running:
            self.bench.resume()
            self._event("resumed")

    # -- tuning ----------------------------------------------------------------------
    async def apply(self, v: Validation) -> str:
        """New sink and runtime settings: applied to the running bench between batches, kept for the next run."""
        if not v.ok or v.loaded is None:
            raise ControlError("the settings have errors; fix the fields marked in red")
        sink_keys = [k for k in v.changed if k not in RUNTIME_KEYS]
        runtime_changed = (v.batch_length, v.poll_interval) != (self.runtime.batch_length, self.runtime.poll_interval)
        sink_label = "sink: " + ", ".join(v.describe(k) for k in sink_keys) if sink_keys else ""
        runtime_label = ("runtime: " + ", ".join(v.describe(k) for k in RUNTIME_KEYS if k in v.changed)
                         if runtime_changed else "")
        if not sink_keys and not runtime_changed:
            return "nothing changed"
        if self.running and self.bench is not None and self.bench.sink is None:
            raise ControlError("the run is still starting; apply the settings again in a moment")
        applied_now = self.bench is not None and self.running
        if applied_now:
            assert self.bench is not None
            if sink_keys:
                try:
                    await self.bench.apply_sink_settings(v.loaded.settings, label=sink_label)
                except SinkError as exc:
                    raise ControlError(f"not applied: the sink with the new settings did not open: {exc}") from None
            if runtime_changed:
                self.bench.apply_runtime_settings(v.batch_length, v.poll_interval, label=runtime_label)
        self.table = dict(v.table)
        self.sink_settings = v.loaded.settings
        self.runtime = dataclasses.replace(self.runtime, batch_length=v.batch_length, poll_interval=v.poll_interval)
        # The runtime's keys are saved too (into the connector's [[streams]]): `w` used to drop them.
        self.changed_keys.update(sink_keys)
        if runtime_changed:
            self.changed_keys.update(k for k in RUNTIME_KEYS if k in v.changed)
        label = "; ".join(x for x in (sink_label, runtime_label) if x)
        self._event(label)
        return label if applied_now else f"{label} (kept for the next run: ctrl+r runs it)"

    # -- saving ----------------------------------------------------------------------
    def save_target(self) -> Path:
        if self.connector is not None:
            return self.connector
        fallback = self.cwd / "config.toml"
        if fallback.is_file():
            return fallback
        raise ControlError("no connector file to save into: the scenario has no [sink] connector = \"...\" "
                           "and there is no ./config.toml")

    def settings_file(self) -> str | None:
        """The file a save writes into, if there is one (relative paths in the form are beside it)."""
        try:
            return str(self.save_target())
        except ControlError:
            return None

    def plan_save(self) -> SavePlan:
        """The changed keys written into the connector file, for a diff preview: sink keys into
        `[plugin_config]`, the runtime's batch_length and poll_interval into the first `[[streams]]` entry."""
        if self.scenario.is_external:
            raise ControlError("nothing to save: an external sink's settings are its own (its command, "
                               "environment and files), not a connector file's")
        target = self.save_target()
        display = self.display(target)
        if not self.changed_keys:
            raise ControlError("nothing to save: no sink setting was changed in this session (s opens the form)")
        try:
            src = load_toml(target)
        except InputError as exc:
            raise ControlError(f"cannot read the connector file: {exc}") from None
        data = src.data
        current = data if ("plugin_config" not in data and "url" in data) else data.get("plugin_config", {})
        if not isinstance(current, dict):
            current = {}
        changes: dict[str, Any] = {}
        streams: dict[str, Any] = {}
        removed: list[str] = []
        not_written: list[str] = []
        runtime = {"batch_length": self.runtime.batch_length,
                   "poll_interval": format_duration(self.runtime.poll_interval)}
        entry = data["streams"][0] if has_stream_entry(data) else None
        held = current.get(HEADERS) if isinstance(current.get(HEADERS), dict) else {}
        tuned = self.table.get(HEADERS) if isinstance(self.table.get(HEADERS), dict) else {}
        for key in sorted(self.changed_keys, key=_save_order):
            if key.startswith(f"{HEADERS}."):   # one header: set, or its line goes when it was removed
                name = key.split(".", 1)[1]
                if name not in tuned:
                    if name in held:
                        removed.append(key)
                elif not _same(key, held.get(name), tuned[name]):
                    changes[key] = tuned[name]
                continue
            if key in RUNTIME_KEYS:
                if entry is None:
                    not_written.append(f"{key} = {runtime[key]}: the file has no [[streams]] entry to hold it")
                elif not _same(key, entry.get(key), runtime[key]):
                    streams[key] = runtime[key]
                continue
            if key not in self.table:      # cleared in the form: its default, so its line goes
                if key in current:
                    removed.append(key)
                continue
            if not _same(key, current.get(key), self.table[key]):
                changes[key] = self.table[key]
        if self.table.get("profile", "iggy") != "enhanced":
            # sinkbench-only keys, which profile = "iggy" rejects: the file would no longer load with them.
            removed += [k for k in ENHANCED_KEYS if k in current and k not in removed]
        if not changes and not streams and not removed:
            if not_written:
                raise ControlError(f"nothing to save into {display}: " + "; ".join(not_written))
            raise ControlError(f"nothing to save: {display} already holds these settings")
        try:
            plan = plan_write_back(target, changes, streams, removed)
        except InputError as exc:
            raise ControlError(f"cannot save into {display}: {exc}") from None
        return SavePlan(target, display, plan, {**changes, **streams}, tuple(not_written), tuple(removed))

    def save(self, plan: SavePlan) -> Path | None:
        """Writes the plan (keeping a backup); returns the backup's path."""
        try:
            backup = apply_write_back(plan.write)
        except OSError as exc:
            raise ControlError(f"cannot write {plan.display}: {exc.strerror or exc}") from None
        self.changed_keys.difference_update([*plan.changes, *plan.removed])
        self._event(f"saved {', '.join(plan.keys)} into {plan.display}")
        return backup

    # -- the report ------------------------------------------------------------------
    def default_report_path(self) -> str:
        return f"sinkbench-{self.scenario.name}.json"

    async def export(self, path: str | Path) -> Path:
        """The run's report (so far, while it runs), as `sinkbench run` writes it: the HTML page for a
        path ending in .html or .htm (as --html), the JSON report for any other (as --report)."""
        from sinkbench.report.html import write_html
        from sinkbench.report.jsonreport import write_json

        result = await self.report_result()
        target = self.output_path(path)
        write = write_html if is_html(target) else write_json
        try:
            write(result, target)
        except OSError as exc:
            raise ControlError(f"cannot write {path}: {exc.strerror or exc}") from None
        return target

    async def export_note(self, path: str) -> str:
        """Exports (`x`) and says what was written."""
        return f"report written to {self.display(await self.export(path))}"

    async def report_result(self) -> RunResult:
        """The run's result: its report at the end, the run so far while it goes on."""
        if self.result is not None:
            return self.result
        if self.bench is not None and (self.bench.sink is not None or self.bench.external is not None):
            return await self.bench.interim_result()
        raise ControlError("nothing to export yet: the run has not started")

    def output_path(self, path: str | Path) -> Path:
        target = Path(path)
        return target if target.is_absolute() else self.cwd / target


def external_line(scenario: Scenario) -> str:
    """An external sink in one line: its program, its feed, when it is ready and how long it may settle."""
    ext, feed = scenario.external, scenario.feed
    assert ext is not None and feed is not None
    from sinkbench.redact import redact_text
    program = redact_text(Path(ext.command[0]).name, ext.secret_values) if ext.command else "no command"
    return " · ".join([f"external: {program}", f"{feed.kind} feed", f"settle {format_duration(ext.settle)}",
                       f"identify {scenario.endpoint.identify}"])


def is_html(path: Path) -> bool:
    return path.suffix.lower() in (".html", ".htm")


def _form_keys(items: Sequence[str]) -> list[str]:
    """The settings-form keys `--set` items change (`sink.max_retries=5` → max_retries)."""
    out = []
    for item in items:
        path, _ = parse_set(item)
        if len(path) == 2 and ((path[0] == "sink" and path[1] in FIELD_KEYS and path[1] not in RUNTIME_KEYS)
                               or (path[0] == "runtime" and path[1] in RUNTIME_KEYS)):
            out.append(path[1])
    return out


def _save_order(key: str) -> tuple[int, str]:
    """The form's order, then headers (`headers.NAME`) by name."""
    return (FIELD_KEYS.index(key) if key in FIELD_KEYS else len(FIELD_KEYS), key)


def _same(key: str, a: Any, b: Any) -> bool:
    """Whether a file's value and a tuned value are the same setting ("1s" and "1000ms" are)."""
    if a is None:
        return False
    if isinstance(a, str) and isinstance(b, str) and key in DURATION_KEYS:
        try:
            return parse_duration(a) == parse_duration(b)
        except DurationError:
            return a == b
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(str, a)) == sorted(map(str, b))
    return type(a) is type(b) and a == b
