"""The request journal: the last N requests, for `GET /__sinkbench/requests`.

Recording must cost next to nothing on the request path, so an entry is a
tuple of references the server already holds (the raw header tuple, the raw
path); redaction and formatting happen only when someone reads the
journal. The ring is bounded, and oversized header blocks are cut before they
are kept, so a hostile client cannot make the journal large.

Redaction works from what a secret looks like — a credential header's name, a
value in an authorisation scheme (`Bearer ...`), a token-like query parameter —
and, when the bench started the endpoint, from the secret values it knows
(`${VAR}` expansions), so a secret in an innocently named header is hidden too.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

REDACTED = "[redacted]"

# Header names whose values are secrets whatever their spelling (docs/sink.md), and name
# fragments that mark one (X-Auth-Token, X-Client-Secret, Api-Key, ...).
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
# Over-redacting a harmless header (Idempotency-Key) costs nothing; leaking a key does.
_SECRET_HEADER_HINTS = ("token", "secret", "password", "passwd", "key", "auth", "session", "signature",
                        "credential", "cookie")
_SECRET_QUERY_HINTS = ("token", "key", "secret", "password", "passwd", "pwd", "auth", "signature",
                       "credential", "session")

# A value in an HTTP authentication scheme is a credential whatever header carries it.
_CREDENTIAL_VALUE = re.compile(r"\s*(bearer|basic|digest|token|negotiate|apikey|aws4-hmac-sha256)\s",
                               re.IGNORECASE)

_MAX_KEPT_HEADERS = 64
_MAX_KEPT_HEADER_BYTES = 8192
_MAX_KEPT_VALUE = 256

RawHeaders = tuple[tuple[bytes, bytes], ...]
# (seq, time, method, raw path, raw headers, content type, body bytes, messages, status or action)
Entry = tuple[int, float, str, str, RawHeaders, "str | None", int, "int | None", "int | str"]


def is_secret_header(name: str) -> bool:
    lower = name.lower()
    return lower in _SECRET_HEADERS or any(hint in lower for hint in _SECRET_HEADER_HINTS)


def _is_secret_param(name: str) -> bool:
    lower = name.lower()
    return any(hint in lower for hint in _SECRET_QUERY_HINTS)


def _contains_secret(text: str, secrets: tuple[str, ...]) -> bool:
    return any(secret in text for secret in secrets)


def redact_path(raw_path: str, secrets: tuple[str, ...] = ()) -> str:
    """The path with the values of secret-looking query parameters, and known secrets, replaced."""
    if "?" in raw_path:
        parts = urlsplit(raw_path)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        if any(_is_secret_param(k) or _contains_secret(v, secrets) for k, v in pairs):
            query = "&".join(
                f"{quote(k, safe='')}="
                f"{REDACTED if _is_secret_param(k) or _contains_secret(v, secrets) else quote(v, safe='')}"
                for k, v in pairs
            )
            raw_path = f"{parts.path}?{query}"
    for secret in secrets:  # in the path itself, or a query too broken to parse
        raw_path = raw_path.replace(secret, REDACTED).replace(quote(secret, safe=""), REDACTED)
    return raw_path


def keepable_headers(raw: RawHeaders, size: int | None = None) -> RawHeaders:
    """`raw` itself when small (the usual case, no copy); else a cut-down copy. `size`: the names' and values'
    bytes summed, when the caller counted them already."""
    if size is None:
        size = sum(len(k) + len(v) for k, v in raw)
    if len(raw) <= _MAX_KEPT_HEADERS and size <= _MAX_KEPT_HEADER_BYTES:
        return raw
    return tuple((k[:_MAX_KEPT_VALUE], v[:_MAX_KEPT_VALUE]) for k, v in raw[:_MAX_KEPT_HEADERS])


def format_headers(raw: RawHeaders, secrets: tuple[str, ...] = ()) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in raw:
        name = k.decode("latin-1")
        value = v.decode("latin-1")
        if is_secret_header(name) or _CREDENTIAL_VALUE.match(value) or _contains_secret(value, secrets):
            value = REDACTED
        # Repeated headers are joined the way HTTP allows (RFC 9110 §5.3).
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


class Journal:
    """A bounded ring of the most recent requests."""

    __slots__ = ("_ring", "_secrets")

    def __init__(self, size: int = 1000, secret_values: Iterable[str] = ()) -> None:
        self._ring: deque[Entry] = deque(maxlen=max(1, size))
        # Longest first, so a secret that contains another is replaced whole.
        self._secrets = tuple(sorted({s for s in secret_values if s}, key=len, reverse=True))

    def record(self, entry: Entry) -> None:
        self._ring.append(entry)

    def clear(self) -> None:
        self._ring.clear()

    def __len__(self) -> int:
        return len(self._ring)

    @property
    def size(self) -> int:
        return self._ring.maxlen or 0

    def last(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The last `limit` entries (all when None), oldest first, secrets redacted."""
        entries = list(self._ring)
        if limit is not None:
            entries = entries[-limit:] if limit > 0 else []
        return [
            {
                "seq": seq,
                "time": round(t, 6),
                "method": method,
                "path": redact_path(path, self._secrets),
                "headers": format_headers(headers, self._secrets),
                "content_type": content_type,
                "body_bytes": body_bytes,
                "messages": messages,
                "status": status,
            }
            for seq, t, method, path, headers, content_type, body_bytes, messages, status in entries
        ]
