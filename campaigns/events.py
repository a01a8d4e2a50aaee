"""Events the campaign engine publishes for the web tier. Pure data; no I/O.

When the engine bridges an answered call to an agent it publishes a `ScreenPop` on the agent's
own channel (`agent_channel`), before or at the moment the audio connects. The web tier renders
it per browser tab, after checking that the attempt really is that agent's and in their clients.

The other way, when an agent records the disposition of a call still up, the web tier publishes
a `HangUp` on the campaign's channel (`campaign_channel`), which the engine pacing the campaign
follows: the call ends with its disposition, as the agent's own phone would end it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from compliance.models import DialingMode

SCREEN_POP = "call.screen_pop"
HANG_UP = "call.hang_up"


def agent_channel(agent_id: int) -> str:
    """The bus channel of one agent, as the WebSocket hub subscribes to it."""
    return f"agent:{agent_id}"


def campaign_channel(campaign_id: int) -> str:
    """The bus channel the engine pacing a campaign follows for requests about its calls."""
    return f"campaign:{campaign_id}"


class EventFormatError(ValueError):
    """A message body that is not a well-formed event of the expected type."""


@dataclasses.dataclass(frozen=True)
class ScreenPop:
    attempt_uuid: str
    person_id: int
    debt_ids: tuple[int, ...]
    number: str
    campaign_id: int | None
    mode: DialingMode
    answered_at: dt.datetime

    def __post_init__(self) -> None:
        if self.answered_at.tzinfo is None:
            raise EventFormatError("answered_at must carry a time zone")

    def to_json(self) -> dict[str, Any]:
        return {
            "type": SCREEN_POP,
            "attempt_uuid": self.attempt_uuid,
            "person_id": self.person_id,
            "debt_ids": list(self.debt_ids),
            "number": self.number,
            "campaign_id": self.campaign_id,
            "mode": self.mode.value,
            "answered_at": self.answered_at.astimezone(dt.UTC).isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScreenPop:
        if data.get("type") != SCREEN_POP:
            raise EventFormatError(f"not a {SCREEN_POP} event")
        try:
            campaign = data["campaign_id"]
            debt_ids = data["debt_ids"]
            if not isinstance(debt_ids, list):
                raise TypeError("debt_ids must be a list")
            return cls(
                attempt_uuid=_text(data["attempt_uuid"]),
                person_id=_integer(data["person_id"]),
                debt_ids=tuple(_integer(debt) for debt in debt_ids),
                number=_text(data["number"]),
                campaign_id=None if campaign is None else _integer(campaign),
                mode=DialingMode(data["mode"]),
                answered_at=dt.datetime.fromisoformat(_text(data["answered_at"])),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise EventFormatError(f"malformed {SCREEN_POP} event: {error}") from error


@dataclasses.dataclass(frozen=True)
class HangUp:
    """The agent `agent_id` dispositioned `attempt_uuid`: end its call if it is still up."""

    attempt_uuid: str
    agent_id: int

    def to_json(self) -> dict[str, Any]:
        return {"type": HANG_UP, "attempt_uuid": self.attempt_uuid, "agent_id": self.agent_id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HangUp:
        if data.get("type") != HANG_UP:
            raise EventFormatError(f"not a {HANG_UP} event")
        try:
            return cls(attempt_uuid=_text(data["attempt_uuid"]), agent_id=_integer(data["agent_id"]))
        except (KeyError, TypeError, ValueError) as error:
            raise EventFormatError(f"malformed {HANG_UP} event: {error}") from error


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"expected a non-empty string, got {value!r}")
    return value


def _integer(value: object) -> int:
    # bool is an int in Python; an id never is one.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer, got {value!r}")
    return value
