"""Helpers for the hunt tests: a Scale to draw plans in, fake verdicts, a fake clock."""

from __future__ import annotations

import pytest

from sinkbench.hunt.scale import Scale
from sinkbench.hunt.target import Verdict


def scale(*, sink_timeout: float = 0.5, slow_kinds: bool = True) -> Scale:
    """A quickstart-like candidate: 1.1 s, 150 requests of 2 KB."""
    return Scale(count=1000, horizon=1.1, requests=150, body_bytes=2000, sink_timeout=sink_timeout,
                 candidate_timeout=10.0, slow_kinds=slow_kinds)


def verdict(broken: bool, score: float | None = None) -> Verdict:
    return Verdict(broken=broken, status="completed", broke=(0,) if broken else (), score=score)


class FakeClock:
    """Seconds that pass only when a fake candidate run says so."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
