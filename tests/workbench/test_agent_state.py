from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench.agent_state import (
    AGENT_PAUSE_CODES,
    SYSTEM_PAUSE_CODES,
    Activity,
    AgentStatus,
    Command,
    ConnectionLost,
    GoReady,
    Pause,
    PauseCode,
    Refused,
    SignIn,
    transition,
)

EARLIER = dt.datetime(2026, 3, 2, 14, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 3, 2, 14, 5, tzinfo=dt.UTC)

READY = AgentStatus(Activity.READY, None, EARLIER)
LUNCH = AgentStatus(Activity.PAUSED, PauseCode.LUNCH, EARLIER)
LOGIN = AgentStatus(Activity.PAUSED, PauseCode.LOGIN, EARLIER)
LAGGED = AgentStatus(Activity.PAUSED, PauseCode.LAGGED, EARLIER)


@pytest.mark.parametrize(
    ("current", "command", "expected"),
    [
        (None, SignIn(), AgentStatus(Activity.PAUSED, PauseCode.LOGIN, NOW)),
        (READY, SignIn(), READY),
        (LUNCH, SignIn(), LUNCH),
        (None, GoReady(), Refused("not signed in")),
        (None, Pause(PauseCode.BREAK), Refused("not signed in")),
        (None, ConnectionLost(), Refused("not signed in")),
        (LOGIN, GoReady(), AgentStatus(Activity.READY, None, NOW)),
        (LAGGED, GoReady(), AgentStatus(Activity.READY, None, NOW)),
        (LUNCH, GoReady(), AgentStatus(Activity.READY, None, NOW)),
        (READY, GoReady(), READY),
        (READY, Pause(PauseCode.BREAK), AgentStatus(Activity.PAUSED, PauseCode.BREAK, NOW)),
        (LUNCH, Pause(PauseCode.BREAK), AgentStatus(Activity.PAUSED, PauseCode.BREAK, NOW)),
        (LUNCH, Pause(PauseCode.LUNCH), LUNCH),
        (LOGIN, Pause(PauseCode.MEETING), AgentStatus(Activity.PAUSED, PauseCode.MEETING, NOW)),
        (READY, Pause(PauseCode.LAGGED), Refused("Connection lost is set by the system only")),
        (READY, Pause(PauseCode.LOGIN), Refused("Signed in is set by the system only")),
        (READY, ConnectionLost(), AgentStatus(Activity.PAUSED, PauseCode.LAGGED, NOW)),
        (LUNCH, ConnectionLost(), LUNCH),
        (LAGGED, ConnectionLost(), LAGGED),
    ],
)
def test_transition(current: AgentStatus | None, command: Command, expected: AgentStatus | Refused) -> None:
    assert transition(current, command, NOW) == expected


def test_a_paused_status_needs_a_code_and_a_ready_one_has_none() -> None:
    with pytest.raises(ValueError, match="pause code"):
        AgentStatus(Activity.PAUSED, None, NOW)
    with pytest.raises(ValueError, match="pause code"):
        AgentStatus(Activity.READY, PauseCode.BREAK, NOW)


def test_agents_choose_only_among_non_system_codes() -> None:
    assert set(AGENT_PAUSE_CODES) | SYSTEM_PAUSE_CODES == set(PauseCode)
    assert not set(AGENT_PAUSE_CODES) & SYSTEM_PAUSE_CODES


statuses = st.one_of(
    st.none(),
    st.just(READY),
    st.sampled_from(list(PauseCode)).map(lambda code: AgentStatus(Activity.PAUSED, code, EARLIER)),
)
commands = st.one_of(
    st.just(SignIn()),
    st.just(GoReady()),
    st.just(ConnectionLost()),
    st.sampled_from(list(PauseCode)).map(Pause),
)


@given(st.lists(commands, max_size=30), statuses)
def test_no_sequence_of_commands_reaches_an_inconsistent_state(
    sequence: list[Command], start: AgentStatus | None
) -> None:
    current = start
    for command in sequence:
        result = transition(current, command, NOW)
        if isinstance(result, Refused):
            continue
        # An agent never picks a system code; the system sets it only on sign-in or a lost connection.
        if result.pause_code in SYSTEM_PAUSE_CODES and result != current:
            assert isinstance(command, SignIn | ConnectionLost)
        # A command that changes nothing keeps the running timer.
        if result.activity is getattr(current, "activity", None) and result.pause_code == getattr(
            current, "pause_code", object()
        ):
            assert result == current
        current = result


@given(statuses, commands)
def test_repeating_a_command_is_harmless(start: AgentStatus | None, command: Command) -> None:
    once = transition(start, command, NOW)
    if isinstance(once, AgentStatus):
        later = NOW + dt.timedelta(seconds=7)
        assert transition(once, command, later) == once
