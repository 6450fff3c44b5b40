"""Message sources: what the runtime polls (docs/scenario.md `[source]`, docs/streams.md).

- `SyntheticSource` generates a seeded stream;
- `read_stream` replays a recorded `.jsonl`/`.jsonl.gz` file, `validate_stream`
  checks one, `StreamWriter` writes one.

A source is anything matching the `Source` protocol: `name`, `topics()` and
an `__iter__` yielding `SourceMessage`s lazily in due order.
"""

from sinkbench.sources.base import Source, SourceMessage, SourceTopic
from sinkbench.sources.lines import LineError, StreamHeader
from sinkbench.sources.recorded import (
    RecordedSource,
    Speed,
    StreamWriter,
    read_header,
    read_stream,
    speed_factor,
    validate_stream,
)
from sinkbench.sources.synthetic import SyntheticSource

__all__ = [
    "LineError",
    "RecordedSource",
    "Source",
    "SourceMessage",
    "SourceTopic",
    "Speed",
    "StreamHeader",
    "StreamWriter",
    "SyntheticSource",
    "read_header",
    "read_stream",
    "speed_factor",
    "validate_stream",
]
