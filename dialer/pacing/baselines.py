"""Reference pacers the predictive pacer is measured against (notes/pacing-benchmark.md §4.1-4.3)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from dialer.pacing.types import (
    AgentPhase,
    PacingConfig,
    PacingEvent,
    PacingState,
    launch_cap,
    phase_counts,
)


class ProgressivePacer:
    """One call per idle agent not already covered by a ringing or waiting call."""

    def reset(self, config: PacingConfig, seed: int) -> None:
        self._config = config

    def observe(self, event: PacingEvent) -> None:
        """Progressive dialling needs no history."""

    def decide(self, state: PacingState) -> int:
        idle, _, _ = phase_counts(state.agent_phase)
        wanted = idle - len(state.ringing_elapsed_s) - len(state.waiting_elapsed_s)
        return max(0, min(wanted, launch_cap(state, self._config)))


# Dial level by team size (first row whose size fits), chosen once on the base traffic (p = 0.20,
# tuning seeds 1-2, 4-hour days, levels 1.1-2.1) as the highest level under 3 % abandon, then frozen
# as a deployment would (§4.2). Rounding makes any level above 1 cost 7 % abandon at 5 agents, so
# the small team's ratio dialler is progressive. The rows above 50 agents are extrapolated.
RATIO_LEVEL_BY_TEAM: tuple[tuple[int, float], ...] = (
    (7, 1.0),
    (15, 1.1),
    (40, 1.2),
    (100, 1.3),
    (10**9, 1.3),
)


def ratio_level_for_team(agents: int) -> float:
    return next(level for max_agents, level in RATIO_LEVEL_BY_TEAM if agents <= max_agents)


class RatioPacer:
    """Fixed dial level over ready and talking agents; agents in wrap are not counted (§4.2 b).

    With level 1.0 this is progressive dialling. Without an explicit level the team-size table applies.
    """

    def __init__(self, level: float | None = None, agents: int = 25) -> None:
        level = ratio_level_for_team(agents) if level is None else level
        if level < 1.0:
            raise ValueError("a dial level below 1.0 leaves ready agents without calls")
        self.level = level

    def reset(self, config: PacingConfig, seed: int) -> None:
        self._config = config

    def observe(self, event: PacingEvent) -> None:
        """A fixed ratio needs no history."""

    def decide(self, state: PacingState) -> int:
        idle, talking, _ = phase_counts(state.agent_phase)
        goal = round(self.level * (idle + talking))
        wanted = goal - len(state.ringing_elapsed_s) - len(state.waiting_elapsed_s) - talking
        return max(0, min(wanted, launch_cap(state, self._config)))


@dataclass
class _DropStats:
    """Counters the adaptive loop reads from its call log."""

    dials_today: int = 0
    answers_today: int = 0
    drops_today: int = 0
    recent_dials: deque[float] = field(default_factory=deque)
    recent_drops: deque[float] = field(default_factory=deque)


class VicidialAdaptivePacer:
    """VICIdial's ADAPT_* dial-level controller, written from the description in the notes (§4.3).

    An adapt loop samples ready agents and waiting calls every second, refreshes drop statistics
    every 60 s and moves the dial level every 15 s in proportion to (ready - waiting) / total.
    The auto-dial loop runs every 2.5 s and tops the calls up to round(level * (ready + talking)).
    When today's drop percentage exceeds the limit the level falls back (HARD_LIMIT: to 1.0,
    AVERAGE: halved). Defaults are VICIdial's out-of-the-box settings.
    """

    SAMPLE_PERIOD_S = 1.0
    STATS_PERIOD_S = 60.0
    LEVEL_PERIOD_S = 15.0
    DIAL_PERIOD_S = 2.5
    SAMPLES_KEPT = 15

    def __init__(
        self,
        maximum_level: float = 3.0,
        intensity: float = 0.0,
        diff_target: float = 0.0,
        dropped_percentage: float = 3.0,
        method: str = "hard_limit",
    ) -> None:
        if method not in {"hard_limit", "average"}:
            raise ValueError(f"unknown adaptive method {method!r}")
        self.maximum_level = maximum_level
        self.intensity = intensity
        self.diff_target = diff_target
        self.dropped_percentage = dropped_percentage
        self.method = method

    def reset(self, config: PacingConfig, seed: int) -> None:
        self._config = config
        self._level = 1.0
        self._samples: deque[tuple[int, int, int]] = deque(maxlen=self.SAMPLES_KEPT)
        self._stats = _DropStats()
        self._drop_pct_today = 0.0
        self._calls_1m = 0
        self._drops_1m = 0
        self._last_t = -1.0
        self._next_sample = 0.0
        self._next_stats = self.STATS_PERIOD_S
        self._next_level = self.LEVEL_PERIOD_S
        self._next_dial = 0.0

    @property
    def level(self) -> float:
        return self._level

    def _start_day(self, t: float) -> None:
        self._stats = _DropStats()
        self._drop_pct_today = 0.0
        self._next_sample = t
        self._next_stats = t + self.STATS_PERIOD_S
        self._next_level = t + self.LEVEL_PERIOD_S
        self._next_dial = t

    def observe(self, event: PacingEvent) -> None:
        if event.t < self._last_t:
            self._start_day(event.t)
        self._last_t = event.t
        if event.kind == "connected":
            self._stats.answers_today += 1
        elif event.kind == "abandoned":
            self._stats.answers_today += 1
            self._stats.drops_today += 1
            self._stats.recent_drops.append(event.t)

    def _refresh_drop_stats(self, t: float) -> None:
        for times in (self._stats.recent_dials, self._stats.recent_drops):
            while times and times[0] < t - 60.0:
                times.popleft()
        self._calls_1m = len(self._stats.recent_dials)
        self._drops_1m = len(self._stats.recent_drops)
        answers = self._stats.answers_today
        self._drop_pct_today = 100.0 * self._stats.drops_today / answers if answers else 0.0

    def _update_level(self) -> None:
        if not self._samples:
            return
        count = len(self._samples)
        ready_avg = sum(s[0] for s in self._samples) / count
        waiting_avg = sum(s[1] for s in self._samples) / count
        total_avg = sum(s[2] for s in self._samples) / count
        diff = ready_avg - waiting_avg + self.diff_target
        pct = 100.0 * diff / total_avg if diff != 0 and total_avg > 0 else 0.0
        gain = self.intensity / 100.0
        pct *= (1.0 - gain) if pct < 0 else (1.0 + gain)
        level = min(self._level * (1.0 + pct / 100.0), self.maximum_level)
        level = max(level, 1.0)
        if self._calls_1m > 20 and 100.0 * self._drops_1m / self._calls_1m > 50.0:
            level /= 2.0
        if self._stats.dials_today > 50 and self._drop_pct_today > self.dropped_percentage:
            level = 1.0 if self.method == "hard_limit" else level / 2.0
        self._level = max(level, 1.0)

    def _run_loops(self, state: PacingState) -> None:
        if state.t < self._last_t:
            self._start_day(state.t)
        self._last_t = state.t
        while state.t >= self._next_sample:
            idle, _, _ = phase_counts(state.agent_phase)
            logged_in = int(np.count_nonzero(np.asarray(state.agent_phase) != AgentPhase.OFFLINE))
            self._samples.append((idle, len(state.waiting_elapsed_s), logged_in))
            self._next_sample += self.SAMPLE_PERIOD_S
        while state.t >= self._next_stats:
            self._refresh_drop_stats(state.t)
            self._next_stats += self.STATS_PERIOD_S
        while state.t >= self._next_level:
            self._update_level()
            self._next_level += self.LEVEL_PERIOD_S

    def decide(self, state: PacingState) -> int:
        self._run_loops(state)
        if state.t < self._next_dial:
            return 0
        self._next_dial = state.t + self.DIAL_PERIOD_S
        idle, talking, _ = phase_counts(state.agent_phase)
        goal = round(self._level * (idle + talking))
        existing = len(state.ringing_elapsed_s) + len(state.waiting_elapsed_s) + talking
        launched = max(0, min(goal - existing, launch_cap(state, self._config)))
        self._stats.dials_today += launched
        self._stats.recent_dials.extend([state.t] * launched)
        return launched
