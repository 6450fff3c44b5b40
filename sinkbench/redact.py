"""Redaction of secrets before anything reaches a screen, a log or a report.

Header values of the usual credential headers, values that came from `${VAR}`
expansion, URL userinfo and token-like query parameters are replaced.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "[redacted]"
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "x-auth-token"})
_SECRET_PARAM = re.compile(r"token|secret|password|passwd|pwd|api[-_]?key|apikey|signature|sig|auth|credential|key", re.IGNORECASE)


def is_secret_header(name: str) -> bool:
    return name.lower() in SECRET_HEADERS


def redact_url(url: str) -> str:
    """Remove userinfo and the values of token-like query parameters."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"(://)[^/@]*@", r"\1", url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAM.search(k) for k, _ in pairs):
            query = urlencode([(k, REDACTED if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="[]")
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_headers(headers: Mapping[str, str], secret_values: Iterable[str] = ()) -> dict[str, str]:
    secrets = [s for s in secret_values if s]
    out = {}
    for name, value in headers.items():
        if is_secret_header(name) or any(s in value for s in secrets):
            out[name] = REDACTED
        else:
            out[name] = value
    return out


def redact_text(text: str, secret_values: Iterable[str]) -> str:
    """Replace every occurrence of a known secret value in free text (error messages, logs)."""
    for s in sorted((s for s in secret_values if s), key=len, reverse=True):
        text = text.replace(s, REDACTED)
    return text
