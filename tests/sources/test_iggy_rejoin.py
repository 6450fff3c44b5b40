"""Joining the consumer group again when the server no longer counts the client as a member.

What a restarted iggy-server answers (measured in tests/real_iggy/test_live_source.py); here with a
client that answers the same, so it runs without the real stack.
"""

from __future__ import annotations

import asyncio

import pytest

from sinkbench.sources.iggy import (
    IggyConnectionLost,
    IggySession,
    Timeouts,
    classify,
    parse_connection,
)

GONE = "Consumer group member with client ID: 0 for group with ID: g for topic with ID: t was not found."
FAST = Timeouts(connect=1.0, request=1.0, retries=2, retry_wait=0.01)


class RestartedServer:
    """Polls fail as after a server restart until the client joins the group again."""

    def __init__(self, joins_work: bool = True) -> None:
        self.joined = 0
        self.polls = 0
        self.joins_work = joins_work

    async def poll(self) -> list[int]:
        self.polls += 1
        if not self.joined:
            raise RuntimeError(GONE)
        return [1, 2, 3]

    async def join(self) -> None:
        if not self.joins_work:
            raise RuntimeError("Unauthorized")
        self.joined += 1


def session() -> IggySession:
    return IggySession(parse_connection("iggy+tcp://u:p@127.0.0.1:8090", check_with_sdk=False), timeouts=FAST)


def test_the_server_forgetting_the_member_is_its_own_category():
    assert classify(GONE) == "membership"
    assert classify("Stream with name: x was not found.") == "not_found"


def test_a_poll_refused_for_membership_joins_again_and_polls_once_more():
    server = RestartedServer()
    got = asyncio.run(session().retrying(server.poll, "polling s/t", server.join))
    assert (got, server.joined, server.polls) == ([1, 2, 3], 1, 2)


def test_without_a_way_to_join_it_gives_up_after_the_bounded_retries():
    server = RestartedServer()
    with pytest.raises(IggyConnectionLost, match="no longer counts this bench as a member .* after 3 attempts"):
        asyncio.run(session().retrying(server.poll, "polling s/t"))
    assert server.polls == 3


def test_a_join_that_fails_counts_as_a_failed_attempt():
    server = RestartedServer(joins_work=False)
    with pytest.raises(IggyConnectionLost, match="Unauthorized.* after 3 attempts"):
        asyncio.run(session().retrying(server.poll, "polling s/t", server.join))
    assert server.polls == 3
