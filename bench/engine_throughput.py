"""How many messages a second the sink engine delivers, beside a bare POST loop of the same client.

DESIGN.md §8, on the loopback of a 2-core machine with 500-byte JSON messages
and a zero-latency endpoint in its own process:

    individual, one in flight        >= 2,500 msg/s and >= 70% of a bare POST loop of the same client
    individual, max_in_flight = 16   >= 4,000 msg/s
    ndjson / json_array, batch 1000  >= 150,000 msg/s end to end

The engine (`HttpSink`: open, consume, close) sends to the minimal aiohttp
server of bench/_bare_server.py, which runs in another process. The "bare"
rows are `Transport(settings).attempt("POST", ...)` in a loop — the very HTTP
client the engine uses, with no encoding, retry or accounting around it — at
the same concurrency and with a body of the same size, measured in the same
run. The ratio column is engine msg/s over bare req/s for the per-message
modes, and engine req/s over bare req/s with the same 1000-message body for
the batch modes at one in flight: it is the share of the client's own pace
the engine keeps, which is the part the engine controls.

"In flight": one in flight is the `iggy` profile, one `consume()` at a
time. For 16, the per-message modes (individual, raw) run under the
`enhanced` profile with `max_in_flight = 16`, which sends up to 16 requests
at once inside each `consume()` of PER_MESSAGE_BATCH messages; the batch
modes (ndjson, json_array) send one request per `consume()`, so for them 16
in flight is 16 concurrent `consume()` calls on one sink (16 topics, each
with its one batch in flight, §3.9).

Every message is a 500-byte individual-mode envelope (the JSON payload is
padded so that the envelope is 500 bytes); all messages and the bare bodies
are built before anything is timed. Every measurement is a short warm-up then
`--seconds` (default 3) of work; the rate is what was delivered over the
time actually taken. The engine and its bare loop run in alternating slices
(`--rounds`), so a machine shared with other work weighs on both alike; the
CPU column (this process's CPU time per message) is steadier still. A
measurement whose messages did not all end delivered is marked ERROR.

The process gets `sinkbench.tuning.tune_process()` first, as under the
command line (`--no-tune` to leave glibc and the GC at their defaults).
Default run: 8 measurements, about 50 s.

    .venv/bin/python bench/engine_throughput.py [--seconds 3] [--mode all|individual|raw|ndjson|json_array]
                                                 [--in-flight both|1|16] [--rounds 3] [--no-tune]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
from _util import bare_server

from sinkbench.config.settings import BatchMode, SinkSettings
from sinkbench.engine.encode import Encoder
from sinkbench.engine.sink import HttpSink
from sinkbench.engine.transport import Transport
from sinkbench.model import BatchMetadata, Message, Schema, TopicMetadata
from sinkbench.tuning import tune_process

MESSAGE_BYTES = 500
BATCH_LENGTH = 1000          # batch modes: messages per consume() (§8: batch 1000)
PER_MESSAGE_BATCH = 200      # per-message modes: messages per consume()
POOL_BATCHES = 8             # distinct pre-built batches cycled through
WARMUP = 0.3                 # seconds, before every measurement
IN_FLIGHT = (1, 16)
MODES = ("individual", "raw", "ndjson", "json_array")

GOAL_INDIVIDUAL_1 = 2_500
GOAL_RATIO_INDIVIDUAL_1 = 0.70
GOAL_INDIVIDUAL_16 = 4_000
GOAL_BATCH = 150_000

TOPIC = TopicMetadata("bench", "events")
BASE_TS = 1_710_064_800_000_000


def make_messages(n: int, start: int = 0) -> list[Message]:
    """`n` JSON messages whose individual-mode envelope is MESSAGE_BYTES long."""
    out = []
    for i in range(start, start + n):
        msg = Message(id=(0xB3 << 120) | i, offset=i, timestamp=BASE_TS + i, payload={"n": i, "pad": ""})
        envelope = {
            "metadata": {"iggy_id": f"{msg.id:032x}", "iggy_offset": i, "iggy_timestamp": msg.timestamp,
                         "iggy_stream": TOPIC.stream, "iggy_topic": TOPIC.topic, "iggy_partition_id": 0},
            "payload": msg.payload,
        }
        msg.payload["pad"] = "x" * max(0, MESSAGE_BYTES - len(orjson.dumps(envelope)))
        out.append(msg)
    return out


@dataclass(frozen=True)
class Workload:
    """Everything built before timing: message batches and the bare loop's bodies."""

    per_message: list[list[Message]]     # POOL_BATCHES batches of PER_MESSAGE_BATCH
    batches: list[list[Message]]         # POOL_BATCHES batches of BATCH_LENGTH
    small_body: bytes                    # one individual-mode body (MESSAGE_BYTES)
    batch_body: bytes                    # one ndjson body of BATCH_LENGTH messages

    @classmethod
    def build(cls) -> Workload:
        pool = make_messages(POOL_BATCHES * BATCH_LENGTH)
        per_message = [pool[k * PER_MESSAGE_BATCH:(k + 1) * PER_MESSAGE_BATCH] for k in range(POOL_BATCHES)]
        batches = [pool[k * BATCH_LENGTH:(k + 1) * BATCH_LENGTH] for k in range(POOL_BATCHES)]
        meta = BatchMetadata(partition_id=0, current_offset=0, schema=Schema.JSON)
        ind = Encoder(SinkSettings(url="http://x/", batch_mode=BatchMode.INDIVIDUAL))
        nd = Encoder(SinkSettings(url="http://x/", batch_mode=BatchMode.NDJSON))
        small = ind.message_body(pool[0], TOPIC, meta)
        assert len(small) == MESSAGE_BYTES, len(small)
        big = nd.join(nd.encode_values(batches[0], TOPIC, meta)[0])
        return cls(per_message, batches, small, big)


@dataclass
class Result:
    messages: int
    requests: int
    seconds: float
    cpu: float = 0.0                     # this process's CPU seconds (the client side; the server is elsewhere)
    error: str | None = None

    @property
    def msg_rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0

    @property
    def req_rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_per_msg_us(self) -> float:
        return self.cpu / self.messages * 1e6 if self.messages else 0.0


def settings_for(url: str, mode: str, in_flight: int) -> SinkSettings:
    if in_flight == 1:
        # Iggy's own pace: the `iggy` profile, one request at a time.
        return SinkSettings(url=url, batch_mode=BatchMode(mode))
    return SinkSettings(url=url, batch_mode=BatchMode(mode), profile="enhanced", max_in_flight=in_flight,
                        max_connections=max(10, in_flight))


class Load:
    """Something timed: `workers` concurrent loops of `step(k)` → (messages, requests)."""

    workers = 1

    async def open(self) -> None: ...

    async def step(self, k: int) -> tuple[int, int]:
        raise NotImplementedError

    async def close(self) -> None: ...

    error: str | None = None


async def timed(load: Load, seconds: float) -> Result:
    """Runs the load's workers until `seconds` have passed; each finishes the step it is in."""
    counts = [0, 0]
    stop_at = time.perf_counter() + seconds
    start = time.perf_counter()
    cpu = time.process_time()

    async def worker(w: int) -> None:
        k = w
        while time.perf_counter() < stop_at:
            m, r = await load.step(k)
            k += load.workers
            counts[0] += m
            counts[1] += r

    await asyncio.gather(*(worker(w) for w in range(load.workers)))
    return Result(counts[0], counts[1], time.perf_counter() - start, time.process_time() - cpu)


class BareLoad(Load):
    """The same client the engine uses, POSTing a pre-built body in a loop at `in_flight` concurrency."""

    def __init__(self, url: str, in_flight: int, body: bytes, messages_per_body: int = 1) -> None:
        self.url, self.body, self.per_body = url, body, messages_per_body
        self.workers = in_flight
        self.transport = Transport(settings_for(url, "individual", in_flight))
        self.headers = {"Content-Type": "application/json"}
        self.bad = 0

    async def step(self, k: int) -> tuple[int, int]:
        reply = await self.transport.attempt("POST", self.url, self.headers, self.body)
        if reply.status != 200:
            self.bad += 1
            self.error = f"{self.bad} non-200 answers"
        return self.per_body, 1

    async def close(self) -> None:
        await self.transport.aclose()


class EngineLoad(Load):
    """HttpSink.consume() in a loop over pre-built batches."""

    def __init__(self, url: str, mode: str, in_flight: int, work: Workload) -> None:
        self.settings = settings_for(url, mode, in_flight)
        self.per_message = self.settings.batch_mode.per_message
        self.pool = work.per_message if self.per_message else work.batches
        self.workers = 1 if self.per_message else in_flight   # batch modes: `in_flight` concurrent consume() calls
        self.metas = [BatchMetadata(partition_id=0, current_offset=b[0].offset, schema=Schema.JSON)
                      for b in self.pool]
        self.sink = HttpSink(self.settings)

    async def open(self) -> None:
        await self.sink.open()

    async def step(self, k: int) -> tuple[int, int]:
        i = k % len(self.pool)
        before = self.sink.stats.requests
        res = await self.sink.consume(TOPIC, self.metas[i], self.pool[i])
        if res.error:
            self.error = res.error
        return len(self.pool[i]), (self.sink.stats.requests - before) if self.per_message else 1

    async def close(self) -> None:
        await self.sink.close()
        s = self.sink.stats
        if s.failed or s.skipped or s.delivered != s.handled:
            self.error = f"failed={s.failed} skipped={s.skipped}" + (f" ({self.error})" if self.error else "")


async def measure(loads: list[Load], seconds: float, rounds: int) -> list[Result]:
    """Measures the loads in alternating slices, so a busy machine weighs on each alike.

    All loads are opened and warmed up first; then `rounds` rounds, each giving
    every load `seconds / rounds`, the order reversed every other round.
    """
    for load in loads:
        await load.open()
    try:
        for load in loads:
            await timed(load, WARMUP)
        totals = [Result(0, 0, 0.0) for _ in loads]
        for n in range(rounds):
            order = list(range(len(loads)))
            if n % 2:
                order.reverse()
            for i in order:
                r = await timed(loads[i], seconds / rounds)
                totals[i].messages += r.messages
                totals[i].requests += r.requests
                totals[i].seconds += r.seconds
                totals[i].cpu += r.cpu
    finally:
        for load in loads:
            await load.close()
    for load, total in zip(loads, totals):
        total.error = load.error
    return totals


# --- the table ------------------------------------------------------------------

@dataclass
class Row:
    what: str
    in_flight: int
    result: Result
    bare: Result | None = None
    ratio: float | None = None
    goal: str = "-"
    verdict: str = ""


def verdict_for(mode: str, in_flight: int, r: Result, ratio: float | None) -> tuple[str, str]:
    if r.error:
        return "-", "ERROR"
    if mode == "individual" and in_flight == 1:
        fast = r.msg_rate >= GOAL_INDIVIDUAL_1
        close = ratio is not None and ratio >= GOAL_RATIO_INDIVIDUAL_1
        goal = f">={GOAL_INDIVIDUAL_1:,} & >={GOAL_RATIO_INDIVIDUAL_1:.0%}"
        if fast and close:
            return goal, "PASS"
        if close:
            return goal, "BELOW (msg/s; ratio ok)"
        if fast:
            return goal, "BELOW (ratio; msg/s ok)"
        return goal, "BELOW"
    if mode == "individual" and in_flight == 16:
        return f">={GOAL_INDIVIDUAL_16:,}", "PASS" if r.msg_rate >= GOAL_INDIVIDUAL_16 else "BELOW"
    if mode in ("ndjson", "json_array") and in_flight == 1:
        return f">={GOAL_BATCH:,}", "PASS" if r.msg_rate >= GOAL_BATCH else "BELOW"
    return "-", ""


HEADER = (f"{'mode':<18} {'in flight':>9} {'msg/s':>9} {'requests/s':>10} {'bare req/s':>10} {'vs bare':>7} "
          f"{'CPU µs/msg':>10} {'bare':>6} {'goal':>17}  result")


def print_row(row: Row) -> None:
    r = row.result
    ratio = f"{row.ratio:.0%}" if row.ratio is not None else "-"
    bare = f"{row.bare.req_rate:,.0f}" if row.bare is not None else "-"
    bare_cpu = f"{row.bare.cpu_per_msg_us:,.1f}" if row.bare is not None else "-"
    extra = f"  {r.error}" if r.error else ""
    if row.bare is not None and row.bare.error:
        extra += f"  bare: {row.bare.error}"
    print(f"{row.what:<18} {row.in_flight:>9} {r.msg_rate:>9,.0f} {r.req_rate:>10,.0f} {bare:>10} {ratio:>7} "
          f"{r.cpu_per_msg_us:>10,.1f} {bare_cpu:>6} {row.goal:>17}  {row.verdict}{extra}", flush=True)


async def run(url: str, modes: list[str], in_flights: list[int], seconds: float, rounds: int,
              work: Workload) -> list[Row]:
    """Each engine measurement is paired with a bare loop at the same concurrency and body size, interleaved;
    batch modes at 16 in flight have no bare partner (no goal, no ratio)."""
    rows: list[Row] = []
    print(HEADER)
    print("-" * len(HEADER), flush=True)
    for mode in modes:
        per_message = BatchMode(mode).per_message
        for n in in_flights:
            engine = EngineLoad(url, mode, n, work)
            if per_message:
                partner: Load | None = BareLoad(url, n, work.small_body)
            elif n == 1:
                partner = BareLoad(url, 1, work.batch_body, BATCH_LENGTH)
            else:
                partner = None
            results = await measure([engine] + ([partner] if partner else []), seconds, rounds)
            r = results[0]
            b = results[1] if partner else None
            ratio = None
            if b is not None and b.req_rate:
                ratio = (r.msg_rate if per_message else r.req_rate) / b.req_rate
            goal, verdict = verdict_for(mode, n, r, ratio)
            label = mode if per_message else f"{mode} x{BATCH_LENGTH}"
            rows.append(Row(label, n, r, b, ratio, goal, verdict))
            print_row(rows[-1])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0, help="length of each measurement (default 3)")
    ap.add_argument("--mode", choices=("all",) + MODES, default="all")
    ap.add_argument("--in-flight", choices=("both", "1", "16"), default="both")
    ap.add_argument("--rounds", type=int, default=3, help="alternating slices per measurement (default 3)")
    ap.add_argument("--no-tune", action="store_true",
                    help="skip sinkbench.tuning.tune_process() (glibc trim threshold, GC thresholds), which the CLI "
                         "applies")
    args = ap.parse_args()
    if not args.no_tune:
        tune_process()
    modes = list(MODES) if args.mode == "all" else [args.mode]
    in_flights = list(IN_FLIGHT) if args.in_flight == "both" else [int(args.in_flight)]
    work = Workload.build()
    load1 = os.getloadavg()[0]
    print(f"{MESSAGE_BYTES}-byte JSON messages; per-message modes {PER_MESSAGE_BATCH} messages per consume(), "
          f"batch modes {BATCH_LENGTH}; {args.seconds:g} s per measurement ({args.rounds} rounds interleaved with "
          f"its bare loop) after {WARMUP:g} s warm-up; process tuning {'off' if args.no_tune else 'on'}; "
          f"{os.cpu_count()} CPUs, load average {load1:.2f}")
    if load1 > 0.5:
        print("note: the machine is busy; absolute rates will be low, the interleaved ratios less so")
    started = time.perf_counter()
    with bare_server() as url:
        asyncio.run(run(url, modes, in_flights, args.seconds, args.rounds, work))
    raw_payload = len(orjson.dumps(work.per_message[0][0].payload))
    print(f"""
bare req/s: Transport.attempt() in a loop: the same client, concurrency and body size ({MESSAGE_BYTES} B; for the
  batch modes the {len(work.batch_body):,}-byte ndjson body), in slices alternating with the row's engine run.
vs bare: msg/s over bare req/s (batch modes: requests/s over bare req/s). raw bodies are the {raw_payload}-byte
  payload alone, so raw's ratio flatters it a little.
CPU µs/msg: this (client) process's CPU time per message, engine then bare loop; it moves far less than the
  rates when other processes share the CPUs.
Total {time.perf_counter() - started:.0f} s.""")

if __name__ == "__main__":
    main()
