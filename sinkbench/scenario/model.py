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
