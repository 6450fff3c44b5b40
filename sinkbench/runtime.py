"""The part of the Iggy connectors runtime that shapes delivery (docs/scenario.md, [runtime]).

One consumer per topic polls up to `batch_length` messages of one partition
every `poll_interval` (a batch also closes at the end of available data) and
awaits the sink's `consume()` before polling again. Offsets are committed
before the sink runs (`after_polling`, at-most-once, Iggy today) or only
after it succeeded (`after_consuming`, at-least-once: a failed batch is
polled again, delivered messages in it are sent twice).

Every message the source hands over ends in one final state; `RuntimeCounts`
keeps them without holding messages (a run of millions stays small).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from sinkbench.clock import Clock
from sinkbench.engine.accounting import BatchResult, Outcome, partial_result
from sinkbench.errors import InputError
from sinkbench.model import BatchMetadata, Message, TopicMetadata
from sinkbench.sources.base import SourceMessage, SourceTopic

# Which messages of the batch being consumed were carried by a request before (a
# re-poll after a failure, with after_consuming), or None. Per task, not global:
# each consumer runs in its own asyncio task, and the sink reports its requests
# from inside consume(), in that task's context.
REDELIVERY: ContextVar[tuple[bool, ...] | None] = ContextVar("sinkbench_redelivery", default=None)


class OffsetCommit(StrEnum):
    AFTER_POLLING = "after_polling"
    AFTER_CONSUMING = "after_consuming"


@dataclass(frozen=True)
class RuntimeSettings:
    batch_length: int = 1000
    poll_interval: float = 0.005
    offset_commit: OffsetCommit = OffsetCommit.AFTER_POLLING
    max_in_flight: int = 1          # batches per topic at once (enhanced, batch modes, after_polling only)


class Sink(Protocol):
    async def consume(self, topic, meta: BatchMetadata, messages: list[Message]) -> BatchResult: ...


class RuntimeObserver(Protocol):
    def batch_started(self, n: int) -> None: ...
    def batch_finished(self, result: BatchResult, available: list[float]) -> None: ...

    def acknowledged(self, now: float, lag: int) -> None:
        """A batch got its final outcomes. `lag`: messages that were available when it was polled and are
        still not acknowledged now (the consumer lag, as `drain` measures it)."""
        ...


class MessageAccount(Protocol):
    """Who follows each message from the source to its final outcome (the bench's loss accounting)."""

    def fed(self, topic: SourceTopic, messages: list[Message]) -> None:
        """The source handed these messages over (in order; a block at a time when the source offers blocks)."""
        ...

    def settled(self, topic: SourceTopic, messages: list[Message]) -> None:
        """These messages have their final outcome (delivered, failed, skipped or, at the end, undelivered)."""
        ...


# Messages the feed hands over between two turns of the event loop. Small enough that a request being
# written or an answer arriving waits at most a fraction of a millisecond behind the feed (a body of a
# thousand messages takes several writes to a loopback socket, each when the loop comes round); large
# enough that the turns cost little per message.
FEED_BLOCK = 128

# An entry is [message, available_at, last_outcome, sent_before, skip_category]: a plain list
# because the runtime makes one per message and a list is the cheapest mutable record.
_MSG, _AVAILABLE, _OUTCOME, _SENT, _SKIP = 0, 1, 2, 3, 4
_Entry = list


@dataclass
class RuntimeCounts:
    fed: int = 0            # messages the source handed over
    handed: int = 0         # messages handed to consume(), re-polls included
    delivered: int = 0
    failed: int = 0
    skipped: int = 0
    undelivered: int = 0    # no outcome when the run stopped
    in_flight: int = 0      # messages inside consume() right now
    batches: int = 0
    last_delivery: float | None = None
    # Skipped messages by the skip's category ("oversize"), each message once: the sink counts
    # a skip per pass, and with after_consuming a batch holding a skip is polled again and again.
    skipped_by_category: Counter[str] = field(default_factory=Counter)

    def add_final(self, outcome: Outcome, n: int = 1, category: str | None = None) -> None:
        if outcome is Outcome.DELIVERED:
            self.delivered += n
        elif outcome is Outcome.FAILED:
            self.failed += n
        elif outcome is Outcome.SKIPPED:
            self.skipped += n
            self.skipped_by_category[category or "skipped"] += n
        else:
            self.undelivered += n


@dataclass
class _Consumer:
    topic: SourceTopic
    partitions: dict[int, deque[_Entry]] = field(default_factory=dict)
    order: deque[int] = field(default_factory=deque)   # round robin over partitions
    buffered: int = 0
    polled: dict[int, int] = field(default_factory=dict)   # after_consuming: entries of a partition being consumed
    in_flight: list[list[_Entry]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    # Set when a batch ends or max_in_flight changes: the consume loop waiting for a free slot looks again.
    slot: asyncio.Event = field(default_factory=asyncio.Event)

    def append(self, entry: _Entry) -> None:
        self._queue(entry[_MSG].partition).append(entry)
        self.buffered += 1

    def extend(self, entries: list[_Entry]) -> None:
        """Entries in source order; a block of one partition (the usual case) goes in at once."""
        first = entries[0][_MSG].partition
        if entries[-1][_MSG].partition == first and all(e[_MSG].partition == first for e in entries):
            self._queue(first).extend(entries)
        else:
            for e in entries:
                self._queue(e[_MSG].partition).append(e)
        self.buffered += len(entries)

    def _queue(self, partition: int) -> deque[_Entry]:
        q = self.partitions.get(partition)
        if q is None:
            q = self.partitions[partition] = deque()
            self.order.append(partition)
        return q


class Runtime:
    def __init__(self, source: Iterable[SourceMessage], sink: Sink, settings: RuntimeSettings, clock: Clock,
                 observer: RuntimeObserver | None = None, buffer_per_topic: int | None = None,
                 on_final_failure: Callable[[TopicMetadata, BatchMetadata, list[Message], list[str]], None]
                 | None = None, account: MessageAccount | None = None) -> None:
        self.source = source
        self.sink = sink
        self.settings = settings
        self.clock = clock
        self.observer = observer
        # after_consuming: a failed batch is polled again, so only the runtime knows, when the
        # run ends, which messages finally failed (the dead-letter file wants exactly those).
        self.on_final_failure = on_final_failure
        self.account = account
        self.counts = RuntimeCounts()
        self.source_error: InputError | None = None
        self._cap = buffer_per_topic or max(4 * settings.batch_length, 10_000)
        self._consumers: dict[tuple[str, str], _Consumer] = {}
        self._space = asyncio.Event()
        self._feeding_done = False
        # A ready source's blocks not yet handed over (see `_feed_blocks`); None once exhausted or for other sources.
        self._ready: Iterator[tuple[SourceTopic, list[Message]]] | None = None
        self._stopping = False
        self._start = 0.0
        self._paused = asyncio.Event()
        self._paused.set()

    # -- control -------------------------------------------------------------
    def stop(self) -> None:
        """Stop polling; batches inside consume() finish."""
        self._stopping = True
        self._paused.set()

    def pause(self) -> None:
        self._paused.clear()

    def resume(self) -> None:
        self._paused.set()

    @property
    def paused(self) -> bool:
        return not self._paused.is_set()

    def set_sink(self, sink: Sink) -> None:
        """Swap the sink between batches (live tuning); the accounting carries on."""
        self.sink = sink

    def set_settings(self, settings: RuntimeSettings) -> None:
        """New batch length, poll interval or max_in_flight, from the next poll on (the commit mode stays).

        A higher max_in_flight lets more batches start at once; a lower one starts none until the batches
        in flight are fewer than it (they finish as they are).
        """
        self.settings = dataclasses.replace(settings, offset_commit=self.settings.offset_commit)
        for c in self._consumers.values():
            c.slot.set()

    def pending(self) -> int:
        return sum(c.buffered for c in self._consumers.values()) + self.counts.in_flight

    # -- running -------------------------------------------------------------
    async def run(self) -> RuntimeCounts:
        """Feeds, polls and consumes until the source is exhausted and every message has an outcome.

        Cancelling the task running this (timeout, Ctrl-C) ends it at once;
        `finish()` then counts what had no outcome as undelivered.
        """
        self._start = self.clock.now()
        try:
            await self._feed()
        finally:
            self._feeding_done = True
            self._space.set()
        consumers = [c.task for c in list(self._consumers.values()) if c.task is not None]
        if consumers:
            await asyncio.gather(*consumers)
        return self.counts

    def finish(self) -> RuntimeCounts:
        """Counts every message still without a final outcome (call once, after run() ended or was cancelled)."""
        for c in self._consumers.values():
            if c.task is not None and not c.task.done():
                c.task.cancel()
            seen: set[int] = set()
            failed: list[Message] = []      # finally failed or skipped: the dead-letter file's, with why
            reasons: list[str] = []
            for entries in (*c.in_flight, *c.partitions.values()):
                for e in entries:
                    if id(e) not in seen:
                        seen.add(id(e))
                        self.counts.add_final(e[_OUTCOME], category=e[_SKIP])
                        if e[_OUTCOME] is Outcome.FAILED:
                            failed.append(e[_MSG])
                            reasons.append("failed when the run ended")
                        elif e[_OUTCOME] is Outcome.SKIPPED:
                            failed.append(e[_MSG])
                            reasons.append(f"skipped ({e[_SKIP] or 'the sink could not send it'})")
            if failed and self.on_final_failure is not None:
                for partition in sorted({m.partition for m in failed}):
                    part = [i for i, m in enumerate(failed) if m.partition == partition]
                    self.on_final_failure(c.topic.metadata,
                                          BatchMetadata(partition, failed[part[-1]].offset, c.topic.schema),
                                          [failed[i] for i in part], [reasons[i] for i in part])
            if self.account is not None:
                # Each message once: with after_consuming a batch in flight is still in its partition too.
                left = {id(e): e[_MSG] for entries in (*c.in_flight, *c.partitions.values()) for e in entries}
                if left:
                    self.account.settled(c.topic, list(left.values()))
            c.partitions.clear()
            c.in_flight.clear()
            c.buffered = 0
        self.counts.in_flight = 0
        return self.counts

    async def _feed(self) -> None:
        if hasattr(self.source, "__aiter__"):
            # A live source (Iggy) is asynchronous: it awaits its server between polls.
            await self._feed_async()
            return
        blocks = getattr(self.source, "ready_blocks", None)
        self._ready = blocks(FEED_BLOCK) if blocks is not None else None
        if self._ready is not None:
            await self._feed_blocks()
            return
        clock = self.clock
        counts = self.counts
        account = self.account
        pending = Outcome.PENDING
        last_topic: SourceTopic | None = None
        consumer: _Consumer | None = None
        now = clock.now()
        n = 0
        try:
            for sm in self.source:
                if self._stopping:
                    return
                if sm.due > 0:
                    wait = self._start + sm.due - clock.now()
                    if wait > 0:
                        await clock.sleep(wait)
                    now = clock.now()
                if sm.topic is not last_topic:
                    consumer = self._consumer(sm.topic)
                    last_topic = sm.topic
                assert consumer is not None
                if consumer.buffered >= self._cap:
                    while consumer.buffered >= self._cap and not self._stopping:
                        self._space.clear()
                        await self._space.wait()
                    now = clock.now()
                consumer.append([sm.message, now, pending, False, None])
                counts.fed += 1
                if account is not None:
                    account.fed(sm.topic, [sm.message])
                n += 1
                if n % FEED_BLOCK == 0:
                    # Let consumers run; messages read without yielding became available together.
                    await asyncio.sleep(0)
                    now = clock.now()
        except InputError as exc:
            # A bad line stops the feed; what was read is still delivered and accounted for.
            self.source_error = exc

    async def _feed_blocks(self) -> None:
        """`_feed` for a source whose messages are all available at once, handed over in blocks of one topic:
        the same entries in the same order per topic, made a block at a time (the synthetic source at full
        speed). A block's messages become available together, as messages read between two turns of the
        loop do above. A poll that finds fewer than `batch_length` takes more blocks at once (`_top_up`)."""
        consumer: _Consumer | None = None
        while self._ready is not None and not self._stopping:
            if consumer is not None:
                while consumer.buffered >= self._cap and not self._stopping:
                    self._space.clear()
                    await self._space.wait()
            consumer = self._take_block()
            if consumer is None:
                return
            await asyncio.sleep(0)

    def _take_block(self) -> _Consumer | None:
        """The ready source's next block into its topic's consumer (None: the source is exhausted). Pulled and
        queued with no await in between, so the feed and a poll's top-up keep each topic's order."""
        block = next(self._ready, None) if self._ready is not None else None
        if block is None:
            self._ready = None
            return None
        topic, messages = block
        consumer = self._consumer(topic)
        now = self.clock.now()
        pending = Outcome.PENDING
        consumer.extend([[m, now, pending, False, None] for m in messages])
        self.counts.fed += len(messages)
        if self.account is not None:
            self.account.fed(topic, messages)
        return consumer

    def _top_up(self, c: _Consumer) -> None:
        """With every message available at once (a ready source), a poll finds a full batch, as a poll of an
        Iggy topic holding them all does: what the feed has not handed over yet is taken now. Otherwise the
        batches would be as small as what the feed made while the last one was sent, and the run would
        measure how fast messages are generated rather than how the sink delivers them."""
        while self._ready is not None and c.buffered < self.settings.batch_length and not self._stopping:
            if self._take_block() is None:
                return

    async def _feed_async(self) -> None:
        """`_feed` for an asynchronous source: each message is available when it arrives.

        Unlike a file, a live source has no bad lines to skip: its errors
        (server unreachable, credentials refused, connection lost) end the run
        and reach the caller. The source's iterator is closed however the feed
        ends, so it can store its last offsets.
        """
        clock = self.clock
        counts = self.counts
        account = self.account
        pending = Outcome.PENDING
        last_topic: SourceTopic | None = None
        consumer: _Consumer | None = None
        n = 0
        messages = self.source.__aiter__()  # type: ignore[attr-defined]
        try:
            async for sm in messages:
                if self._stopping:
                    return
                if sm.due > 0:
                    wait = self._start + sm.due - clock.now()
                    if wait > 0:
                        await clock.sleep(wait)
                if sm.topic is not last_topic:
                    consumer = self._consumer(sm.topic)
                    last_topic = sm.topic
                assert consumer is not None
                while consumer.buffered >= self._cap and not self._stopping:
                    self._space.clear()
                    await self._space.wait()
                consumer.append([sm.message, clock.now(), pending, False, None])
                counts.fed += 1
                if account is not None:
                    account.fed(sm.topic, [sm.message])
                n += 1
                if n % FEED_BLOCK == 0:
                    await asyncio.sleep(0)
        finally:
            aclose = getattr(messages, "aclose", None)
            if aclose is not None:
                await aclose()

    def _consumer(self, topic: SourceTopic) -> _Consumer:
        key = (topic.stream, topic.topic)
        c = self._consumers.get(key)
        if c is None:
            c = self._consumers[key] = _Consumer(topic)
            c.task = asyncio.create_task(self._consume_loop(c), name=f"consumer {topic.stream}/{topic.topic}")
        return c

    def _poll(self, c: _Consumer) -> tuple[int, list[_Entry]]:
        """Up to batch_length messages of the next partition with data (after_consuming: from its commit point)."""
        after_consuming = self.settings.offset_commit is OffsetCommit.AFTER_CONSUMING
        for _ in range(len(c.order)):
            p = c.order[0]
            c.order.rotate(-1)
            q = c.partitions[p]
            if not q:
                continue
            k = min(self.settings.batch_length, len(q))
            if after_consuming:
                return p, [q[i] for i in range(k)]
            batch = [q.popleft() for _ in range(k)]
            c.buffered -= k
            self._space.set()
            return p, batch
        return -1, []

    def _commit(self, c: _Consumer, partition: int, n: int) -> None:
        q = c.partitions[partition]
        last = q[n - 1][_MSG]
        for _ in range(n):
            q.popleft()
        c.buffered -= n
        self._space.set()
        # A live source (Iggy, after_consuming) stores the offset on its server only now.
        acknowledge = getattr(self.source, "acknowledge", None)
        if acknowledge is not None:
            acknowledge(c.topic, partition, last.offset)

    async def _consume_loop(self, c: _Consumer) -> None:
        settings = self.settings
        clock = self.clock
        # after_consuming commits in order, so one batch at a time whatever max_in_flight says.
        concurrent = settings.offset_commit is OffsetCommit.AFTER_POLLING
        tasks: set[asyncio.Task[None]] = set()
        last_poll = -settings.poll_interval

        def done(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            c.slot.set()

        try:
            while not self._stopping:
                await self._paused.wait()
                settings = self.settings
                wait = last_poll + settings.poll_interval - clock.now()
                if wait > 0:
                    await clock.sleep(wait)
                # The limit is read each time round: a live change applies to the next batch (set_settings).
                while len(tasks) >= (self.settings.max_in_flight if concurrent else 1):
                    c.slot.clear()
                    await c.slot.wait()
                last_poll = clock.now()
                if self._ready is not None:
                    self._top_up(c)
                partition, batch = self._poll(c)
                if not batch:
                    if self._feeding_done and c.buffered == 0 and not tasks:
                        return
                    await clock.sleep(settings.poll_interval)
                    continue
                if not concurrent or (self.settings.max_in_flight == 1 and not tasks):
                    await self._consume(c, partition, batch)
                else:
                    task = asyncio.create_task(self._consume(c, partition, batch))
                    tasks.add(task)
                    task.add_done_callback(done)
        except asyncio.CancelledError:
            # The run was cancelled (its timeout, Ctrl-C): the batches in flight stop now, as a single one
            # does (there the cancellation reaches consume() directly). Waiting for them below would run
            # past the timeout by a batch's whole retry schedule and give messages outcomes after the run.
            for task in tasks:
                task.cancel()
            raise
        finally:
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _consume(self, c: _Consumer, partition: int, batch: list[_Entry]) -> None:
        counts = self.counts
        messages = [e[_MSG] for e in batch]
        last = messages[-1]
        # Iggy labels the batch with the partition and offset of the message that closed it.
        meta = BatchMetadata(partition_id=last.partition, current_offset=last.offset, schema=c.topic.schema)
        n = len(batch)
        available_at_poll = counts.fed   # polled just now: what the lag sample of this batch is measured against
        c.in_flight.append(batch)
        counts.in_flight += n
        counts.handed += n
        counts.batches += 1
        again = self.settings.offset_commit is OffsetCommit.AFTER_CONSUMING
        # Only after_consuming polls an entry twice: with after_polling none was sent before its only poll.
        sent_before = [e[_SENT] for e in batch] if again else None
        REDELIVERY.set(tuple(sent_before) if sent_before is not None and True in sent_before else None)
        if self.observer is not None:
            self.observer.batch_started(n)
        try:
            result = await self.sink.consume(c.topic.metadata, meta, messages)
        except asyncio.CancelledError as exc:
            # Cut off by the run's end: keep what the sink had decided (finish() counts the batch by it);
            # the rest stays pending, i.e. undelivered. A PENDING never hides an earlier pass's outcome.
            partial = partial_result(exc)
            if partial is not None:
                for e, outcome in zip(batch, partial.outcomes):
                    if outcome is not Outcome.PENDING and e[_OUTCOME] is not Outcome.DELIVERED:
                        e[_OUTCOME] = outcome
                _note_skips(batch, partial)
            raise
        finally:
            # finish() may already have zeroed it when this batch was cancelled.
            counts.in_flight = max(0, counts.in_flight - n)
        c.in_flight.remove(batch)
        if again:
            # The entries stay queued until committed and may be polled again: they keep what happened.
            for e, outcome in zip(batch, result.outcomes):
                # Delivered stays delivered: a re-poll sends the message again, and the failure of that
                # resend does not take back the endpoint's first acknowledgement.
                if e[_OUTCOME] is not Outcome.DELIVERED:
                    e[_OUTCOME] = outcome
            _note_skips(batch, result)
            for i in result.sent:
                batch[i][_SENT] = True
            outcomes = [e[_OUTCOME] for e in batch]
        else:
            # Polled once and gone from the queue: this pass's outcomes are the final ones.
            outcomes = result.outcomes
        if self.observer is not None:
            self.observer.batch_finished(result, [e[_AVAILABLE] for e in batch])
        if again:
            if not result.ok:
                return          # polled again from the same offset
            self._commit(c, partition, n)
        delivered = outcomes.count(Outcome.DELIVERED)
        counts.delivered += delivered
        counts.failed += outcomes.count(Outcome.FAILED)
        skipped = outcomes.count(Outcome.SKIPPED)
        if skipped:
            counts.skipped += skipped
            if again:
                for e in batch:
                    if e[_OUTCOME] is Outcome.SKIPPED:
                        counts.skipped_by_category[e[_SKIP] or "skipped"] += 1
            else:
                for i, o in enumerate(outcomes):
                    if o is Outcome.SKIPPED:
                        counts.skipped_by_category[result.skip_categories.get(i) or "skipped"] += 1
        counts.undelivered += outcomes.count(Outcome.PENDING)
        if self.account is not None:
            self.account.settled(c.topic, messages)
        if self.observer is not None:
            decided = counts.delivered + counts.failed + counts.skipped + counts.undelivered
            self.observer.acknowledged(self.clock.now(), max(0, available_at_poll - decided))
        if delivered:
            acks = result.ack_times
            # Every message delivered: every time is set, and max() over the list needs no filter.
            last_ack = max(acks) if delivered == n else max((t for t in acks if t is not None), default=None)
            if last_ack is not None and (counts.last_delivery is None or last_ack > counts.last_delivery):
                counts.last_delivery = last_ack


def _note_skips(batch: list[_Entry], result: BatchResult) -> None:
    """Remember the category of each message this pass skipped (counted once, when its outcome is final)."""
    for i, category in result.skip_categories.items():
        if batch[i][_OUTCOME] is Outcome.SKIPPED:
            batch[i][_SKIP] = category
