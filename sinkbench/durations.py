"""Duration strings in the humantime grammar the Iggy connector uses.

`500ms`, `10s`, `2m`, `1h`, also combined (`1m 30s`). Whole numbers only, as
humantime: a value the real connector would reject must not pass here.
"""

from __future__ import annotations

import re

_UNITS: dict[str, float] = {
    "ns": 1e-9, "nsec": 1e-9,
    "us": 1e-6, "usec": 1e-6, "µs": 1e-6,
    "ms": 1e-3, "msec": 1e-3, "millis": 1e-3,
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
}
_PART = re.compile(r"\s*([0-9]+)\s*([a-zµ]+)", re.IGNORECASE)  # ASCII digits only, as humantime


_U64_MAX = 2**64 - 1


class DurationError(ValueError):
    pass


def _short(text: str) -> str:
    return repr(text) if len(text) <= 60 else repr(text[:60]) + "…"


def parse_duration(text: str) -> float:
    """Seconds in `text`; raises DurationError with the reason."""
    if not isinstance(text, str):
        raise DurationError(f"expected a duration string such as \"500ms\", got {text!r}")
    s = text.strip()
    if not s:
        raise DurationError("empty duration")
    total = 0.0
    pos = 0
    while pos < len(s):
        m = _PART.match(s, pos)
        if not m:
            raise DurationError(f"invalid duration {text!r} (expected e.g. \"500ms\", \"10s\", \"2m\", \"1h\")")
        unit = m.group(2).lower()
        if unit not in _UNITS:
            raise DurationError(f"invalid duration {text!r}: unknown unit {m.group(2)!r}")
        digits = m.group(1).lstrip("0") or "0"
        # humantime reads each number as a u64 and refuses a total past u64 seconds; so do we, which also
        # keeps a 5,000-digit number from reaching int() (it refuses past 4,300) or overflowing a float.
        if len(digits) > 20 or int(digits) > _U64_MAX:
            raise DurationError(f"invalid duration {_short(text)}: number too large")
        total += int(digits) * _UNITS[unit]
        if total > _U64_MAX:
            raise DurationError(f"invalid duration {_short(text)}: too long")
        pos = m.end()
        while pos < len(s) and s[pos] == " ":
            pos += 1
    return total


def format_duration(seconds: float) -> str:
    """The shortest exact humantime spelling of `seconds` (whole milliseconds or coarser)."""
    ms = round(seconds * 1000)
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"
