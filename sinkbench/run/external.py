"""A bench run of an external sink: a real program fed the scenario's stream, judged at the endpoint.

`BenchRun` hands over here when `[sink] kind = "external"` (docs/external.md),
with the embedded endpoint already listening and reset. Then:

1. the feed is opened (a file emptied, Iggy's topics checked or created);
2. the sink's command, if any, starts in its own process group, with
   `${SINKBENCH_ENDPOINT_URL}` / `${SINKBENCH_ENDPOINT_PORT}` filled in, its
   output kept;
3. the run waits for `ready` (a delay, a URL answering 2xx, a line of output);
4. the stream is fed at its pace (each message when it falls due);
5. after the last message (and the stdin feed's end of file) it waits for
   everything to arrive, or for `settle` without a new acceptance, or for the
   command to exit;
6. the command is stopped (SIGTERM to its group, SIGKILL after a grace) —
   whatever way the run ends: interrupt, timeout, a crash, an error;
7. the ledger gives the outcomes.

Outcomes: delivered = fed messages the endpoint accepted, lost = the rest
(never fed counts too: the run stopped, or the sink exited first),
duplicates from the ledger; failed and skipped are the sink's secret and
reported as not known (null), never as 0; `undelivered` is not used.
`latency.delivery` runs from the moment a message was fed to the ledger poll
that first saw it accepted (an upper bound, within LEDGER_POLL); requests,
retries, bytes and status codes come from the endpoint's counters.

An external run runs in real time (real processes do), so it reads the
clock it is given for `now()` but waits with asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sinkbench.clock import Clock
from sinkbench.endpoint.client import AdminClient, AdminError
from sinkbench.endpoint.settings import settings_to_dict
from sinkbench.engine.accounting import Attempt
from sinkbench.errors import BenchError, InputError, Where
from sinkbench.feed.base import Fed, Feed
from sinkbench.feed.stdin import SinkGone
from sinkbench.metrics.expect import format_seconds
from sinkbench.redact import REDACTED, redact_text, redact_url
from sinkbench.run.arrivals import Arrivals, Identify
from sinkbench.run.judge import MetricsView, judge
from sinkbench.run.metrics import REQUEST_LOG_SIZE, RunMetrics, Snapshot
from sinkbench.run.result import RunResult, RunStatus
from sinkbench.run.sinkprocess import SinkProcess
from sinkbench.scenario.external import (
    ENDPOINT_PORT,
    ENDPOINT_URL,
    NOT_KNOWN,
    fill_endpoint,
    is_secret_name,
)
from sinkbench.scenario.model import Scenario
from sinkbench.sources.base import SourceMessage

# How often the ledger is asked which fed messages arrived (the resolution of latency.delivery).
LEDGER_POLL = 0.05
# A poll never takes more than this share of the time: a big backlog makes each question longer.
POLL_SHARE = 0.25
# How often the session's request log reads the endpoint's journal.
LOG_POLL = 0.25
# How often a `ready = { url = ... }` is tried.
READY_POLL = 0.1
# Messages handed to the feed in one go when many fall due at once.
FEED_CHUNK = 1000
# What an external sink does not tell: JSON null, "n/a" on screen.
NOT_REPORTED = ("failed", "skipped", "undelivered")


@dataclass(frozen=True)
class ExternalSnapshot(Snapshot):
    """A live view of an external run: no failed or skipped counts (the sink keeps them)."""

    def progress(self) -> dict[str, Any]:
        out = super().progress()
        out.pop("errors", None)
        return out


def make_feed(scenario: Scenario) -> Feed:
    spec = scenario.feed
    assert spec is not None
    if spec.kind == "file":
        from sinkbench.feed.file import FileFeed
        assert spec.path is not None
        return FileFeed(spec.path, spec.options.get("format", "payload"))
    if spec.kind == "stdin":
        from sinkbench.feed.stdin import StdinFeed
        return StdinFeed(spec.options.get("format", "payload"))
    from sinkbench.feed.iggy import IggyFeed
    return IggyFeed(spec.options["connection"], partitions=_partition_counts(scenario),
                    create=spec.options.get("create", False), http=spec.options.get("http"))


def _partition_counts(scenario: Scenario) -> Callable[[str, str], int]:
    """How many partitions a topic the feed creates gets: the stream's own count."""
    if scenario.source.kind == "synthetic":
        n = int(scenario.source.options.get("partitions", 1))
        return lambda stream, topic: n
    known: dict[tuple[str, str], int] = {}

    def of(stream: str, topic: str) -> int:
        if not known:   # a recorded stream names its partitions line by line: read it once
            from sinkbench.sources.recorded import read_stream
            assert scenario.source.path is not None
            for item in read_stream(scenario.source.path):
                key = (item.topic.stream, item.topic.topic)
                known[key] = max(known.get(key, 1), item.message.partition + 1)
        return known.get((stream, topic), 1)

    return of


def command_line(argv: Iterable[str], secrets: Iterable[str]) -> str:
    """The command as a shell would show it, secrets redacted."""
    return redact_text(shlex.join(list(argv)), list(secrets))


def shown_env(env: Iterable[tuple[str, str]], secrets: Iterable[str]) -> dict[str, str]:
    """The scenario's `env` for people: a secret-looking name's value, and any known secret, redacted."""
    secrets = list(secrets)
    return {name: REDACTED if is_secret_name(name) and value else redact_text(value, secrets) for name, value in env}


class ExternalRun:
    """One run of an external sink. `await run()` returns the `RunResult`."""

    def __init__(self, scenario: Scenario, *, clock: Clock, admin: AdminClient, endpoint_url: str,
                 metrics: RunMetrics, source: Iterable[SourceMessage], stop: asyncio.Event,
                 total_hint: int | None, started_at: str, on_output: Callable[[str], None] | None = None,
                 log_requests: bool = False) -> None:
        assert scenario.external is not None and scenario.feed is not None
        self.scenario = scenario
        self.sink = scenario.external
        self.clock = clock
        self.admin = admin
        self.metrics = metrics
        self.source = source
        self.total_hint = total_hint
        self.started_at = started_at
        self.on_output = on_output
        self.log_requests = log_requests       # the session's request log: read the endpoint's journal
        self._logged_seq = 0
        self._logged_at = -1e9
        self.endpoint_url = endpoint_url.rstrip("/")
        port = _port(self.endpoint_url)
        self.argv = [fill_endpoint(a, self.endpoint_url, port) for a in self.sink.command]
        self.env = [(k, fill_endpoint(v, self.endpoint_url, port)) for k, v in self.sink.env]
        self.variables = {ENDPOINT_URL: self.endpoint_url, ENDPOINT_PORT: str(port)}
        self.secrets = sorted(self.sink.secret_values, key=len, reverse=True)
        self.arrivals = Arrivals()
        self.identify = Identify(scenario.endpoint)
        self.process: SinkProcess | None = None
        self.source_error: InputError | None = None
        self._stop = stop
        self._ending = asyncio.Event()
        self._reason: str | None = None           # interrupted | timeout | exited
        self._running = asyncio.Event()
        self._running.set()
        self._polled = asyncio.Event()
        self._start = clock.now()
        self._last_arrival = self._start          # when the endpoint last accepted anything
        self._accepted = 0                        # the endpoint's accepted messages at the last poll
        self._stats: dict[str, Any] = {}
        self._feed_done = False
        self._notes: list[str] = []
        self._exit_code: int | None = None
        self._stopped_by_bench = False
        self._admin_failed: AdminError | None = None

    # -- control --------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def command_text(self) -> str:
        return command_line(self.argv, self.secrets) if self.argv else ""

    @property
    def env_shown(self) -> dict[str, str]:
        return shown_env(self.env, self.secrets)

    def output_text(self) -> str:
        return self.process.text() if self.process is not None else ""

    def snapshot(self) -> ExternalSnapshot:
        m, a = self.metrics, self.arrivals
        rate, request_rate = m.rates()
        return ExternalSnapshot(
            elapsed=self.clock.now() - self._start, total=self.total_hint, fed=a.fed_count, delivered=a.delivered,
            failed=0, skipped=0, requests=m.requests, retries=m.retries, errors=0, in_flight=a.waiting, rate=rate,
            request_rate=request_rate, paused=self.paused, status_codes=dict(m.status_codes),
            latency_request=m.request_latency.summary(), latency_delivery=m.delivery_latency.summary(),
            timeline=tuple(m.timeline.rows(last=60)), recent_requests=tuple(m.recent),
            lost=a.fed_count - a.delivered if self._feed_done else None,
            duplicates=self._stats.get("duplicates"))

    # -- the run ----------------------------------------------------------------------------
    def _end(self, reason: str) -> None:
        if self._reason is None:
            self._reason = reason
        self._ending.set()

    async def _wait(self, seconds: float | None = None) -> bool:
        """Wait `seconds` (or until the run ends); False when the run is ending."""
        if self._ending.is_set():
            return False
        try:
            await asyncio.wait_for(self._ending.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def run(self) -> RunResult:
        sc = self.scenario
        loop = asyncio.get_running_loop()
        deadline = loop.call_later(sc.timeout, self._end, "timeout")
        watchers = [asyncio.create_task(self._watch_stop())]
        feed = make_feed(sc)
        status = RunStatus.COMPLETED
        poller: asyncio.Task[None] | None = None
        try:
            topics = self.source.topics() if hasattr(self.source, "topics") else []
            await feed.open(topics)
            if self.argv:
                self.process = SinkProcess(self.argv, {**os.environ, **self.variables, **dict(self.env)}, self.sink.cwd,
                                           stdin=feed.needs_stdin, secrets=self.secrets, on_line=self.on_output)
                try:
                    await self.process.start()
                except OSError as exc:
                    raise InputError(f"the sink's command could not start: {exc.strerror or exc}",
                                     Where(file=sc.file, key="sink.command")) from None
                feed.attach(self.process.proc)
                watchers.append(asyncio.create_task(self._watch_exit(self.process)))
            poller = asyncio.create_task(self._poll_loop())
            ready = await self._ready()
            if ready is not None:
                status = RunStatus.SINK_NOT_OPENED
                self._notes.append(ready)
            else:
                self._feed_done = await self._feed(feed)
                await feed.close()
                if not self._ending.is_set():
                    await self._settle()
            status = {"interrupted": RunStatus.INTERRUPTED, "timeout": RunStatus.TIMEOUT}.get(
                self._reason or "", status)
        except asyncio.CancelledError:
            status = RunStatus.INTERRUPTED
            self._reason = self._reason or "interrupted"
        finally:
            deadline.cancel()
            for task in watchers:
                task.cancel()
            try:
                await self._stop_sink()
            finally:
                if self.process is not None:
                    self.process.kill_now()
                with contextlib.suppress(Exception):
                    await feed.close()
                if poller is not None:
                    poller.cancel()
                    with contextlib.suppress(asyncio.CancelledError, AdminError):
                        await poller
        if self._admin_failed is not None:
            raise BenchError(f"the mock endpoint stopped answering during the run: {self._admin_failed}")
        return await self._finish(status)

    async def _watch_stop(self) -> None:
        await self._stop.wait()
        self._end("interrupted")

    async def _watch_exit(self, process: SinkProcess) -> None:
        self._exit_code = await process.wait()
        if not self._stopped_by_bench:
            self._end("exited")

    async def _stop_sink(self) -> None:
        process = self.process
        if process is None:
            return
        self._stopped_by_bench = process.returncode is None
        await process.stop()
        self._exit_code = process.returncode

    async def _ready(self) -> str | None:
        """Wait for `ready`; None when ready, else why not (a note)."""
        ready = self.sink.ready
        if ready.log is not None:
            assert self.process is not None
            waiting = asyncio.create_task(self.process.wait_log(ready.log))
            ending = asyncio.create_task(self._ending.wait())
            try:
                done, _ = await asyncio.wait({waiting, ending}, timeout=ready.timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiting.cancel()
                ending.cancel()
            if waiting in done and waiting.result():
                return None
            if waiting in done:     # its output ended: it is exiting, or closed it
                assert self.process is not None
                code = await self.process.wait(2.0)
                if code is not None:
                    self._exit_code = code
                    self._end("exited")
                return self._not_ready(f"its output ended without a line matching {ready.log!r}", None)
            return self._not_ready(f"no line of its output matched {ready.log!r}", ready.timeout)
        if ready.url is not None:
            return await self._ready_url(fill_endpoint(ready.url, self.endpoint_url, _port(self.endpoint_url)),
                                         ready.timeout)
        if ready.delay > 0 and not await self._wait(ready.delay):
            return self._not_ready("it was still starting", ready.delay)
        return None

    def _not_ready(self, why: str, timeout: float | None) -> str | None:
        if self._reason == "exited":
            return (f"the sink's command exited with code {self._exit_code} before it was ready ({why}); "
                    "nothing was fed")
        if self._reason in ("interrupted", "timeout"):
            return None     # the run's own status says it
        if timeout is None:
            return f"the sink was not ready: {why}; nothing was fed"
        return f"the sink was not ready within {format_seconds(timeout)} ({why}); nothing was fed"

    async def _ready_url(self, url: str, timeout: float) -> str | None:
        import httpx
        limit = time.monotonic() + timeout
        last = "no answer yet"
        async with httpx.AsyncClient(verify=False, timeout=READY_POLL * 10, trust_env=False) as http:
            while time.monotonic() < limit:
                try:
                    answer = await http.get(url)
                    if 200 <= answer.status_code < 300:
                        return None
                    last = f"it answered {answer.status_code}"
                except httpx.HTTPError as exc:
                    last = str(exc) or type(exc).__name__
                if not await self._wait(READY_POLL):
                    break
        return self._not_ready(f"{redact_url(url)}: {redact_text(last, self.secrets)}", timeout)

    async def _feed(self, feed: Feed) -> bool:
        """Hand every message to the feed when it falls due; False when the run ended first."""
        items = _guarded(iter(self.source), self)
        begin = self.clock.now()     # the stream's pace counts from here, once the sink is ready
        pending = next(items, None)
        while pending is not None:
            if not self._running.is_set():
                waiter = asyncio.create_task(self._running.wait())
                ending = asyncio.create_task(self._ending.wait())
                await asyncio.wait({waiter, ending}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                ending.cancel()
            if self._ending.is_set():
                return False
            wait = begin + pending.due - self.clock.now()
            if wait > 0 and not await self._wait(wait):
                return False
            chunk = [pending]
            now = self.clock.now() - begin
            pending = next(items, None)
            while pending is not None and pending.due <= now and len(chunk) < FEED_CHUNK:
                chunk.append(pending)
                pending = next(items, None)
            try:
                fed = await self._send(feed, chunk)
            except InputError as exc:
                self.source_error = self.source_error or exc
                return True
            except SinkGone:
                if self.process is not None:
                    self._exit_code = await self.process.wait(2.0)
                self._end("exited")
                return False
            if fed is None:
                return False
            at = self.clock.now()
            for each in fed:
                self.arrivals.fed(self.identify(each), at)
            if self.source_error is not None:
                return True
        return True

    async def _send(self, feed: Feed, chunk: list[SourceMessage]) -> list[Fed] | None:
        """`feed.send(chunk)`, given up when the run ends (a sink that stopped reading must not hold the run)."""
        sending = asyncio.create_task(feed.send(chunk))
        ending = asyncio.create_task(self._ending.wait())
        try:
            await asyncio.wait({sending, ending}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ending.cancel()
        if sending.done():
            return sending.result()
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sending
        return None

    async def _settle(self) -> None:
        """After the last message: until everything arrived, `settle` passed with nothing new, or the sink exited."""
        self._last_arrival = max(self._last_arrival, self.clock.now())
        while not self._ending.is_set():
            self._polled.clear()
            waiter = asyncio.create_task(self._polled.wait())
            ending = asyncio.create_task(self._ending.wait())
            await asyncio.wait({waiter, ending}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            ending.cancel()
            if self._reason == "exited" or self._ending.is_set():
                return
            a = self.arrivals
            if a.delivered + a.unidentified >= a.fed_count:
                return
            if self.clock.now() - self._last_arrival >= self.sink.settle:
                return

    async def _poll_loop(self) -> None:
        while True:
            began = time.monotonic()
            try:
                await self.poll()
            except AdminError as exc:
                # Without the endpoint nothing can be judged: the run ends, and the bench could not run (exit 3).
                self._admin_failed = exc
                self._end("endpoint")
                return
            self._polled.set()
            took = time.monotonic() - began
            await asyncio.sleep(max(LEDGER_POLL, took / POLL_SHARE - took))

    async def poll(self) -> None:
        """Ask the ledger which waiting messages arrived, and the endpoint's counters; update the metrics."""
        ids = self.arrivals.question()
        learned = None
        if ids:
            answer = await self.admin.ledger((), ids)
            learned = self.arrivals.learn(ids, answer.accepted, self.clock.now())
        stats = await self.admin.stats()
        now = self.clock.now()
        m = self.metrics
        if self.log_requests and now - self._logged_at >= LOG_POLL:
            self._logged_at = now
            await self._read_journal(int(stats.get("requests", 0)))
        before = self._stats
        self._stats = stats
        accepted = int(stats.get("messages", 0))
        if accepted > self._accepted:
            self._accepted = accepted
            self._last_arrival = now
        requests = int(stats.get("requests", 0)) - int(before.get("requests", 0))
        repeats = _repeats(stats) - _repeats(before)
        delivered = learned.delivered if learned is not None else 0
        if learned is not None and learned.latencies_ms:
            m.delivery_latency.extend(learned.latencies_ms)
            m.series.delivery(now, learned.latencies_ms)
        m.delivered += delivered
        m.requests = int(stats.get("requests", 0))
        m.bytes = int(stats.get("bytes", 0))
        m.retries = _repeats(stats)
        m.errors = _rejected(stats)
        m.in_flight = self.arrivals.waiting
        m.status_codes = Counter({str(k): int(v) for k, v in stats.get("by_status", {}).items()})
        # No `errors` in the timeline: they count failed or skipped messages, which an external sink keeps.
        m.timeline.add(now, delivered=delivered, requests=max(0, requests), retries=max(0, repeats),
                       in_flight=self.arrivals.waiting)
        m.lag.sample(now - self._start, self.arrivals.waiting)

    async def _read_journal(self, requests: int) -> None:
        """The requests the endpoint received since the last read, into the metrics' recent requests (the
        session's request log). What the endpoint cannot know — how long the sink waited, which attempt it
        was — is marked unknown (-1)."""
        new = requests - self._logged_seq
        if new <= 0:
            return
        for entry in await self.admin.requests(min(new, REQUEST_LOG_SIZE)):
            seq = int(entry.get("seq", 0))
            if seq <= self._logged_seq:
                continue
            outcome = entry.get("status")
            code = outcome if isinstance(outcome, int) else None
            self.metrics.recent.append(Attempt(
                started=self._start + float(entry.get("time", 0.0)), latency=-1.0,
                method=str(entry.get("method", "")), status=code, error=None if code is not None else str(outcome),
                attempt=-1, messages=int(entry.get("messages") or 0), body_bytes=int(entry.get("body_bytes", 0)),
                health_check=not entry.get("messages") and entry.get("method") in ("GET", "HEAD", "OPTIONS")))
        self._logged_seq = requests

    async def _finish(self, status: RunStatus) -> RunResult:
        """The last poll and the full ledger question, then the report."""
        notes = list(self._notes)
        delivered, duplicates = self.arrivals.delivered, None
        try:
            await self.poll()
            ids = self.arrivals.final_question()
            answer = await self.admin.ledger((), ids)
            delivered, duplicates = self.arrivals.settle(ids, answer)
        except AdminError as exc:
            notes.append(f"could not read the endpoint's ledger at the end: {exc}")
        return self.result(status, delivered, duplicates, notes)

    def result(self, status: RunStatus, delivered: int, duplicates: int | None, notes: list[str]) -> RunResult:
        sc, m, a = self.scenario, self.metrics, self.arrivals
        duration = self.clock.now() - self._start
        total = a.fed_count
        if self.total_hint is not None and a.fed_count < self.total_hint:
            total = self.total_hint
        notes = [*notes, *self._outcome_notes(status, total, delivered)]
        stats = self._stats
        totals: dict[str, int | None] = {
            "total": total, "delivered": delivered, "failed": None, "skipped": None, "undelivered": None,
            "lost": total - delivered, "duplicates": duplicates, "requests": m.requests,
            "retries": m.retries if "repeats" in stats else None, "bytes": m.bytes, "message_attempts": None,
        }
        drained = m.lag.drain(a.waiting)
        if drained.note:
            notes.append(drained.note)
        status_codes = dict(sorted(m.status_codes.items()))
        view = MetricsView(totals, {"duration": duration, "drain": drained.seconds}, m, status_codes)
        unknown = {**NOT_KNOWN, "undelivered": "not used for an external sink"}
        if totals["retries"] is None:
            unknown["retries"] = "this endpoint does not count repeated requests"
        expectations = judge(sc.expectations, view, unknown)
        passed = all(e.passed for e in expectations) and status not in (RunStatus.INTERRUPTED, RunStatus.TIMEOUT)
        return RunResult(
            scenario=sc.name, description=sc.description, file=sc.file, status=status, passed=passed,
            started_at=self.started_at, duration=duration, drain=drained.seconds,
            settings={"sink": self.settings(), "runtime": None,
                      "source": {"kind": sc.source.kind,
                                 **{k: v for k, v in sc.source.options.items() if k != "headers"}},
                      "feed": self.feed_settings(), "endpoint": settings_to_dict(sc.endpoint), "seed": sc.seed,
                      "timeout_s": sc.timeout},
            totals=totals,
            latency={"request": m.request_latency.summary(), "delivery": m.delivery_latency.summary()},
            status_codes=status_codes, errors={}, expectations=expectations,
            timeline=[{k: v for k, v in row.items() if k != "errors"} for row in m.timeline.rows()],
            endpoint=stats or None, warnings=list(sc.warnings), notes=notes,
            series=m.series.rows(until=self.clock.now()),
            distributions={"request": m.request_latency.buckets(), "delivery": m.delivery_latency.buckets()},
            external=self.report())

    def _outcome_notes(self, status: RunStatus, total: int, delivered: int) -> list[str]:
        a = self.arrivals
        notes = []
        if self._reason == "exited" and status is not RunStatus.SINK_NOT_OPENED:
            if not self._feed_done:
                notes.append(f"the sink's command exited with code {self._exit_code} after {a.fed_count} of "
                             f"{total} message(s) were fed; the rest were never fed and count as lost")
            elif self._exit_code:
                notes.append(f"the sink's command exited by itself with code {self._exit_code} after its input ended")
        if status is RunStatus.TIMEOUT:
            notes.append(f"the run hit its timeout of {format_seconds(self.scenario.timeout)}; messages not "
                         "accepted by then count as lost")
        if status is RunStatus.INTERRUPTED:
            notes.append("the run was interrupted; messages not accepted by then count as lost")
        if a.unidentified:
            mode = self.identify.mode
            what = (f"no token matching {self.scenario.endpoint.token!r}" if mode == "token"
                    else "nothing the endpoint can recognise (an empty line)")
            notes.append(f"{a.unidentified} fed message(s) carry {what}: they can never be counted as delivered, "
                         "and count as lost (docs/external.md)")
        unique = self._stats.get("unique_messages")
        if isinstance(unique, int) and unique > delivered and self.identify.mode != "token":
            notes.append(f"the endpoint accepted {unique - delivered} message(s) that match none this run fed: "
                         f"does the sink send each message as identify = \"{self.identify.mode}\" expects? "
                         "(see docs/external.md)")
        return notes

    def settings(self) -> dict[str, Any]:
        """`[sink]` for the report: the command line and environment as run, secrets redacted."""
        ready = self.sink.ready
        shown: dict[str, Any] = {"kind": "external", "command": self.command_text or None, "env": self.env_shown,
                                 "settle_s": self.sink.settle}
        if ready.url is not None:
            shown["ready"] = {"url": redact_url(fill_endpoint(ready.url, self.endpoint_url,
                                                              _port(self.endpoint_url))),
                              "timeout_s": ready.timeout}
        elif ready.log is not None:
            shown["ready"] = {"log": ready.log, "timeout_s": ready.timeout}
        else:
            shown["ready"] = {"delay_s": ready.delay}
        return shown

    def feed_settings(self) -> dict[str, Any]:
        spec = self.scenario.feed
        assert spec is not None
        out: dict[str, Any] = {"kind": spec.kind, **{k: str(v) if k == "connection" else v
                                                     for k, v in spec.options.items()}}
        if spec.path is not None:
            out["path"] = str(spec.path)
        return out

    def report(self) -> dict[str, Any]:
        """What the reports attach about the sink's process."""
        return {"command": self.command_text or None, "env": self.env_shown, "endpoint_url": self.endpoint_url,
                "exit_code": self._exit_code, "stopped_by_bench": self._stopped_by_bench,
                "output": self.output_text() if self.process is not None else None}

    async def interim_result(self) -> RunResult:
        notes = [f"exported while the run was in progress, after {format_seconds(self.clock.now() - self._start)}; "
                 "messages not accepted yet count as lost"]
        return self.result(RunStatus.INTERRUPTED, self.arrivals.delivered, self._stats.get("duplicates"), notes)


def _port(url: str) -> int:
    from urllib.parse import urlsplit
    return urlsplit(url).port or 0


def _repeats(stats: dict[str, Any]) -> int:
    return int(stats.get("repeats", 0) or 0)


def _rejected(stats: dict[str, Any]) -> int:
    """Requests the endpoint did not answer 2xx (a status, or an action without an answer)."""
    return sum(int(n) for label, n in stats.get("by_status", {}).items() if not str(label).startswith("2"))


def _guarded(items: Iterator[SourceMessage], run: ExternalRun) -> Iterator[SourceMessage]:
    """The source's messages; a bad line stops them and is kept as the run's source error."""
    while True:
        try:
            item = next(items)
        except StopIteration:
            return
        except InputError as exc:
            run.source_error = exc
            return
        yield item

