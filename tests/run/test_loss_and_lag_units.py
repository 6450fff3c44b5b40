"""The pure parts of issue 12's items 3, 10 and 13: the loss account's arithmetic and the lag trace's drain."""

from __future__ import annotations

import dataclasses

from sinkbench.config.settings import BatchMode, SinkSettings
from sinkbench.endpoint.client import LedgerAnswer
from sinkbench.endpoint.ledger import Ledger, Recognizer
from sinkbench.model import Message, Schema
from sinkbench.run.drain import LagTrace
from sinkbench.run.loss import Identify, LossAccount
from sinkbench.sources.base import SourceTopic

TOPIC = SourceTopic("s", "t", Schema.TEXT)


def _msg(offset: int, payload: str = "beat", partition: int = 0) -> Message:
    return Message(id=offset + 1, offset=offset, timestamp=0, payload=payload, partition=partition)


def _answer(ledger: Ledger, q) -> LedgerAnswer:
    """What the endpoint answers, from a ledger in the test."""
    r = Recognizer()
    held = sum(ledger.held(r.address(s, t, p, a), r.address(s, t, p, b)) for s, t, p, runs in q.addresses
               for a, b in runs)
    return LedgerAnswer(held, [ledger.accepted(h) for h in q.identities], ledger.address_duplicates)


def test_addressed_messages_are_asked_about_as_runs() -> None:
    account, ledger, r = LossAccount(SinkSettings(url="http://x/")), Ledger(), Recognizer()
    msgs = [_msg(i) for i in range(10)]
    for m in msgs:
        account.fed(TOPIC, [m])
    account.settled(TOPIC, msgs[:6])
    ledger.add([r.address("s", "t", 0, i) for i in (0, 1, 2, 4)])
    q = account.question()
    assert (q.addresses, q.address_count, q.identities) == ([("s", "t", 0, [(0, 6)])], 6, [])
    account.learn(q, _answer(ledger, q))
    assert (account.lost, account.duplicates) == (2, 0)
    # Offset 3 arrives late (a request the sink gave up on): live stays at 2, the end says 1.
    ledger.add([r.address("s", "t", 0, 3)] + [r.address("s", "t", 0, i) for i in range(6, 10)] * 2)
    account.settled(TOPIC, msgs[6:])
    q = account.question()
    assert q.addresses == [("s", "t", 0, [(6, 10)])]
    account.learn(q, _answer(ledger, q))
    assert (account.lost, account.duplicates) == (2, 4)
    full = account.full_question()
    assert account.settle(full, _answer(ledger, full), total=12) == (1 + 2, 4)   # two never fed
    assert (account.lost, account.duplicates) == (3, 4)


def test_bare_payloads_are_a_multiset() -> None:
    settings = SinkSettings(url="http://x/", batch_mode=BatchMode.RAW)
    account, ledger, identify = LossAccount(settings), Ledger(), Identify(settings)
    beats = [_msg(i) for i in range(5)]
    beat = identify.identities(TOPIC, beats[0])
    assert beat == identify.identities(TOPIC, beats[3])       # equal payloads: one identity
    for m in beats:
        account.fed(TOPIC, [m])
    ledger.add(list(beat) * 3)                # three of them accepted so far
    account.settled(TOPIC, beats[:2])
    q = account.question()
    account.learn(q, _answer(ledger, q))
    assert (account.lost, account.duplicates) == (0, 0)    # 2 settled, 3 accepted: in-flight ones, not duplicates
    ledger.add(list(beat) * 3)                # six acceptances of five messages: a duplicate, proven
    account.settled(TOPIC, beats[2:])
    q = account.question()
    account.learn(q, _answer(ledger, q))
    assert (account.lost, account.duplicates) == (0, 1)
    full = account.full_question()
    assert account.settle(full, _answer(ledger, full), total=5) == (0, 1)


def test_a_duplicate_proven_live_is_kept_when_a_copy_is_lost_later() -> None:
    # Two equal payloads: the first accepted twice (proven while only it was fed), the second never.
    settings = SinkSettings(url="http://x/", batch_mode=BatchMode.RAW)
    account, ledger = LossAccount(settings), Ledger()
    first, second = _msg(0), _msg(1)
    account.fed(TOPIC, [first])
    ledger.add(list(Identify(settings).identities(TOPIC, first)) * 2)
    account.settled(TOPIC, [first])
    q = account.question()
    account.learn(q, _answer(ledger, q))
    assert (account.lost, account.duplicates) == (0, 1)
    account.fed(TOPIC, [second])
    account.settled(TOPIC, [second])
    full = account.full_question()
    # A bare multiset (2 sent, 2 accepted) would say neither; what the run proved says one of each.
    assert account.settle(full, _answer(ledger, full), total=2) == (1, 1)


def test_a_message_no_body_can_carry_is_lost() -> None:
    settings = SinkSettings(url="http://x/", batch_mode=BatchMode.INDIVIDUAL, include_metadata=False)
    account = LossAccount(settings)
    odd = dataclasses.replace(_msg(0), payload=2 ** 70)    # orjson cannot encode it: the sink skips it
    account.fed(SourceTopic("s", "t", Schema.JSON), [odd])
    account.settled(SourceTopic("s", "t", Schema.JSON), [odd])
    assert account.lost == 1


def test_lag_trace_drain_from_the_last_stretch() -> None:
    lag = LagTrace(faults=[(1.5, 2.0), (2.0, 3.0)])     # touching: one stretch 1.5–3.0
    for t, n in ((0.2, 0), (0.7, 4), (1.2, 9), (1.8, 40), (2.9, 200), (3.1, 150), (3.4, 9), (3.6, 2)):
        lag.sample(t, n)
    # The level before: the highest in second 0 (the last whole second before 1.5), 4.
    assert lag.drain(waiting=0).seconds == 3.6 - 3.0


def test_lag_trace_without_a_return_or_an_end() -> None:
    lag = LagTrace(faults=[(0.0, 1.0)])
    for t, n in ((0.5, 10), (1.2, 30), (1.9, 3)):
        lag.sample(t, n)
    drained = lag.drain(waiting=40)
    assert drained.seconds is None and "never came back to its level before the fault (0 message(s))" in drained.note
    assert LagTrace(faults=[(0.0, 1.0)]).drain(waiting=0).seconds == 0.0       # nothing settled after, none left
    assert LagTrace().drain(waiting=5) == LagTrace().drain(waiting=0) and LagTrace().drain(0).note is None
    open_fault = LagTrace(faults=[(0.0, None)]).drain(0)
    assert open_fault.seconds is None and "without `until`" in open_fault.note
    live = LagTrace()
    live.break_started(1.0)
    assert "live break was still in force" in live.drain(0).note
    live.break_ended(2.0)
    live.sample(2.5, 0)
    assert live.drain(0).seconds == 0.5
