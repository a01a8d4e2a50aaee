"""The Redis live store and the hub's clean-ups under a burst: a thousand agents' sockets closing
at once, against the real Redis server."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from infra.bus.redis_bus import RedisBus
from infra.models import Role
from workbench.agent_state import Activity, GoReady, PauseCode, SignIn
from workbench.agents import WALLBOARD_CHANNEL, AgentStates
from workbench.live_store import RedisLiveStore
from workbench.pages import Pages
from workbench.sessions import WebSession
from workbench.viewer import ClientScope, Viewer
from workbench.ws import Hub

NOW = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
AGENTS = 1000


def agent(agent_id: int) -> Viewer:
    return Viewer(
        agent_id,
        f"agent{agent_id}",
        f"Agent {agent_id}",
        Role.AGENT,
        ClientScope(None),
        WebSession(f"session-{agent_id}", agent_id, "csrf", NOW),
    )


async def still_signed_in(viewer: Viewer) -> Viewer:
    return viewer


@pytest.mark.redis
async def test_callers_beyond_the_pool_wait_for_a_connection_instead_of_failing(
    redis_url: str, redis_namespace: str
) -> None:
    store = RedisLiveStore(redis_url, f"{redis_namespace}:web:", max_connections=4)
    try:
        outcomes = await asyncio.gather(
            *(store.hash_set("burst", str(index), "lost") for index in range(AGENTS)), return_exceptions=True
        )
        stored = await store.hash_all("burst")
    finally:
        await store.close()
    assert [repr(outcome) for outcome in outcomes if isinstance(outcome, BaseException)] == []
    assert len(stored) == AGENTS


@pytest.mark.redis
async def test_every_agent_is_marked_lost_when_a_thousand_sockets_close_at_once(
    redis_url: str, redis_namespace: str
) -> None:
    store = RedisLiveStore(redis_url, f"{redis_namespace}:web:")
    bus = RedisBus.from_url(redis_url, prefix=redis_namespace)
    states = AgentStates(store, bus, lambda: NOW)
    hub = Hub(bus, Pages(), states, still_signed_in)
    agents = [agent(agent_id) for agent_id in range(1, AGENTS + 1)]
    try:
        for viewer in agents:
            await states.apply(viewer, SignIn())
            await states.apply(viewer, GoReady())
        async with await bus.subscribe(WALLBOARD_CHANNEL) as wallboard:
            # What the hub starts for each agent socket that closes: one clean-up task per socket.
            outcomes = await asyncio.gather(
                *(hub.connection_lost(viewer) for viewer in agents), return_exceptions=True
            )
            announced: set[int] = set()
            while len(announced) < AGENTS and (message := await wallboard.get(timeout=5.0)) is not None:
                if message.body.get("pause_code") == PauseCode.LAGGED.value:
                    announced.add(message.body["agent_id"])
        records = await states.all()
    finally:
        await bus.close()
        await store.close()
    assert [repr(outcome) for outcome in outcomes if isinstance(outcome, BaseException)] == []
    assert {(record.status.activity, record.status.pause_code) for record in records} == {
        (Activity.PAUSED, PauseCode.LAGGED)
    }
    assert len(records) == len(announced) == AGENTS
