"""TOML files with line numbers for every key, so errors can say where.

tomlkit parses (and later writes back, keeping comments); it does not keep
positions on items, so a light scan of the source maps each key path to the
line that defines it. Paths are tuples: ("endpoint", "faults", 0, "status").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import ParseError, TOMLKitError

from sinkbench.errors import InputError, Where

_KEY = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|\'[^\']*\')'
_DOTTED = rf"{_KEY}(?:\s*\.\s*{_KEY})*"
_TABLE = re.compile(rf"^\s*\[\s*({_DOTTED})\s*\]\s*(?:#.*)?$")
_ARRAY_TABLE = re.compile(rf"^\s*\[\[\s*({_DOTTED})\s*\]\]\s*(?:#.*)?$")
_ASSIGN = re.compile(rf"^\s*({_DOTTED})\s*=")
_PIECE = re.compile(_KEY)

Path_ = tuple[str | int, ...]


def _split(dotted: str) -> list[str]:
    out = []
    for m in _PIECE.finditer(dotted):
        k = m.group(0)
        if k[0] in "\"'":
            k = k[1:-1]
        out.append(k)
    return out


def _scan_lines(text: str) -> tuple[dict[Path_, int], int | None]:
    """Each key path's first line, and the line of the first key or table defined twice (None if none).

    The duplicate comes from this scan, not from tomlkit's message: tomlkit names a duplicate key without
    its line, or with the line after it depending on its version.
    """
    lines: dict[Path_, int] = {}
    defined: set[Path_] = set()  # keys assigned and tables opened by a header
    duplicate: int | None = None
    aot_count: dict[tuple[str, ...], int] = {}
    prefix: Path_ = ()
    in_multiline: str | None = None

    def resolve(keys: list[str]) -> Path_:
        # A table header under an array of tables refers to its last element.
        out: list[str | int] = []
        plain: list[str] = []
        for k in keys:
            out.append(k)
            plain.append(k)
            n = aot_count.get(tuple(plain))
            if n is not None and len(plain) < len(keys):
                out.append(n - 1)
        return tuple(out)

    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        if m := _ARRAY_TABLE.match(line):
            keys = _split(m.group(1))
            base = resolve(keys)
            n = aot_count.get(tuple(keys), 0)
            aot_count[tuple(keys)] = n + 1
            lines.setdefault(base, number)
            prefix = base + (n,)
            lines[prefix] = number
            continue
        if m := _TABLE.match(line):
            prefix = resolve(_split(m.group(1)))
            if prefix in defined and duplicate is None:
                duplicate = number
            defined.add(prefix)
            lines.setdefault(prefix, number)
            continue
        if m := _ASSIGN.match(line):
            path = prefix + tuple(_split(m.group(1)))
            if path in defined and duplicate is None:
                duplicate = number
            defined.add(path)
            lines.setdefault(path, number)
            rest = line[m.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote
    return lines, duplicate


@dataclass
class TomlSource:
    """A parsed TOML text: plain data, the tomlkit document and key lines."""

    name: str
    text: str
    data: dict[str, Any]
    document: tomlkit.TOMLDocument
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, *path: str | int) -> int | None:
        p = tuple(path)
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return None

    def where(self, *path: str | int) -> Where:
        key = ".".join(str(k) if isinstance(k, str) else f"[{k}]" for k in path).replace(".[", "[")
        return Where(file=self.name, line=self.line(*path), key=key or None)

    def error(self, message: str, *path: str | int) -> InputError:
        return InputError(message, self.where(*path))


def parse_toml(text: str, name: str) -> TomlSource:
    try:
        document = tomlkit.parse(text)
    except TOMLKitError as exc:
        reason = str(exc).split(" at line ")[0]
        line = exc.line if isinstance(exc, ParseError) else None
        if "already exists" in reason:
            # tomlkit's position for a duplicate is absent or a line late (it moved between releases).
            line = _scan_lines(text)[1] or line
        raise InputError(f"invalid TOML: {reason}", Where(file=name, line=line)) from None
    return TomlSource(name=name, text=text, data=document.unwrap(), document=document, lines=_scan_lines(text)[0])


def load_toml(path: str | Path) -> TomlSource:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", Where(file=str(p))) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a TOML file", Where(file=str(p))) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", Where(file=str(p))) from None
    except ValueError:  # a NUL in the name: the OS is never even asked
        raise InputError("the path contains a NUL character", Where(file=str(p).replace("\x00", "\\x00"))) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError("not valid UTF-8", Where(file=str(p), line=line)) from None
    return parse_toml(text, str(p))


def parse_value(text: str) -> Any:
    """One TOML value typed on a command line or in a form: `5` an int, `"5"` or a bare word a string.

    Text that is not exactly one TOML value (`5\\nx = 1` would be two keys) is taken whole as a string, so the
    key it is meant for says what it expected instead of silently getting its first part.
    """
    t = text.strip()
    try:
        doc = tomlkit.parse(f"v = {t}")
    except Exception:
        return t
    if list(doc.keys()) != ["v"]:
        return t
    value = doc["v"]
    return value.unwrap() if hasattr(value, "unwrap") else value
