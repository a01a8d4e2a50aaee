"""Pure cores of the engine: campaign schedule, settings, and agent reservation order."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.engine.agents import AgentView, choose_agent
from campaigns.engine.schedule import CallingSchedule, ScheduleError, is_open, minutes_left
from campaigns.engine.settings import CampaignSettingsError, MachineAction, engine_settings
from campaigns.models import DialMode
from compliance.models import Outcome
from dialer.pacing import AgentPhase

SCHEDULE = CallingSchedule(frozenset({"mon", "tue", "wed", "thu", "fri"}), dt.time(9), dt.time(20))
# Tuesday 3 June 2025, 14:00 UTC: 10:00 in New York, 07:00 in Los Angeles, 04:00 in Honolulu.
TUESDAY = dt.datetime(2025, 6, 3, 14, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("zones", "at", "left"),
    [
        (("America/New_York",), TUESDAY, 600.0),
        (("America/Los_Angeles",), TUESDAY, None),
        (("America/New_York", "America/Los_Angeles"), TUESDAY, None),  # every candidate zone must be open
        (("America/New_York",), TUESDAY + dt.timedelta(hours=9, minutes=59), 1.0),
        (("America/New_York",), TUESDAY + dt.timedelta(hours=10), None),  # 20:00 is closed
        (("America/New_York",), TUESDAY - dt.timedelta(hours=1), 660.0),  # 09:00 is open
        (("America/New_York",), TUESDAY + dt.timedelta(days=4), None),  # Saturday
        ((), TUESDAY, 1440.0),  # nothing known: the gate decides
    ],
)
def test_window_in_local_time(zones: tuple[str, ...], at: dt.datetime, left: float | None) -> None:
    assert minutes_left(SCHEDULE, zones, at) == left
    assert is_open(SCHEDULE, zones, at) is (left is not None)


def test_schedule_settings() -> None:
    parsed = CallingSchedule.from_settings({"days": ["sat"], "start": "10:30", "end": "12:00"})
    assert parsed == CallingSchedule(frozenset({"sat"}), dt.time(10, 30), dt.time(12))
    for bad in ({"days": ["funday"]}, {"start": "21:00", "end": "09:00"}, {"start": "noon"}, {"hours": 3}):
        with pytest.raises(ScheduleError):
            CallingSchedule.from_settings(bad)


@given(st.datetimes(timezones=st.just(dt.UTC)), st.sampled_from(["America/New_York", "Pacific/Guam"]))
def test_open_only_inside_the_local_window(at: dt.datetime, zone: str) -> None:
    from zoneinfo import ZoneInfo

    local = at.astimezone(ZoneInfo(zone))
    inside = local.strftime("%a").lower()[:3] in SCHEDULE.days and dt.time(9) <= local.time() < dt.time(20)
    assert is_open(SCHEDULE, (zone,), at) is inside


def test_engine_settings_read_the_console_document() -> None:
    settings = engine_settings(
        {
            "schedule": {"days": ["mon"], "start": "09:00", "end": "17:00"},
            "retry_rules": {"busy": {"retry_after_minutes": 45, "max_attempts": 2}},
            "wrap_up_seconds": 60,
            "pacing": {"abandon_target_percent": 2.0, "max_dial_ratio": 3, "ring_timeout_seconds": 20},
            "machine_action": "leave_message",
            "machine_message": "Please call Arrears back.",
            "engine": {"amd": False, "max_attempts": 4},
        },
        DialMode.PREDICTIVE,
    )
    assert settings.pacer == "predictive"
    assert settings.abandon_target == pytest.approx(0.02)
    assert settings.max_dial_ratio == 3.0
    assert settings.ring_timeout_s == 20.0
    assert settings.machine is MachineAction.LEAVE_MESSAGE
    assert settings.voicemail_text == "Please call Arrears back."
    assert settings.retry.rules[Outcome.BUSY].retry_after == dt.timedelta(minutes=45)
    assert settings.retry.max_attempts == 4
    assert not settings.amd
    assert engine_settings({}, DialMode.PROGRESSIVE).pacer == "progressive"


@pytest.mark.parametrize(
    "document",
    [
        {"typo": 1},
        {"pacing": {"abandon_target_percent": 5}},
        {"pacing": {"ring_timeout_seconds": 10}},
        {"engine": {"pacer": "psychic"}},
        {"engine": {"give_up_after_s": 2.5}},
        {"engine": {"unknown": True}},
        {"machine_action": "scream"},
    ],
)
def test_engine_settings_refuse_what_cannot_run(document: dict[str, object]) -> None:
    with pytest.raises(CampaignSettingsError):
        engine_settings(document, DialMode.PREDICTIVE)
    with pytest.raises(CampaignSettingsError, match="preview"):
        engine_settings({}, DialMode.PREVIEW)


def _agent(user: int, phase: AgentPhase, minutes: int) -> AgentView:
    return AgentView(user, phase, TUESDAY + dt.timedelta(minutes=minutes), f"sip:agent-{user}@x")


def test_longest_idle_ready_agent_is_chosen() -> None:
    team = [
        _agent(1, AgentPhase.IDLE, 5),
        _agent(2, AgentPhase.IDLE, 1),
        _agent(3, AgentPhase.TALK, 0),
        _agent(4, AgentPhase.PAUSED, 0),
    ]
    assert choose_agent(team) == team[1]
    assert choose_agent(team, exclude={2}) == team[0]
    assert choose_agent(team, preferred=1) == team[0]  # the callback's owner, being ready
    assert choose_agent(team, preferred=3) == team[1]  # the owner is busy: anyone ready
    assert choose_agent(team, exclude={1, 2}) is None


@given(
    st.lists(st.tuples(st.sampled_from(list(AgentPhase)), st.integers(0, 100)), max_size=12),
    st.sets(st.integers(0, 11)),
)
def test_choice_is_ready_and_idle_longest(agents: list[tuple[AgentPhase, int]], exclude: set[int]) -> None:
    team = [_agent(user, phase, minutes) for user, (phase, minutes) in enumerate(agents)]
    chosen = choose_agent(team, exclude=exclude)
    ready = [agent for agent in team if agent.phase is AgentPhase.IDLE and agent.user_id not in exclude]
    if chosen is None:
        assert not ready
    else:
        assert chosen in ready
        assert all(chosen.since <= agent.since for agent in ready)
