"""Benchmark figures from simulated days (notes/pacing-benchmark.md §5.4-5.5)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dialer.pacing.simulator import DayResult

ABANDON_LIMIT = 0.03
MAX_SHARE_OF_DAYS_OVER = 0.10


def _rate(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else 0.0


@dataclass(frozen=True)
class Summary:
    """One pacer on one scenario over all its seeds and days."""

    occupancy: float  # talk / logged-in, pooled
    utilisation: float
    abandon: float  # abandoned / live-answered, pooled
    abandon_strict: float  # also counting live answers hung up by AMD
    worst_day: float
    worst_30_days: float  # highest pooled rate over any run of up to 30 consecutive days of a seed
    share_days_over: float  # share of days above ABANDON_LIMIT
    wait_mean_s: float
    wait_p90_s: float
    hold_p95_s: float
    contacts_per_agent_hour: float
    dials_per_agent_hour: float
    ceiling: float  # realised talk / (talk + wrap) of connected calls
    peak_lines: int
    days: int
    seed_occupancy: dict[int, float]  # per seed, for paired differences

    @property
    def of_ceiling(self) -> float:
        return _rate(self.occupancy, self.ceiling)

    @property
    def compliant(self) -> bool:
        return self.abandon <= ABANDON_LIMIT and self.share_days_over <= MAX_SHARE_OF_DAYS_OVER


def summarise(runs: dict[int, list[DayResult]]) -> Summary:
    """Pool the days of every seed; `runs` maps seed -> its days."""
    days = [day for seed_days in runs.values() for day in seed_days]
    logged_in = sum(d.logged_in_s for d in days)
    talk = sum(d.talk_s for d in days)
    live = sum(d.live_answered for d in days)
    abandoned = sum(d.abandoned for d in days)
    hung_up = sum(d.amd_hung_up for d in days)
    day_rates = [_rate(d.abandoned, d.live_answered) for d in days]
    waits = np.concatenate([np.asarray(d.waits) for d in days]) if days else np.zeros(0)
    holds = np.concatenate([np.asarray(d.holds) for d in days]) if days else np.zeros(0)
    connected_talk = sum(d.connected_talk_s for d in days)
    connected_wrap = sum(d.connected_wrap_s for d in days)
    agent_hours = logged_in / 3600.0
    return Summary(
        occupancy=_rate(talk, logged_in),
        utilisation=_rate(talk + sum(d.wrap_s for d in days), logged_in),
        abandon=_rate(abandoned, live),
        abandon_strict=_rate(abandoned + hung_up, live + hung_up),
        worst_day=max(day_rates, default=0.0),
        worst_30_days=max((_worst_window(seed_days) for seed_days in runs.values()), default=0.0),
        share_days_over=_rate(sum(r > ABANDON_LIMIT for r in day_rates), len(day_rates)),
        wait_mean_s=float(waits.mean()) if waits.size else 0.0,
        wait_p90_s=float(np.percentile(waits, 90)) if waits.size else 0.0,
        hold_p95_s=float(np.percentile(holds, 95)) if holds.size else 0.0,
        contacts_per_agent_hour=_rate(sum(d.contacts for d in days), agent_hours),
        dials_per_agent_hour=_rate(sum(d.dials for d in days), agent_hours),
        ceiling=_rate(connected_talk, connected_talk + connected_wrap),
        peak_lines=max((d.peak_lines for d in days), default=0),
        days=len(days),
        seed_occupancy={
            seed: _rate(sum(d.talk_s for d in seed_days), sum(d.logged_in_s for d in seed_days))
            for seed, seed_days in runs.items()
        },
    )


def _worst_window(days: Sequence[DayResult], length: int = 30) -> float:
    """The regulatory window: the campaign's 30 days, or the whole run when it is shorter."""
    span = min(length, len(days))
    return max(
        (
            _rate(
                sum(d.abandoned for d in days[i : i + span]), sum(d.live_answered for d in days[i : i + span])
            )
            for i in range(len(days) - span + 1)
        ),
        default=0.0,
    )


@dataclass(frozen=True)
class PairedDifference:
    mean: float
    half_width: float  # 95 % confidence half-width over seeds


def paired_difference(ours: Summary, baseline: Summary) -> PairedDifference:
    """Occupancy difference per seed (common random numbers make the pairs tight)."""
    seeds = sorted(ours.seed_occupancy.keys() & baseline.seed_occupancy.keys())
    differences = [ours.seed_occupancy[s] - baseline.seed_occupancy[s] for s in seeds]
    return _mean_and_half_width(differences)


def _mean_and_half_width(values: Sequence[float]) -> PairedDifference:
    if not values:
        return PairedDifference(math.nan, math.nan)
    mean = float(np.mean(values))
    if len(values) < 2:
        return PairedDifference(mean, math.nan)
    return PairedDifference(mean, 1.96 * float(np.std(values, ddof=1)) / math.sqrt(len(values)))
