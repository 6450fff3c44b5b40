"""Redaction of secrets before anything reaches a screen, a log or a report.

Header values of the usual credential headers, values that came from `${VAR}`
expansion, URL userinfo and token-like query parameters are replaced; in TOML
text shown to the user (a connector file's diff), the same secrets as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
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


# -- TOML text shown to the user (the write-back's diff) -------------------------------------
_TOML_KEY = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
# A diff line (" ", "+" or "-" first) or a file line that assigns a value: prefix, dotted key, " = ", value.
_TOML_ASSIGN = re.compile(rf"^([ +\-]?[ \t]*)({_TOML_KEY}(?:[ \t]*\.[ \t]*{_TOML_KEY})*)([ \t]*=[ \t]*)(.*)$")
_TOML_PIECE = re.compile(_TOML_KEY)


@dataclass(frozen=True)
class TomlSecrets:
    """The secret values of TOML files, spelled as they are written there, and what to show instead."""

    replacements: tuple[tuple[str, str], ...]

    def redact(self, text: str) -> str:
        """`text` (lines of those files, e.g. a diff of them) with every secret replaced.

        Two nets: each secret string as written (so an inline table is covered too), and any line assigning
        a credential header (whatever escapes its value is spelled with).
        """
        for written, shown in self.replacements:
            text = text.replace(written, shown)
        return "".join(_redact_assignment(line) for line in text.splitlines(keepends=True))


def toml_secrets(*texts: str) -> TomlSecrets:
    """The secrets in connector files' texts: credential header values, URL userinfo and token parameters."""
    import json

    import tomlkit

    pairs: dict[str, str] = {}
    for text in texts:
        try:
            data = tomlkit.parse(text).unwrap()
        except Exception:
            continue
        for key, value in _strings(data, ""):
            shown = REDACTED if is_secret_header(key) else redact_url(value)
            if shown == value:
                continue
            quoted = json.dumps(shown, ensure_ascii=False)
            for written in {json.dumps(value, ensure_ascii=False), json.dumps(value), tomlkit.string(value).as_string(),
                            f"'{value}'"}:
                pairs[written] = quoted
    ordered = sorted(pairs.items(), key=lambda kv: len(kv[0]), reverse=True)
    return TomlSecrets(tuple(ordered))


def _strings(data: Any, key: str) -> Iterable[tuple[str, str]]:
    if isinstance(data, str):
        yield key, data
    elif isinstance(data, Mapping):
        for k, v in data.items():
            yield from _strings(v, str(k))
    elif isinstance(data, list):
        for v in data:
            yield from _strings(v, key)


def _redact_assignment(line: str) -> str:
    m = _TOML_ASSIGN.match(line.rstrip("\r\n"))
    if not m:
        return line
    last = _TOML_PIECE.findall(m.group(2))[-1]
    if not is_secret_header(last.strip("\"'")) or m.group(4).startswith(f'"{REDACTED}"'):
        return line
    return f'{m.group(1)}{m.group(2)}{m.group(3)}"{REDACTED}"' + line[len(line.rstrip("\r\n")):]
