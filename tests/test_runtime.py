"""The runtime emulation of DESIGN.md §3.9 with a scripted sink and a manual clock."""

from __future__ import annotations

import asyncio

from sinkbench.clock import ManualClock
from sinkbench.engine.accounting import BatchResult, Outcome, attach_partial_result
from sinkbench.model import BatchMetadata, Message, Schema
from sinkbench.runtime import OffsetCommit, Runtime, RuntimeSettings
from sinkbench.sources.base import SourceMessage, SourceTopic

T1 = SourceTopic("s", "a", Schema.JSON)
T2 = SourceTopic("s", "b", Schema.JSON)


def feed(n: int, topic: SourceTopic = T1, partitions: int = 1, due_step: float = 0.0) -> list[SourceMessage]:
    return [SourceMessage(topic, Message(id=i, offset=i // partitions, timestamp=i, payload={"i": i},
                                         partition=i % partitions), due=i * due_step) for i in range(n)]


class ScriptedSink:
    """Records every batch; `fail` decides per call whether the whole batch fails."""

    def __init__(self, clock: ManualClock, fail=lambda call, msgs: False, cost: float = 0.001) -> None:
        self.clock = clock
        self.calls: list[tuple[str, BatchMetadata, list[int]]] = []
        self.fail = fail
        self.cost = cost

    async def consume(self, topic, meta, messages):
        self.calls.append((topic.topic, meta, [m.id for m in messages]))
        await self.clock.sleep(self.cost)
        bad = self.fail(len(self.calls), messages)
        outcome = Outcome.FAILED if bad else Outcome.DELIVERED
        n = len(messages)
        return BatchResult([outcome] * n, [None if bad else self.clock.now()] * n, error="status 503" if bad else None)


async def run(source, sink, clock, **kw) -> Runtime:
    rt = Runtime(source, sink, RuntimeSettings(**kw), clock)
    await rt.run()
    rt.finish()
    return rt


async def test_batches_fill_to_batch_length_when_everything_is_available():
    clock = ManualClock()
    sink = ScriptedSink(clock)
    rt = await run(feed(250), sink, clock, batch_length=100)
    assert [len(ids) for _, _, ids in sink.calls] == [100, 100, 50]
    assert rt.counts.delivered == 250 and rt.counts.fed == 250 and rt.counts.undelivered == 0


async def test_batches_close_at_end_of_available_data_when_paced():
    clock = ManualClock()
    sink = ScriptedSink(clock, cost=0.0001)
    rt = await run(feed(30, due_step=0.01), sink, clock, batch_length=100, poll_interval=0.005)
    assert all(len(ids) < 100 for _, _, ids in sink.calls) and len(sink.calls) > 1
    assert rt.counts.delivered == 30


async def test_one_consumer_per_topic_and_batch_partition_from_last_message():
    clock = ManualClock()
    sink = ScriptedSink(clock)
    source = sorted(feed(10, T1, partitions=2) + feed(5, T2), key=lambda sm: sm.due)
    rt = await run(source, sink, clock, batch_length=100)
    topics = {t for t, _, _ in sink.calls}
    assert topics == {"a", "b"}
    for topic, meta, ids in sink.calls:
        if topic == "a":
            # one partition per poll; the batch carries that partition and its last offset
            assert all(i % 2 == meta.partition_id for i in ids)
            assert meta.current_offset == ids[-1] // 2
    assert rt.counts.delivered == 15


async def test_after_polling_loses_a_failed_batch():
    clock = ManualClock()
    sink = ScriptedSink(clock, fail=lambda call, msgs: call == 1)
    rt = await run(feed(20), sink, clock, batch_length=10)
    assert len(sink.calls) == 2
    assert rt.counts.failed == 10 and rt.counts.delivered == 10 and rt.counts.handed == 20


async def test_after_consuming_polls_a_failed_batch_again():
    clock = ManualClock()
    sink = ScriptedSink(clock, fail=lambda call, msgs: call <= 2)
    rt = await run(feed(20), sink, clock, batch_length=10, offset_commit=OffsetCommit.AFTER_CONSUMING)
    assert [ids for _, _, ids in sink.calls][:3] == [list(range(10))] * 3
    assert rt.counts.delivered == 20 and rt.counts.failed == 0 and rt.counts.handed == 40


async def test_after_consuming_a_delivered_message_stays_delivered_when_its_resend_fails():
    # Pass 1 delivers the first half of the batch and fails the rest (consume returns an error, so the batch
    # is polled again); pass 2 fails everything and the run ends. The first half reached the endpoint: it is
    # delivered, not failed, and so not a dead letter either.
    clock = ManualClock()
    finals: list[list[int]] = []

    class HalfThenNothing(ScriptedSink):
        async def consume(self, topic, meta, messages):
            self.calls.append((topic.topic, meta, [m.id for m in messages]))
            n = len(messages)
            if len(self.calls) == 1:
                outcomes = [Outcome.DELIVERED] * (n // 2) + [Outcome.FAILED] * (n - n // 2)
            else:
                outcomes = [Outcome.FAILED] * n
            acks = [clock.now() if o is Outcome.DELIVERED else None for o in outcomes]
            return BatchResult(outcomes, acks, error="status 503")

    sink = HalfThenNothing(clock)
    rt = Runtime(feed(10), sink, RuntimeSettings(batch_length=10, offset_commit=OffsetCommit.AFTER_CONSUMING),
                 clock, on_final_failure=lambda topic, meta, msgs, reasons: finals.append([m.id for m in msgs]))
    task = await cancel_when(rt, lambda: len(sink.calls) == 2)
    try:
        await task
    except asyncio.CancelledError:
        pass
    counts = rt.finish()
    assert (counts.delivered, counts.failed, counts.undelivered) == (5, 5, 0)
    assert finals == [[5, 6, 7, 8, 9]]


async def test_cancelled_run_counts_in_flight_and_unread_as_undelivered():
    clock = ManualClock()

    class Hanging(ScriptedSink):
        async def consume(self, topic, meta, messages):
            self.calls.append((topic.topic, meta, [m.id for m in messages]))
            await asyncio.Event().wait()

    rt = Runtime(feed(50), Hanging(clock), RuntimeSettings(batch_length=10), clock)
    task = asyncio.create_task(rt.run())
    for _ in range(50):
        await asyncio.sleep(0)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    counts = rt.finish()
    assert counts.fed == 50 and counts.undelivered == 50
    assert counts.delivered + counts.failed + counts.skipped + counts.undelivered == counts.fed


async def test_feeder_waits_for_due_times():
    clock = ManualClock()
    sink = ScriptedSink(clock, cost=0.0)
    await run(feed(5, due_step=1.0), sink, clock, batch_length=10, poll_interval=0.1)
    assert clock.now() >= 4.0


async def test_concurrent_batches_in_enhanced_after_polling():
    clock = ManualClock()
    in_flight = 0
    peak = 0

    class Slow(ScriptedSink):
        async def consume(self, topic, meta, messages):
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            for _ in range(5):
                await asyncio.sleep(0)
            in_flight -= 1
            n = len(messages)
            return BatchResult([Outcome.DELIVERED] * n, [clock.now()] * n)

    rt = await run(feed(100), Slow(clock), clock, batch_length=10, max_in_flight=4, poll_interval=0.0)
    assert rt.counts.delivered == 100 and peak > 1


class DecidesHalfThenHangs(ScriptedSink):
    """Delivers the first half of a batch, then waits forever; cut off, it hands on what it decided, as
    HttpSink does (engine.accounting.attach_partial_result). `fail_first` calls return all FAILED at once."""

    def __init__(self, clock: ManualClock, fail_first: int = 0) -> None:
        super().__init__(clock)
        self.fail_first = fail_first

    async def consume(self, topic, meta, messages):
        self.calls.append((topic.topic, meta, [m.id for m in messages]))
        n = len(messages)
        if len(self.calls) <= self.fail_first:
            return BatchResult([Outcome.FAILED] * n, [None] * n, error="status 503")
        result = BatchResult([Outcome.DELIVERED] * (n // 2) + [Outcome.PENDING] * (n - n // 2), [1.0] * n)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError as exc:
            attach_partial_result(exc, result)
            raise
        return result


async def cancel_when(rt: Runtime, ready) -> asyncio.Task:
    task = asyncio.create_task(rt.run())
    for _ in range(500):
        if ready():
            break
        await asyncio.sleep(0)
    assert ready()
    task.cancel()
    return task


async def test_cancelled_run_stops_concurrent_batches_at_once():
    # Regression: with max_in_flight > 1 the consumer waited for its batches in flight after being
    # cancelled, so a run ran past its timeout by a batch's whole retry schedule (here: forever).
    clock = ManualClock()

    class Hanging(ScriptedSink):
        async def consume(self, topic, meta, messages):
            self.calls.append((topic.topic, meta, [m.id for m in messages]))
            await asyncio.Event().wait()

    sink = Hanging(clock)
    rt = Runtime(feed(50), sink, RuntimeSettings(batch_length=10, max_in_flight=4, poll_interval=0.0), clock)
    task = await cancel_when(rt, lambda: len(sink.calls) == 4)
    done, _ = await asyncio.wait({task}, timeout=5)   # liveness: it ends once cancelled, not at the batches' end
    assert task in done and task.cancelled()
    counts = rt.finish()
    assert counts.undelivered == 50 and counts.delivered + counts.failed + counts.skipped == 0


async def test_cancelled_batch_keeps_the_outcomes_the_sink_had_decided():
    # Regression: a batch cut off by the run's end counted wholly undelivered, even the messages the sink
    # had already delivered (acknowledged by the endpoint) before the stop.
    clock = ManualClock()
    sink = DecidesHalfThenHangs(clock)
    rt = Runtime(feed(50), sink, RuntimeSettings(batch_length=10), clock)
    task = await cancel_when(rt, lambda: len(sink.calls) == 1)
    await asyncio.wait({task})
    counts = rt.finish()
    assert (counts.delivered, counts.failed, counts.undelivered) == (5, 0, 45)


async def test_cancelled_re_poll_keeps_earlier_outcomes_it_had_not_decided_again():
    # after_consuming: the first pass fails the batch; the re-poll delivers half, then the run stops. The
    # undecided half keeps its earlier FAILED (a pending outcome does not wipe it), the rest is undelivered.
    clock = ManualClock()
    sink = DecidesHalfThenHangs(clock, fail_first=1)
    rt = Runtime(feed(50), sink, RuntimeSettings(batch_length=10, offset_commit=OffsetCommit.AFTER_CONSUMING),
                 clock)
    task = await cancel_when(rt, lambda: len(sink.calls) == 2)
    await asyncio.wait({task})
    counts = rt.finish()
    assert (counts.delivered, counts.failed, counts.undelivered) == (5, 5, 40)


class _OneByOne:
    """A source offering only message-by-message iteration (hides SyntheticSource.ready_blocks)."""

    def __init__(self, source) -> None:
        self.source = source

    def __iter__(self):
        return iter(self.source)


async def test_a_source_in_ready_blocks_is_fed_as_one_by_one_would_be():
    # Where batches close depends on what was available at each poll, so the two feeds may cut them
    # differently; what each topic's consumer sends, in what order, and how every message ends may not.
    from sinkbench.sources.synthetic import SyntheticSource

    source = SyntheticSource(2500, topics=["a", "b", "c"], partitions=2, start_us=0)
    expected: dict[tuple[str, int], list[int]] = {}
    for sm in source:
        expected.setdefault((sm.topic.topic, sm.message.partition), []).append(sm.message.id)
    doomed = expected[("b", 1)][300]     # the batch carrying this message fails (after_polling: lost)
    for src in (source, _OneByOne(source)):
        clock = ManualClock()
        sink = ScriptedSink(clock, fail=lambda call, msgs: any(m.id == doomed for m in msgs))
        rt = await run(src, sink, clock, batch_length=100)
        sent: dict[tuple[str, int], list[int]] = {}
        for topic, meta, ids in sink.calls:
            sent.setdefault((topic, meta.partition_id), []).extend(ids)
        assert sent == expected
        failed = next(len(ids) for _, _, ids in sink.calls if doomed in ids)
        c = rt.counts
        assert (c.fed, c.delivered, c.failed, c.undelivered) == (2500, 2500 - failed, failed, 0)


async def test_a_poll_of_a_ready_source_finds_a_full_batch():
    # With rate 0 every message is available at once, as in an Iggy topic that holds them all: each poll
    # gets batch_length messages however far the feed has got (it hands blocks of 128 over between turns).
    from sinkbench.sources.synthetic import SyntheticSource

    clock = ManualClock()
    sink = ScriptedSink(clock, cost=0.0)
    rt = await run(SyntheticSource(2500, start_us=0), sink, clock, batch_length=1000)
    assert [len(ids) for _, _, ids in sink.calls] == [1000, 1000, 500]
    assert rt.counts.delivered == 2500
