"""Baseline pacers behave as the notes describe them (§4.1-4.3)."""

from __future__ import annotations

import pytest

from dialer.pacing import AgentPhase, PacingConfig, PacingEvent, PacingState
from dialer.pacing.baselines import ProgressivePacer, RatioPacer, VicidialAdaptivePacer, ratio_level_for_team

IDLE, TALK, WRAP = AgentPhase.IDLE, AgentPhase.TALK, AgentPhase.WRAP


def _state(phases: list[AgentPhase], ringing: int = 0, waiting: int = 0, t: float = 0.0) -> PacingState:
    return PacingState(t, phases, [0.0] * len(phases), [1.0] * ringing, [0.5] * waiting, ringing, 10_000)


@pytest.mark.parametrize(
    ("phases", "ringing", "waiting", "expected"),
    [
        ([IDLE, IDLE, IDLE], 0, 0, 3),
        ([IDLE, IDLE, IDLE], 2, 0, 1),
        ([IDLE, IDLE, TALK], 1, 1, 0),
        ([TALK, WRAP, AgentPhase.PAUSED], 0, 0, 0),
        ([IDLE], 3, 0, 0),
    ],
)
def test_progressive(phases: list[AgentPhase], ringing: int, waiting: int, expected: int) -> None:
    pacer = ProgressivePacer()
    pacer.reset(PacingConfig(), 1)
    assert pacer.decide(_state(phases, ringing, waiting)) == expected


@pytest.mark.parametrize(
    ("level", "phases", "ringing", "expected"),
    [
        (1.0, [IDLE, IDLE, TALK, TALK], 0, 2),  # level 1 is progressive
        (2.0, [IDLE, IDLE, TALK, TALK], 0, 6),  # round(2 * 4) - 2 talking
        (2.0, [IDLE, IDLE, TALK, WRAP], 1, 4),  # wrap does not count: round(2 * 3) - 1 talking - 1 ringing
        (1.5, [TALK, TALK, TALK, TALK], 0, 2),
    ],
)
def test_ratio(level: float, phases: list[AgentPhase], ringing: int, expected: int) -> None:
    pacer = RatioPacer(level=level)
    pacer.reset(PacingConfig(), 1)
    assert pacer.decide(_state(phases, ringing)) == expected


def test_ratio_level_table_is_keyed_by_team_size() -> None:
    assert ratio_level_for_team(5) == 1.0
    assert ratio_level_for_team(10**6) >= ratio_level_for_team(25)
    with pytest.raises(ValueError, match=r"below 1\.0"):
        RatioPacer(level=0.5)


def test_vicidial_level_climbs_while_agents_wait_then_drops_to_one_over_the_limit() -> None:
    pacer = VicidialAdaptivePacer()
    pacer.reset(PacingConfig(), 1)
    idle_team = [IDLE] * 10
    for step in range(121):
        pacer.decide(_state(idle_team, ringing=10, t=step * 0.5))
    assert pacer.level > 1.5  # ten of ten agents ready for a minute
    for step in range(60):
        pacer.observe(PacingEvent(61.0 + step, "connected", None, None))
        pacer.observe(PacingEvent(61.0 + step, "abandoned", None, None))
        pacer.decide(_state(idle_team, t=61.0 + step))
    assert pacer.level == 1.0  # half of today's answers dropped: hard limit


def test_vicidial_dials_only_on_its_loop() -> None:
    pacer = VicidialAdaptivePacer()
    pacer.reset(PacingConfig(), 1)
    assert pacer.decide(_state([IDLE, IDLE], t=0.0)) == 2
    assert pacer.decide(_state([IDLE, IDLE], t=1.0)) == 0  # next auto-dial pass at 2.5 s
    assert pacer.decide(_state([IDLE, IDLE], t=2.5)) == 2
