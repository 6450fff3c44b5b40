"""`sinkbench record`: a topic of a live Iggy server into a stream file (docs/streams.md, docs/cli.md).

The core is `record()` (a `Recorder`), which the command drives and tests
call with a fake client. It reads partitions with a consumer of its own
(`Consumer.Single("sinkbench-record")`, never committing), so recording
disturbs no consumer group. Lines are written through `StreamWriter`, which
only ever writes complete lines: whenever the recording stops — `--count`,
`--until-end`, Ctrl-C, a lost connection — the file reads cleanly, and the
same command continues it (per partition, from the offset after the last one
in the file).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

HELP = "record a topic from a live Iggy server into a stream file (*.jsonl, *.jsonl.gz)"
DESCRIPTION = """\
Record the messages of one topic of a live Iggy server (apache-iggy SDK 0.9,
for Iggy server 0.9.x) into a stream file (docs/streams.md) that `kind =
"recorded"` scenarios replay: every field of each message (id, offset,
timestamps, checksum, headers with their kinds) and its payload decoded per
--schema. Recording reads with its own consumer and commits nothing, so it
disturbs no consumer group.

example:
  sinkbench record --connection iggy+tcp://iggy:iggy@127.0.0.1:8090 \\
      --stream orders --topic events --from-start --until-end --out streams/orders.jsonl.gz
  recording orders/events from iggy+tcp://127.0.0.1:8090 into streams/orders.jsonl.gz
  recorded 48,210 messages into streams/orders.jsonl.gz (the end of every partition): partition 0:
  offsets 0..16069, partition 1: offsets 0..16070, partition 2: offsets 0..16067

  # then, in a scenario: [source] kind = "recorded", path = "streams/orders.jsonl.gz"

Where to start: --from-start (the default), --from-offset N, or
--from-timestamp T (microseconds since the epoch, or an ISO 8601 date-time
such as 2026-11-26T12:00:00Z; a time without a zone is UTC). When to stop:
--count N messages, --until-end (the end each partition had when the
recording started), or Ctrl-C; without either option it keeps recording new
messages until interrupted.

Resuming: when --out already holds a recording of the same stream, topic and
schema, new lines are appended and each partition continues after the last
offset in the file (the --from-* option applies only to partitions not in the
file yet). Ctrl-C (or SIGTERM) stops after the current poll (at most 2 s) with
every line written complete; a second Ctrl-C stops at once, the file still valid.

The connection string is the SDK's: iggy+tcp://USER:PASSWORD@HOST:PORT with
options such as ?tls=true&tls_domain=example.com&tls_ca_file=ca.pem. ${VAR}
in it is replaced by the environment variable's value, so a password need not
be on the command line: --connection 'iggy+tcp://iggy:${IGGY_PASSWORD}@host:8090'.
sinkbench bounds the SDK's reconnection (reconnection_retries=3 unless given;
"unlimited" is refused) and every call's time, so an unreachable server is an
error, not a hang. The credentials never appear in output or in the file.

Exit codes: 0 recorded (also when stopped with Ctrl-C); 2 invalid arguments,
an unusable --out file, the server unreachable, the credentials refused, or
no such stream, topic or partition; 3 the connection was lost during the
recording (the file holds what was recorded and is valid: run the same
command to continue) or an internal error.
"""

RECORDER = "sinkbench-record"      # the consumer recording polls as (it never stores an offset)
STOP_GRACE = 2.0                  # seconds the current poll gets after the first Ctrl-C or SIGTERM
START_KINDS = ("start", "offset", "timestamp")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--connection", required=True, metavar="URL",
                        help="Iggy connection string, e.g. iggy+tcp://iggy:iggy@127.0.0.1:8090; ${VAR} is expanded, "
                             "so the password can stay out of ps: 'iggy+tcp://iggy:${IGGY_PASSWORD}@host:8090'")
    parser.add_argument("--stream", required=True, metavar="S", help="stream name")
    parser.add_argument("--topic", required=True, metavar="T", help="topic name")
    parser.add_argument("--partition", type=_non_negative, metavar="P",
                        help="record only this partition (default: every partition)")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--from-start", action="store_true", help="from the first message (the default)")
    start.add_argument("--from-offset", type=_non_negative, metavar="N", help="from offset N in each partition")
    start.add_argument("--from-timestamp", type=_timestamp, metavar="T",
                       help="from the first message at or after T (µs since the epoch, or ISO 8601)")
    parser.add_argument("--count", type=_positive, metavar="N", help="stop after N messages")
    parser.add_argument("--until-end", action="store_true",
                        help="stop when every partition is read up to where it ended when the recording started")
    parser.add_argument("--schema", default="json", choices=("json", "text", "raw", "proto", "flatbuffer", "avro"),
                        help="how payloads are decoded and written (default: json)")
    parser.add_argument("--out", required=True, metavar="FILE",
                        help="the stream file (.jsonl, or .jsonl.gz for gzip); appended to when it exists")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress output")


def _whole_number(minimum: int):
    """An argparse type: a whole number of at least `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


_positive = _whole_number(1)
_non_negative = _whole_number(0)


def _timestamp(text: str) -> int:
    """µs since the epoch, or an ISO 8601 date-time (UTC when it names no zone)."""
    if text.strip().isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected microseconds since the epoch or an ISO 8601 date-time "
                                         f"such as 2026-11-26T12:00:00Z, got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


# ---------------------------------------------------------------- the core


@dataclass(frozen=True)
class RecordPlan:
    """What to record. `start` is "start", "offset" or "timestamp" (then `start_value` is used)."""

    connection: Any                   # sinkbench.sources.iggy.IggyConnection
    stream: str
    topic: str
    out: Path
    schema: str = "json"
    partition: int | None = None
    start: str = "start"
    start_value: int = 0
    count: int | None = None
    until_end: bool = False
    batch_length: int = 1000
    idle_wait: float = 0.1            # between rounds that found nothing new
    flush_every: float = 1.0          # seconds between flushes of complete lines


@dataclass
class RecordSummary:
    out: Path
    partitions: list[int] = field(default_factory=list)
    written: int = 0                                       # lines this recording added
    existing: int = 0                                      # messages of this topic already in the file
    undecodable: int = 0                                   # dropped: payload not valid under the schema
    resumed: dict[int, int] = field(default_factory=dict)  # partition → offset continued from
    first: dict[int, int] = field(default_factory=dict)    # partition → first offset written now
    last: dict[int, int] = field(default_factory=dict)     # partition → last offset written now
    stopped: str = ""                                       # count | end | interrupted | lost
    elapsed: float = 0.0

    def ranges(self) -> str:
        parts = [f"partition {p}: offsets {self.first[p]}..{self.last[p]}" for p in sorted(self.first)]
        return ", ".join(parts) if parts else "nothing new"


def resume_offsets(path: Path, stream: str, topic: str) -> tuple[dict[int, int], int]:
    """The last offset per partition of `stream`/`topic` in an existing stream file, and how many messages."""
    from sinkbench.sources.recorded import read_stream

    last: dict[int, int] = {}
    n = 0
    for sm in read_stream(path):
        if sm.topic.stream == stream and sm.topic.topic == topic:
            p, o = sm.message.partition, sm.message.offset
            if o > last.get(p, -1):
                last[p] = o
            n += 1
    return last, n


class Recorder:
    """One recording; `summary` is readable while it runs and after it ended, however it ended."""

    def __init__(self, plan: RecordPlan, *, client_factory: Callable[[Any], Any] | None = None,
                 timeouts: Any = None, stop: asyncio.Event | None = None,
                 progress: Callable[[RecordSummary], None] | None = None) -> None:
        from sinkbench.sources.iggy import Timeouts

        self.plan = plan
        self.summary = RecordSummary(Path(plan.out))
        self.writing = False          # the file is open (a hard stop now still leaves it valid)
        self._factory = client_factory
        self._timeouts = timeouts or Timeouts()
        self._stop = stop
        self._progress = progress

    async def run(self) -> RecordSummary:
        from apache_iggy import Consumer, PollingStrategy

        from sinkbench.errors import InputError, Where
        from sinkbench.model import Schema
        from sinkbench.sources.iggy import (
            IggyConnectionLost,
            IggySession,
            PayloadError,
            convert_message,
            partition_ids,
        )
        from sinkbench.sources.recorded import StreamWriter, read_header

        plan, summary = self.plan, self.summary
        schema = Schema(plan.schema)
        out = Path(plan.out)
        started = time.monotonic()
        stop = self._stop or asyncio.Event()
        append = out.is_file() and out.stat().st_size > 0
        if append:
            header = read_header(out)   # a file that is not a stream: an InputError naming it
            for key, want in (("stream", plan.stream), ("topic", plan.topic), ("schema", schema)):
                if getattr(header, key) != want:
                    raise InputError(f"cannot continue this file: it records {key} {str(getattr(header, key))!r}, "
                                     f"not {str(want)!r} (use another --out)", Where(file=str(out), line=1, key=key))

        options = {"connection": "--connection", "stream": "--stream", "topic": "--topic"}
        session = IggySession(plan.connection, self._factory, self._timeouts, lambda f: Where(key=options[f]))
        client = await session.open()
        details = await session.topic(plan.stream, plan.topic)
        ids = partition_ids(details)
        if plan.partition is not None:
            if plan.partition not in ids:
                known = f"{ids[0]}..{ids[-1]}" if ids else "none"
                raise InputError(f"topic '{plan.topic}' has no partition {plan.partition} (partitions: {known})",
                                 Where(key="--partition"))
            ids = [plan.partition]
        summary.partitions = ids
        # --until-end: where each partition ended when the recording started (None: it was empty).
        ends: dict[int, int | None] = {}
        for p in getattr(details, "partitions", None) or ():
            ends[int(p.id)] = int(p.current_offset) if int(getattr(p, "messages_count", 1) or 0) > 0 else None

        last: dict[int, int] = {}
        if append:
            last, summary.existing = resume_offsets(out, plan.stream, plan.topic)
        strategy: dict[int, Any] = {}
        for p in ids:
            if p in last:
                strategy[p] = PollingStrategy.Offset(last[p] + 1)
                summary.resumed[p] = last[p] + 1
            elif plan.start == "offset":
                strategy[p] = PollingStrategy.Offset(plan.start_value)
            elif plan.start == "timestamp":
                strategy[p] = PollingStrategy.Timestamp(plan.start_value)
            else:
                strategy[p] = PollingStrategy.First()
        done = {p for p in ids if p in ends and _reached(ends[p], last.get(p))}

        recorded_at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        writer = StreamWriter(out, stream=plan.stream, topic=plan.topic, schema=schema, source=str(plan.connection),
                              recorded_at=recorded_at, append=True)
        self.writing = True
        consumer = Consumer.Single(RECORDER)
        remaining = plan.count
        last_flush = time.monotonic()
        try:
            while not stop.is_set():
                if plan.until_end and len(done) == len(ids):
                    summary.stopped = "end"
                    break
                found = False
                for p in ids:
                    if stop.is_set() or remaining == 0 or (plan.until_end and p in done):
                        continue
                    want = plan.batch_length if remaining is None else min(plan.batch_length, remaining)
                    batch = await session.retrying(
                        lambda p=p, want=want: client.poll_messages(
                            plan.stream, plan.topic, consumer=consumer, polling_strategy=strategy[p],
                            count=want, auto_commit=False, partition_id=p),
                        f"polling {plan.stream}/{plan.topic} partition {p}")
                    if not batch:
                        done.add(p)      # caught up (for --until-end: the end has been reached)
                        continue
                    for received in batch:
                        offset = int(received.offset())
                        if offset <= last.get(p, -1):
                            continue
                        last[p] = offset
                        try:
                            message = convert_message(received, schema)
                        except PayloadError:
                            summary.undecodable += 1
                            continue
                        writer.write(None, message)
                        summary.written += 1
                        summary.first.setdefault(p, offset)
                        summary.last[p] = offset
                        found = True
                        if remaining is not None:
                            remaining -= 1
                            if remaining == 0:
                                break
                    if p in last:
                        strategy[p] = PollingStrategy.Offset(last[p] + 1)
                        if p in ends and _reached(ends[p], last[p]):
                            done.add(p)
                now = time.monotonic()
                if now - last_flush >= plan.flush_every:
                    writer.flush()
                    last_flush = now
                summary.elapsed = now - started
                if self._progress is not None:
                    self._progress(summary)
                if remaining == 0:
                    summary.stopped = "count"
                    break
                if not found and not (plan.until_end and len(done) == len(ids)):
                    try:
                        async with asyncio.timeout(plan.idle_wait):   # not wait_for: see sources/iggy.py
                            await stop.wait()
                    except TimeoutError:
                        pass
            if not summary.stopped:
                summary.stopped = "interrupted"
        except IggyConnectionLost:
            summary.stopped = "lost"
            raise
        except asyncio.CancelledError:
            summary.stopped = "interrupted"
            raise
        finally:
            writer.close()   # complete lines only: the file is valid however the recording ended
            summary.elapsed = time.monotonic() - started
        return summary


def _reached(end: int | None, last: int | None) -> bool:
    """Whether a partition that ended at `end` (None: it was empty) is read through `last`."""
    return end is None or (last is not None and last >= end)


async def record(plan: RecordPlan, **kwargs: Any) -> RecordSummary:
    """Record `plan` (see `Recorder` for the keyword arguments) and return what was written."""
    return await Recorder(plan, **kwargs).run()


# ---------------------------------------------------------------- the command


class _Progress:
    """One updating line on a terminal (4 a second), a plain line every 5 s otherwise."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._label = label
        self._last = time.monotonic()
        self._shown = False

    def __call__(self, s: RecordSummary) -> None:
        now = time.monotonic()
        if now - self._last < (0.25 if self._tty else 5.0):
            return
        self._last = now
        rate = s.written / s.elapsed if s.elapsed > 0 else 0.0
        where = ", ".join(f"p{p}@{o}" for p, o in sorted(s.last.items())[:4])
        text = f"{self._label}: {s.written:,} messages ({rate:,.0f}/s){'  ' + where if where else ''}"
        if self._tty:
            self._stream.write("\r\x1b[K" + text)
            self._shown = True
        else:
            self._stream.write(text + "\n")
        self._stream.flush()

    def finish(self) -> None:
        if self._shown:
            self._stream.write("\n")
            self._stream.flush()


def main(args: argparse.Namespace) -> int:
    import signal

    from sinkbench.config.load import expand_env
    from sinkbench.errors import BenchError, InputError, Where
    from sinkbench.sources.iggy import (
        ConnectionStringError,
        IggySourceError,
        parse_connection,
        settle_sdk,
    )

    try:
        # ${VAR} is expanded here, as in a scenario's connection: written in single quotes, the password stays
        # out of the shell's history and of `ps`, which show the command line.
        raw, _ = expand_env(args.connection, os.environ, Where(key="--connection"))
        connection = parse_connection(raw)
    except InputError as exc:
        print(f"error: --connection: {exc.message}", file=sys.stderr)
        return 2
    except ConnectionStringError as exc:
        print(f"error: --connection: {exc}", file=sys.stderr)
        return 2
    start, value = "start", 0
    if args.from_offset is not None:
        start, value = "offset", args.from_offset
    elif args.from_timestamp is not None:
        start, value = "timestamp", args.from_timestamp
    plan = RecordPlan(connection=connection, stream=args.stream, topic=args.topic, out=Path(args.out),
                      schema=args.schema, partition=args.partition, start=start, start_value=value,
                      count=args.count, until_end=args.until_end)
    progress = None if args.quiet else _Progress(sys.stderr, f"recording {args.stream}/{args.topic}")
    recorder: Recorder | None = None

    async def go() -> RecordSummary:
        nonlocal recorder
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        task = asyncio.current_task()
        recorder = Recorder(plan, stop=stop, progress=progress)

        def interrupt() -> None:
            # First Ctrl-C: finish the current poll and stop. Second, or before anything is written: now.
            if recorder is not None and recorder.writing and not stop.is_set():
                stop.set()
                # A poll the server does not answer held the stop for its timeout and retries (about 33 s, then
                # exit 3 "connection lost"): after STOP_GRACE, stop as a second Ctrl-C does. Nothing is lost,
                # since recording commits nothing: the same command continues after the file's last offset.
                loop.call_later(STOP_GRACE, lambda: task.cancel() if task is not None else None)
            elif task is not None:
                task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, interrupt)
        try:
            if not args.quiet:
                print(f"recording {args.stream}/{args.topic} from {connection} into {args.out}", file=sys.stderr)
            return await recorder.run()
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            await settle_sdk()   # the process exits next: see settle_sdk

    def written() -> str:
        s = recorder.summary if recorder is not None else None
        if s is None or not recorder.writing:  # type: ignore[union-attr]
            return ""
        return f"{s.written:,} message{'s' if s.written != 1 else ''} recorded into {s.out} ({s.ranges()})"

    try:
        summary = asyncio.run(go())
    except IggySourceError as exc:
        _finish(progress)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except InputError as exc:
        _finish(progress)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BenchError as exc:   # IggyConnectionLost: the connection went and did not come back
        _finish(progress)
        print(f"error: {exc}", file=sys.stderr)
        if written():
            print(f"{written()}; the file is valid: run the same command to continue", file=sys.stderr)
        return 3
    except (KeyboardInterrupt, asyncio.CancelledError):
        _finish(progress)
        if written():
            print(f"interrupted: {written()}", file=sys.stdout)
            return 0
        print("interrupted before anything was recorded", file=sys.stderr)
        return 130
    _finish(progress)
    how = {"end": " (the end of every partition)", "interrupted": " (interrupted)"}.get(summary.stopped, "")
    print(f"recorded {summary.written:,} message{'s' if summary.written != 1 else ''} into {summary.out}{how}: "
          f"{summary.ranges()}")
    if summary.resumed:
        print("  continued an existing recording ("
              + ", ".join(f"partition {p} from offset {o}" for p, o in sorted(summary.resumed.items())) + ")")
    if summary.undecodable:
        print(f"warning: {summary.undecodable:,} message(s) were left out: their payload is not valid "
              f"{plan.schema} (the connectors runtime drops them too); --schema raw keeps their bytes",
              file=sys.stderr)
    return 0


def _finish(progress: _Progress | None) -> None:
    if progress is not None:
        progress.finish()
