"""The simulator: common random numbers, accounting, and a short run of each pacer."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dialer.carrier.profiles import behaviour_for
from dialer.pacing import make_pacer
from dialer.pacing.bench import (
    FRONTIER,
    FRONTIER_V0,
    TUNED_MARGINS,
    build_pacer,
    parse_pacer,
    parse_seeds,
    specs_for,
)
from dialer.pacing.leads import LeadStream
from dialer.pacing.metrics import summarise
from dialer.pacing.predictive import PredictivePacer
from dialer.pacing.scenarios import SCENARIOS, custom_scenario
from dialer.pacing.simulator import DayResult, simulate

SHORT = custom_scenario(agents=10, answer_rate=0.25, talk_mean_s=180.0, wrap_mean_s=30.0, hours=1.0)


def _run(name: str, seed: int, **params: object) -> list[DayResult]:
    return simulate(SHORT, make_pacer(name, **params), seed)


def test_leads_depend_only_on_the_seed() -> None:
    first, second = LeadStream(5), LeadStream(5)
    drawn = [first.next() for _ in range(5000)]
    assert drawn == [second.next() for _ in range(5000)]
    assert drawn[:10] != [LeadStream(6).next() for _ in range(10)]


def test_carrier_timing_rings_like_the_carrier_simulator_and_keeps_the_other_variates() -> None:
    reference_stream, carrier_stream = LeadStream(5), LeadStream(5, carrier_timing=True)
    reference = [reference_stream.next() for _ in range(5000)]
    carrier = [carrier_stream.next() for _ in range(5000)]
    assert [lead.u_live for lead in carrier] == [lead.u_live for lead in reference]
    assert [lead.talk_z for lead in carrier] == [lead.talk_z for lead in reference]
    assert all(lead.pdd_s == 0.0 for lead in carrier)
    assert [lead.ring_s for lead in carrier[4090:4100]] == [
        behaviour_for(f"lead{i}", 5).ring_s for i in range(4090, 4100)
    ]
    assert 0.5 <= min(lead.ring_s for lead in carrier) < max(lead.ring_s for lead in carrier) < 3.0


def test_same_seed_same_day() -> None:
    assert _run("ratio", 3, level=1.5) == _run("ratio", 3, level=1.5)


@pytest.fixture(scope="module")
def short_runs() -> dict[str, list[DayResult]]:
    return {
        "progressive": _run("progressive", 1) + _run("progressive", 2),
        "predictive": _run("predictive", 1, agents=10) + _run("predictive", 2, agents=10),
    }


@pytest.mark.slow
def test_accounting_is_consistent(short_runs: dict[str, list[DayResult]]) -> None:
    for days in short_runs.values():
        for day in days:
            assert day.talk_s + day.wrap_s <= day.logged_in_s + 1e-6
            assert day.logged_in_s == pytest.approx(SHORT.agents * SHORT.hours * 3600.0)
            assert 0 <= day.abandoned <= day.live_answered
            assert day.contacts + day.abandoned == day.live_answered
            assert all(hold <= SHORT.connect_deadline_s for hold in day.holds)


@pytest.mark.slow
def test_progressive_never_abandons(short_runs: dict[str, list[DayResult]]) -> None:
    assert sum(day.abandoned for day in short_runs["progressive"]) == 0


@pytest.mark.slow
def test_predictive_keeps_abandons_bounded_and_beats_progressive(
    short_runs: dict[str, list[DayResult]],
) -> None:
    ours = summarise({i: [day] for i, day in enumerate(short_runs["predictive"])})
    baseline = summarise({i: [day] for i, day in enumerate(short_runs["progressive"])})
    assert ours.abandon <= 0.05  # about 300 live answers: 3 % plus room for the noise of two hours
    assert ours.occupancy > baseline.occupancy


def test_staffing_changes_reach_the_pacer() -> None:
    scenario = replace(SCENARIOS["SHIFT50"], hours=1.0)
    (day,) = simulate(scenario, make_pacer("progressive"), 1)
    # Logins are staggered over the first 30 minutes: about three quarters of the full team's hour.
    assert 0.70 * 50 * 3600.0 < day.logged_in_s < 0.80 * 50 * 3600.0


def test_finite_list_and_line_cap_are_enforced() -> None:
    scenario = replace(SCENARIOS["CAP50"], hours=0.5, leads=300)
    (day,) = simulate(scenario, make_pacer("ratio", level=3.0), 1)
    assert day.peak_lines <= 65
    assert day.dials <= 300


def test_a_list_measured_from_the_first_dial_counts_every_lead_whatever_the_pace() -> None:
    scenario = replace(SCENARIOS["LIST50"], hours=0.5, leads=300)
    for pacer in (make_pacer("progressive"), make_pacer("predictive", agents=50)):
        (day,) = simulate(scenario, pacer, 1)
        assert day.dials == 300


@pytest.mark.parametrize(
    ("text", "expected"), [("101-103", [101, 102, 103]), ("1,4,7-8", [1, 4, 7, 8]), ("5", [5])]
)
def test_seed_ranges(text: str, expected: list[int]) -> None:
    assert parse_seeds(text) == expected


def test_pacer_specs_carry_parameters() -> None:
    assert parse_pacer("vicidial_adaptive:maximum_level=2,method=average") == (
        "vicidial_adaptive",
        {"maximum_level": 2.0, "method": "average"},
    )


def test_the_frontier_policy_runs_at_its_tuned_margin_where_one_was_tuned() -> None:
    pacer = build_pacer(FRONTIER, SCENARIOS["X50-20"])
    assert isinstance(pacer, PredictivePacer)
    assert (pacer.settings.z_initial, pacer.settings.step) == (TUNED_MARGINS["X50-20"], 0.0)
    specs = ["progressive", "predictive", FRONTIER]
    assert specs_for(SCENARIOS["X50-20"], specs) == specs
    assert specs_for(SCENARIOS["TV25"], [*specs, f"{FRONTIER}:step=0"]) == ["progressive", "predictive"]
    assert set(TUNED_MARGINS) == set(FRONTIER_V0)
