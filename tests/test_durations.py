"""Duration strings: humantime's grammar and its limits (a number past u64, a total past u64 seconds)."""

from __future__ import annotations

import pytest

from sinkbench.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize("text,seconds", [("500ms", 0.5), ("1m 30s", 90.0), ("2h", 7200.0), ("0s", 0.0),
                                          ("18446744073709551615ns", 18446744073.709553)])
def test_parses(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text,reason", [
    ("18446744073709551616s", "number too large"),          # u64 + 1
    ("1" + "0" * 400 + "s", "number too large"),            # would overflow a float
    ("9" * 5000 + "ms", "number too large"),                # int() refuses past 4,300 digits
    ("18446744073709551615d", "too long"),                  # a u64 of days is past u64 seconds
    ("5 parsecs", "unknown unit"),
    ("1.5s", "invalid duration"),
    ("\uff15s", "invalid duration"),                      # a full-width 5: humantime reads ASCII digits only
])
def test_refuses_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(DurationError, match=reason) as info:
        parse_duration(text)
    assert len(str(info.value)) < 200   # a 5,000-digit input is not echoed whole


def test_format_round_trips() -> None:
    for text in ("250ms", "3s", "2m", "1h"):
        assert format_duration(parse_duration(text)) == text
