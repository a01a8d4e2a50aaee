"""Live agent states: kept in the live store, changed through the pure state machine, announced on
the agent's own channel and on the wallboard channel."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from infra.bus.base import Bus
from workbench.agent_state import Activity, AgentStatus, Command, PauseCode, Refused, transition
from workbench.live_store import LiveStore
from workbench.viewer import ClientScope, Viewer

STATES_KEY = "agent-states"
WALLBOARD_CHANNEL = "wallboard"


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


class AgentStates:
    def __init__(self, store: LiveStore, bus: Bus, clock: Callable[[], dt.datetime]) -> None:
        self._store = store
        self._bus = bus
        self._clock = clock

    async def get(self, agent_id: int) -> AgentRecord | None:
        raw = await self._store.hash_get(STATES_KEY, str(agent_id))
        return None if raw is None else AgentRecord.from_json(json.loads(raw))

    async def all(self) -> list[AgentRecord]:
        records = [
            AgentRecord.from_json(json.loads(raw))
            for raw in (await self._store.hash_all(STATES_KEY)).values()
        ]
        return sorted(records, key=lambda record: (record.display_name.casefold(), record.agent_id))

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
        event = {"type": "agent.signed_out", "agent_id": agent_id}
        await self._bus.publish(agent_channel(agent_id), event)
        await self._bus.publish(WALLBOARD_CHANNEL, event)
