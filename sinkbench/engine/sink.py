"""The HTTP sink: open, consume, close — the Iggy HTTP sink's behaviour, rule by rule.

`profile = "iggy"` reproduces the connector; `enhanced` adds what docs/sink.md's enhanced
table lists. Time and randomness come from the clock and the random source
passed in, so retry schedules are reproducible.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import unquote, urlsplit, urlunsplit

from sinkbench.clock import Clock, RealClock
from sinkbench.config.settings import (
    MAX_CONSECUTIVE_FAILURES,
    BatchMode,
    SinkSettings,
    open_problems,
)
from sinkbench.engine.accounting import (
    Attempt,
    AttemptObserver,
    BatchResult,
    Outcome,
    SinkStats,
    attach_partial_result,
)
from sinkbench.engine.encode import EncodeError, Encoder
from sinkbench.engine.retry import RetryPolicy, Verdict, parse_retry_after
from sinkbench.engine.transport import Reply, Transport, TransportError
from sinkbench.model import BatchMetadata, Message, TopicMetadata
from sinkbench.redact import redact_text, redact_url

log = logging.getLogger("sinkbench.engine")

ABANDONED = f"abandoned after {MAX_CONSECUTIVE_FAILURES} consecutive failures"

DeadLetter = Callable[[TopicMetadata, BatchMetadata, Sequence[Message], Sequence[str]], None]
TransportFactory = Callable[[SinkSettings], Transport]


class SinkError(Exception):
    """An error `open()` or `consume()` returns. `kind`: init, connection, http, serialization."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def request_target(settings: SinkSettings) -> tuple[str, dict[str, str]]:
    """The URL to send to and the headers of every request.

    Credentials in the URL become a Basic Authorization header (as reqwest
    does) unless one is configured, and leave the URL itself.
    """
    headers = settings.request_headers()
    parts = urlsplit(settings.url)
    if parts.username is None and parts.password is None:
        return settings.url, headers
    host = parts.netloc.rsplit("@", 1)[1]
    if not any(k.lower() == "authorization" for k in headers):
        user = unquote(parts.username or "")
        password = unquote(parts.password or "")
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)), headers


class _SendResult:
    __slots__ = ("ok", "reason", "ack")

    def __init__(self, ok: bool, reason: str | None, ack: float | None) -> None:
        self.ok = ok
        self.reason = reason
        self.ack = ack


class HttpSink:
    def __init__(self, settings: SinkSettings, *, clock: Clock | None = None, rng: random.Random | None = None,
                 observer: AttemptObserver | None = None, transport_factory: TransportFactory | None = None,
                 dead_letter: DeadLetter | None = None) -> None:
        self.settings = settings
        self.clock = clock or RealClock()
        self.policy = RetryPolicy(settings, rng or random.Random(0))
        self.observer = observer
        self.encoder = Encoder(settings)
        self.stats = SinkStats()
        self.safe_url = redact_url(settings.url)
        self._transport_factory = transport_factory or Transport
        self._transport: Transport | None = None
        self._headers: dict[str, str] = {}
        self._body_headers: dict[str, str] = {}     # with the batch mode's Content-Type: built once, sent each time
        self._url = settings.url
        self._dead_letter = dead_letter
        self._secrets = settings.secret_values

    @property
    def is_open(self) -> bool:
        return self._transport is not None

    async def open(self) -> None:
        problems = open_problems(self.settings)
        if problems:
            raise SinkError("init", problems[0][1])
        self._url, self._headers = request_target(self.settings)
        self._body_headers = {**self._headers, "Content-Type": self.settings.batch_mode.content_type}
        self._transport = self._transport_factory(self.settings)
        if self.settings.health_check_enabled:
            await self._health_check()
        log.info("HTTP sink opened: url=%s method=%s batch_mode=%s timeout=%gs max_retries=%d", self.safe_url,
                 self.settings.method, self.settings.batch_mode.display_name, self.settings.timeout,
                 self.settings.max_retries)

    async def close(self) -> None:
        if self._transport is None:
            return
        await self._transport.aclose()
        self._transport = None
        s = self.stats
        log.info("HTTP sink closed. Stats: %d send attempts, %d messages delivered, %d errors, last success epoch: %d.",
                 s.send_attempts, s.delivered, s.errors, s.last_success_timestamp)

    async def _health_check(self) -> None:
        method = str(self.settings.health_check_method)
        result, status = await self._send(method, None, 0, health=True)
        if result.ok:
            log.info("health check passed (status %s)", status)
            return
        await self.close()
        if status is None:
            error = SinkError("connection", f"Health check failed for URL '{self.safe_url}': {result.reason}")
        else:
            codes = ", ".join(str(c) for c in sorted(self.settings.success_status_codes))
            error = SinkError("connection", f"Health check returned status {status} (not in success_status_codes "
                                            f"{{{codes}}}) for URL '{self.safe_url}'")
        log.error("%s", error)
        raise error

    async def _send(self, method: str, body: bytes | None, n_messages: int,
                    health: bool = False, index: int = -1) -> tuple[_SendResult, int | None]:
        """One body through the retry rules (docs/sink.md). Returns the result and the last status seen."""
        assert self._transport is not None
        headers = self._headers if health else self._body_headers
        policy = self.policy
        stats = self.stats
        clock = self.clock
        size = len(body) if body else 0
        if not health:
            stats.send_attempts += 1
        last_status: int | None = None
        reason = ""
        for attempt in range(policy.max_retries + 1):
            if attempt:
                stats.retries += 1
            stats.requests += 1
            stats.bytes += size
            started = clock.now()
            reply: Reply | None = None
            error: TransportError | None = None
            try:
                reply = await self._transport.attempt(method, self._url, headers, body)
            except TransportError as exc:
                error = exc
            except asyncio.CancelledError:
                # The run stopped while this request was out: it was sent, so it counts.
                if self.observer is not None:
                    self.observer(Attempt(started, clock.now() - started, method, None, "cancelled", attempt,
                                          n_messages, size, health, None, index))
                raise
            ended = clock.now()
            if reply is not None:
                last_status = reply.status
                stats.by_status[reply.status] += 1
            else:
                stats.transport_errors[error.kind] += 1  # type: ignore[union-attr]
            if self.observer is not None:
                self.observer(Attempt(started, ended - started, method, reply.status if reply else None,
                                      error.kind if error else None, attempt, n_messages, size, health,
                                      reply.retry_after if reply else None, index))
            retry_after: float | None = None
            if reply is not None:
                verdict = policy.classify(reply.status)
                if verdict is Verdict.SUCCESS:
                    if self.settings.verbose_logging:
                        log.debug("success (status %d)", reply.status)
                    return _SendResult(True, None, ended), last_status
                if reply.retry_after is not None:
                    log.warning("Server returned %d with Retry-After: %s — %s", reply.status, reply.retry_after,
                                "honoured (capped at max_retry_delay)" if policy.honor_retry_after and reply.status in (429, 503)
                                else "middleware uses computed backoff which may be insufficient")
                    if reply.status in (429, 503):
                        retry_after = parse_retry_after(reply.retry_after, clock.wall())
                reason = f"status {reply.status}"
                if verdict is Verdict.FAIL:
                    excerpt = redact_text(reply.excerpt.decode("utf-8", "replace"), self._secrets)
                    log.error("request failed (status %d). Response: %s", reply.status, excerpt)
                    break
            else:
                reason = error.kind  # type: ignore[union-attr]
                log.debug("attempt %d to %s failed: %s", attempt, self.safe_url, redact_text(str(error), self._secrets))
            if attempt < policy.max_retries:
                await clock.sleep(policy.delay(attempt, retry_after))
        return _SendResult(False, reason, None), last_status

    def _delivered(self, n: int) -> None:
        self.stats.delivered += n
        self.stats.last_success_timestamp = int(self.clock.wall())

    async def consume(self, topic: TopicMetadata, meta: BatchMetadata, messages: Sequence[Message]) -> BatchResult:
        """Sends one batch; every message ends delivered, failed or skipped."""
        if self._transport is None:
            raise SinkError("init", "HTTP client not initialized — was open() called?")
        n = len(messages)
        result = BatchResult([Outcome.PENDING] * n, [None] * n)
        if n == 0:
            return result
        if self.settings.verbose_logging:
            log.debug("received %d messages (%s, %s, %s)", n, meta.schema, topic.stream, topic.topic)
        try:
            if self.settings.batch_mode.per_message:
                await self._consume_per_message(topic, meta, messages, result)
            else:
                await self._consume_batch(topic, meta, messages, result)
        except asyncio.CancelledError as exc:
            # Cut off (the run's timeout, Ctrl-C) part-way through the batch: the outcomes decided so far
            # stand — a message acknowledged before the stop was delivered, not "without an outcome" — so
            # they go to the runtime on the exception, and the failures so far to the dead-letter file.
            attach_partial_result(exc, result)
            self._write_dead_letters(topic, meta, messages, result)
            raise
        self._write_dead_letters(topic, meta, messages, result)
        if result.error:
            log.error("consume() returning error (runtime ignores FFI status code): %s", result.error)
        return result

    def _write_dead_letters(self, topic: TopicMetadata, meta: BatchMetadata, messages: Sequence[Message],
                            result: BatchResult) -> None:
        if self._dead_letter is None:
            return
        # Skipped messages (oversize, unencodable) never reach the endpoint either: they are dead letters too.
        failed = [i for i, o in enumerate(result.outcomes) if o is Outcome.FAILED or o is Outcome.SKIPPED]
        if failed:
            self._dead_letter(topic, meta, [messages[i] for i in failed], [result.reasons.get(i, "") for i in failed])

    def _skip(self, result: BatchResult, i: int, category: str, reason: str) -> None:
        result.outcomes[i] = Outcome.SKIPPED
        result.reasons[i] = reason
        result.skip_categories[i] = category
        result.error = reason
        self.stats.skipped += 1
        self.stats.skip_reasons[category] += 1

    def _fail(self, result: BatchResult, indices: Sequence[int], reason: str) -> None:
        for i in indices:
            result.outcomes[i] = Outcome.FAILED
            result.reasons[i] = reason
        result.error = reason
        self.stats.failed += len(indices)
        self.stats.failure_reasons[reason] += len(indices)

    async def _consume_per_message(self, topic: TopicMetadata, meta: BatchMetadata, messages: Sequence[Message],
                                   result: BatchResult) -> None:
        """individual and raw: one request per message, in order (a window of them in enhanced).

        Outcomes are judged in message order, so with one in flight this is
        exactly Iggy's loop: 3 consecutive send failures abandon the rest.
        """
        limit = self.settings.max_payload_size_bytes
        method = str(self.settings.method)
        window = self.settings.effective_max_in_flight
        pending: deque[tuple[int, Awaitable[tuple[_SendResult, int | None]]]] = deque()
        consecutive = 0
        aborted = False

        def judge(i: int, sent: _SendResult) -> None:
            nonlocal consecutive, aborted
            if sent.ok:
                result.outcomes[i] = Outcome.DELIVERED
                result.ack_times[i] = sent.ack
                self._delivered(1)
                consecutive = 0
            else:
                self._fail(result, [i], sent.reason or "send failed")
                consecutive += 1
                if consecutive >= MAX_CONSECUTIVE_FAILURES:
                    aborted = True

        async def judge_next() -> None:
            j, waiting = pending.popleft()
            try:
                sent = (await waiting)[0]
            except BaseException:
                # Cancelled (the run hit its timeout or was interrupted): the whole window's requests
                # belong to this consume(). Left running they would outlive the run — reaching the
                # endpoint after its stats were read, then failing on the closed transport with "Task
                # exception was never retrieved". One already answered is judged: its outcome is
                # decided, and consume() hands it on.
                window_left = [(j, waiting), *pending]
                for k, other in window_left:
                    if other.done() and not other.cancelled() and other.exception() is None:
                        judge(k, other.result()[0])
                    else:
                        other.cancel()
                await asyncio.gather(*(other for _, other in window_left), return_exceptions=True)
                raise
            judge(j, sent)

        next_index = 0
        for i, msg in enumerate(messages):
            while pending and (len(pending) >= window or aborted):
                await judge_next()
            if aborted:
                break
            next_index = i + 1
            try:
                body = self.encoder.message_body(msg, topic, meta)
            except EncodeError as exc:
                self._skip(result, i, "unencodable", str(exc))
                continue
            if limit and len(body) > limit:
                self._skip(result, i, "oversize", f"payload at offset {msg.offset} exceeds max size ({len(body)} > {limit} bytes)")
                continue
            if self.settings.verbose_logging:
                log.debug("sending %s %s (%d bytes)", method, self.safe_url, len(body))
            result.sent.add(i)
            if window == 1:
                judge(i, (await self._send(method, body, 1, index=i))[0])
            else:
                pending.append((i, asyncio.ensure_future(self._send(method, body, 1, index=i))))
        while pending:
            await judge_next()
        if aborted:
            rest = [k for k in range(next_index, len(messages)) if result.outcomes[k] is Outcome.PENDING]
            if rest:
                log.error("aborting %s delivery after %d consecutive HTTP failures (%d remaining messages skipped)",
                          self.settings.batch_mode.display_name, MAX_CONSECUTIVE_FAILURES, len(rest))
                self._fail(result, rest, ABANDONED)

    async def _consume_batch(self, topic: TopicMetadata, meta: BatchMetadata, messages: Sequence[Message],
                             result: BatchResult) -> None:
        """ndjson and json_array: one request for the batch, all or nothing."""
        limit = self.settings.max_payload_size_bytes
        batch = list(messages)
        body = self.encoder.batch_body(batch, topic, meta) if batch else None
        if body is not None and not (limit and len(body) > limit):
            await self._send_chunk(body, range(len(batch)), result)     # every message encoded, fits
            return
        encoded, kept, skipped = self.encoder.encode_values(batch, topic, meta)
        for i, reason in skipped:
            self._skip(result, i, "unencodable", reason)
        name = self.settings.batch_mode.display_name
        if not kept:
            result.error = f"All messages in {name} batch failed serialization"
            return
        body = self.encoder.join(encoded)
        if limit and len(body) > limit:
            if self.settings.enhanced and self.settings.split_oversize_batches:
                await self._send_split(encoded, kept, messages, result, limit)
                return
            reason = f"{name} batch exceeds max payload size ({len(body)} > {limit} bytes)"
            log.error(reason)
            for i in kept:
                self._skip(result, i, "oversize", reason)
            return
        await self._send_chunk(body, kept, result)

    async def _send_chunk(self, body: bytes, indices: Sequence[int], result: BatchResult) -> None:
        if self.settings.verbose_logging:
            log.debug("sending %s %s (%d bytes)", self.settings.method, self.safe_url, len(body))
        result.sent.update(indices)
        sent, _ = await self._send(str(self.settings.method), body, len(indices), index=indices[0])
        if sent.ok:
            for i in indices:
                result.outcomes[i] = Outcome.DELIVERED
                result.ack_times[i] = sent.ack
            self._delivered(len(indices))
        else:
            self._fail(result, indices, sent.reason or "send failed")

    async def _send_split(self, encoded: list[bytes], kept: list[int], messages: Sequence[Message],
                          result: BatchResult, limit: int) -> None:
        """enhanced `split_oversize_batches`: pack messages greedily into bodies under the limit."""
        ndjson = self.settings.batch_mode is BatchMode.NDJSON
        empty = 0 if ndjson else 2          # json_array's brackets
        chunk: list[int] = []
        chunk_values: list[bytes] = []
        size = empty
        for value, i in zip(encoded, kept):
            alone = empty + len(value) + (1 if ndjson else 0)
            if alone > limit:
                self._skip(result, i, "oversize", f"message at offset {messages[i].offset} alone exceeds max size "
                                                  f"({alone} > {limit} bytes)")
                continue
            added = len(value) + (1 if ndjson or chunk else 0)
            if chunk and size + added > limit:
                await self._send_chunk(self.encoder.join(chunk_values), chunk, result)
                chunk, chunk_values, size = [], [], empty
                added = len(value) + (1 if ndjson else 0)
            chunk.append(i)
            chunk_values.append(value)
            size += added
        if chunk:
            await self._send_chunk(self.encoder.join(chunk_values), chunk, result)
