"""The predictive pacer's pieces: survival tables, the margin solver and the estimators."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.pacing import AgentPhase, PacingConfig, PacingEvent, PacingState
from dialer.pacing.model import (
    RecentDurations,
    RecentOutcomes,
    agent_free_table,
    live_answer_table,
    lognormal_quantiles,
    max_calls_within_margin,
)
from dialer.pacing.predictive import PredictivePacer


def _point_mass(at_s: int, bins: int) -> np.ndarray:
    pmf = np.zeros(bins)
    pmf[at_s] = 1.0
    return pmf


@pytest.mark.parametrize(
    ("elapsed", "horizon", "expected"),
    [
        (0, 5.0, 0.0),  # a 10-s wrap just started cannot end within 5 s
        (0, 12.0, 1.0),
        (8, 1.0, 0.0),
        (8, 4.0, 1.0),
        (10, 0.2, 0.2),  # inside the bin of the mass: a fifth of the bin, spread uniformly
        (30, 1.0, 1.0),  # past the longest sample: the last supported row
    ],
)
def test_wrap_free_table(elapsed: int, horizon: float, expected: float) -> None:
    table = agent_free_table(_point_mass(10, 60), None, [horizon], observations=100)
    assert table[elapsed, 0] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("elapsed", "horizon", "expected"),
    [
        (0, 100.0, 0.0),  # 100 s of talk and 20 s of wrap ahead
        (90, 25.0, 0.0),  # about 10.5 s of talk then 20.5 s of wrap remain
        (90, 40.0, 1.0),
        (100, 25.0, 1.0),
    ],
)
def test_talk_free_table_adds_the_wrap(elapsed: int, horizon: float, expected: float) -> None:
    table = agent_free_table(_point_mass(100, 300), _point_mass(20, 60), [horizon], observations=100)
    assert table[elapsed, 0] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("rate", "age_bins", "horizon", "expected"),
    [
        (1.0, 0, 5.0, 0.0),  # every call answers live at 10 s
        (1.0, 0, 15.0, 1.0),
        (0.5, 0, 15.0, 0.5),  # half answer live at 10 s, the rest resolve otherwise at 20 s
        (0.5, 10, 10.0, 0.5),  # at 5 s nothing has resolved yet
        (0.5, 24, 5.0, 0.0),  # at 12 s the live ones are gone: the call will not answer live
    ],
)
def test_live_answer_table(rate: float, age_bins: int, horizon: float, expected: float) -> None:
    step = 0.5
    edges = np.arange(120) * step
    live_cdf = (edges > 10.0).astype(float)
    other_cdf = (edges > 20.0).astype(float)
    table = live_answer_table(live_cdf, other_cdf, rate, step, [horizon])
    assert table[age_bins, 0] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("surplus", "variance", "q", "z", "expected"),
    [
        (-3.0, 0.0, 0.5, 0.0, 6.0),  # 3 free agents, each call answers half the time: 6 calls on average
        (-3.0, 0.0, 0.5, -1.0, 4.0),  # -3 + 0.5 n <= -sqrt(0.25 n)
        (-3.0, 1.0, 0.5, -1.0, 3.0),  # -3 + 0.5 n <= -sqrt(1 + 0.25 n)
        (0.0, 0.0, 0.5, 0.0, 0.0),
    ],
)
def test_margin_solver(surplus: float, variance: float, q: float, z: float, expected: float) -> None:
    n = max_calls_within_margin(np.array([surplus]), np.array([variance]), np.array([q]), z)
    assert math.floor(n + 1e-9) == expected  # the pacer launches whole calls


def test_margin_solver_reports_a_broken_margin() -> None:
    assert max_calls_within_margin(np.array([1.0]), np.array([0.5]), np.array([0.3]), -1.0) < 0


def test_margin_solver_takes_the_tightest_horizon() -> None:
    both = max_calls_within_margin(np.array([-3.0, -2.0]), np.zeros(2), np.array([0.5, 0.5]), 0.0)
    assert both == pytest.approx(4.0)


@settings(max_examples=200, deadline=None)
@given(
    surplus=st.floats(-50.0, 5.0),
    variance=st.floats(0.0, 30.0),
    q=st.floats(0.02, 0.9),
    z=st.floats(-4.0, 0.0),
    dz=st.floats(0.0, 1.0),
)
def test_margin_solver_is_monotone(surplus: float, variance: float, q: float, z: float, dz: float) -> None:
    def solve(s: float, zz: float) -> float:
        return max(0.0, max_calls_within_margin(np.array([s]), np.array([variance]), np.array([q]), zz))

    assert solve(surplus, z + dz) >= solve(surplus, z) - 1e-6  # a looser margin never dials fewer
    assert solve(surplus + 1.0, z) <= solve(surplus, z) + 1e-6  # more expected answers, fewer calls


@settings(max_examples=50, deadline=None)
@given(
    talk=st.lists(st.floats(1.0, 1200.0), min_size=1, max_size=80),
    wrap=st.lists(st.floats(1.0, 200.0), min_size=1, max_size=80),
)
def test_free_tables_are_probabilities_growing_with_the_horizon(talk: list[float], wrap: list[float]) -> None:
    talk_pmf = RecentDurations(talk, 100).histogram(1.0, 1300)
    wrap_pmf = RecentDurations(wrap, 100).histogram(1.0, 300)
    horizons = [4.0, 10.0, 20.0, 34.0]
    for table in (
        agent_free_table(talk_pmf, wrap_pmf, horizons, len(talk)),
        agent_free_table(wrap_pmf, None, horizons, len(wrap)),
    ):
        assert table.min() >= 0.0
        assert table.max() <= 1.0
        assert (np.diff(table, axis=1) >= -1e-12).all()


def test_recent_durations_push_the_prior_out() -> None:
    durations = RecentDurations([100.0] * 4, capacity=4)
    for _ in range(4):
        durations.add(2.5)
    assert durations.histogram(1.0, 10)[2] == 1.0


def test_recent_outcomes_blend_prior_and_data() -> None:
    outcomes = RecentOutcomes(prior_rate=0.5, prior_weight=10.0, capacity=10, settle_s=30.0)
    for second, live in enumerate([True] * 10 + [False] * 10):
        outcomes.add(live, dialled_at=float(second))
    outcomes.settle(100.0)
    assert outcomes.rate == pytest.approx(5.0 / 20.0)


def test_recent_outcomes_wait_until_every_call_of_a_dial_has_resolved() -> None:
    # A burst of 100 dials at t = 0: the 20 live answers resolve at 10 s, the no-answers at 27 s.
    outcomes = RecentOutcomes(prior_rate=0.5, prior_weight=10.0, capacity=30, settle_s=30.0)
    for _ in range(20):
        outcomes.add(True, dialled_at=0.0)
    outcomes.settle(10.0)
    assert outcomes.rate == 0.5  # only the prior: the burst has not settled
    for _ in range(80):
        outcomes.add(False, dialled_at=0.0)
    outcomes.settle(30.0)
    # The whole second is kept although it holds more calls than the capacity.
    assert outcomes.rate == pytest.approx((20.0 + 5.0) / (100.0 + 10.0))


def test_recent_outcomes_span_the_window_when_calls_are_plentiful() -> None:
    # Ten calls a second for 100 s, live only in the first 50 s: 10 calls would fill the capacity.
    spanning = RecentOutcomes(prior_rate=0.5, prior_weight=10.0, capacity=10, settle_s=0.0, window_s=60.0)
    by_count = RecentOutcomes(prior_rate=0.5, prior_weight=10.0, capacity=10, settle_s=0.0)
    for second in range(100):
        for outcomes in (spanning, by_count):
            for _ in range(10):
                outcomes.add(second < 50, dialled_at=float(second))
    spanning.settle(100.0)
    by_count.settle(100.0)
    assert by_count.rate == pytest.approx(5.0 / 20.0)  # the last second only
    # Seconds 40..99 are kept: 60 s of dials, 100 live answers among them.
    assert spanning.rate == pytest.approx((100.0 + 5.0) / (600.0 + 10.0))


@settings(max_examples=60, deadline=None)
@given(
    calls=st.lists(st.tuples(st.booleans(), st.floats(0.0, 600.0)), max_size=200),
    capacity=st.integers(1, 50),
)
def test_recent_outcomes_do_not_depend_on_the_order_of_resolution(
    calls: list[tuple[bool, float]], capacity: int
) -> None:
    forward = RecentOutcomes(prior_rate=0.3, prior_weight=5.0, capacity=capacity, settle_s=40.0)
    backward = RecentOutcomes(prior_rate=0.3, prior_weight=5.0, capacity=capacity, settle_s=40.0)
    for live, dialled_at in calls:
        forward.add(live, dialled_at)
    for live, dialled_at in reversed(calls):
        backward.add(live, dialled_at)
    forward.settle(700.0)
    backward.settle(700.0)
    assert forward.rate == pytest.approx(backward.rate)
    assert 0.0 <= forward.rate <= 1.0


def test_lognormal_quantiles_have_the_mean() -> None:
    assert np.mean(lognormal_quantiles(180.0, 0.5, 400)) == pytest.approx(180.0, rel=0.02)


def _state(phases: list[AgentPhase], ringing: list[float]) -> PacingState:
    return PacingState(
        t=100.0,
        agent_phase=phases,
        agent_elapsed_s=[170.0] * len(phases),
        ringing_elapsed_s=ringing,
        waiting_elapsed_s=[],
        lines_in_use=len(ringing),
        leads_available=1000,
    )


@settings(max_examples=40, deadline=None)
@given(
    phases=st.lists(st.sampled_from([AgentPhase.IDLE, AgentPhase.TALK, AgentPhase.WRAP]), max_size=40),
    ringing=st.lists(st.floats(0.0, 30.0), max_size=10),
)
def test_predictive_never_dials_fewer_than_progressive(
    phases: list[AgentPhase], ringing: list[float]
) -> None:
    pacer = PredictivePacer(agents=len(phases))
    pacer.reset(PacingConfig(), 1)
    idle = sum(p == AgentPhase.IDLE for p in phases)
    assert pacer.decide(_state(phases, ringing)) >= idle - len(ringing)


def test_predictive_dials_ahead_for_agents_about_to_finish() -> None:
    pacer = PredictivePacer(agents=20)
    pacer.reset(PacingConfig(), 1)
    for i in range(300):
        pacer.observe(PacingEvent(float(i), "talk_end", None, 180.0))
        pacer.observe(PacingEvent(float(i), "wrap_end", None, 5.0))
    pacer.observe(PacingEvent(400.0, "resolved", "live", 8.0))
    finishing = PacingState(400.0, [AgentPhase.WRAP] * 20, [4.9] * 20, [], [], 0, 1000)
    just_started = PacingState(400.0, [AgentPhase.TALK] * 20, [1.0] * 20, [], [], 0, 1000)
    assert pacer.decide(finishing) > 0
    assert pacer.decide(just_started) == 0
