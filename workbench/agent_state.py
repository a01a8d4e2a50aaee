"""The agent's availability: ready for calls, or paused with a reason. Pure; no I/O.

An agent who signs in starts in the system pause LOGIN and must press Ready. An agent whose
browser connection drops while ready is moved to the system pause LAGGED, because the dialer must
not route a call to a screen nobody sees. System codes can be set only by the system; the agent
chooses among the others, and a reason is mandatory (the spec's "code mandatory" rule).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum


class Activity(enum.StrEnum):
    READY = "ready"
    PAUSED = "paused"


class PauseCode(enum.StrEnum):
    LOGIN = "login"
    LAGGED = "lagged"
    BREAK = "break"
    LUNCH = "lunch"
    MEETING = "meeting"
    TRAINING = "training"
    TECHNICAL = "technical"
    OTHER = "other"


PAUSE_LABELS: dict[PauseCode, str] = {
    PauseCode.LOGIN: "Signed in",
    PauseCode.LAGGED: "Connection lost",
    PauseCode.BREAK: "Break",
    PauseCode.LUNCH: "Lunch",
    PauseCode.MEETING: "Meeting",
    PauseCode.TRAINING: "Training",
    PauseCode.TECHNICAL: "Technical problem",
    PauseCode.OTHER: "Other",
}

SYSTEM_PAUSE_CODES = frozenset({PauseCode.LOGIN, PauseCode.LAGGED})
AGENT_PAUSE_CODES = tuple(code for code in PauseCode if code not in SYSTEM_PAUSE_CODES)


@dataclasses.dataclass(frozen=True)
class AgentStatus:
    activity: Activity
    pause_code: PauseCode | None
    since: dt.datetime

    def __post_init__(self) -> None:
        if (self.activity is Activity.PAUSED) != (self.pause_code is not None):
            raise ValueError("a paused agent needs a pause code, a ready agent has none")


@dataclasses.dataclass(frozen=True)
class SignIn:
    pass


@dataclasses.dataclass(frozen=True)
class GoReady:
    pass


@dataclasses.dataclass(frozen=True)
class Pause:
    code: PauseCode


@dataclasses.dataclass(frozen=True)
class ConnectionLost:
    pass


Command = SignIn | GoReady | Pause | ConnectionLost


@dataclasses.dataclass(frozen=True)
class Refused:
    reason: str


def _paused(code: PauseCode, now: dt.datetime) -> AgentStatus:
    return AgentStatus(Activity.PAUSED, code, now)


def transition(current: AgentStatus | None, command: Command, now: dt.datetime) -> AgentStatus | Refused:
    """The status after `command`; `current` is None while the agent is signed out.

    Repeating the current state returns it unchanged (its timer keeps running), so a double click
    or a retried message is harmless.
    """
    if isinstance(command, SignIn):
        return current if current is not None else _paused(PauseCode.LOGIN, now)
    if current is None:
        return Refused("not signed in")
    if isinstance(command, GoReady):
        return current if current.activity is Activity.READY else AgentStatus(Activity.READY, None, now)
    if isinstance(command, Pause):
        if command.code in SYSTEM_PAUSE_CODES:
            return Refused(f"{PAUSE_LABELS[command.code]} is set by the system only")
        return current if current.pause_code is command.code else _paused(command.code, now)
    # ConnectionLost: a paused agent already takes no calls and keeps their own reason.
    return _paused(PauseCode.LAGGED, now) if current.activity is Activity.READY else current
