"""The agent's availability: ready for calls, on a call, wrapping one up, or paused with a
reason. Pure; no I/O.

An agent who signs in starts in the system pause LOGIN and must press Ready. An agent whose
browser connection drops while ready is moved to the system pause LAGGED, because the dialer must
not route a call to a screen nobody sees. System codes can be set only by the system; the agent
chooses among the others, and a reason is mandatory (the spec's "code mandatory" rule).

A call connected to a ready agent puts them on that call; recording its disposition moves them to
wrap-up, where they finish their notes and press Ready for the next call. While on a call the agent
can neither go ready nor pause: the call must be dispositioned first.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum


class Activity(enum.StrEnum):
    READY = "ready"
    PAUSED = "paused"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


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


CALL_ACTIVITIES = frozenset({Activity.ON_CALL, Activity.WRAP_UP})


@dataclasses.dataclass(frozen=True)
class AgentStatus:
    activity: Activity
    pause_code: PauseCode | None
    since: dt.datetime
    call: str | None = None  # the attempt uuid while on a call or wrapping it up

    def __post_init__(self) -> None:
        if (self.activity is Activity.PAUSED) != (self.pause_code is not None):
            raise ValueError("a paused agent needs a pause code, a ready agent has none")
        if (self.activity in CALL_ACTIVITIES) != (self.call is not None):
            raise ValueError("an agent on a call or in wrap-up has a call, any other agent has none")


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


@dataclasses.dataclass(frozen=True)
class ConnectCall:
    """The dialer bridged an answered call (attempt uuid `call`) to the agent."""

    call: str


@dataclasses.dataclass(frozen=True)
class EndCall:
    """The agent recorded the disposition of `call`."""

    call: str


Command = SignIn | GoReady | Pause | ConnectionLost | ConnectCall | EndCall


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
    if isinstance(command, ConnectCall | EndCall):
        return _call_transition(current, command, now)
    if current.activity is Activity.ON_CALL and not isinstance(command, ConnectionLost):
        return Refused("Record the call's disposition first.")
    if isinstance(command, GoReady):
        return current if current.activity is Activity.READY else AgentStatus(Activity.READY, None, now)
    if isinstance(command, Pause):
        if command.code in SYSTEM_PAUSE_CODES:
            return Refused(f"{PAUSE_LABELS[command.code]} is set by the system only")
        return current if current.pause_code is command.code else _paused(command.code, now)
    # ConnectionLost: a paused agent already takes no calls and keeps their own reason; a call in
    # progress goes on (the customer is still on the line) and the screen resynchronises.
    return _paused(PauseCode.LAGGED, now) if current.activity is Activity.READY else current


def _call_transition(
    current: AgentStatus, command: ConnectCall | EndCall, now: dt.datetime
) -> AgentStatus | Refused:
    if isinstance(command, ConnectCall):
        if current.call == command.call:
            return current
        if current.activity is Activity.ON_CALL:
            return Refused("already on another call")
        # The dialer routes calls to ready agents only; a call bridged anyway must still be shown.
        return AgentStatus(Activity.ON_CALL, None, now, command.call)
    if current.call != command.call:
        return Refused("that call is not the agent's current call")
    if current.activity is Activity.WRAP_UP:
        return current
    return AgentStatus(Activity.WRAP_UP, None, now, command.call)
