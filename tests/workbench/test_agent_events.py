from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.events import (
    HANG_UP,
    SCREEN_POP,
    EventFormatError,
    HangUp,
    ScreenPop,
    agent_channel,
    campaign_channel,
)
from compliance.models import DialingMode
from workbench import agents
from workbench.agent_state import (
    Activity,
    AgentStatus,
    ConnectCall,
    ConnectionLost,
    EndCall,
    GoReady,
    Pause,
    PauseCode,
    Refused,
    transition,
)

ANSWERED = dt.datetime(2025, 6, 3, 15, 0, 9, tzinfo=dt.UTC)
POP = ScreenPop(
    "0b6c8d3e-1111-4a4a-9c9c-123456789abc", 7, (3, 4), "+13125550142", 2, DialingMode.PREDICTIVE, ANSWERED
)


def test_the_engine_and_the_hub_name_agent_channels_alike() -> None:
    assert agent_channel(42) == agents.agent_channel(42) == "agent:42"


def test_a_screen_pop_survives_json() -> None:
    body = POP.to_json()
    assert body["type"] == SCREEN_POP
    assert body["answered_at"] == "2025-06-03T15:00:09+00:00"
    assert ScreenPop.from_json(body) == POP


@given(
    st.text(min_size=1, max_size=40),
    st.integers(min_value=1, max_value=2**62),
    st.lists(st.integers(min_value=1, max_value=2**62), max_size=5),
    st.one_of(st.none(), st.integers(min_value=1, max_value=2**31)),
    st.sampled_from(list(DialingMode)),
    st.datetimes(timezones=st.just(dt.UTC)),
)
def test_any_screen_pop_round_trips(  # noqa: PLR0917 (one parameter per strategy)
    uuid: str, person: int, debts: list[int], campaign: int | None, mode: DialingMode, answered: dt.datetime
) -> None:
    pop = ScreenPop(uuid, person, tuple(debts), "+13125550142", campaign, mode, answered)
    assert ScreenPop.from_json(pop.to_json()) == pop


@pytest.mark.parametrize(
    "change",
    [
        {"type": "agent.state"},
        {"person_id": "7"},
        {"person_id": True},
        {"debt_ids": "3"},
        {"mode": "telepathy"},
        {"answered_at": "yesterday"},
        {"answered_at": "2025-06-03T15:00:09"},
        {"attempt_uuid": ""},
    ],
)
def test_malformed_screen_pops_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(EventFormatError):
        ScreenPop.from_json({**POP.to_json(), **change})


NOW = dt.datetime(2025, 6, 3, 15, 5, tzinfo=dt.UTC)
EARLIER = NOW - dt.timedelta(minutes=5)
READY = AgentStatus(Activity.READY, None, EARLIER)
LUNCH = AgentStatus(Activity.PAUSED, PauseCode.LUNCH, EARLIER)
ON_CALL = AgentStatus(Activity.ON_CALL, None, EARLIER, "a1")
WRAP_UP = AgentStatus(Activity.WRAP_UP, None, EARLIER, "a1")


@pytest.mark.parametrize(
    ("current", "command", "expected"),
    [
        (READY, ConnectCall("a1"), AgentStatus(Activity.ON_CALL, None, NOW, "a1")),
        (LUNCH, ConnectCall("a1"), AgentStatus(Activity.ON_CALL, None, NOW, "a1")),
        (ON_CALL, ConnectCall("a1"), ON_CALL),
        (ON_CALL, ConnectCall("a2"), Refused("already on another call")),
        (WRAP_UP, ConnectCall("a2"), AgentStatus(Activity.ON_CALL, None, NOW, "a2")),
        (ON_CALL, EndCall("a1"), AgentStatus(Activity.WRAP_UP, None, NOW, "a1")),
        (WRAP_UP, EndCall("a1"), WRAP_UP),
        (ON_CALL, EndCall("a2"), Refused("that call is not the agent's current call")),
        (READY, EndCall("a1"), Refused("that call is not the agent's current call")),
        (ON_CALL, GoReady(), Refused("Record the call's disposition first.")),
        (ON_CALL, Pause(PauseCode.BREAK), Refused("Record the call's disposition first.")),
        (ON_CALL, ConnectionLost(), ON_CALL),
        (WRAP_UP, ConnectionLost(), WRAP_UP),
        (WRAP_UP, GoReady(), AgentStatus(Activity.READY, None, NOW)),
        (WRAP_UP, Pause(PauseCode.BREAK), AgentStatus(Activity.PAUSED, PauseCode.BREAK, NOW)),
        (None, ConnectCall("a1"), Refused("not signed in")),
    ],
)
def test_call_transitions(current: AgentStatus | None, command: Any, expected: AgentStatus | Refused) -> None:
    assert transition(current, command, NOW) == expected


def test_a_call_state_names_its_call() -> None:
    with pytest.raises(ValueError, match="has a call"):
        AgentStatus(Activity.ON_CALL, None, NOW)
    with pytest.raises(ValueError, match="has a call"):
        AgentStatus(Activity.READY, None, NOW, "a1")


def test_a_hang_up_request_round_trips_on_its_campaigns_channel() -> None:
    request = HangUp("0b0e8f5c-7d7e-4b7a-9d55-2f1d5c2f9a10", 42)
    assert HangUp.from_json(request.to_json()) == request
    assert campaign_channel(7) == "campaign:7"


@pytest.mark.parametrize(
    "body",
    [
        {"type": SCREEN_POP, "attempt_uuid": "a", "agent_id": 1},  # another kind of event
        {"type": HANG_UP, "attempt_uuid": "", "agent_id": 1},
        {"type": HANG_UP, "attempt_uuid": "a", "agent_id": True},
        {"type": HANG_UP, "attempt_uuid": "a"},
    ],
)
def test_malformed_hang_up_requests_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(EventFormatError):
        HangUp.from_json(body)
