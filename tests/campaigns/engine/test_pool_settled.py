"""When a stopping engine may let its campaign go: once its simulated agents have completed the
attempts they were given (their wrap-up does), whatever state the agents end in."""

from __future__ import annotations

from typing import cast

from campaigns.engine.sim_agents import Behaviour, SimulatedAgents
from dialer.sip.call_node import CallNode
from tests.conftest import Database


async def test_simulated_agents_settle_when_no_bot_is_on_or_wrapping_a_call(
    sqlite_database: Database,
) -> None:
    # Claiming and withdrawing a call never reach the SIP node: none is needed here.
    no_node = cast(CallNode, object())
    pool = SimulatedAgents(
        no_node, sqlite_database.sessions, [(1, "sip:agent-1@h"), (2, "sip:agent-2@h")], Behaviour(30.0, 8.0)
    )
    assert await pool.settled()
    assert await pool.claim(1, "attempt-1")
    assert not await pool.settled()
    await pool.release(1, "attempt-1", None)  # the call never reached the bot
    assert await pool.settled()
