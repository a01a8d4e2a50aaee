"""Abandon-budget controller: sets the predictive pacer's safety margin z.

The pacer keeps the expected surplus of live answers over free agents z standard deviations below
zero; a lower z is more cautious. The abandon limit bounds a cumulative ratio (per day and per
rolling window of days), so z is treated as the Lagrange multiplier of that constraint and set by
stochastic dual ascent, one step per live answer:

    z <- z + step * (allowed - abandoned) / (1 - allowed)        abandoned in {0, 1}

An abandon lowers z by `step`; the clean answers in between raise it at the pace that makes
`allowed` the equilibrium abandon rate. `allowed` is the rate the budget still permits for the
live answers expected during the rest of the day: the budget slack `limit * live - abandons`,
spread over the expected remaining answers, so a quiet morning lets the afternoon dial harder and
early abandons slow the pacer down at once.

A Bayesian guard keeps the day's rate under the limit with probability `1 - day_risk`: the
remaining answers' abandons are beta-binomial (their rate is uncertain, and abandons come in
clusters when several calls answer at once), and `allowed` is the largest mean rate whose upper
quantile still fits in the budget (`guarded_rate`). Small teams see few answers a day, so the
guard holds them well below the limit early in the day and releases the unused budget as the day
runs out; large teams end close to the limit.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from statistics import NormalDist


@dataclass(frozen=True)
class ControllerSettings:
    limit: float = 0.03  # abandoned / live-answered, per day and per window of days
    day_risk: float = 0.05  # accepted chance that a day ends above the limit
    step: float = 0.1  # z lost per abandon
    z_initial: float = -2.0
    # Intra-day correlation of abandons (beta-binomial): 0 is binomial, more widens the guard.
    clustering: float = 0.002
    z_min: float = -5.0
    z_max: float = 1.0
    # The last answers of a day with budget to spare may run hotter than the limit, up to this factor.
    allowed_max_factor: float = 2.0
    day_length_s: float = 8.25 * 3600.0  # until a whole day has been seen
    window_days: int = 30


@dataclass
class Tally:
    live: float = 0.0
    abandoned: float = 0.0


def guarded_rate(limit: float, tally: Tally, remaining: float, risk: float, clustering: float) -> float:
    """Largest mean abandon rate a for the `remaining` live answers with
    P(tally's abandons + future abandons > limit * (tally's live + remaining)) <= risk.

    Future abandons are beta-binomial with mean a*R and variance a*R*(1 + (R-1)*clustering)
    (the (1 - a) factor dropped, which errs on the safe side); the tail is read from the normal
    approximation, which makes the bound closed-form in sqrt(a*R).
    """
    if remaining <= 0.0:
        return limit
    budget = limit * (tally.live + remaining) - tally.abandoned
    if budget <= 0.0:
        return 0.0
    quantile = NormalDist().inv_cdf(1.0 - risk) if risk < 0.5 else 0.0
    spread = math.sqrt(1.0 + max(remaining - 1.0, 0.0) * clustering)
    # x + quantile * spread * sqrt(x) <= budget, x = a*R.
    root = (-quantile * spread + math.sqrt((quantile * spread) ** 2 + 4.0 * budget)) / 2.0
    return min(root * root / remaining, 1.0)


class AbandonController:
    def __init__(self, settings: ControllerSettings) -> None:
        self.settings = settings
        self._z = settings.z_initial
        self._today = Tally()
        self._past_days: deque[Tally] = deque()
        self._past = Tally()  # sum over _past_days
        self._day_started_at = 0.0
        self._day_length_s = settings.day_length_s
        self._now = 0.0
        self._list_answers_left = math.inf
        self._allowed = self._guarded()

    @property
    def z(self) -> float:
        return self._z

    @property
    def allowed(self) -> float:
        """The abandon rate the controller steers to for the rest of the day."""
        return self._allowed

    def today(self) -> Tally:
        return Tally(self._today.live, self._today.abandoned)

    def window(self) -> Tally:
        """Live answers and abandons over the rolling window of days, today included."""
        return Tally(self._past.live + self._today.live, self._past.abandoned + self._today.abandoned)

    def expect_answers(self, left: float) -> None:
        """Live answers the list can still give (inf when the list is not the limit)."""
        self._list_answers_left = max(left, 0.0)

    def advance(self, t: float) -> None:
        self._now = max(self._now, t)

    def start_day(self, t: float) -> None:
        self._day_length_s = max(self._now - self._day_started_at, 1.0)
        self._past_days.append(self._today)
        self._past.live += self._today.live
        self._past.abandoned += self._today.abandoned
        if len(self._past_days) >= self.settings.window_days:
            dropped = self._past_days.popleft()
            self._past.live -= dropped.live
            self._past.abandoned -= dropped.abandoned
        self._today = Tally()
        self._day_started_at = self._now = t
        self._allowed = self._guarded()

    def record_answer(self, t: float, abandoned: bool) -> None:
        self.advance(t)
        self._allowed = self._guarded()
        step = self.settings.step * (self._allowed - float(abandoned)) / max(1.0 - self._allowed, 1e-9)
        self._z = min(self.settings.z_max, max(self.settings.z_min, self._z + step))
        self._today.live += 1.0
        self._today.abandoned += float(abandoned)

    def remaining_answers(self) -> float:
        """Live answers still expected today: today's answer pace over the rest of the day."""
        elapsed = self._now - self._day_started_at
        pace = (self._today.live + 1.0) / (elapsed + 60.0)
        by_time = pace * max(self._day_length_s - elapsed, 0.0)
        return min(by_time, self._list_answers_left)

    def _guarded(self) -> float:
        s = self.settings
        remaining = self.remaining_answers()
        return min(
            s.allowed_max_factor * s.limit,
            *(
                guarded_rate(s.limit, tally, remaining, s.day_risk, s.clustering)
                for tally in (self._today, self.window())
            ),
        )
