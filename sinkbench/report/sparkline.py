"""A picture of the run's timeline in text: one sparkline per counter.

    delivered ▃▇██▇█            ▂▆██▇█  peak 1,250 message-attempts/s
    retries         ▁▃▅▆▅▇▆▄▂           peak 40 requests/s
              0s                    20s

A second with nothing in it is a blank, not the lowest bar, so an outage
shows as a hole; any non-zero value gets at least the lowest bar.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sinkbench.report._text import count

BLOCKS = "▁▂▃▄▅▆▇█"
DEFAULT_WIDTH = 60

# (label, timeline key, unit): the timeline counts per pass, so a message polled again and
# delivered or failed again counts again — message-attempts, not messages.
_SERIES = (
    ("delivered", "delivered", "message-attempts"),
    ("retries", "retries", "requests"),
    ("failed/skipped", "errors", "message-attempts"),
)


def resample(values: Sequence[float], width: int) -> tuple[list[float], int]:
    """At most `width` values, each the mean of `step` consecutive ones; returns (values, step)."""
    if width < 1:
        raise ValueError(f"width must be at least 1, got {width}")
    step = max(1, math.ceil(len(values) / width))
    if step == 1:
        return [float(v) for v in values], 1
    out = []
    for i in range(0, len(values), step):
        chunk = values[i:i + step]
        out.append(sum(chunk) / len(chunk))
    return out, step


def sparkline(values: Sequence[float], *, width: int = DEFAULT_WIDTH, top: float | None = None) -> str:
    """`values` as block characters scaled to `top` (default: their maximum), at most `width` long.

    Zero (or less) is a space; any positive value is at least "▁".
    """
    points, _ = resample(values, width)
    scale = max(points, default=0.0) if top is None else top
    chars = []
    for v in points:
        if v <= 0 or scale <= 0 or math.isnan(v):
            chars.append(" ")
        else:
            level = math.ceil(min(v, scale) / scale * len(BLOCKS)) - 1
            chars.append(BLOCKS[max(0, min(len(BLOCKS) - 1, level))])
    return "".join(chars)


def timeline_picture(rows: Sequence[Mapping[str, Any]], *, width: int = DEFAULT_WIDTH) -> list[str]:
    """Lines picturing the timeline: delivered always, retries and failed/skipped when any.

    Each line ends with the series' peak per second (before resampling) in its
    unit; a last line marks the time axis. No rows: no lines.
    """
    if not rows:
        return []
    series = []
    for label, key, unit in _SERIES:
        values = [int(r.get(key) or 0) for r in rows]
        if key == "delivered" or any(values):
            series.append((label, unit, values))
    label_width = max(len(label) for label, _, _ in series)
    lines = []
    length = 0
    step = 1
    for label, unit, values in series:
        line = sparkline(values, width=width)
        length = len(line)
        step = resample(values, width)[1]
        peak = max(values)
        tail = f"peak {count(peak)} {unit}/s" if peak else "none"
        lines.append(f"{label:<{label_width}} {line}  {tail}")
    end = f"{len(rows)}s"
    axis = "0s".ljust(length - len(end)) + end if length >= len(end) + 3 else f"0s–{end}"
    if step > 1:
        axis += f"  (1 column = {step} s)"
    lines.append(" " * (label_width + 1) + axis)
    return lines
