"""Pacing: how many calls a campaign launches now (contracts/pacing.md).

`make_pacer(name, **params)` builds any pacer in `PACERS`. All pacers are pure: no clock, no I/O,
deterministic for a given seed.
"""

from __future__ import annotations

from collections.abc import Callable

from dialer.pacing.baselines import ProgressivePacer, RatioPacer, VicidialAdaptivePacer
from dialer.pacing.predictive import PredictivePacer
from dialer.pacing.types import (
    AgentPhase,
    Pacer,
    PacingConfig,
    PacingEvent,
    PacingState,
)

_FACTORIES: dict[str, Callable[..., Pacer]] = {
    "progressive": ProgressivePacer,
    "ratio": RatioPacer,
    "vicidial_adaptive": VicidialAdaptivePacer,
    "predictive": PredictivePacer,
}

PACERS: tuple[str, ...] = tuple(_FACTORIES)


def make_pacer(name: str, **params: object) -> Pacer:
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"unknown pacer {name!r}; known: {', '.join(PACERS)}") from None
    return factory(**params)


__all__ = [
    "PACERS",
    "AgentPhase",
    "Pacer",
    "PacingConfig",
    "PacingEvent",
    "PacingState",
    "make_pacer",
]
