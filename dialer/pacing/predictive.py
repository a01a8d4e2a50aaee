"""Our pacer: launch as many calls as the near future can absorb within an abandon-risk margin.

At each decision, for a set of horizons k (seconds from now):

* each busy agent frees within k + D (D, the connect deadline) with a probability read from its
  elapsed talk or wrap time and the empirical talk and wrap distributions;
* each ringing call answers live within k with a probability read from its age, the empirical
  live-answer and non-live resolution times and the recent answer rate;
* a call launched now answers live within k with probability q(k).

The pacer launches the most calls n for which, at every horizon, the expected live answers
(ringing plus n new) stay `z` standard deviations below the agents expected free (normal
approximation of the sums of Bernoulli variables). The margin z comes from `AbandonController`,
which spends the day's abandon budget. The pacer never launches fewer calls than progressive
dialling would, so a small team is never starved by the margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from dialer.pacing.controller import AbandonController, ControllerSettings
from dialer.pacing.model import (
    FloatArray,
    RecentDurations,
    RecentOutcomes,
    agent_free_table,
    live_answer_table,
    lognormal_quantiles,
    max_calls_within_margin,
)
from dialer.pacing.types import AgentPhase, PacingConfig, PacingEvent, PacingState, launch_cap

HORIZONS_S = (2.0, 4.0, 8.0, 12.0, 16.0, 20.0, 24.0, 28.0, 32.0)
MIN_NEW_CALL_ANSWER = 0.02  # horizons where a new call barely ever answers carry no information
TALK_BINS = 1800  # 1-s bins; longer calls use the last row
WRAP_BINS = 900
RING_STEP_S = 0.5
RING_BINS = 120  # 60 s of ringing
PRIOR_SAMPLES = 40
# Every call has resolved this long after its dial: the no-answer timeout plus post-dial delay, with room.
SETTLE_S = 40.0
# The answer rate is read from at least this many seconds of dials (and at least 300 calls).
ANSWER_WINDOW_S = 600.0

# Row of the combined agent table by phase: absent agents read a row of zeros, idle ones a row of
# ones, talking and wrapping ones their block offset by the whole seconds elapsed.
# Ringing calls read the block after the agents', offset by their age in RING_STEP_S bins.
_IDLE = int(AgentPhase.IDLE)
_ROW_BASE = np.array([1, 2, 2 + TALK_BINS, 0, 0], dtype=np.int64)
_ROW_LIMIT = np.array([0, TALK_BINS - 1, WRAP_BINS - 1, 0, 0], dtype=np.int64)
_RING_ROW = 2 + TALK_BINS + WRAP_BINS
# The model is re-tabulated at most this often (sim seconds) and only after this many new observations.
AGENT_REBUILD_S = 120.0
RING_REBUILD_S = 10.0
REBUILD_MIN_NEW = 20


@dataclass(frozen=True)
class TeamSetting:
    """The deployable setting for teams up to `max_agents` agents."""

    max_agents: int
    controller: ControllerSettings


# One deployable setting per team size. Smaller teams see fewer live answers per day, so their
# daily abandon rate is noisier and each abandon moves z further. The guard's normal tail is wider
# than the spread the closed loop leaves, so the accepted day_risk is tuned per size (seeds 1-30).
# The starting margin sits near the margins tuned per scenario for that size (bench TUNED_MARGINS):
# at 5 agents a start at -2.2 needed about 170 clean answers (over two hours at S5-35) to climb to
# that scenario's -1.8.
# Above 100 agents the loop holds each day's rate within a tenth of a point of its aim, so the
# guard's clustering allowance (sized for small teams) mostly held the morning back (L200-35 aimed
# at 2.1 % half an hour in and 3.7 % at 7 h); a smaller one, with a smaller accepted risk so that
# the day's last answers keep clear of the limit, aims at 2.4 % and 3.3 %. Smaller steps calm z.
TEAM_SETTINGS: tuple[TeamSetting, ...] = (
    TeamSetting(7, ControllerSettings(day_risk=0.08, step=0.1, z_initial=-2.0)),
    TeamSetting(15, ControllerSettings(day_risk=0.08, step=0.1, z_initial=-2.1)),
    TeamSetting(40, ControllerSettings(day_risk=0.1, step=0.05, z_initial=-2.0)),
    TeamSetting(100, ControllerSettings(day_risk=0.1, step=0.05, z_initial=-1.9)),
    TeamSetting(10**9, ControllerSettings(day_risk=0.05, step=0.02, z_initial=-1.8, clustering=0.0005)),
)


def setting_for_team(agents: int) -> ControllerSettings:
    for setting in TEAM_SETTINGS:
        if agents <= setting.max_agents:
            return setting.controller
    return TEAM_SETTINGS[-1].controller


@dataclass(frozen=True)
class PredictivePriors:
    """What the pacer assumes before it has observed the campaign."""

    talk_mean_s: float = 180.0
    wrap_mean_s: float = 30.0
    answer_rate: float = 0.25
    live_answer_mean_s: float = 12.0
    other_resolution_mean_s: float = 20.0


@dataclass
class _Observations:
    priors: PredictivePriors
    talk: RecentDurations = field(init=False)
    wrap: RecentDurations = field(init=False)
    live_answer: RecentDurations = field(init=False)
    other_resolution: RecentDurations = field(init=False)
    outcomes: RecentOutcomes = field(init=False)

    def __post_init__(self) -> None:
        p = self.priors
        self.talk = RecentDurations(lognormal_quantiles(p.talk_mean_s, 1.0, PRIOR_SAMPLES), 400)
        self.wrap = RecentDurations(lognormal_quantiles(p.wrap_mean_s, 0.5, PRIOR_SAMPLES), 400)
        self.live_answer = RecentDurations(lognormal_quantiles(p.live_answer_mean_s, 0.3, PRIOR_SAMPLES), 300)
        self.other_resolution = RecentDurations(
            lognormal_quantiles(p.other_resolution_mean_s, 0.5, PRIOR_SAMPLES), 300
        )
        self.outcomes = RecentOutcomes(
            p.answer_rate, prior_weight=20.0, capacity=300, settle_s=SETTLE_S, window_s=ANSWER_WINDOW_S
        )


class PredictivePacer:
    def __init__(
        self,
        agents: int | None = None,
        target: float | None = None,
        z_initial: float | None = None,
        priors: PredictivePriors | None = None,
        fixed_margin: float | None = None,
    ) -> None:
        """`agents` picks the team-size setting (TEAM_SETTINGS).

        `target` is the abandon limit to stay under (PacingConfig.abandon_target when omitted).
        `z_initial` overrides the starting margin. `fixed_margin` holds z there, with no feedback:
        the offline-tuned policy that sets the frontier in the benchmark, not a deployable one.
        """
        base = setting_for_team(agents if agents is not None else 25)
        self.settings = replace(base, z_initial=base.z_initial if z_initial is None else z_initial)
        if fixed_margin is not None:
            self.settings = replace(self.settings, z_initial=fixed_margin, step=0.0)
        self.limit = target
        self.priors = priors or PredictivePriors()

    def reset(self, config: PacingConfig, seed: int) -> None:
        self._config = config
        limit = config.abandon_target if self.limit is None else self.limit
        self._controller = AbandonController(replace(self.settings, limit=limit))
        self._seen = _Observations(self.priors)
        self._last_t = -1.0
        self._agents_built_at = -math.inf
        self._ring_built_at = -math.inf
        self._rebuild_agent_rows(0.0)
        self._rebuild_ring_rows(0.0)

    @property
    def z(self) -> float:
        return self._controller.z

    @property
    def aim(self) -> float:
        """The abandon rate the controller steers to for the rest of the day."""
        return self._controller.allowed

    def _rebuild_agent_rows(self, t: float) -> None:
        deadline = self._config.connect_deadline_s
        reach = [k + deadline for k in HORIZONS_S]
        talk_pmf = self._seen.talk.histogram(1.0, TALK_BINS)
        wrap_pmf = self._seen.wrap.histogram(1.0, WRAP_BINS)
        horizons = len(HORIZONS_S)
        # Agents lower the surplus of answers over agents by their chance to be free in time.
        free = np.concatenate(
            (
                np.zeros((1, horizons)),
                np.ones((1, horizons)),
                agent_free_table(talk_pmf, wrap_pmf, reach, len(self._seen.talk)),
                agent_free_table(wrap_pmf, None, reach, len(self._seen.wrap)),
            )
        )
        self._agent_mean = -free
        self._agent_var = free * (1.0 - free)
        self._seen.talk.added_since_build = 0
        self._seen.wrap.added_since_build = 0
        self._agents_built_at = t
        self._ring_built_at = -math.inf  # the combined table embeds the agent rows

    def _rebuild_ring_rows(self, t: float) -> None:
        live_cdf = _cdf_at_edges(self._seen.live_answer.histogram(RING_STEP_S, RING_BINS))
        other_cdf = _cdf_at_edges(self._seen.other_resolution.histogram(RING_STEP_S, RING_BINS))
        rate = self._seen.outcomes.rate
        horizon_bins = np.minimum(np.asarray(HORIZONS_S) / RING_STEP_S, RING_BINS - 1).astype(np.int64)
        new_call_answer = rate * live_cdf[horizon_bins]
        # Horizons where a new call barely ever answers carry no information.
        self._useful = np.flatnonzero(new_call_answer >= MIN_NEW_CALL_ANSWER)
        self._new_call_answer: FloatArray = new_call_answer[self._useful]
        answers = live_answer_table(live_cdf, other_cdf, rate, RING_STEP_S, HORIZONS_S)
        # Mean and variance side by side: one gather and one sum per decision.
        self._surplus = np.concatenate(
            (
                np.concatenate((self._agent_mean, self._agent_var), axis=1),
                np.concatenate((answers, answers * (1.0 - answers)), axis=1),
            )
        )
        self._seen.live_answer.added_since_build = 0
        self._seen.other_resolution.added_since_build = 0
        self._ring_built_at = t

    def observe(self, event: PacingEvent) -> None:
        if event.t < self._last_t:
            self._start_day(event.t)
        self._last_t = event.t
        seen = self._seen
        if event.kind == "resolved" and event.duration_s is not None:
            live = event.outcome == "live"
            seen.outcomes.add(live, dialled_at=event.t - event.duration_s)
            (seen.live_answer if live else seen.other_resolution).add(event.duration_s)
        elif event.kind == "talk_end" and event.duration_s is not None:
            seen.talk.add(event.duration_s)
        elif event.kind == "wrap_end" and event.duration_s is not None:
            seen.wrap.add(event.duration_s)
        elif event.kind in {"connected", "abandoned"}:
            self._controller.record_answer(event.t, abandoned=event.kind == "abandoned")

    def _start_day(self, t: float) -> None:
        self._seen.outcomes.settle(math.inf)  # yesterday's calls have all resolved
        self._controller.start_day(t)
        self._agents_built_at = self._ring_built_at = -math.inf

    def _refresh_model(self, t: float) -> None:
        seen = self._seen
        if (
            t - self._agents_built_at >= AGENT_REBUILD_S
            and seen.talk.added_since_build + seen.wrap.added_since_build >= REBUILD_MIN_NEW
        ):
            self._rebuild_agent_rows(t)
        if t - self._ring_built_at >= RING_REBUILD_S and (
            seen.live_answer.added_since_build + seen.other_resolution.added_since_build >= REBUILD_MIN_NEW
            or self._ring_built_at == -math.inf
        ):
            self._rebuild_ring_rows(t)

    def decide(self, state: PacingState) -> int:
        if state.t < self._last_t:
            self._start_day(state.t)
        self._last_t = state.t
        self._controller.advance(state.t)
        self._seen.outcomes.settle(state.t)
        self._refresh_model(state.t)
        self._controller.expect_answers(self._seen.outcomes.rate * state.leads_available)
        cap = launch_cap(state, self._config)
        if cap <= 0:
            return 0
        phase = np.asarray(state.agent_phase, dtype=np.int8)
        ringing = np.asarray(state.ringing_elapsed_s, dtype=np.float64)
        waiting = len(state.waiting_elapsed_s)
        progressive = int(np.count_nonzero(phase == _IDLE)) - ringing.size - waiting
        if self._useful.size == 0:
            return max(0, min(progressive, cap))
        elapsed = np.asarray(state.agent_elapsed_s, dtype=np.float64).astype(np.int64)
        rows = np.concatenate(
            (
                _ROW_BASE[phase] + np.minimum(elapsed, _ROW_LIMIT[phase]),
                _RING_ROW + np.minimum((ringing * (1.0 / RING_STEP_S)).astype(np.int64), RING_BINS - 1),
            )
        )
        totals = self._surplus[rows].sum(axis=0)
        surplus = totals[self._useful] + waiting
        variance = totals[self._useful + len(HORIZONS_S)]
        n = max_calls_within_margin(surplus, variance, self._new_call_answer, self._controller.z)
        return min(max(int(n), progressive, 0), cap)


def _cdf_at_edges(pmf: FloatArray) -> FloatArray:
    """CDF at the left edge of each bin: P(X < i*step)."""
    return np.concatenate(([0.0], np.cumsum(pmf)[:-1]))
