"""The abandon-budget controller: the beta-binomial guard and the dual ascent on z."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.pacing import PacingConfig, PacingEvent
from dialer.pacing.controller import AbandonController, ControllerSettings, Tally, guarded_rate
from dialer.pacing.predictive import TEAM_SETTINGS, PredictivePacer, setting_for_team


@pytest.mark.parametrize(
    ("tally", "remaining", "risk", "expected"),
    [
        (Tally(), 570.0, 0.5, 0.03),  # no guard: the limit itself
        (Tally(1000.0, 20.0), 1000.0, 0.5, 0.04),  # a quiet morning leaves 10 abandons to spend
        (Tally(1000.0, 40.0), 1000.0, 0.5, 0.02),  # a busy one owes 10
        (Tally(100.0, 20.0), 500.0, 0.1, 0.0),  # the budget is gone
        (Tally(100.0, 1.0), 0.0, 0.1, 0.03),  # nothing left to plan for
    ],
)
def test_guarded_rate_table(tally: Tally, remaining: float, risk: float, expected: float) -> None:
    assert guarded_rate(0.03, tally, remaining, risk, 0.0) == pytest.approx(expected)


def test_guard_keeps_the_upper_quantile_inside_the_budget() -> None:
    rate = guarded_rate(0.03, Tally(), 570.0, 0.1, 0.0)
    expected_abandons = rate * 570.0
    upper = expected_abandons + NormalDist().inv_cdf(0.9) * math.sqrt(expected_abandons)
    assert upper == pytest.approx(0.03 * 570.0)
    assert 0.020 < rate < 0.024


def test_clustered_abandons_widen_the_guard() -> None:
    binomial = guarded_rate(0.03, Tally(), 5000.0, 0.1, 0.0)
    clustered = guarded_rate(0.03, Tally(), 5000.0, 0.1, 0.01)
    assert clustered < binomial < 0.03


@settings(max_examples=200, deadline=None)
@given(
    live=st.integers(0, 20000),
    abandoned_share=st.floats(0.0, 0.1),
    remaining=st.floats(1.0, 20000.0),
    risk=st.floats(0.01, 0.49),
    clustering=st.floats(0.0, 0.05),
)
def test_guarded_rate_never_plans_past_the_budget(
    live: int, abandoned_share: float, remaining: float, risk: float, clustering: float
) -> None:
    tally = Tally(float(live), math.floor(live * abandoned_share))
    budget = 0.03 * (tally.live + remaining) - tally.abandoned
    rate = guarded_rate(0.03, tally, remaining, risk, clustering)
    assert 0.0 <= rate <= 1.0
    assert rate * remaining <= max(budget, 0.0) + 1e-9
    assert rate <= guarded_rate(0.03, tally, remaining, min(risk * 2.0, 0.49), clustering) + 1e-12


def test_an_abandon_costs_one_step_and_clean_answers_earn_it_back() -> None:
    controller = AbandonController(ControllerSettings(step=0.1, z_initial=-2.0))
    controller.record_answer(10.0, abandoned=True)
    assert controller.z == pytest.approx(-2.1)
    for i in range(100):
        controller.record_answer(11.0 + i, abandoned=False)
    assert controller.z > -2.0


def test_abandons_make_the_controller_cautious_and_quiet_days_bolder() -> None:
    careful = AbandonController(ControllerSettings(z_initial=-2.0))
    bold = AbandonController(ControllerSettings(z_initial=-2.0))
    for i in range(600):
        careful.record_answer(float(i), abandoned=i % 10 == 0)
        bold.record_answer(float(i), abandoned=False)
    assert careful.z < -2.0 < bold.z
    assert careful.allowed < bold.allowed


def test_unused_budget_is_released_as_the_day_runs_out() -> None:
    controller = AbandonController(ControllerSettings(day_length_s=1000.0, day_risk=0.1))
    allowed = []
    for second in range(1, 1000):
        controller.record_answer(float(second), abandoned=second % 50 == 0)  # 2 %
        allowed.append(controller.allowed)
    assert allowed[100] < 0.03 < allowed[900]
    assert max(allowed) <= 2.0 * 0.03


def test_yesterdays_overrun_weighs_on_the_window() -> None:
    fresh = AbandonController(ControllerSettings(day_length_s=1000.0))
    overrun = AbandonController(ControllerSettings(day_length_s=1000.0))
    for second in range(1000):
        overrun.record_answer(float(second), abandoned=second % 10 == 0)
    overrun.start_day(0.0)
    assert overrun.today() == Tally()
    assert overrun.window().abandoned == 100.0
    for controller in (fresh, overrun):
        controller.record_answer(100.0, abandoned=False)
    assert overrun.allowed < fresh.allowed


def test_remaining_answers_follow_the_pace_the_day_length_and_the_list() -> None:
    controller = AbandonController(ControllerSettings(day_length_s=1000.0))
    for second in range(500):
        controller.record_answer(float(second), abandoned=False)
    controller.advance(500.0)
    assert controller.remaining_answers() == pytest.approx(500.0 * (501.0 / 560.0))
    controller.expect_answers(10.0)
    assert controller.remaining_answers() == 10.0
    controller.advance(1200.0)
    controller.start_day(0.0)
    controller.expect_answers(math.inf)
    controller.advance(600.0)
    assert controller.remaining_answers() == pytest.approx(600.0 / 660.0)  # the day seen lasted 1200 s


def test_smaller_teams_move_further_per_abandon() -> None:
    sizes = [setting.controller for setting in TEAM_SETTINGS]
    assert all(-2.5 <= s.z_initial <= -1.5 for s in sizes)
    assert [s.step for s in sizes] == sorted((s.step for s in sizes), reverse=True)
    assert all(0.0 < s.day_risk <= 0.15 for s in sizes)
    assert setting_for_team(5) is TEAM_SETTINGS[0].controller


def test_predictive_steers_to_the_limit_in_force() -> None:
    default, explicit, strict = (
        PredictivePacer(agents=5),
        PredictivePacer(agents=5, target=0.03),
        PredictivePacer(agents=5),
    )
    default.reset(PacingConfig(), 1)
    explicit.reset(PacingConfig(), 1)
    strict.reset(PacingConfig(abandon_target=0.015), 1)
    assert default.aim == explicit.aim < 0.03
    assert strict.aim < default.aim


def test_a_fixed_margin_stays_put_whatever_the_abandons() -> None:
    fixed, adaptive = PredictivePacer(agents=50, fixed_margin=-2.15), PredictivePacer(agents=50)
    for pacer in (fixed, adaptive):
        pacer.reset(PacingConfig(), 1)
        for second in range(20):
            pacer.observe(PacingEvent(float(second), "abandoned", None, None))
    assert fixed.z == -2.15
    assert adaptive.z < adaptive.settings.z_initial
