"""Live agent states: kept in the live store, changed through the pure state machine, announced on
the agent's own channel and on the wallboard channel.

An agent is Ready only while a tab of theirs is connected. The hub pauses the agent itself when a
tab closes, but a web worker that dies (killed, machine lost) cannot: so each open agent tab renews
its agent's presence deadline (`watched`), and every reader of the states (the engine before each
pacing step, wallboards, the hub when a tab connects) pauses a Ready agent whose deadline has passed
with `ConnectionLost`, written once with the same compare-and-set as any change and announced like
one. Agents whose states were set without a tab (simulated agents, benchmarks) have no deadline and
are left alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

from infra.bus.base import Bus
from workbench.agent_state import (
    Activity,
    AgentStatus,
    Command,
    ConnectionLost,
    PauseCode,
    Refused,
    transition,
)
from workbench.live_store import LiveStore
from workbench.viewer import ClientScope, Viewer

STATES_KEY = "agent-states"
PRESENCE_KEY = "agent-presence"  # agent id -> the wall-clock time (epoch seconds) their tabs vouch for
WALLBOARD_CHANNEL = "wallboard"
# An open tab renews its agent's presence this often; a Ready agent not renewed for LAG_AFTER_SECONDS
# (two renewals missed, not one slow Redis call) is paused as disconnected.
PRESENCE_RENEW_SECONDS = 5.0
LAG_AFTER_SECONDS = 15.0


def agent_channel(agent_id: int) -> str:
    return f"agent:{agent_id}"


@dataclasses.dataclass(frozen=True)
class AgentRecord:
    agent_id: int
    display_name: str
    scope: ClientScope
    status: AgentStatus

    def to_json(self) -> dict[str, Any]:
        client_ids = self.scope.client_ids
        return {
            "agent_id": self.agent_id,
            "display_name": self.display_name,
            "client_ids": None if client_ids is None else sorted(client_ids),
            "activity": self.status.activity.value,
            "pause_code": None if self.status.pause_code is None else self.status.pause_code.value,
            "since": self.status.since.isoformat(),
            "call": self.status.call,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AgentRecord:
        client_ids = data["client_ids"]
        return cls(
            int(data["agent_id"]),
            str(data["display_name"]),
            ClientScope(None if client_ids is None else frozenset(int(value) for value in client_ids)),
            AgentStatus(
                Activity(data["activity"]),
                None if data["pause_code"] is None else PauseCode(data["pause_code"]),
                dt.datetime.fromisoformat(data["since"]),
                data.get("call"),
            ),
        )


# The record that follows the current one (None: signed out) at a moment, or the refusal.
Step = Callable[["AgentRecord | None", dt.datetime], "AgentRecord | Refused"]


def unwatched(record: AgentRecord, deadline: str | None, now: float) -> bool:
    """Whether a Ready agent's tabs have all stopped renewing their presence (their web worker died);
    `deadline` as stored, None when no tab ever vouched for them."""
    return record.status.activity is Activity.READY and deadline is not None and float(deadline) <= now


def _lose_connection(current: AgentRecord | None, now: dt.datetime) -> AgentRecord | Refused:
    if current is None:
        return Refused("not signed in")
    status = transition(current.status, ConnectionLost(), now)
    if isinstance(status, Refused):
        return status
    return dataclasses.replace(current, status=status)


class AgentStates:
    def __init__(
        self,
        store: LiveStore,
        bus: Bus,
        clock: Callable[[], dt.datetime],
        *,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock
        # Presence deadlines are compared across processes in real time, whatever `clock` says.
        self._wall_clock = wall_clock

    async def get(self, agent_id: int) -> AgentRecord | None:
        raw = await self._store.hash_get(STATES_KEY, str(agent_id))
        if raw is None:
            return None
        record = AgentRecord.from_json(json.loads(raw))
        deadline = await self._store.hash_get(PRESENCE_KEY, str(agent_id))
        return await self._checked(record, deadline)

    async def all(self) -> list[AgentRecord]:
        deadlines = await self._store.hash_all(PRESENCE_KEY)
        records = []
        for agent_id, raw in (await self._store.hash_all(STATES_KEY)).items():
            record = await self._checked(AgentRecord.from_json(json.loads(raw)), deadlines.get(agent_id))
            if record is not None:
                records.append(record)
        return sorted(records, key=lambda record: (record.display_name.casefold(), record.agent_id))

    async def watched(self, agent_id: int) -> None:
        """A tab of the agent's is connected now: renew their presence."""
        deadline = self._wall_clock() + LAG_AFTER_SECONDS
        await self._store.hash_set(PRESENCE_KEY, str(agent_id), repr(deadline))

    async def _checked(self, record: AgentRecord, deadline: str | None) -> AgentRecord | None:
        """The record, paused first if nobody watches its Ready agent any more (None: signed out
        meanwhile)."""
        if not unwatched(record, deadline, self._wall_clock()):
            return record
        lost = await self.change(record.agent_id, _lose_connection)
        return None if isinstance(lost, Refused) else lost

    async def apply(self, agent: Viewer, command: Command) -> AgentRecord | Refused:
        def step(current: AgentRecord | None, now: dt.datetime) -> AgentRecord | Refused:
            status = transition(None if current is None else current.status, command, now)
            if isinstance(status, Refused):
                return status
            return AgentRecord(agent.user_id, agent.display_name, agent.scope, status)

        return await self.change(agent.user_id, step)

    async def change(self, agent_id: int, step: Step) -> AgentRecord | Refused:
        """Apply `step` to the agent's record atomically across processes: a record changed by
        someone else between the read and the write is read again and the step taken anew."""
        while True:
            raw = await self._store.hash_get(STATES_KEY, str(agent_id))
            current = None if raw is None else AgentRecord.from_json(json.loads(raw))
            record = step(current, self._clock())
            if isinstance(record, Refused) or record == current:
                return record
            encoded = json.dumps(record.to_json())
            if await self._store.hash_replace(STATES_KEY, str(agent_id), raw, encoded):
                break
        event = {"type": "agent.state", **record.to_json()}
        await self._bus.publish(agent_channel(agent_id), event)
        await self._bus.publish(WALLBOARD_CHANNEL, event)
        return record

    async def signed_out(self, agent_id: int) -> None:
        await self._store.hash_delete(STATES_KEY, str(agent_id))
        await self._store.hash_delete(PRESENCE_KEY, str(agent_id))
        event = {"type": "agent.signed_out", "agent_id": agent_id}
        await self._bus.publish(agent_channel(agent_id), event)
        await self._bus.publish(WALLBOARD_CHANNEL, event)
