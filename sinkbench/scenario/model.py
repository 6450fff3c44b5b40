"""A scenario, validated: everything a bench run needs, nothing it must still check."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sinkbench.config.load import LoadedSink
from sinkbench.endpoint.settings import EndpointSettings
from sinkbench.metrics.expect import Expectation
from sinkbench.runtime import RuntimeSettings

MOCK = "mock"


@dataclass(frozen=True)
class SourceSpec:
    """`[source]` with its kind's keys; the source itself is built when the run starts."""

    kind: str                         # synthetic | recorded | iggy
    options: dict[str, Any]           # the kind's keys, validated and with defaults
    path: Path | None = None          # recorded: resolved against the scenario's folder


@dataclass(frozen=True)
class Ready:
    """When an external sink is ready for the feed: after `delay`, once `url` answers 2xx, or once a line
    of its output matches `log` (waiting at most `timeout` for either)."""

    delay: float = 0.0
    url: str | None = None            # may hold ${SINKBENCH_ENDPOINT_URL} / ${SINKBENCH_ENDPOINT_PORT}
    log: str | None = None            # a regular expression (checked when loaded)
    timeout: float = 30.0


@dataclass(frozen=True)
class ExternalSink:
    """`[sink] kind = "external"`: a real program under test (docs/external.md).

    `command` and `env` hold their `${VAR}`s expanded, except the endpoint's own
    (`${SINKBENCH_ENDPOINT_URL}`, `${SINKBENCH_ENDPOINT_PORT}`), which the run fills in once the
    endpoint listens. `secret_values` are the expansions: redacted wherever the command line, the
    environment or the command's output is shown.
    """

    command: tuple[str, ...] = ()     # empty: nothing to start (the sink runs elsewhere)
    env: tuple[tuple[str, str], ...] = ()
    ready: Ready = field(default_factory=Ready)
    settle: float = 5.0
    cwd: Path | None = None           # the scenario's folder: where the command runs
    secret_values: frozenset[str] = frozenset()


@dataclass(frozen=True)
class FeedSpec:
    """`[feed]`: how the stream reaches an external sink (iggy | file | stdin)."""

    kind: str
    options: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None          # file: resolved against the scenario's folder


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    file: str | None
    seed: int
    timeout: float
    source: SourceSpec
    runtime: RuntimeSettings
    sink: LoadedSink
    mock: bool                        # url = "mock": the embedded endpoint
    endpoint: EndpointSettings
    expectations: tuple[Expectation, ...]
    warnings: tuple[str, ...] = field(default=())
    sink_table: dict[str, Any] = field(default_factory=dict)   # the merged [plugin_config] as given (for write-back)
    external: ExternalSink | None = None   # [sink] kind = "external": `sink` then holds only defaults
    feed: FeedSpec | None = None           # with an external sink

    @property
    def is_external(self) -> bool:
        return self.external is not None
