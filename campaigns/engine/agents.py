"""What the campaign engine needs from agents, whoever they are (browsers or simulated bots).

An `AgentPool` serves one campaign's team. The engine reads the agents' phases to pace, claims
one ready agent per answered call (atomically: the claim fails if the agent stopped being ready
meanwhile, e.g. paused in another tab or claimed by another campaign), tells the agent when the
call is bridged, and releases the agent when the call ends: into wrap-up after a conversation,
straight back to ready when the call never reached them. The agent, not the engine, records the
disposition that completes the attempt in the ledger; the engine hands over what SIP saw.

Choosing whom to claim is pure (`choose_agent`): the longest-idle ready agent, so that work is
shared fairly, with an agent a callback was promised to first when they are ready.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Collection, Sequence
from typing import Protocol

from compliance.attempts import CallResult
from dialer.pacing import AgentPhase


@dataclasses.dataclass(frozen=True)
class AgentView:
    user_id: int
    phase: AgentPhase  # IDLE is ready for a call
    since: dt.datetime  # when the agent entered the phase
    sip_uri: str  # the phone the agent leg calls


@dataclasses.dataclass(frozen=True)
class ConnectedCall:
    attempt_uuid: str
    customer_call: str  # SIP node call ids
    agent_call: str
    connected_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class EndedCall:
    """A bridged call that ended; `result` is what SIP saw, for the agent's disposition to complete."""

    attempt_uuid: str
    result: CallResult


class AgentPool(Protocol):
    async def agents(self) -> Sequence[AgentView]:
        """Every agent of the campaign's team who is logged in (paused ones included)."""
        ...

    async def claim(self, user_id: int, attempt_uuid: str) -> bool:
        """Put a ready agent on the call; False when the agent is no longer ready."""
        ...

    async def connected(self, user_id: int, call: ConnectedCall) -> None:
        """The claimed agent's leg is bridged to the customer."""
        ...

    async def release(self, user_id: int, attempt_uuid: str, ended: EndedCall | None) -> None:
        """The call is over for the agent: wrap-up after a conversation (`ended`), else ready again."""
        ...

    def watch(self, changed: Callable[[], None]) -> None:
        """Call `changed` (on the event loop) whenever an agent's phase changes."""
        ...

    async def settled(self) -> bool:
        """Whether the pool has finished what it does for the calls it was given, so the engine may
        stop: simulated agents complete their attempts themselves after wrap-up; people complete
        theirs in the workbench, whether or not an engine still runs."""
        ...


def choose_agent(
    agents: Sequence[AgentView], preferred: int | None = None, exclude: Collection[int] = ()
) -> AgentView | None:
    """The agent to claim for a live answer: the preferred one if ready, else the longest idle."""
    ready = [agent for agent in agents if agent.phase is AgentPhase.IDLE and agent.user_id not in exclude]
    if not ready:
        return None
    for agent in ready:
        if agent.user_id == preferred:
            return agent
    return min(ready, key=lambda agent: (agent.since, agent.user_id))
