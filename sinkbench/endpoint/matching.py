"""Request matching for fault rules and routes: method, path and headers, as WireMock matches requests.

A `RequestMatch` from the settings is compiled once (patterns compiled,
methods in a frozenset, header names lower-cased) into a `Matcher`, which the
request path calls. Only rules that name a request matcher get one, so an
endpoint whose rules match on time and request numbers alone pays nothing
for this (bench/endpoint_throughput.py).
"""

from __future__ import annotations

import re
from typing import Protocol

from sinkbench.endpoint.settings import RequestMatch


class _Headers(Protocol):
    def getall(self, key: str, default: list[str]) -> list[str]: ...


class RequestLike(Protocol):
    """What a matcher reads of a request (`http1.Request` has it)."""

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str: ...   # percent-decoded, without the query

    @property
    def headers(self) -> _Headers: ...


class Matcher:
    """Whether a request matches one `RequestMatch`: every part given must hold."""

    __slots__ = ("methods", "path", "prefix", "regex", "headers")

    def __init__(self, match: RequestMatch) -> None:
        self.methods = frozenset(match.methods) if match.methods is not None else None
        self.path = match.path
        self.prefix = match.path_prefix
        self.regex = re.compile(match.path_regex) if match.path_regex is not None else None
        # (name, exact value or None, compiled pattern or None)
        self.headers = tuple((h.name, h.value, re.compile(h.regex) if h.regex is not None else None)
                             for h in match.headers)

    def __call__(self, request: RequestLike) -> bool:
        if self.methods is not None and request.method not in self.methods:
            return False
        if self.path is not None and request.path != self.path:
            return False
        if self.prefix is not None and not request.path.startswith(self.prefix):
            return False
        if self.regex is not None and self.regex.fullmatch(request.path) is None:
            return False
        if self.headers:
            headers = request.headers
            for name, value, pattern in self.headers:
                # A header sent several times matches when one of its values does.
                values = headers.getall(name, [])
                if value is not None:
                    if value not in values:
                        return False
                elif pattern is None or not any(pattern.fullmatch(v) for v in values):
                    return False
        return True


def compile_match(match: RequestMatch | None) -> Matcher | None:
    return Matcher(match) if match is not None else None
