"""Browser agents as the campaign engine's agent pool, over the live store the web app uses.

The engine sees the campaign client's signed-in agents who have a phone (`User.sip_uri`) with the
phase their state maps to. A claim goes through the same pure state machine as the browser
(`ConnectCall`), guarded so that only a ready agent is taken, and is written with a
compare-and-set on the agent's record: two engines (or an engine and the agent pausing in another
tab) racing for one agent cannot both win. The claimed agent is written on the open attempt at
once, because the engine publishes the screen pop on the agent's channel as soon as the agent's
leg answers, and the agent's tab shows a call only once the attempt is theirs.

A call that never reached the agent puts them back to ready. A conversation leaves them on the
call until they record its disposition, which moves them to wrap-up (the disposition route's
`EndCall`): nobody can go ready with a call undecided. The pacer, though, sees an agent whose
customer has hung up as wrapping up from the hang-up: the time left is a wrap-up's, not a
conversation's, and counting it as talk would make the model expect them back far too late.
Every change of any agent's state is announced on the wallboard channel, which `watch` follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from campaigns.engine.agents import AgentPool, AgentView, ConnectedCall, EndedCall
from campaigns.engine.runner import AgentPools
from campaigns.engine.store import CampaignConfig
from compliance.models import AttemptStatus, ContactAttempt
from dialer.pacing import AgentPhase
from infra.bus.base import Bus
from infra.db import utcnow
from infra.models import User
from infra.settings import Settings
from workbench.agent_state import Activity, AgentStatus, ConnectCall, EndCall, GoReady, Refused, transition
from workbench.agents import WALLBOARD_CHANNEL, AgentRecord, AgentStates, Step
from workbench.app import REDIS_PREFIX
from workbench.live_store import RedisLiveStore

PHASES: dict[Activity, AgentPhase] = {
    Activity.READY: AgentPhase.IDLE,
    Activity.ON_CALL: AgentPhase.TALK,
    Activity.WRAP_UP: AgentPhase.WRAP,
    Activity.PAUSED: AgentPhase.PAUSED,
}
OPEN_STATUSES = (AttemptStatus.RESERVED, AttemptStatus.DIALING)
STATE_EVENTS = frozenset({"agent.state", "agent.signed_out"})


def phase_of(status: AgentStatus) -> AgentPhase:
    return PHASES[status.activity]


HungUp = tuple[str, dt.datetime]  # the attempt uuid of a bridged call that ended, and when


def pacing_phase(status: AgentStatus, hung_up: HungUp | None) -> tuple[AgentPhase, dt.datetime]:
    """The phase the pacer sees and since when: on a call whose customer has hung up is wrap-up."""
    if status.activity is Activity.ON_CALL and hung_up is not None and hung_up[0] == status.call:
        return AgentPhase.WRAP, hung_up[1]
    return phase_of(status), status.since


def _with_status(record: AgentRecord, status: AgentStatus | Refused) -> AgentRecord | Refused:
    if isinstance(status, Refused):
        return status
    return AgentRecord(record.agent_id, record.display_name, record.scope, status)


def claim_step(attempt_uuid: str) -> Step:
    """Ready -> on the call; anything else is refused (a paused agent, one on or after a call)."""

    def step(current: AgentRecord | None, now: dt.datetime) -> AgentRecord | Refused:
        if current is None:
            return Refused("not signed in")
        if current.status.activity is not Activity.READY:
            return Refused("not ready")
        return _with_status(current, transition(current.status, ConnectCall(attempt_uuid), now))

    return step


def withdraw_step(attempt_uuid: str) -> Step:
    """A claimed call that never reached the agent: back to ready, as if it had not happened."""

    def step(current: AgentRecord | None, now: dt.datetime) -> AgentRecord | Refused:
        if current is None or current.status.call != attempt_uuid:
            return Refused("that call is not the agent's")
        if current.status.activity is not Activity.ON_CALL:
            return current  # already dispositioned by the agent: their wrap-up stays theirs
        ended = transition(current.status, EndCall(attempt_uuid), now)
        if isinstance(ended, Refused):
            return ended
        return _with_status(current, transition(ended, GoReady(), now))

    return step


class BrowserAgents:
    """The AgentPool of one campaign: its client's agents signed in to the workbench."""

    def __init__(
        self, states: AgentStates, bus: Bus, sessions: sessionmaker[Session], client_id: int
    ) -> None:
        self._states = states
        self._bus = bus
        self._sessions = sessions
        self._client_id = client_id
        self._phones: dict[int, str | None] = {}
        self._hung_up: dict[int, HungUp] = {}
        self._watchers: list[asyncio.Task[None]] = []

    async def agents(self) -> Sequence[AgentView]:
        records = [record for record in await self._states.all() if record.scope.allows(self._client_id)]
        unknown = [record.agent_id for record in records if record.agent_id not in self._phones]
        if unknown:
            self._phones.update(await asyncio.to_thread(self._load_phones, unknown))
        views = []
        for record in records:
            hung_up = self._hung_up.get(record.agent_id)
            if hung_up is not None and hung_up[0] != record.status.call:
                del self._hung_up[record.agent_id]  # dispositioned, or on to another call
                hung_up = None
            phone = self._phones.get(record.agent_id)
            if phone is not None:
                phase, since = pacing_phase(record.status, hung_up)
                views.append(AgentView(record.agent_id, phase, since, phone))
        return views

    async def claim(self, user_id: int, attempt_uuid: str) -> bool:
        if isinstance(await self._states.change(user_id, claim_step(attempt_uuid)), Refused):
            return False
        await asyncio.to_thread(self._assign, attempt_uuid, user_id)
        return True

    async def connected(self, user_id: int, call: ConnectedCall) -> None:
        """Nothing to add: the engine's screen pop on the agent's channel already shows the call."""

    async def release(self, user_id: int, attempt_uuid: str, ended: EndedCall | None) -> None:
        if ended is None:
            await self._states.change(user_id, withdraw_step(attempt_uuid))
            await asyncio.to_thread(self._assign, attempt_uuid, None, replacing=user_id)
        else:
            self._hung_up[user_id] = (attempt_uuid, ended.result.ended_at)

    def watch(self, changed: Callable[[], None]) -> None:
        self._watchers.append(asyncio.get_running_loop().create_task(self._follow(changed)))

    async def settled(self) -> bool:
        """Always: agents complete their calls in the workbench, with or without an engine running,
        so a stopping engine (or one that lost its lease) does not wait for their dispositions."""
        return True

    async def close(self) -> None:
        for watcher in self._watchers:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        self._watchers.clear()

    async def _follow(self, changed: Callable[[], None]) -> None:
        async with await self._bus.subscribe(WALLBOARD_CHANNEL) as subscription:
            async for message in subscription:
                if message.body.get("type") in STATE_EVENTS:
                    changed()

    def _assign(self, attempt_uuid: str, agent_id: int | None, *, replacing: int | None = None) -> None:
        """Give the open attempt to `agent_id` (None: to nobody); with `replacing`, only while it is
        still that agent's (a later claim by someone else stands)."""
        conditions = [ContactAttempt.uuid == attempt_uuid, ContactAttempt.status.in_(OPEN_STATUSES)]
        if replacing is not None:
            conditions.append(ContactAttempt.agent_id == replacing)
        with self._sessions.begin() as session:
            session.execute(sa.update(ContactAttempt).where(*conditions).values(agent_id=agent_id))

    def _load_phones(self, user_ids: list[int]) -> dict[int, str | None]:
        with self._sessions() as session:
            rows = session.execute(
                sa.select(User.id, User.sip_uri).where(User.id.in_(user_ids), User.active.is_(True))
            )
            phones: dict[int, str | None] = dict.fromkeys(user_ids)
            phones.update({int(user_id): uri for user_id, uri in rows})
            return phones


@contextlib.asynccontextmanager
async def browser_agent_pools(
    settings: Settings, bus: Bus, sessions: sessionmaker[Session], prefix: str = REDIS_PREFIX
) -> AsyncIterator[AgentPools]:
    """Agent pools for the engine runner, open while the engine process runs. The agents' states
    are shared with the web app through Redis: an engine process cannot see a web process's memory."""
    if not settings.uses_redis:
        raise ValueError("redis_url: browser agents reach the engine only through Redis")
    store = RedisLiveStore(settings.redis_url, f"{prefix}:web:")
    states = AgentStates(store, bus, utcnow)

    @contextlib.asynccontextmanager
    async def pool(campaign: CampaignConfig) -> AsyncIterator[AgentPool]:
        agents = BrowserAgents(states, bus, sessions, campaign.client_id)
        try:
            yield agents
        finally:
            await agents.close()

    try:
        yield pool
    finally:
        await store.close()
