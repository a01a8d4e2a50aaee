"""Simulated agents: bots that take calls over real SIP, talk, wrap up and disposition.

Each bot's phone is a SIP URI that auto-answers (the carrier simulator's `agent-*` phones). Once
bridged, a bot talks for a lognormal time, then hangs up its own leg through the SIP node (the
worker hangs the customer up with it); it wraps up for a lognormal time, records a disposition
that completes the attempt in the ledger, and goes ready again. A customer who hangs up first
cuts the talk short. The pool keeps exact time per phase for occupancy figures.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import random
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from campaigns.engine.agents import AgentView, ConnectedCall, EndedCall
from compliance.attempts import complete
from compliance.models import DispositionCode, Outcome
from dialer.pacing import AgentPhase
from dialer.pacing.leads import lognormal
from dialer.sip.call_node import CallNode
from infra.db import utcnow

# A call shorter than this was the person hanging up on the agent, not a conversation.
HUNG_UP_BELOW_S = 5.0
CONVERSATION_CODES = (("RPC", 0.75), ("RTP", 0.25))
HUNG_UP_CODE = "HU"


@dataclasses.dataclass(frozen=True)
class Behaviour:
    talk_mean_s: float
    wrap_mean_s: float
    talk_cv: float = 1.0  # the pacing benchmark's base case (notes/pacing-benchmark.md §5.1)
    wrap_cv: float = 0.5


@dataclasses.dataclass
class _Bot:
    user_id: int
    sip_uri: str
    phase: AgentPhase
    since: dt.datetime
    call: str | None = None
    task: asyncio.Task[None] | None = None
    seconds: dict[AgentPhase, float] = dataclasses.field(default_factory=dict)


class SimulatedAgents:
    """An AgentPool of bots, all logged in and ready from the start."""

    def __init__(
        self,
        node: CallNode,
        sessions: sessionmaker[Session],
        agents: Sequence[tuple[int, str]],
        behaviour: Behaviour,
        seed: int = 0,
    ) -> None:
        self.node = node
        self.sessions = sessions
        self.behaviour = behaviour
        self.random = random.Random(seed)
        now = utcnow()
        self.bots = {user: _Bot(user, uri, AgentPhase.IDLE, now) for user, uri in agents}
        self.watchers: list[Callable[[], None]] = []
        self.dispositions: dict[str, str] = {}  # attempt uuid -> code recorded
        self._codes: dict[str, Outcome] | None = None

    # -- AgentPool --------------------------------------------------------------------------------

    async def agents(self) -> Sequence[AgentView]:
        return [AgentView(bot.user_id, bot.phase, bot.since, bot.sip_uri) for bot in self.bots.values()]

    async def claim(self, user_id: int, attempt_uuid: str) -> bool:
        bot = self.bots[user_id]
        if bot.phase is not AgentPhase.IDLE:
            return False
        bot.call = attempt_uuid
        self._enter(bot, AgentPhase.TALK)
        return True

    async def connected(self, user_id: int, call: ConnectedCall) -> None:
        bot = self.bots[user_id]
        talk = lognormal(self.behaviour.talk_mean_s, self.behaviour.talk_cv, self.random.gauss(0.0, 1.0))
        bot.task = asyncio.get_running_loop().create_task(self._talk(call.agent_call, talk))

    async def release(self, user_id: int, attempt_uuid: str, ended: EndedCall | None) -> None:
        bot = self.bots[user_id]
        if bot.call != attempt_uuid:
            return
        if bot.task is not None:
            bot.task.cancel()
            bot.task = None
        if ended is None:
            bot.call = None
            self._enter(bot, AgentPhase.IDLE)
            return
        talked = (utcnow() - (ended.result.connected_at or bot.since)).total_seconds()
        self._enter(bot, AgentPhase.WRAP)
        wrap = lognormal(self.behaviour.wrap_mean_s, self.behaviour.wrap_cv, self.random.gauss(0.0, 1.0))
        bot.task = asyncio.get_running_loop().create_task(self._wrap_up(bot, ended, talked, wrap))

    def watch(self, changed: Callable[[], None]) -> None:
        self.watchers.append(changed)

    async def settled(self) -> bool:
        """No bot is still on a call or wrapping one up (the wrap-up completes the attempt)."""
        return not any(bot.phase in (AgentPhase.TALK, AgentPhase.WRAP) for bot in self.bots.values())

    # -- figures ------------------------------------------------------------------------------------

    def seconds_by_phase(self, at: dt.datetime | None = None) -> dict[AgentPhase, float]:
        """Time every bot spent in each phase, up to `at` (now)."""
        at = at or utcnow()
        totals: dict[AgentPhase, float] = dict.fromkeys(AgentPhase, 0.0)
        for bot in self.bots.values():
            for phase, seconds in bot.seconds.items():
                totals[phase] += seconds
            totals[bot.phase] += max(0.0, (at - bot.since).total_seconds())
        return totals

    # -- behaviour ----------------------------------------------------------------------------------

    def _enter(self, bot: _Bot, phase: AgentPhase) -> None:
        now = utcnow()
        bot.seconds[bot.phase] = bot.seconds.get(bot.phase, 0.0) + (now - bot.since).total_seconds()
        bot.phase, bot.since = phase, now
        for changed in self.watchers:
            changed()

    async def _talk(self, agent_call: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.node.hangup(agent_call, "agent_hung_up")

    async def _wrap_up(self, bot: _Bot, ended: EndedCall, talked: float, seconds: float) -> None:
        await asyncio.sleep(seconds)
        code = await asyncio.to_thread(self._disposition, bot.user_id, ended, talked)
        self.dispositions[ended.attempt_uuid] = code
        bot.call, bot.task = None, None
        self._enter(bot, AgentPhase.IDLE)

    def _disposition(self, user_id: int, ended: EndedCall, talked: float) -> str:
        with self.sessions.begin() as session:
            if self._codes is None:
                wanted = [code for code, _ in CONVERSATION_CODES] + [HUNG_UP_CODE]
                rows = session.execute(
                    sa.select(DispositionCode.code, DispositionCode.outcome).where(
                        DispositionCode.code.in_(wanted)
                    )
                )
                self._codes = {row.code: row.outcome for row in rows}
            if talked < HUNG_UP_BELOW_S:
                code = HUNG_UP_CODE
            else:
                code = self.random.choices(
                    [code for code, _ in CONVERSATION_CODES], [weight for _, weight in CONVERSATION_CODES]
                )[0]
            result = dataclasses.replace(
                ended.result,
                outcome=self._codes[code],
                disposition_code=code,
                party="consumer",
                agent_id=user_id,
            )
            complete(session, ended.attempt_uuid, result)
        return code
