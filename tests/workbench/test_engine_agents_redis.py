"""Claims of browser agents against the real Redis server, from pools that share nothing but Redis
(as two engine processes do): one ready agent goes to exactly one claim, a paused one to none."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from infra.bus.redis_bus import RedisBus
from infra.models import Role
from tests.conftest import Database
from workbench.agent_state import Activity, GoReady, Pause, PauseCode, SignIn
from workbench.agents import AgentStates
from workbench.engine_agents import BrowserAgents
from workbench.live_store import RedisLiveStore
from workbench.sessions import WebSession
from workbench.viewer import ClientScope, Viewer

NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
CLIENT = 1
AGENT = Viewer(
    7, "ann", "Ann", Role.AGENT, ClientScope(frozenset({CLIENT})), WebSession("session-7", 7, "csrf", NOW)
)
ROUNDS = 50


class Process:
    """What one engine process holds: its own Redis connections, live store, bus and pool."""

    def __init__(self, redis_url: str, namespace: str, database: Database) -> None:
        self.store = RedisLiveStore(redis_url, f"{namespace}:web:")
        self.bus = RedisBus.from_url(redis_url, prefix=namespace)
        self.states = AgentStates(self.store, self.bus, lambda: NOW)
        self.pool = BrowserAgents(self.states, self.bus, database.sessions, CLIENT)

    async def close(self) -> None:
        await self.pool.close()
        await self.bus.close()
        await self.store.close()


@pytest.mark.redis
async def test_two_engines_racing_for_one_ready_agent_get_it_once(
    redis_url: str, redis_namespace: str, sqlite_database: Database
) -> None:
    first, second = (Process(redis_url, redis_namespace, sqlite_database) for _ in range(2))
    try:
        await first.states.apply(AGENT, SignIn())
        for index in range(ROUNDS):
            await first.states.apply(AGENT, GoReady())
            won = await asyncio.gather(
                first.pool.claim(AGENT.user_id, f"first-{index}"),
                second.pool.claim(AGENT.user_id, f"second-{index}"),
            )
            assert sorted(won) == [False, True], index
            winner = f"first-{index}" if won[0] else f"second-{index}"
            record = await second.states.get(AGENT.user_id)
            assert record is not None
            assert (record.status.activity, record.status.call) == (Activity.ON_CALL, winner)
            await (first if won[0] else second).pool.release(AGENT.user_id, winner, None)
    finally:
        await first.close()
        await second.close()


@pytest.mark.redis
async def test_a_paused_agent_cannot_be_claimed_even_while_pausing(
    redis_url: str, redis_namespace: str, sqlite_database: Database
) -> None:
    engine, web = (Process(redis_url, redis_namespace, sqlite_database) for _ in range(2))
    try:
        await web.states.apply(AGENT, SignIn())
        assert not await engine.pool.claim(AGENT.user_id, "before-ready")
        for index in range(ROUNDS):
            await web.states.apply(AGENT, GoReady())
            claimed, paused = await asyncio.gather(
                engine.pool.claim(AGENT.user_id, f"call-{index}"),
                web.states.apply(AGENT, Pause(PauseCode.BREAK)),
            )
            record = await web.states.get(AGENT.user_id)
            assert record is not None
            if claimed:
                # The pause came second and was refused: the agent is on the call, not on a break.
                assert (record.status.activity, record.status.call) == (Activity.ON_CALL, f"call-{index}")
                await engine.pool.release(AGENT.user_id, f"call-{index}", None)
                await web.states.apply(AGENT, Pause(PauseCode.BREAK))
            else:
                assert record.status.activity is Activity.PAUSED, paused
            assert not await engine.pool.claim(AGENT.user_id, f"paused-{index}")
    finally:
        await engine.close()
        await web.close()
