"""Bench runs for a hunt, one at a time, each stoppable from a signal handler or a deadline.

A hunt makes dozens of runs from plain (not async) code: hypothesis calls its
condition synchronously. Each run is a `BenchRun` on its own event loop
(`asyncio.run`), so runs share nothing. `stop()` is safe to call from a signal
handler: it marks the hunt stopped and interrupts the run under way through
its loop, which then ends it the way Ctrl-C ends `sinkbench run` — its
endpoint, in-process or a child process, is stopped before `run()` returns.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from sinkbench.run.bench import BenchRun
from sinkbench.run.result import RunResult
from sinkbench.scenario.model import Scenario


class Runs:
    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.now = now
        self.stopped = False
        self._bench: BenchRun | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def stop(self) -> None:
        """Stop the hunt: the run under way ends as interrupted, and `run` starts no other."""
        self.stopped = True
        bench, loop = self._bench, self._loop
        if bench is not None and loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(bench.interrupt)
            except RuntimeError:   # the loop closed between the check and the call
                pass

    def run(self, scenario: Scenario, *, in_process: bool, deadline: float | None = None) -> RunResult:
        """One bench run of `scenario`; interrupted at `deadline` (on `now`'s clock) if it is still going.

        Raises BenchError or InputError as `BenchRun.run` does.
        """
        async def go() -> RunResult:
            bench = BenchRun(scenario, endpoint_in_process=in_process)
            loop = asyncio.get_running_loop()
            self._bench, self._loop = bench, loop
            if self.stopped:
                bench.interrupt()
            timer = loop.call_later(max(0.0, deadline - self.now()), bench.interrupt) \
                if deadline is not None else None
            try:
                return await bench.run()
            finally:
                if timer is not None:
                    timer.cancel()
                self._bench = self._loop = None

        return asyncio.run(go())
