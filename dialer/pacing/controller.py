"""Feedback on the measured abandon rate: sets the predictive pacer's safety margin z.

The pacer keeps the expected surplus of live answers over free agents z standard deviations below
zero; a lower z is more cautious. The controller sets z = z_integral + budget shift:

* the budget shift is proportional to the abandon budget left, `target * live - abandons`, for
  today and for the rolling window of days (the worse of the two), measured in standard deviations
  of a binomial count at the target rate. Early abandons in a day therefore slow the pacer down at
  once, and a day or window running over its budget dials cautiously until it is back under.
  The count whose spread matters is that of the answers still to come: when few remain (a list
  running out), a small overrun can only be repaid by dialling much more carefully, so the
  standard deviation is taken over the fewer of the answers so far and the answers expected;
* the integral part moves every `period_s` towards the target on a 30-minute EWMA of the abandon
  rate, which removes the steady offset of a mis-set z_initial (drifting traffic, other teams).
  When the list will run out within `short_list_answers` live answers, the day is short and the
  integral steps grow in proportion (up to `short_list_gain_max` times) so that it settles in time.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class ControllerSettings:
    target: float = 0.025  # abandon rate aimed at, below the compliance limit
    z_initial: float = -2.0
    budget_gain: float = 0.15  # z shift per standard deviation of budget left
    budget_shift_min: float = -2.0
    budget_shift_max: float = 0.3
    integral_gain: float = 0.01
    z_min: float = -5.0
    z_max: float = 1.0
    period_s: float = 30.0
    ewma_tau_s: float = 1800.0
    window_days: int = 30
    short_list_answers: float = 6000.0
    short_list_gain_max: float = 4.0


@dataclass
class _Tally:
    live: float = 0.0
    abandoned: float = 0.0

    def rate(self) -> float:
        return self.abandoned / self.live if self.live > 0 else 0.0


class AbandonController:
    def __init__(self, settings: ControllerSettings) -> None:
        self.settings = settings
        self._z_integral = settings.z_initial
        self._ewma = _Tally()
        self._ewma_t = 0.0
        self._next_update = settings.period_s
        self._today = _Tally()
        self._past_days: deque[_Tally] = deque()
        self._past = _Tally()  # sum over _past_days
        self._z = settings.z_initial
        self._expected_answers_left = math.inf

    def expect_answers(self, left: float) -> None:
        """Live answers still expected from what is left to dial (inf when the list is not the limit)."""
        self._expected_answers_left = max(left, 0.0)
        self._update_z()

    def start_day(self, t: float) -> None:
        self._past_days.append(self._today)
        self._past.live += self._today.live
        self._past.abandoned += self._today.abandoned
        if len(self._past_days) >= self.settings.window_days:
            dropped = self._past_days.popleft()
            self._past.live -= dropped.live
            self._past.abandoned -= dropped.abandoned
        self._today = _Tally()
        self._ewma_t = t
        self._next_update = t + self.settings.period_s
        self._update_z()

    def record_answer(self, t: float, abandoned: bool) -> None:
        self._decay_to(t)
        self._ewma.live += 1.0
        self._today.live += 1.0
        if abandoned:
            self._ewma.abandoned += 1.0
            self._today.abandoned += 1.0
        self._update_z()

    def _decay_to(self, t: float) -> None:
        if t > self._ewma_t:
            keep = math.exp(-(t - self._ewma_t) / self.settings.ewma_tau_s)
            self._ewma.live *= keep
            self._ewma.abandoned *= keep
            self._ewma_t = t

    def today(self) -> _Tally:
        return _Tally(self._today.live, self._today.abandoned)

    def window(self) -> _Tally:
        """Live answers and abandons over the rolling window of days, today included."""
        return _Tally(self._past.live + self._today.live, self._past.abandoned + self._today.abandoned)

    def budget_score(self) -> float:
        """Abandon budget left, in binomial standard deviations; the worse of today and the window."""
        return min(self._score(tally) for tally in (self._today, self.window()))

    def _score(self, tally: _Tally) -> float:
        target = self.settings.target
        slack = target * tally.live - tally.abandoned
        answers = tally.live if slack >= 0 else min(tally.live, self._expected_answers_left)
        return slack / math.sqrt(target * answers + 1.0)

    def advance(self, t: float) -> None:
        """Run the periodic integral steps due by t."""
        settings = self.settings
        gain = settings.integral_gain * self.integral_boost()
        while t >= self._next_update:
            self._decay_to(self._next_update)
            if self._ewma.live >= 1.0:
                error = (settings.target - self._ewma.rate()) / settings.target
                self._z_integral += gain * max(-1.0, min(1.0, error))
                self._z_integral = max(settings.z_min, min(settings.z_max, self._z_integral))
            self._next_update += settings.period_s
            self._update_z()

    def integral_boost(self) -> float:
        """How many times the usual integral step: more when few answers are left on the list."""
        settings = self.settings
        boost = settings.short_list_answers / max(self._expected_answers_left, 1.0)
        return max(1.0, min(settings.short_list_gain_max, boost))

    def _update_z(self) -> None:
        settings = self.settings
        shift = settings.budget_gain * self.budget_score()
        shift = max(settings.budget_shift_min, min(settings.budget_shift_max, shift))
        self._z = max(settings.z_min, min(settings.z_max, self._z_integral + shift))

    @property
    def z(self) -> float:
        return self._z
