"""Which combinations of a sweep the real Iggy connector can run as benched.

Two settings a scenario can choose are not the connector's to choose:
`runtime.offset_commit` (the Iggy runtime commits a batch's offsets when it
polls it, whatever the connector file says; after_consuming is the proposal of
Iggy PR #3954) and `sink.profile` (enhanced is sinkbench's proposed behaviour;
the connector only has its own). A combination that ran with either otherwise
shows what-if figures: its advantage may come from exactly that setting — the
outage that after_consuming rides out with no retries loses thousands of
messages under the real after_polling. So the ranking puts those rows after
the rows the connector can run, the table marks them, and --write-best never
writes them.

(Endpoint keys, the other settings no connector file holds, cannot be varied
at all: see plan.normalise_key.)
"""

from __future__ import annotations

from dataclasses import dataclass

from sinkbench.scenario.model import Scenario


@dataclass(frozen=True)
class ConnectorFact:
    key: str            # full dotted key
    connector: str      # what the connector does
    why: str


FACTS = (
    ConnectorFact("runtime.offset_commit", "after_polling",
                  "the Iggy runtime commits offsets when it polls (at-most-once), and no connector-file key "
                  "changes that"),
    ConnectorFact("sink.profile", "iggy",
                  "the enhanced profile is sinkbench's proposed behaviour; the Iggy connector has only its own"),
)


@dataclass(frozen=True)
class NotConnector:
    """One setting a run used that the connector does not do."""

    fact: ConnectorFact
    value: str          # what the run used

    @property
    def key(self) -> str:
        return self.fact.key

    @property
    def text(self) -> str:
        """`offset_commit = after_consuming`."""
        return f"{self.key.split('.', 1)[1]} = {self.value}"


def _used(scenario: Scenario, key: str) -> str:
    if key == "runtime.offset_commit":
        return str(scenario.runtime.offset_commit)
    if key == "sink.profile":
        return str(scenario.sink.settings.profile)
    raise KeyError(key)


def not_connector(scenario: Scenario) -> tuple[NotConnector, ...]:
    """The settings `scenario` runs with that the connector would not: empty when it runs as the connector."""
    out = []
    for fact in FACTS:
        value = _used(scenario, fact.key)
        if value != fact.connector:
            out.append(NotConnector(fact, value))
    return tuple(out)
