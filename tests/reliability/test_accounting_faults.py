"""Issue 8, "accounting under every fault mix": the fault mixes test_accounting_property.py does not reach.

test_accounting_property.py runs the endpoint in-process against status, reset, close, malformed and delay
faults. These properties add what it leaves out: the endpoint in its own process (as `sinkbench run` runs it),
the enhanced profile's `max_in_flight` > 1 (the sink's request window in `individual`/`raw`; in
`ndjson`/`json_array` the runtime's concurrent batches, which follow the sink's `max_in_flight` — `[runtime]`
has no key of its own), `split_oversize_batches` against a small `max_payload_size_bytes` and an endpoint
`max_body_bytes` (413s), `hang`, `slow_body` and `delay` faults that turn into sink timeouts, Retry-After
(seconds and HTTP-date) on 429/503 honoured or ignored, `accept = true` faults, the endpoint's rate limit,
messages of mixed sizes on several topics and partitions (a recorded stream), runs stopped by their timeout
part-way through a batch, and the dead-letter file compared message by message. Both profiles, all four batch
modes and both commit modes. Every example must satisfy, whatever the mix:

- each message has exactly one outcome: delivered + failed + skipped + undelivered == total, undelivered == 0
  unless the run timed out, and per message the outcome is the last one the sink decided for it, once
  delivered delivered for good (with after_polling the sink's own counters agree, so a message acknowledged
  before a stop counts delivered);
- lost == total - the endpoint's unique_messages, duplicates == the endpoint's, and no message the sink counts
  delivered is missing from the endpoint (unique_messages >= delivered);
- the dead-letter file holds every failed or skipped message exactly once and nothing else;
- the run ends within its timeout plus a margin, leaving no task running, no request still going and no
  unretrieved task error.

Elsewhere: the dead-letter file's format and the after_consuming dead-letter rule in
tests/run/test_delivery_semantics.py; the cancellation rules found by these properties, pinned one by one, in
tests/test_runtime.py, tests/engine/test_sink_httpserver.py and tests/run/test_delivery_semantics.py; the
engine's per-mode rules in tests/engine.
"""
from __future__ import annotations

import asyncio
import gc
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from run.conftest import check_accounting

from sinkbench.engine.accounting import BatchResult, Outcome, partial_result
from sinkbench.engine.sink import HttpSink
from sinkbench.model import Message, Schema
from sinkbench.run import bench
from sinkbench.run.bench import BenchRun
from sinkbench.run.result import RunStatus
from sinkbench.scenario.load import scenario_from_text
from sinkbench.sources.base import SourceTopic
from sinkbench.sources.recorded import StreamWriter, read_stream

# The scenario's timeout, in seconds. The long one lets most runs of a few hundred messages through the faults
# below finish on a busy 2-core machine; the short one stops most runs part-way through a batch — a request
# window open, concurrent batches in flight, a retry schedule running — where the accounting is hardest.
LONG_TIMEOUT = 2.5
SHORT_TIMEOUT = 0.6
# What a run may take beyond its timeout: reading the endpoint's stats, closing the sink, stopping the
# endpoint (its own process: closing its stdin and waiting for it). Starting the endpoint process is not
# in the run's clock, so the wall-clock bound adds its start-up.
RUN_MARGIN = 1.5
WALL_MARGIN = 6.0
# A hang, or a slow body or delay past the sink's timeout, becomes a transport timeout. With the longer one a
# batch's whole retry schedule outlasts RUN_MARGIN, so a run that waited for it after its timeout would show.
SINK_TIMEOUTS = ("250ms", "250ms", "1s")

Key = tuple[str, str, int, int, int]   # stream, topic, partition, offset, id: a message's identity


@dataclass(frozen=True)
class Case:
    scenario: str                       # TOML; DEAD and STREAM stand for paths in the example's folder
    timeout: float                      # the scenario's, in seconds
    commit: str                         # the runtime's offset_commit
    in_process: bool                    # False: the endpoint in its own process, as `sinkbench run` does
    dead_letters: bool                  # the sink writes a dead-letter file (the enhanced profile)
    stream: Stream | None               # a recorded source (else the scenario's is synthetic)


@dataclass(frozen=True)
class Stream:
    """A recorded stream of `count` messages of mixed sizes, so a size limit skips some messages, splits some
    batches and lets others through; spread over topics and partitions as `seed` says."""

    count: int
    topics: int
    partitions: int
    seed: int


# --- the strategy -------------------------------------------------------------------------------------

@st.composite
def fault(draw: st.DrawFn) -> str:
    match = draw(st.sampled_from(["probability", "every", "requests"]))
    if match == "probability":
        matcher = f"probability = {draw(st.sampled_from([0.05, 0.15, 0.3]))}\n"
    elif match == "every":
        matcher = f"every = {draw(st.integers(2, 7))}\n"
    else:
        first = draw(st.integers(1, 30))
        matcher = f"requests = [{first}, {first + draw(st.integers(0, 8))}]\n"
    kind = draw(st.sampled_from(["status", "status_retry_after", "reset", "close", "malformed", "hang",
                                 "slow_body", "delay"]))
    if kind == "status":
        action = f'action = "status"\nstatus = {draw(st.sampled_from([400, 413, 500, 502, 503, 504, 429]))}\n'
    elif kind == "status_retry_after":
        # Retry-After in seconds or as an HTTP-date; honoured (capped at max_retry_delay) or only logged.
        status = draw(st.sampled_from([429, 503]))
        after = draw(st.sampled_from(['"1s"', '"date:+1s"', '"3s"']))
        action = f'action = "status"\nstatus = {status}\nretry_after = {after}\n'
    elif kind == "slow_body":
        # Dribbled past the sink's timeout (a 2xx the endpoint counts while the sink gives up) or within it.
        delay = draw(st.sampled_from(["400ms", "50ms"]))
        status = draw(st.sampled_from([200, 503]))
        action = f'action = "slow_body"\nstatus = {status}\ndelay = "{delay}"\n'
        if status == 503:
            action += 'retry_after = "1s"\n'
    elif kind == "delay":
        action = f'action = "delay"\ndelay = "{draw(st.sampled_from(["400ms", "30ms"]))}"\n'
    else:
        action = f'action = "{kind}"\n'
    if kind in ("status", "reset") and draw(st.booleans()):
        action += "accept = true\n"      # the endpoint stores the body and still answers an error
    return f"[[endpoint.faults]]\n{matcher}{action}"


@st.composite
def cases(draw: st.DrawFn, profile: str | None, commit: str | None, timeout: float) -> Case:
    """A scenario with random faults; `profile` and `commit` are drawn when None."""
    profile = profile or draw(st.sampled_from(["enhanced", "enhanced", "iggy"]))
    commit = commit or draw(st.sampled_from(["after_polling", "after_consuming"]))
    mode = draw(st.sampled_from(["individual", "ndjson", "json_array", "raw"]))
    in_process = draw(st.sampled_from([True, True, False]))

    stream = None
    if draw(st.booleans()):
        source = (f'kind = "synthetic"\ncount = {draw(st.integers(20, 250))}\nrate = 0\npayload_bytes = 64\n'
                  f'topics = {["events", "audit"][:draw(st.integers(1, 2))]!r}\n'.replace("'", '"')
                  + f"partitions = {draw(st.integers(1, 2))}\n")
    else:
        stream = Stream(draw(st.integers(20, 150)), draw(st.integers(1, 2)), draw(st.integers(1, 2)),
                        draw(st.integers(0, 2**16)))
        source = 'kind = "recorded"\npath = "STREAM"\nspeed = "max"\n'

    sink = (f'url = "mock"\nbatch_mode = "{mode}"\ntimeout = "{draw(st.sampled_from(SINK_TIMEOUTS))}"\n'
            f"max_retries = {draw(st.integers(0, 3))}\n"
            f'retry_delay = "1ms"\nmax_retry_delay = "{draw(st.sampled_from(["5ms", "20ms"]))}"\n'
            f"max_payload_size_bytes = {draw(st.sampled_from([0, 0, 450, 1200, 4000]))}\n")
    if profile == "enhanced":
        # Always with a dead-letter file: the identity check below is what this profile adds.
        sink += ('profile = "enhanced"\n'
                 f'retry_after = "{draw(st.sampled_from(["honor", "ignore"]))}"\n'
                 f'jitter = "{draw(st.sampled_from(["full", "equal", "none"]))}"\n'
                 f"max_in_flight = {draw(st.sampled_from([1, 2, 4, 8]))}\n"
                 f"split_oversize_batches = {str(draw(st.booleans())).lower()}\n"
                 'dead_letter_path = "DEAD"\n')

    endpoint = f"[endpoint]\nseed = {draw(st.integers(0, 1000))}\n"
    endpoint += f"max_body_bytes = {draw(st.sampled_from([0, 0, 700, 2500]))}\n"
    if draw(st.booleans()):
        endpoint += f'latency = "{draw(st.sampled_from(["1ms", "5ms"]))}"\n'
    if draw(st.booleans()):
        rps = draw(st.sampled_from([100, 400]))
        endpoint += (f"rate_limit = {{ requests_per_second = {rps}, burst = {draw(st.integers(1, 10))}, "
                     f'retry_after = "{draw(st.sampled_from(["1s", "date:+1s"]))}" }}\n')
    endpoint += "\n".join(draw(st.lists(fault(), min_size=1, max_size=3)))

    text = (f'[scenario]\nseed = {draw(st.integers(0, 100))}\ntimeout = "{timeout * 1000:.0f}ms"\n'
            f"[source]\n{source}"
            f'[runtime]\nbatch_length = {draw(st.sampled_from([1, 7, 25, 100]))}\npoll_interval = "1ms"\n'
            f'offset_commit = "{commit}"\n'
            f"[sink]\n{sink}\n{endpoint}\n")
    return Case(text, timeout, commit, in_process, profile == "enhanced", stream)


# --- running one example ------------------------------------------------------------------------------

def write_stream(path: Path, spec: Stream) -> None:
    """The stream file (§5): offsets contiguous per (topic, partition), distinct payloads, about one in
    three payloads of 300-900 bytes among ones of 8-120."""
    rng = random.Random(spec.seed)
    offsets: Counter[tuple[str, int]] = Counter()
    with StreamWriter(path, stream="bench", topic="t0", schema=Schema.JSON) as out:
        for n in range(spec.count):
            topic, partition = f"t{rng.randrange(spec.topics)}", rng.randrange(spec.partitions)
            size = rng.choice([rng.randint(8, 120), rng.randint(8, 120), rng.randint(300, 900)])
            offset = offsets[(topic, partition)]
            offsets[(topic, partition)] += 1
            message = Message(id=1000 + n, offset=offset, timestamp=1_700_000_000_000_000 + n,
                              payload={"n": n, "pad": "x" * size}, partition=partition)
            out.write(SourceTopic("bench", topic, Schema.JSON), message)


def recording_sink(outcomes: dict[Key, Outcome]) -> type[HttpSink]:
    """HttpSink that notes, per message, the last outcome consume() decided for it.

    That is the truth the runtime's counts and the dead-letter file must agree with, message by message: with
    after_consuming a message handed again takes its newest outcome, except that once delivered it stays
    delivered (the endpoint has it, whatever a resend met); a consume() cut off by the run's end
    hands on what it had decided (engine.accounting.partial_result), and a message it had not decided keeps
    what it had (nothing, for a message never decided: undelivered).
    """

    def note(topic: Any, messages: Any, result: BatchResult) -> None:
        for m, outcome in zip(messages, result.outcomes):
            key = (topic.stream, topic.topic, m.partition, m.offset, m.id)
            if outcome is not Outcome.PENDING and outcomes.get(key) is not Outcome.DELIVERED:
                outcomes[key] = outcome

    class RecordingSink(HttpSink):
        async def consume(self, topic: Any, meta: Any, messages: Any) -> Any:
            try:
                result = await super().consume(topic, meta, messages)
            except asyncio.CancelledError as exc:
                partial = partial_result(exc)
                if partial is not None:
                    note(topic, messages, partial)
                raise
            note(topic, messages, result)
            return result

    return RecordingSink


async def run_case(case: Case, folder: Path) -> tuple[BenchRun, Any, dict[Key, Outcome], float, list[str]]:
    """Runs the example; returns the run, its result, the recorded outcomes, the wall time, what was left behind."""
    text = case.scenario.replace("DEAD", str(folder / "dead.jsonl")).replace("STREAM", str(folder / "in.jsonl"))
    if case.stream is not None:
        write_stream(folder / "in.jsonl", case.stream)
    scenario = scenario_from_text(text, str(folder / "s.toml"), (), env={})
    loop = asyncio.get_running_loop()
    problems: list[str] = []
    loop.set_exception_handler(lambda _loop, ctx: problems.append(str(ctx.get("message"))
                                                                  + ": " + repr(ctx.get("exception"))))
    outcomes: dict[Key, Outcome] = {}
    started = time.monotonic()
    # The run builds its sink itself; the subclass only watches what consume() decides.
    with mock.patch.object(bench, "HttpSink", recording_sink(outcomes)):
        run = BenchRun(scenario, endpoint_in_process=case.in_process)
        result = await run.run()
    elapsed = time.monotonic() - started
    # Whatever the run started must be over once run() returned: a request still out would reach the
    # endpoint after its stats were read, and a task failing later would print a traceback.
    assert run.metrics is not None
    requests = run.metrics.requests
    for _ in range(3):
        await asyncio.sleep(0)
    gc.collect()    # a task that failed unobserved says so when collected: now, while the handler listens
    await asyncio.sleep(0)
    leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    problems += [f"still running after the run: {task!r}" for task in leftover]
    if run.metrics.requests != requests:
        problems.append(f"{run.metrics.requests - requests} request(s) ended after the run")
    for task in leftover:
        task.cancel()
    return run, result, outcomes, elapsed, problems


def dead_letter_keys(path: Path) -> Counter[Key]:
    if not path.exists():
        return Counter()
    return Counter((sm.topic.stream, sm.topic.topic, sm.message.partition, sm.message.offset, sm.message.id)
                   for sm in read_stream(path))


# Seeded from the test's own hash (derandomize), so every run tries the same examples; no example database.
HYPOTHESIS = settings(deadline=None, derandomize=True, database=None, print_blob=True,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# Profile and commit mode are parameters, not draws, so each of the four pairs gets its share of examples
# whatever the generator favours; batch mode, endpoint placement and everything else are drawn.
@pytest.mark.parametrize("profile", ["iggy", "enhanced"])
@pytest.mark.parametrize("commit", ["after_polling", "after_consuming"])
@settings(HYPOTHESIS, max_examples=4)
@given(data=st.data())
def test_accounting_holds_under_every_fault_mix(tmp_path_factory, profile: str, commit: str,
                                                data: st.DataObject) -> None:
    check_case(data.draw(cases(profile, commit, LONG_TIMEOUT), label="case"), tmp_path_factory)


# Runs stopped by their timeout part-way: short and cheap, so more of them.
@settings(HYPOTHESIS, max_examples=12)
@given(case=cases(None, None, SHORT_TIMEOUT))
def test_accounting_holds_when_the_run_is_cut_off(tmp_path_factory, case: Case) -> None:
    check_case(case, tmp_path_factory)


def check_case(case: Case, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("faults")
    run, result, outcomes, elapsed, problems = asyncio.run(run_case(case, folder))
    t = result.totals
    ep = result.endpoint
    where = (t, ep, result.status, case.scenario)
    assert ep is not None, where

    # One outcome per message; the endpoint's ledger is the source of lost and duplicates.
    check_accounting(result.to_json())
    assert result.status in (RunStatus.COMPLETED, RunStatus.TIMEOUT), where
    if result.status is RunStatus.COMPLETED:
        assert t["undelivered"] == 0, where
    # Message by message: the counts are the outcomes consume() last gave (nothing counted twice or lost).
    final = Counter(outcomes.values())
    assert (final[Outcome.DELIVERED], final[Outcome.FAILED], final[Outcome.SKIPPED]) == \
        (t["delivered"], t["failed"], t["skipped"]), (final, *where)
    # Every message the sink saw succeed was accepted by the endpoint (2xx is accepted, §4).
    assert ep["unique_messages"] >= t["delivered"], where
    if case.commit == "after_polling":
        # Each message is handed over once, so the sink's own counters — kept as it decides, cut-off batches
        # included — are the run's: a message acknowledged before the run stopped counts delivered.
        assert run.sink is not None
        stats = run.sink.stats
        assert (stats.delivered, stats.failed, stats.skipped) == (t["delivered"], t["failed"], t["skipped"]), \
            (stats, *where)

    if case.dead_letters:
        # Failed and skipped messages alike: neither reached the endpoint.
        failed = Counter(k for k, o in outcomes.items() if o in (Outcome.FAILED, Outcome.SKIPPED))
        written = dead_letter_keys(folder / "dead.jsonl")
        assert written == failed, (sorted((written - failed).elements())[:5],
                                   sorted((failed - written).elements())[:5], *where)

    # Liveness: the run ends at its timeout at the latest, and leaves nothing behind.
    assert result.duration <= case.timeout + RUN_MARGIN, (result.duration, *where)
    assert elapsed <= case.timeout + WALL_MARGIN, (elapsed, *where)
    assert not problems, (problems, *where)
