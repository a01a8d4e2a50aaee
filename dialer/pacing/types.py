"""The pacer contract (contracts/pacing.md): what a pacer sees and what it answers.

The campaign engine and the benchmark simulator drive the same pacer objects through these types.
Vector fields accept a plain sequence (what the engine builds) or a numpy array (what the simulator
keeps, so that a decision at 200 agents does not copy Python lists).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt


class AgentPhase(enum.IntEnum):
    IDLE = 0
    TALK = 1
    WRAP = 2
    PAUSED = 3
    OFFLINE = 4


PhaseVector = Sequence[AgentPhase] | npt.NDArray[np.int8]
SecondsVector = Sequence[float] | npt.NDArray[np.float64]

EVENT_KINDS = frozenset(
    {"resolved", "connected", "abandoned", "talk_end", "wrap_end", "login", "logout", "pause", "resume"}
)
RESOLVED_OUTCOMES = frozenset({"live", "no_answer", "machine", "failed"})


@dataclass(frozen=True)
class PacingConfig:
    abandon_target: float = 0.03  # abandoned / live-answered
    connect_deadline_s: float = 2.0  # a live answer not bridged by then is abandoned
    lines_max: int | None = None


@dataclass(frozen=True)
class PacingEvent:
    t: float  # seconds since the campaign day started
    kind: str  # one of EVENT_KINDS
    outcome: str | None  # for 'resolved': one of RESOLVED_OUTCOMES
    duration_s: float | None  # ring time to resolution, talk or wrap duration


@dataclass(frozen=True)
class PacingState:
    t: float
    agent_phase: PhaseVector  # one per agent of the campaign
    agent_elapsed_s: SecondsVector  # time in the current phase
    ringing_elapsed_s: SecondsVector  # age of each unresolved call
    waiting_elapsed_s: SecondsVector  # live answers waiting for an agent, age since answer
    lines_in_use: int
    leads_available: int


class Pacer(Protocol):
    def reset(self, config: PacingConfig, seed: int) -> None: ...

    def observe(self, event: PacingEvent) -> None: ...

    def decide(self, state: PacingState) -> int: ...


def phase_counts(phase: PhaseVector) -> tuple[int, int, int]:
    """(idle, talking, wrapping) agents."""
    counts = np.bincount(np.asarray(phase, dtype=np.int64), minlength=len(AgentPhase))
    return int(counts[AgentPhase.IDLE]), int(counts[AgentPhase.TALK]), int(counts[AgentPhase.WRAP])


def launch_cap(state: PacingState, config: PacingConfig) -> int:
    """The most calls the pacer may launch now: free lines and leads left."""
    cap = state.leads_available
    if config.lines_max is not None:
        cap = min(cap, config.lines_max - state.lines_in_use)
    return max(cap, 0)
