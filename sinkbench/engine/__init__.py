"""The sink engine: encode, send, retry and account, as the Iggy HTTP sink does."""

from sinkbench.engine.accounting import Attempt, BatchResult, Outcome, SinkStats
from sinkbench.engine.encode import (
    EncodeError,
    Encoder,
    convert_payload,
    format_rust_float,
    header_to_json,
)
from sinkbench.engine.retry import (
    RetryPolicy,
    Verdict,
    backoff_cap,
    classify_status,
    parse_retry_after,
)
from sinkbench.engine.sink import HttpSink, SinkError
from sinkbench.engine.transport import Reply, Transport, TransportError

__all__ = [
    "Attempt", "BatchResult", "EncodeError", "Encoder", "HttpSink", "Outcome", "Reply", "RetryPolicy", "SinkError",
    "SinkStats", "Transport", "TransportError", "Verdict", "backoff_cap", "classify_status", "convert_payload",
    "format_rust_float", "header_to_json", "parse_retry_after",
]
