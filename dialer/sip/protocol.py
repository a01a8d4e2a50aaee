"""The message protocol between the SIP node supervisor and its worker processes.

One JSON object per line. Commands go down the worker's stdin; events come up on the worker's
original stdout (the worker points fd 1 at stderr so that library chatter cannot corrupt the
stream). Every call is named by our own call id; pjsua's call ids never leave the worker.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Command:
    op: str
    call: str = ""
    args: dict[str, Any] = field(default_factory=dict)

    def encode(self) -> bytes:
        return (json.dumps(asdict(self), separators=(",", ":")) + "\n").encode()

    @classmethod
    def decode(cls, line: bytes) -> Command:
        raw = json.loads(line)
        return cls(op=str(raw["op"]), call=str(raw.get("call", "")), args=dict(raw.get("args", {})))


@dataclass(frozen=True)
class Event:
    kind: str
    call: str = ""
    at: float = 0.0  # wall-clock seconds when the worker saw it
    detail: dict[str, Scalar] = field(default_factory=dict)

    def encode(self) -> bytes:
        return (json.dumps(asdict(self), separators=(",", ":")) + "\n").encode()

    @classmethod
    def decode(cls, line: bytes) -> Event:
        raw = json.loads(line)
        return cls(
            kind=str(raw["kind"]),
            call=str(raw.get("call", "")),
            at=float(raw.get("at", 0.0)),
            detail=dict(raw.get("detail", {})),
        )


# Commands (op names) the worker understands.
CONFIGURE = "configure"
ORIGINATE = "originate"
AGENT_LEG = "agent_leg"
BRIDGE = "bridge"
UNBRIDGE = "unbridge"
PLAY = "play"
RECORD = "record"
PAUSE_RECORDING = "pause_recording"
RESUME_RECORDING = "resume_recording"
STOP_RECORDING = "stop_recording"
DTMF = "dtmf"
HANGUP = "hangup"
STATS = "stats"
SHUTDOWN = "shutdown"

# Event kinds.
READY = "ready"
TRYING = "trying"
RINGING = "ringing"
EARLY_MEDIA = "early_media"
ANSWERED = "answered"
AMD = "amd"
BRIDGED = "bridged"
UNBRIDGED = "unbridged"
PROMPT_DONE = "prompt_done"
RECORDING = "recording"
DTMF_SENT = "dtmf_sent"
DTMF_RECEIVED = "dtmf_received"
STATS_REPORT = "stats_report"
HANGUP_EVENT = "hangup"
SLOT_FREED = "slot_freed"
BACKPRESSURE = "backpressure"
COMMAND_FAILED = "command_failed"


@dataclass(frozen=True)
class Originate:
    """Place a customer call through a trunk."""

    trunk: str
    number: str
    attempt_id: str
    amd: bool = True
    classify_early_media: bool = True


@dataclass(frozen=True)
class AgentLeg:
    """Call an agent's phone, in the worker that holds the customer call it will be bridged to."""

    agent_uri: str


@dataclass(frozen=True)
class Play:
    path: str
    purpose: str = "other"  # "safe_harbour" | "voicemail" | "other"
