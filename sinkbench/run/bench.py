"""A bench run: wires source → runtime → engine → endpoint, measures, judges, reports.

The CLI's `run` and the interactive session drive this same object. It takes
the clock in; the seed comes from the scenario, so two runs of a scenario
make the same choices.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sinkbench.clock import Clock, RealClock
from sinkbench.config.settings import ALL_KEYS, IGGY_KEYS, SinkSettings
from sinkbench.endpoint.client import AdminClient, AdminError
from sinkbench.endpoint.errors import PortInUse
from sinkbench.endpoint.settings import settings_to_dict
from sinkbench.engine.sink import HttpSink, SinkError
from sinkbench.errors import BenchError, InputError, Where
from sinkbench.metrics.expect import format_seconds
from sinkbench.redact import REDACTED, redact_headers, redact_url
from sinkbench.run.drain import Drain
from sinkbench.run.external import ExternalRun
from sinkbench.run.judge import MetricsView, judge
from sinkbench.run.loss import LossAccount
from sinkbench.run.metrics import RunMetrics, Snapshot
from sinkbench.run.result import RunResult, RunStatus
from sinkbench.runtime import OffsetCommit, Runtime, RuntimeCounts
from sinkbench.scenario.model import Scenario
from sinkbench.sources.base import SourceMessage


def build_source(scenario: Scenario, start_us: int) -> Iterable[SourceMessage]:
    spec = scenario.source
    if spec.kind == "synthetic":
        from sinkbench.sources.synthetic import SyntheticSource
        # With identify = "token" each message carries the token the endpoint will know it by.
        return SyntheticSource(**spec.options, seed=scenario.seed, start_us=start_us,
                               token=scenario.endpoint.identify == "token", where_file=scenario.file)
    if spec.kind == "recorded":
        from sinkbench.sources.recorded import read_stream
        assert spec.path is not None
        return read_stream(spec.path, speed=spec.options.get("speed", "max"))
    if spec.kind == "iggy":
        from sinkbench.sources.iggy import IggySource
        o = spec.options
        return IggySource(o["connection"], stream=o["stream"], topics=o["topics"],
                          consumer_group=o["consumer_group"], schema=o.get("schema", "json"), count=o.get("count"),
                          batch_length=scenario.runtime.batch_length, poll_interval=scenario.runtime.poll_interval,
                          offset_commit=scenario.runtime.offset_commit, where_file=scenario.file)
    raise InputError(f"unknown source kind {spec.kind!r}", Where(file=scenario.file, key="source.kind"))


def redacted_settings(s: SinkSettings) -> dict[str, Any]:
    """The settings a report shows: only the keys the profile has (under "iggy", none of the
    enhanced profile's, which it ignores), secrets redacted."""
    shown = ALL_KEYS if s.enhanced else (*IGGY_KEYS, "profile")
    out: dict[str, Any] = {}
    for f in dataclasses.fields(s):
        if f.name not in shown:
            continue
        v = getattr(s, f.name)
        if f.name == "url":
            v = redact_url(v)
        elif f.name == "headers":
            v = redact_headers(dict(v), s.secret_values)
        elif isinstance(v, frozenset):
            v = sorted(v)
        elif hasattr(v, "value"):
            v = v.value
        elif isinstance(v, str) and any(sec and sec in v for sec in s.secret_values):
            v = REDACTED
        out[f.name] = v
    return out


# How often the live lost and duplicates ask the endpoint's ledger about newly settled messages.
LEDGER_INTERVAL = 0.5


class BenchRun:
    """One scenario, run once. `await run()` returns the `RunResult`."""

    def __init__(self, scenario: Scenario, *, clock: Clock | None = None, endpoint_in_process: bool = False) -> None:
        self.scenario = scenario
        self.clock = clock or RealClock()
        self.endpoint_in_process = endpoint_in_process
        self.metrics: RunMetrics | None = None
        self.runtime: Runtime | None = None
        self.sink: HttpSink | None = None
        self.admin: AdminClient | None = None
        self.total_hint: int | None = None
        self._stop = asyncio.Event()
        self._interrupted = False
        self._endpoint: Any = None
        self._start = 0.0
        self._generation = 0
        self._retired: list[HttpSink] = []   # sinks replaced by live tuning, closed at the end
        self._dead_letters: Any = None        # one dead-letter file per run, whichever sink fails
        self._started_at = ""
        self.loss: LossAccount | None = None  # lost and duplicates, per message (embedded endpoint only)
        self.external: ExternalRun | None = None   # [sink] kind = "external": the run of the program under test
        self.on_sink_output: Callable[[str], None] | None = None   # each line the external sink prints
        self.log_requests = False    # an external run reads the endpoint's journal for the request log (the session)

    # -- control ------------------------------------------------------------
    def interrupt(self) -> None:
        """Ctrl-C: stop now; reports are still written, marked interrupted."""
        self._interrupted = True
        self._stop.set()

    def pause(self) -> None:
        if self.external is not None and not self.external.paused:
            self.external.pause()
            self._mark("paused")
        if self.runtime is not None and not self.runtime.paused:
            self.runtime.pause()
            self._mark("paused")

    def resume(self) -> None:
        if self.external is not None and self.external.paused:
            self.external.resume()
            self._mark("resumed")
        if self.runtime is not None and self.runtime.paused:
            self.runtime.resume()
            self._mark("resumed")

    def _mark(self, label: str) -> None:
        if self.metrics is not None:
            self.metrics.mark(label)

    def mark(self, label: str) -> None:
        """A label on the run's timeline (the session marks each change it makes to the endpoint)."""
        self._mark(label)

    @property
    def sink_settings(self) -> SinkSettings | None:
        return self.sink.settings if self.sink is not None else None

    async def apply_sink_settings(self, settings: SinkSettings, label: str = "sink settings changed") -> None:
        """Live tuning: a new sink with `settings` takes the next batch; the accounting carries on.

        A URL other than the scenario's is where the new sink sends; the
        scenario's own stays the address the run started with (the embedded
        endpoint's, for url = "mock"). The sink being replaced finishes the
        batch it has and is closed when the run ends. Raises SinkError if the
        new sink cannot open (then nothing changes).
        """
        if self.sink is None or self.runtime is None or self.metrics is None:
            raise RuntimeError("the run has not started")
        if settings.url == self.scenario.sink.settings.url:
            started = self._sink_settings(self._endpoint.url if self._endpoint is not None else None)
            settings = dataclasses.replace(settings, url=started.url)
        ca = getattr(self._endpoint, "ca_pem_path", None)
        if ca and settings.enhanced and not settings.tls_ca_file:
            settings = dataclasses.replace(settings, tls_ca_file=ca)   # the embedded endpoint's own CA
        self._generation += 1
        new = HttpSink(settings, clock=self.clock, rng=random.Random(self.scenario.seed + self._generation),
                       observer=self.metrics.on_attempt, dead_letter=self._sink_dead_letter(settings))
        await new.open()
        self._retired.append(self.sink)
        self.sink = new
        self.runtime.set_sink(new)
        # Enhanced batch modes: a changed max_in_flight takes the next batches too (the sink alone would not).
        self.runtime.set_settings(dataclasses.replace(self.runtime.settings, max_in_flight=_batches_in_flight(settings)))
        if self.loss is not None:
            self.loss.use(settings)
        self._mark(label)

    def apply_runtime_settings(self, batch_length: int, poll_interval: float, label: str = "runtime settings changed") -> None:
        if self.runtime is None:
            raise RuntimeError("the run has not started")
        self.runtime.set_settings(dataclasses.replace(self.runtime.settings, batch_length=batch_length,
                                                      poll_interval=poll_interval))
        self._mark(label)

    def _sink_dead_letter(self, settings: SinkSettings):
        """The dead-letter hook a sink gets: with after_polling a failed send is final at once;
        with after_consuming the batch is polled again, so the runtime decides at the end."""
        if self._dead_letters is None:
            self._dead_letters = _dead_letter_writer(settings)
        if self.scenario.runtime.offset_commit is OffsetCommit.AFTER_CONSUMING:
            return None
        return self._dead_letters

    def _runtime_dead_letter(self, topic, meta, messages, reasons) -> None:
        if self._dead_letters is not None and self.scenario.runtime.offset_commit is OffsetCommit.AFTER_CONSUMING:
            self._dead_letters(topic, meta, messages, reasons)

    @property
    def source_error(self) -> InputError | None:
        """The bad line the source stopped at, if it did (exit 2)."""
        if self.external is not None:
            return self.external.source_error
        return self.runtime.source_error if self.runtime is not None else None

    def snapshot(self) -> Snapshot | None:
        if self.external is not None:
            return self.external.snapshot()
        m, rt = self.metrics, self.runtime
        if m is None or rt is None:
            return None
        c = rt.counts
        rate, request_rate = m.rates()
        return Snapshot(
            elapsed=self.clock.now() - self._start, total=self.total_hint, fed=c.fed, delivered=c.delivered,
            failed=c.failed, skipped=c.skipped, requests=m.requests, retries=m.retries, errors=m.errors,
            in_flight=c.in_flight, rate=rate, request_rate=request_rate, paused=rt.paused,
            status_codes=dict(m.status_codes), latency_request=m.request_latency.summary(),
            latency_delivery=m.delivery_latency.summary(), timeline=tuple(m.timeline.rows(last=60)),
            recent_requests=tuple(m.recent), lost=self.loss.lost if self.loss is not None else None,
            duplicates=self.loss.duplicates if self.loss is not None else None)

    async def interim_result(self) -> RunResult:
        """The report of the run so far, while it runs (the session's export).

        Counts are those of now: messages still without an outcome count as
        undelivered, the source's remaining messages are not counted, and the
        status is `interrupted` (with a note saying so).
        """
        if self.external is not None:
            return await self.external.interim_result()
        if self.runtime is None or self.metrics is None or self.sink is None:
            raise RuntimeError("the run has not started")
        counts = dataclasses.replace(self.runtime.counts)
        counts.undelivered = max(0, counts.fed - counts.delivered - counts.failed - counts.skipped)
        notes = [f"exported while the run was in progress, after {format_seconds(self.clock.now() - self._start)}; "
                 "messages without an outcome yet count as undelivered, and lost counts only messages "
                 "with a final outcome"]
        endpoint_stats = None
        if self.admin is not None and self._endpoint is not None:
            try:
                endpoint_stats = await self.admin.stats()
            except AdminError as exc:
                notes.append(f"could not read the endpoint's stats: {exc}")
        loss = (self.loss.lost, self.loss.duplicates) if self.loss is not None else None
        return self._result(counts.fed, counts, endpoint_stats, RunStatus.INTERRUPTED, self._started_at,
                            self.sink.settings, notes, loss)

    # -- the run --------------------------------------------------------------
    async def _start_endpoint(self) -> str:
        settings = self.scenario.endpoint
        secrets = self.scenario.sink.settings.secret_values  # hidden in the endpoint's journal too
        if self.endpoint_in_process:
            from sinkbench.endpoint.server import Endpoint
            endpoint = Endpoint(settings, secret_values=secrets)
            await endpoint.start()
        else:
            from sinkbench.endpoint.process import EndpointProcess
            endpoint = EndpointProcess(settings, secret_values=secrets)
            await asyncio.to_thread(endpoint.start)
        self._endpoint = endpoint
        self.admin = AdminClient(endpoint.url, verify=endpoint.ca_pem_path or True, on_change=self._endpoint_changed)
        return endpoint.url

    def _endpoint_changed(self, settings: dict[str, Any]) -> None:
        """The endpoint's settings changed through the admin client: a live break begins, or ends when they are
        the scenario's again (the session's breaks and "back to normal" come this way)."""
        if self.metrics is None:
            return    # the reset before the run
        t = self.clock.now() - self._start
        if settings == settings_to_dict(self.scenario.endpoint):
            self.metrics.lag.break_ended(t)
        else:
            self.metrics.lag.break_started(t)

    async def _stop_endpoint(self) -> None:
        if self.admin is not None:
            await self.admin.aclose()
        if self._endpoint is None:
            return
        if self.endpoint_in_process:
            await self._endpoint.stop()
        else:
            await asyncio.to_thread(self._endpoint.stop)
        self._endpoint = None

    def _sink_settings(self, endpoint_url: str | None) -> SinkSettings:
        s = self.scenario.sink.settings
        if endpoint_url is None:
            return s
        changes: dict[str, Any] = {"url": endpoint_url.rstrip("/") + "/ingest"}
        ca = getattr(self._endpoint, "ca_pem_path", None)
        if ca and s.enhanced and not s.tls_ca_file:
            changes["tls_ca_file"] = ca   # the embedded endpoint's own CA
        return dataclasses.replace(s, **changes)

    async def run(self, progress: Callable[[Snapshot], None] | None = None, progress_interval: float = 0.25) -> RunResult:
        sc = self.scenario
        started_at = self._started_at = datetime.now(UTC).isoformat(timespec="seconds")
        endpoint_url = None
        if sc.mock:
            try:
                endpoint_url = await self._start_endpoint()
                await self.admin.reset()  # type: ignore[union-attr]
            except PortInUse as exc:
                await self._stop_endpoint()
                # The scenario fixed the port: the user's input to change (exit 2), named by its key.
                raise InputError(f"port {exc.port} is already in use: choose another, or leave 'port' out for "
                                 "a free one", Where(file=sc.file, key="endpoint.port")) from None
            except (OSError, AdminError) as exc:
                await self._stop_endpoint()
                raise BenchError(f"the mock endpoint could not start: {exc}") from exc
        try:
            if sc.external is not None:
                assert endpoint_url is not None
                return await self._run_external(endpoint_url, started_at, progress, progress_interval)
            return await self._run(endpoint_url, started_at, progress, progress_interval)
        finally:
            await self._stop_endpoint()

    async def _run_external(self, endpoint_url: str, started_at: str, progress: Callable[[Snapshot], None] | None,
                            progress_interval: float) -> RunResult:
        """A program under test delivers to the endpoint (run/external.py); the endpoint's ledger judges it."""
        sc = self.scenario
        self._start = start = self.clock.now()
        metrics = self.metrics = RunMetrics(self.clock, start)
        metrics.lag.faults.extend((f.after or 0.0, f.until) for f in sc.endpoint.faults)
        source = build_source(sc, int(self.clock.wall() * 1_000_000))
        self.total_hint = len(source) if hasattr(source, "__len__") else None  # type: ignore[arg-type]
        assert self.admin is not None
        self.external = ExternalRun(sc, clock=self.clock, admin=self.admin, endpoint_url=endpoint_url,
                                    metrics=metrics, source=source, stop=self._stop, total_hint=self.total_hint,
                                    started_at=started_at, on_output=self.on_sink_output,
                                    log_requests=self.log_requests)
        ticker = asyncio.create_task(self._tick(progress, progress_interval)) if progress else None
        try:
            return await self.external.run()
        finally:
            if ticker is not None:
                ticker.cancel()

    async def _run(self, endpoint_url: str | None, started_at: str, progress: Callable[[Snapshot], None] | None,
                   progress_interval: float) -> RunResult:
        sc = self.scenario
        clock = self.clock
        self._start = start = clock.now()
        settings = self._sink_settings(endpoint_url)
        metrics = self.metrics = RunMetrics(clock, start)
        if sc.mock:   # the fault windows drain is measured from, on the endpoint's clock (reset just now)
            metrics.lag.faults.extend((f.after or 0.0, f.until) for f in sc.endpoint.faults)
        loss = self.loss = LossAccount(settings, sc.endpoint) if self.admin is not None else None
        source = build_source(sc, int(clock.wall() * 1_000_000))
        self.total_hint = len(source) if hasattr(source, "__len__") else None  # type: ignore[arg-type]
        sink = self.sink = HttpSink(settings, clock=clock, rng=random.Random(sc.seed), observer=metrics.on_attempt,
                                    dead_letter=self._sink_dead_letter(settings))
        runtime_settings = dataclasses.replace(sc.runtime, max_in_flight=_batches_in_flight(settings))
        runtime = self.runtime = Runtime(source, sink, runtime_settings, clock, observer=metrics,
                                         on_final_failure=self._runtime_dead_letter, account=loss)
        notes: list[str] = []
        status = RunStatus.COMPLETED
        ticker = asyncio.create_task(self._tick(progress, progress_interval)) if progress else None
        watcher = asyncio.create_task(self._watch_ledger(loss)) if loss is not None else None
        try:
            try:
                await sink.open()
                opened = True
            except SinkError as exc:
                opened = False
                status = RunStatus.SINK_NOT_OPENED
                notes.append(f"the sink did not open, so the runtime started no consumer: {exc}")
            if opened:
                status = await self._drive(runtime, sc.timeout)
            else:
                # No consumer ever starts: every message the source holds stays undelivered.
                runtime.counts.fed = runtime.counts.undelivered = sum(1 for _ in source)
        finally:
            for task in (ticker, watcher):
                if task is not None:
                    task.cancel()
            counts = runtime.finish()
            for each in (*self._retired, self.sink):
                await each.close()
            if self._dead_letters is not None:
                self._dead_letters.close()
        if status is RunStatus.TIMEOUT:
            notes.append(f"the run hit its timeout of {format_seconds(sc.timeout)}; "
                         f"{counts.undelivered} message(s) had no outcome and count as undelivered")
        if status is RunStatus.INTERRUPTED:
            notes.append("the run was interrupted; messages without an outcome count as undelivered")
        if runtime.source_error is not None:
            notes.append(f"the source stopped at a bad line: {runtime.source_error}")
        total = counts.fed
        if self.total_hint is not None and status is not RunStatus.COMPLETED and counts.fed < self.total_hint:
            counts.undelivered += self.total_hint - counts.fed
            total = self.total_hint
        endpoint_stats = None
        figures = None
        if self.admin is not None:
            try:
                endpoint_stats = await self.admin.stats()
                if loss is not None:
                    question = loss.full_question()
                    figures = loss.settle(question, await self.admin.ledger(question.addresses, question.identities),
                                          total)
            except AdminError as exc:
                notes.append(f"could not read the endpoint's stats or ledger: {exc}")
        return self._result(total, counts, endpoint_stats, status, started_at, self.sink.settings, notes, figures)

    async def _drive(self, runtime: Runtime, timeout: float) -> RunStatus:
        task = asyncio.create_task(runtime.run())
        stop = asyncio.create_task(self._stop.wait())
        try:
            done, _ = await asyncio.wait({task, stop}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            stop.cancel()
            self._interrupted = True
            return RunStatus.INTERRUPTED
        stop.cancel()
        if task in done:
            task.result()
            return RunStatus.COMPLETED
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        return RunStatus.INTERRUPTED if self._interrupted else RunStatus.TIMEOUT

    async def _watch_ledger(self, loss: LossAccount) -> None:
        """Keeps the live lost and duplicates up to date: asks the ledger about the messages settled since."""
        while True:
            await asyncio.sleep(LEDGER_INTERVAL)
            question = loss.question()
            if not (question.addresses or question.identities):
                continue
            try:
                answer = await self.admin.ledger(question.addresses, question.identities)  # type: ignore[union-attr]
            except AdminError:
                loss.forget(question)   # asked again next time
                continue
            loss.learn(question, answer)

    async def _tick(self, progress: Callable[[Snapshot], None], interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            snap = self.snapshot()
            if snap is not None:
                progress(snap)

    def _result(self, total: int, counts: RuntimeCounts, endpoint: dict[str, Any] | None, status: RunStatus,
                started_at: str, settings: SinkSettings, notes: list[str],
                loss: tuple[int, int] | None) -> RunResult:
        sc = self.scenario
        m = self.metrics
        assert m is not None
        duration = self.clock.now() - self._start
        lost, duplicates = loss if loss is not None else (None, None)
        totals: dict[str, int | None] = {
            "total": total, "delivered": counts.delivered, "failed": counts.failed, "skipped": counts.skipped,
            "undelivered": counts.undelivered, "lost": lost, "duplicates": duplicates, "requests": m.requests,
            "retries": m.retries, "bytes": m.bytes, "message_attempts": counts.handed,
        }
        drained = m.lag.drain(counts.undelivered) if sc.mock else Drain(None)
        drain = drained.seconds
        if drained.note:
            notes = [*notes, drained.note]
        status_codes = dict(sorted(m.status_codes.items()))
        view = MetricsView({**totals}, {"duration": duration, "drain": drain}, m, status_codes)
        unknown = {} if sc.mock else {"lost": "the endpoint is a real URL", "duplicates": "the endpoint is a real URL"}
        expectations = judge(sc.expectations, view, unknown)
        passed = all(e.passed for e in expectations) and status not in (RunStatus.INTERRUPTED, RunStatus.TIMEOUT)
        # Per message-attempt (a re-polled message counts again each pass), summed over the sinks live
        # tuning replaced; skipped messages by category come from the runtime, each message once.
        errors: dict[str, int] = {}
        skipped_attempts: dict[str, int] = {}
        for each in (*self._retired, self.sink):
            if each is None:
                continue
            for reason, n in each.stats.failure_reasons.items():
                errors[reason] = errors.get(reason, 0) + n
            for category, n in each.stats.skip_reasons.items():
                skipped_attempts[category] = skipped_attempts.get(category, 0) + n
        return RunResult(
            scenario=sc.name, description=sc.description, file=sc.file, status=status, passed=passed,
            started_at=started_at, duration=duration, drain=drain,
            settings={"sink": redacted_settings(settings), "runtime": _plain(sc.runtime),
                      "source": {"kind": sc.source.kind, **{k: v for k, v in sc.source.options.items() if k != "headers"}},
                      "endpoint": settings_to_dict(sc.endpoint) if sc.mock else None, "seed": sc.seed,
                      "timeout_s": sc.timeout},
            totals=totals,
            latency={"request": m.request_latency.summary(), "delivery": m.delivery_latency.summary()},
            status_codes=status_codes, errors=errors, timeline=m.timeline.rows(), expectations=expectations,
            endpoint=endpoint, warnings=list(sc.warnings), notes=notes,
            skipped=dict(counts.skipped_by_category), skipped_attempts=skipped_attempts,
            series=m.series.rows(until=self.clock.now()),
            distributions={"request": m.request_latency.buckets(), "delivery": m.delivery_latency.buckets()})


def _plain(obj: Any) -> dict[str, Any]:
    return {f.name: (getattr(obj, f.name).value if hasattr(getattr(obj, f.name), "value") else getattr(obj, f.name))
            for f in dataclasses.fields(obj)}


def _dead_letter_writer(settings: SinkSettings):
    if not (settings.enhanced and settings.dead_letter_path):
        return None
    from sinkbench.run.deadletter import DeadLetterFile
    return DeadLetterFile(settings.dead_letter_path)


def _batches_in_flight(settings: SinkSettings) -> int:
    """Batches per topic the runtime hands the sink at once: per-message modes keep their window inside
    the sink (one batch at a time), and only the enhanced profile has more than one."""
    return 1 if settings.batch_mode.per_message else settings.effective_max_in_flight
