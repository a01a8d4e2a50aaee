"""Live figures of a running campaign, counted by the engine. Pure bookkeeping."""

from __future__ import annotations

import dataclasses
from collections import Counter

from compliance.models import Outcome


@dataclasses.dataclass
class EngineFigures:
    reserved: int = 0  # attempts the gate allowed
    denied: int = 0  # gate refusals (rescheduled)
    cancelled: int = 0  # reserved but never dialled (no SIP capacity)
    dialled: int = 0
    live: int = 0  # live answers seen (AMD human or unsure, or no AMD)
    connected: int = 0  # bridged to an agent
    abandoned: int = 0  # safe-harbour message played
    machines: int = 0
    outcomes: Counter[Outcome] = dataclasses.field(default_factory=Counter)
    hold_s: list[float] = dataclasses.field(default_factory=list)  # live answer to bridge
    # Recorded messages that played to the end, by attempt uuid: "safe_harbour" | "voicemail".
    messages: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def in_flight(self) -> int:
        return self.dialled - sum(self.outcomes.values())

    @property
    def abandon_rate(self) -> float:
        """Abandoned / (connected + abandoned): the pacing benchmark's definition."""
        answered = self.connected + self.abandoned
        return self.abandoned / answered if answered else 0.0

    def line(self) -> str:
        return (
            f"dialled {self.dialled}  live {self.live}  connected {self.connected}  "
            f"abandoned {self.abandoned} ({self.abandon_rate:.1%})  machines {self.machines}  "
            f"denied {self.denied}  in flight {self.in_flight}"
        )
