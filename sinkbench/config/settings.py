"""The sink's settings: the Iggy HTTP sink's `[plugin_config]` keys plus sinkbench's own.

`SinkSettings` holds resolved values (defaults applied, the retry-delay swap
and multiplier clamp done, as the connector's `new()` does). Semantic checks
that Iggy makes in `open()` live in `open_problems()` so the loader can report
them with file and line before anything runs, and the engine's `open()` can
make the very same checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit

from sinkbench.redact import redact_url

TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
DEFAULT_SUCCESS = frozenset({200, 201, 202, 204})
MAX_CONSECUTIVE_FAILURES = 3
TCP_KEEPALIVE_S = 30.0
POOL_IDLE_TIMEOUT_S = 90.0


class Method(StrEnum):
    GET = "GET"
    HEAD = "HEAD"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"


class BatchMode(StrEnum):
    INDIVIDUAL = "individual"
    NDJSON = "ndjson"
    JSON_ARRAY = "json_array"
    RAW = "raw"

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self]

    @property
    def display_name(self) -> str:
        return _DISPLAY[self]

    @property
    def per_message(self) -> bool:
        return self in (BatchMode.INDIVIDUAL, BatchMode.RAW)


_CONTENT_TYPES = {
    BatchMode.INDIVIDUAL: "application/json",
    BatchMode.NDJSON: "application/x-ndjson",
    BatchMode.JSON_ARRAY: "application/json",
    BatchMode.RAW: "application/octet-stream",
}
_DISPLAY = {
    BatchMode.INDIVIDUAL: "individual",
    BatchMode.NDJSON: "NDJSON",
    BatchMode.JSON_ARRAY: "JSON array",
    BatchMode.RAW: "raw",
}


class Profile(StrEnum):
    IGGY = "iggy"
    ENHANCED = "enhanced"


class Jitter(StrEnum):
    FULL = "full"
    EQUAL = "equal"
    NONE = "none"


class RetryAfter(StrEnum):
    HONOR = "honor"
    IGNORE = "ignore"


@dataclass(frozen=True)
class SinkSettings:
    url: str
    method: Method = Method.POST
    timeout: float = 30.0
    max_payload_size_bytes: int = 10_485_760
    headers: tuple[tuple[str, str], ...] = ()
    batch_mode: BatchMode = BatchMode.INDIVIDUAL
    include_metadata: bool = True
    include_checksum: bool = False
    include_origin_timestamp: bool = False
    health_check_enabled: bool = False
    health_check_method: Method = Method.HEAD
    max_retries: int = 3
    retry_delay: float = 1.0
    retry_backoff_multiplier: int = 2
    max_retry_delay: float = 30.0
    success_status_codes: frozenset[int] = DEFAULT_SUCCESS
    tls_danger_accept_invalid_certs: bool = False
    max_connections: int = 10
    verbose_logging: bool = False
    # sinkbench's own keys; under profile "iggy" they keep Iggy's behaviour.
    profile: Profile = Profile.IGGY
    retry_after: RetryAfter = RetryAfter.HONOR
    jitter: Jitter = Jitter.FULL
    retry_statuses: frozenset[int] = TRANSIENT_STATUSES
    max_in_flight: int = 1
    split_oversize_batches: bool = False
    dead_letter_path: str | None = None
    tls_ca_file: str | None = None
    tls_client_cert: str | None = None
    tls_client_key: str | None = None
    http2: bool = False
    # Values that came from ${VAR}: redacted wherever settings are shown.
    secret_values: frozenset[str] = field(default=frozenset(), compare=False)

    def __post_init__(self) -> None:
        # Accept plain strings from code and tests; store the enums the engine compares by identity.
        for name, enum in (("method", Method), ("health_check_method", Method), ("batch_mode", BatchMode),
                           ("profile", Profile), ("jitter", Jitter), ("retry_after", RetryAfter)):
            value = getattr(self, name)
            if not isinstance(value, enum):
                object.__setattr__(self, name, enum(value))

    @property
    def enhanced(self) -> bool:
        return self.profile is Profile.ENHANCED

    @property
    def honors_retry_after(self) -> bool:
        return self.enhanced and self.retry_after is RetryAfter.HONOR

    @property
    def effective_jitter(self) -> Jitter:
        return self.jitter if self.enhanced else Jitter.FULL

    @property
    def transient_statuses(self) -> frozenset[int]:
        return self.retry_statuses if self.enhanced else TRANSIENT_STATUSES

    @property
    def effective_max_in_flight(self) -> int:
        return self.max_in_flight if self.enhanced else 1

    def request_headers(self) -> dict[str, str]:
        """The configured headers without any user Content-Type (the batch mode sets it)."""
        return {k: v for k, v in self.headers if k.lower() != "content-type"}


ENHANCED_KEYS = (
    "retry_after", "jitter", "retry_statuses", "max_in_flight", "split_oversize_batches",
    "dead_letter_path", "tls_ca_file", "tls_client_cert", "tls_client_key", "http2",
)
IGGY_KEYS = (
    "url", "method", "timeout", "max_payload_size_bytes", "headers", "batch_mode", "include_metadata",
    "include_checksum", "include_origin_timestamp", "health_check_enabled", "health_check_method",
    "max_retries", "retry_delay", "retry_backoff_multiplier", "max_retry_delay", "success_status_codes",
    "tls_danger_accept_invalid_certs", "max_connections", "verbose_logging",
)
ALL_KEYS = IGGY_KEYS + ("profile",) + ENHANCED_KEYS


def _token_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c in "!#$%&'*+-.^_`|~")


def header_name_problem(name: str) -> str | None:
    if not name or not all(_token_char(c) for c in name):
        return f"Invalid header name '{name}'"
    return None


def header_value_problem(name: str, value: str) -> str | None:
    # HTTP field values: visible ASCII, obs-text, space and tab; never CR, LF or NUL.
    if any(c in "\r\n\0" or (ord(c) < 32 and c != "\t") or ord(c) == 127 for c in value):
        return f"Invalid header value for '{name}'"
    return None


def url_problem(url: str) -> str | None:
    if not url:
        return "URL is empty"
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        return f"'{redact_url(url)}' is not a valid URL: {exc}"
    if not parts.scheme:
        return f"'{redact_url(url)}' is not a valid URL: relative URL without a base"
    if parts.scheme not in ("http", "https"):
        return f"URL scheme '{parts.scheme}' is not allowed (only http and https)"
    if not parts.hostname:
        return f"'{redact_url(url)}' is not a valid URL: empty host"
    return None


def open_problems(s: SinkSettings) -> list[tuple[str, str]]:
    """The checks the Iggy sink makes in `open()`, in its order: (key, message)."""
    if not s.success_status_codes:
        return [("success_status_codes", "success_status_codes must not be empty — would cause retry storms "
                 "(every response treated as failure)")]
    bad = sorted(c for c in s.success_status_codes if not 200 <= c <= 599)
    if bad:
        return [("success_status_codes", f"invalid status code {bad[0]} in success_status_codes (must be 200..599)")]
    problem = url_problem(s.url)
    if problem:
        return [("url", problem)]
    for name, value in s.headers:
        problem = header_name_problem(name) or header_value_problem(name, value)
        if problem:
            return [(f"headers.{name}", problem)]
    return []
