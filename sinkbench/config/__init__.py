"""The sink's configuration: Iggy's `[plugin_config]` keys, loaded, validated and written back."""

from sinkbench.config.connector import Connector, StreamEntry, connector_from_source, load_connector
from sinkbench.config.load import ConfigWarning, LoadedSink, resolve_sink, table_locator
from sinkbench.config.settings import (
    TRANSIENT_STATUSES,
    BatchMode,
    Jitter,
    Method,
    Profile,
    RetryAfter,
    SinkSettings,
    open_problems,
)

__all__ = [
    "BatchMode", "ConfigWarning", "Connector", "Jitter", "LoadedSink", "Method", "Profile", "RetryAfter",
    "SinkSettings", "StreamEntry", "TRANSIENT_STATUSES", "connector_from_source", "load_connector",
    "open_problems", "resolve_sink", "table_locator",
]
