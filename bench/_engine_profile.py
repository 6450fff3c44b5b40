"""Where the engine's time goes: cProfile of the client side of bench/engine_throughput.py.

Profiles two paths against the bare server in another process (so only the
client is profiled): `individual` at one in flight and `ndjson` with batches
of 1000. It also times the engine over a null transport (an `attempt` that
answers 200 at once), which is the engine's own cost per message with the
HTTP client taken out, and the encoder alone.

Everything here counts this process's CPU time (`time.process_time`), not
wall time: the profile shows where the client burns CPU, and the numbers hold
up when other processes share the machine. Waiting on the socket is not in
it; compare with bench/engine_throughput.py's rates for that. A CPU-time
profile calls the timer from Python and so slows the run several times;
`--timer wall` uses cProfile's own clock (lighter, but it charges time spent
descheduled to whatever was running).

glibc note: run once with `MALLOC_TOP_PAD_=16777216` in the environment to see
what malloc's heap trimming costs the batch path (page faults).

    .venv/bin/python bench/_engine_profile.py [--seconds 3] [--top 25] [--path individual|ndjson|both]
                                              [--timer cpu|wall]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _util import bare_server
from engine_throughput import TOPIC, EngineLoad, Workload, timed

from sinkbench.config.settings import BatchMode, SinkSettings
from sinkbench.engine.encode import Encoder
from sinkbench.engine.sink import HttpSink
from sinkbench.engine.transport import Reply
from sinkbench.model import BatchMetadata, Schema
from sinkbench.tuning import tune_process

OK = Reply(200, None, b"")


class NullTransport:
    def __init__(self, settings: SinkSettings) -> None:
        pass

    async def attempt(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Reply:
        return OK

    async def aclose(self) -> None:
        pass


async def profiled_run(url: str, mode: str, work: Workload, seconds: float,
                       timer: str) -> tuple[pstats.Stats, float, int]:
    load = EngineLoad(url, mode, 1, work)
    await load.open()
    await timed(load, 0.3)
    prof = cProfile.Profile(time.process_time) if timer == "cpu" else cProfile.Profile()
    prof.enable()
    r = await timed(load, seconds)
    prof.disable()
    await load.close()
    return pstats.Stats(prof), r.msg_rate, r.messages


def show(stats: pstats.Stats, title: str, top: int, sort: str, only_sinkbench: bool) -> None:
    buf = io.StringIO()
    stats.stream = buf  # type: ignore[attr-defined]
    stats.sort_stats(sort)
    stats.print_stats(r"/sinkbench/" if only_sinkbench else "", top)
    text = buf.getvalue()
    body = text[text.find("   ncalls"):] if "   ncalls" in text else text
    print(f"\n== {title} (by {sort}{', sinkbench code only' if only_sinkbench else ''}) ==")
    print(body.replace(str(Path(__file__).resolve().parent.parent) + "/", "").rstrip())


GROUPS = (("sinkbench", "/sinkbench/"), ("httpx", "/httpx/"), ("httpx_aiohttp", "/httpx_aiohttp/"),
          ("aiohttp", "/aiohttp/"), ("yarl/multidict", "/yarl/"), ("yarl/multidict", "/multidict/"),
          ("asyncio", "/asyncio/"))


def by_package(stats: pstats.Stats) -> str:
    """Own time (tottime) summed by where the function lives."""
    totals: dict[str, float] = {}
    for (filename, _, name), (_, _, tt, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        group = next((g for g, needle in GROUPS if needle in filename), None)
        if group is None:
            group = "orjson" if "orjson" in name else ("C builtins/socket" if filename == "~" else "other Python")
        totals[group] = totals.get(group, 0.0) + tt
    total = sum(totals.values()) or 1.0
    return "  ".join(f"{g} {t / total:.0%}" for g, t in sorted(totals.items(), key=lambda kv: -kv[1]))


async def null_rate(mode: str, work: Workload, seconds: float) -> float:
    """Messages a second the engine handles when every attempt answers 200 at once."""
    sink = HttpSink(SinkSettings(url="http://127.0.0.1:1/", batch_mode=BatchMode(mode)),
                    transport_factory=NullTransport)  # type: ignore[arg-type]
    await sink.open()
    pool = work.per_message if BatchMode(mode).per_message else work.batches
    meta = BatchMetadata(0, 0, Schema.JSON)
    n, k = 0, 0
    start = time.process_time()
    while time.process_time() - start < seconds:
        batch = pool[k % len(pool)]
        await sink.consume(TOPIC, meta, batch)
        n += len(batch)
        k += 1
    rate = n / (time.process_time() - start)
    await sink.close()
    return rate


def encoder_rates(work: Workload) -> None:
    meta = BatchMetadata(0, 0, Schema.JSON)
    batch = work.batches[0]
    for mode in (BatchMode.INDIVIDUAL, BatchMode.NDJSON):
        enc = Encoder(SinkSettings(url="http://x/", batch_mode=mode))
        reps = 20
        start = time.process_time()
        for _ in range(reps):
            if mode.per_message:
                for m in batch:
                    enc.message_body(m, TOPIC, meta)
            else:
                enc.join(enc.encode_values(batch, TOPIC, meta)[0])
        per_msg = (time.process_time() - start) / (reps * len(batch))
        print(f"  encoder alone, {mode.value:<10}: {per_msg * 1e6:6.2f} µs/message ({1 / per_msg:>10,.0f} msg/s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--path", choices=("individual", "ndjson", "both"), default="both")
    ap.add_argument("--timer", choices=("cpu", "wall"), default="cpu")
    ap.add_argument("--no-tune", action="store_true",
                    help="skip sinkbench.tuning.tune_process(), which the CLI applies")
    args = ap.parse_args()
    if not args.no_tune:
        tune_process()
    work = Workload.build()
    paths = ["individual", "ndjson"] if args.path == "both" else [args.path]
    print("engine cost without HTTP (CPU time):")
    encoder_rates(work)
    for mode in paths:
        rate = asyncio.run(null_rate(mode, work, 1.0))
        print(f"  engine over a null transport, {mode:<10}: {1e6 / rate:6.2f} µs/message ({rate:>10,.0f} msg/s)")
    with bare_server() as url:
        for mode in paths:
            stats, rate, n = asyncio.run(profiled_run(url, mode, work, args.seconds, args.timer))
            print(f"\n##### {mode}, one in flight, under cProfile ({args.timer} time): {rate:,.0f} msg/s wall "
                  f"({n:,} messages) #####")
            print(f"own time by package: {by_package(stats)}")
            show(stats, mode, args.top, "tottime", False)
            show(stats, mode, args.top, "cumulative", True)


if __name__ == "__main__":
    main()
