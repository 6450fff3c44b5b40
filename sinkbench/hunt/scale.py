"""How a hunt scales a scenario down for its candidate runs, and what it measures to bound the search.

Every candidate is a real bench run, only shorter:

* a synthetic source is capped at `CANDIDATE_SECONDS` of its own rate (at
  least `MIN_BATCHES` batches; 1,000 messages when the rate is unlimited), so
  the quickstart's 3,000 messages at 1,000/s become 1,000; a recorded stream
  is replayed whole (scale it with its `speed` or a shorter file);
* fault windows are drawn inside a short horizon: the duration of that scaled
  run with a healthy endpoint, measured once before the search (windows may
  last up to twice the horizon, to outlast the source and catch the retries);
  request ranges inside the requests that run made; body thresholds around its
  average body; rate limits below its request rate;
* a candidate gets `min(scenario timeout, max(10 s, 5 × horizon + 2 × the
  sink's retry span))`; one that hits it proves nothing and counts as holding.

The sink's settings and the stream's rate are never scaled: they are what is
under test. The plan found is then re-run at the scenario's own scale.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from sinkbench.config.settings import SinkSettings
from sinkbench.engine.retry import backoff_cap
from sinkbench.run.result import RunResult
from sinkbench.scenario.model import Scenario

CANDIDATE_SECONDS = 1.0
MIN_BATCHES = 5
UNLIMITED_RATE_COUNT = 1000
MIN_CANDIDATE_TIMEOUT = 10.0
MIN_HORIZON = 0.2
GRID_STEPS = 20          # the horizon is cut into this many steps; windows move and grow by whole steps


def scaled_count(scenario: Scenario) -> int | None:
    """The synthetic message count of a candidate run; None when the source is not scaled."""
    if scenario.source.kind != "synthetic":
        return None
    opts = scenario.source.options
    count = int(opts["count"])
    rate = float(opts.get("rate", 0) or 0)
    floor = MIN_BATCHES * scenario.runtime.batch_length
    wanted = max(floor, math.ceil(rate * CANDIDATE_SECONDS)) if rate > 0 else max(floor, UNLIMITED_RATE_COUNT)
    return min(count, wanted)


def retry_span(sink: SinkSettings) -> float:
    """The longest the sink waits between the attempts of one batch (its backoff caps, summed)."""
    return sum(backoff_cap(n, sink.retry_delay, sink.retry_backoff_multiplier, sink.max_retry_delay)
               for n in range(sink.max_retries))


def with_scale(scenario: Scenario, count: int | None, timeout: float | None = None) -> Scenario:
    """The scenario with `count` synthetic messages (None: as it is) and, if given, another timeout."""
    changes: dict = {}
    if count is not None:
        changes["source"] = dataclasses.replace(scenario.source, options={**scenario.source.options, "count": count})
    if timeout is not None:
        changes["timeout"] = timeout
    return dataclasses.replace(scenario, **changes)


@dataclass(frozen=True)
class Scale:
    """A candidate run's size and the bounds of the search space, measured on the healthy scaled run."""

    count: int | None          # synthetic messages per candidate (None: the source as it is)
    horizon: float             # seconds the healthy candidate ran
    requests: int              # requests it made
    body_bytes: int            # their average body, in bytes
    sink_timeout: float        # the sink's own request timeout
    candidate_timeout: float   # a candidate stops here and proves nothing
    slow_kinds: bool           # hang and latency beyond the sink's timeout are affordable

    @property
    def step(self) -> float:
        """The window grid: a twentieth of the horizon, in whole milliseconds (at least 10 ms)."""
        return max(0.01, round(self.horizon / GRID_STEPS, 3))

    @property
    def request_rate(self) -> float:
        return self.requests / self.horizon if self.horizon > 0 else float(self.requests)

    def slow_kinds_note(self) -> str | None:
        if self.slow_kinds:
            return None
        return (f"hangs and latency beyond the sink's timeout are left out: every hit costs the sink's "
                f"timeout ({self.sink_timeout:g}s), too long for a candidate run of at most "
                f"{self.candidate_timeout:g}s")


def measure(scenario: Scenario, count: int | None, healthy: RunResult) -> Scale:
    """The Scale of a hunt, from the healthy run of the scaled scenario."""
    sink = scenario.sink.settings
    horizon = max(MIN_HORIZON, healthy.duration)
    requests = max(1, int(healthy.totals.get("requests") or 0))
    body = max(1, int((healthy.totals.get("bytes") or 0) / requests))
    timeout = min(scenario.timeout, max(MIN_CANDIDATE_TIMEOUT, 5 * horizon + 2 * retry_span(sink)))
    slow = sink.timeout * (sink.max_retries + 1) <= timeout / 2
    return Scale(count=count, horizon=round(horizon, 3), requests=requests, body_bytes=body,
                 sink_timeout=sink.timeout, candidate_timeout=round(timeout, 3), slow_kinds=slow)
