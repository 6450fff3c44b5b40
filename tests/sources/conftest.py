"""Helpers for the source tests: write stream files from Python values or raw lines."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

HEADER: dict[str, Any] = {"sinkbench_stream": 1, "stream": "orders", "topic": "events", "schema": "json"}


def encode(line: Any) -> bytes:
    """A line as bytes: dicts/lists are JSON-encoded, str and bytes are taken as they are."""
    if isinstance(line, bytes):
        return line
    if isinstance(line, str):
        return line.encode()
    return orjson.dumps(line)


@pytest.fixture
def stream_file(tmp_path: Path) -> Callable[..., Path]:
    """stream_file(*lines, name="s.jsonl", header=HEADER) -> path; header=None writes no header."""
    counter = iter(range(1_000_000))

    def make(*lines: Any, name: str | None = None, header: dict[str, Any] | None = HEADER,
             gz: bool | None = None) -> Path:
        path = tmp_path / (name or f"s{next(counter)}.jsonl")
        body = b"".join(encode(line) + b"\n" for line in ([header] if header is not None else []) + list(lines))
        if gz if gz is not None else path.name.endswith(".gz"):
            body = gzip.compress(body, mtime=0)
        path.write_bytes(body)
        return path

    return make
