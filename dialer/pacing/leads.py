"""Common random numbers: every lead carries pre-drawn variates, so every pacer meets the same customers.

Lead i's variates depend only on the seed and i, never on when or by whom it is dialled. Liveness
is the coupling `live iff u_live < p(t_dial)`, monotone in p, so time-varying answer rates stay
coupled across pacers too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from dialer.carrier.profiles import behaviour_for

CHUNK = 4096
LEAD_STREAM = 1
DAY_STREAM = 2


@dataclass(frozen=True)
class Lead:
    u_live: float
    u_kind: float  # non-live mix: no answer / machine / fast fail
    u_network: float  # fast fail during a carrier degradation
    u_amd: float  # AMD mistakes
    pdd_s: float  # post-dial delay, U(1.5, 4.5)
    ring_s: float  # ring to answer, Gamma(k=4, mean 9)
    fail_delay_s: float  # fast-fail release after PDD, U(1, 6)
    talk_z: float  # standard normal, mapped to the lognormal talk time in force
    wrap_z: float


class LeadStream:
    """Leads in dialling order. With `carrier_timing`, lead i rings as the carrier simulator rings the
    number `lead<i>` on this seed (dialer/carrier/profiles.py): no post-dial delay and its ring time.
    Every other variate is the same with or without it.
    """

    def __init__(self, seed: int, *, carrier_timing: bool = False) -> None:
        self._rng = np.random.default_rng([seed, LEAD_STREAM])
        self._seed = seed
        self._carrier_timing = carrier_timing
        self._chunk: list[Lead] = []
        self._position = 0
        self._consumed = 0

    def _draw_chunk(self) -> None:
        rng = self._rng
        uniforms = rng.random((4, CHUNK))
        pdd = rng.uniform(1.5, 4.5, CHUNK)
        ring = rng.gamma(4.0, 9.0 / 4.0, CHUNK)
        fail = rng.uniform(1.0, 6.0, CHUNK)
        normals = rng.standard_normal((2, CHUNK))
        columns = zip(
            *uniforms.tolist(), pdd.tolist(), ring.tolist(), fail.tolist(), *normals.tolist(), strict=True
        )
        self._chunk = [Lead(*values) for values in columns]
        if self._carrier_timing:
            first = self._consumed
            self._chunk = [
                replace(lead, pdd_s=0.0, ring_s=behaviour_for(f"lead{first + i}", self._seed).ring_s)
                for i, lead in enumerate(self._chunk)
            ]
        self._position = 0

    def next(self) -> Lead:
        if self._position >= len(self._chunk):
            self._draw_chunk()
        lead = self._chunk[self._position]
        self._position += 1
        self._consumed += 1
        return lead

    @property
    def consumed(self) -> int:
        return self._consumed


def daily_answer_rates(seed: int, days: int, low: float, high: float) -> list[float]:
    """Per-day answer rates for multi-day scenarios, from a stream separate from the leads."""
    return [float(v) for v in np.random.default_rng([seed, DAY_STREAM]).uniform(low, high, days)]


def lognormal(mean: float, cv: float, z: float) -> float:
    """The lognormal variate with this mean and coefficient of variation at standard normal z."""
    sigma2 = math.log1p(cv * cv)
    return math.exp(math.log(mean) - sigma2 / 2.0 + math.sqrt(sigma2) * z)
