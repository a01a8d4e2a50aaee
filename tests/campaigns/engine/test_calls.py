"""The engine's call state machine: transitions table and properties over random event orders."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.engine.calls import Action, CallState, Event, Phase, advance, final_outcome
from compliance.models import Outcome

A, E, P = Action, Event, Phase


def run(state: CallState, *events: Event) -> tuple[CallState, list[Action]]:
    actions: list[Action] = []
    for event in events:
        state, done = advance(state, event)
        actions += done
    return state, actions


SCREENED = CallState(amd=True, leave_message=False)
UNSCREENED = CallState(amd=False, leave_message=False)
MESSAGE = CallState(amd=True, leave_message=True)
LIVE = [A.START_DEADLINE, A.CLAIM_AGENT]
CLAIMED = [E.ANSWERED, E.AGENT_CLAIMED]
BRIDGING = [*CLAIMED, E.AGENT_ANSWERED, E.BRIDGED]


@pytest.mark.parametrize(
    ("start", "events", "phase", "actions"),
    [
        (SCREENED, [E.ANSWERED], P.SCREENING, []),
        (SCREENED, [E.ANSWERED, E.HUMAN], P.WAITING, LIVE),
        (SCREENED, [E.ANSWERED, E.UNSURE], P.WAITING, LIVE),
        (UNSCREENED, [E.ANSWERED], P.WAITING, LIVE),
        (SCREENED, [E.ANSWERED, E.MACHINE], P.CLOSING, [A.HANG_UP]),
        (MESSAGE, [E.ANSWERED, E.MACHINE], P.MESSAGE, [A.PLAY_VOICEMAIL]),
        (MESSAGE, [E.ANSWERED, E.MACHINE, E.PROMPT_DONE], P.CLOSING, [A.PLAY_VOICEMAIL, A.HANG_UP]),
        (UNSCREENED, CLAIMED, P.CONNECTING, [*LIVE, A.OPEN_AGENT_LEG]),
        (UNSCREENED, BRIDGING, P.BRIDGED,
         [*LIVE, A.OPEN_AGENT_LEG, A.BRIDGE]),
        (UNSCREENED, [E.ANSWERED, E.DEADLINE], P.ABANDONING, [*LIVE, A.PLAY_SAFE_HARBOUR]),
        (UNSCREENED, [E.ANSWERED, E.DEADLINE, E.PROMPT_DONE], P.CLOSING,
         [*LIVE, A.PLAY_SAFE_HARBOUR, A.HANG_UP]),
        (UNSCREENED, [*CLAIMED, E.DEADLINE], P.ABANDONING,
         [*LIVE, A.OPEN_AGENT_LEG, A.DROP_AGENT, A.PLAY_SAFE_HARBOUR]),
        (UNSCREENED, [*CLAIMED, E.AGENT_LEG_FAILED], P.WAITING,
         [*LIVE, A.OPEN_AGENT_LEG, A.CLAIM_AGENT]),
        (UNSCREENED, [*BRIDGING, E.DEADLINE, E.HANGUP], P.ENDED,
         [*LIVE, A.OPEN_AGENT_LEG, A.BRIDGE, A.AGENT_TO_WRAP_UP]),
        (UNSCREENED, [*CLAIMED, E.HANGUP], P.ENDED,
         [*LIVE, A.OPEN_AGENT_LEG, A.DROP_AGENT]),
        (SCREENED, [E.HANGUP, E.ANSWERED, E.HUMAN], P.ENDED, []),
        (SCREENED, [E.HUMAN, E.DEADLINE, E.BRIDGED], P.RINGING, []),
    ],
)  # fmt: skip
def test_transitions(start: CallState, events: list[Event], phase: Phase, actions: list[Action]) -> None:
    state, done = run(start, *events)
    assert state.phase is phase
    assert done == actions


@pytest.mark.parametrize(
    ("events", "sip", "outcome"),
    [
        ([E.ANSWERED, E.DEADLINE, E.HANGUP], Outcome.ABANDONED, Outcome.ABANDONED),
        # bridged for an instant before the deadline dropped the agent: still abandoned
        ([*CLAIMED, E.DEADLINE, E.HANGUP], Outcome.CONVERSATION, Outcome.ABANDONED),
        ([*BRIDGING, E.HANGUP], Outcome.CONVERSATION, Outcome.CONVERSATION),
        ([E.ANSWERED, E.HUMAN, E.HANGUP], Outcome.ANSWERED_NO_CONVERSATION, Outcome.ANSWERED_NO_CONVERSATION),
        ([E.HANGUP], Outcome.BUSY, Outcome.BUSY),
        ([E.ANSWERED, E.MACHINE, E.HANGUP], Outcome.MACHINE, Outcome.MACHINE),
    ],
)  # fmt: skip
def test_final_outcome(events: list[Event], sip: Outcome, outcome: Outcome) -> None:
    state, _ = run(SCREENED if E.HUMAN in events or E.MACHINE in events else UNSCREENED, *events)
    assert final_outcome(state, sip) is outcome


@pytest.mark.parametrize(
    ("events", "sip", "outcome"),
    [
        # unanswered when the worker died: the phone may ring on, so it counts as no answer
        ([E.HANGUP], Outcome.NETWORK_FAILURE, Outcome.NO_ANSWER),
        ([E.ANSWERED, E.HANGUP], Outcome.ABANDONED, Outcome.ABANDONED),
        ([E.ANSWERED, E.MACHINE, E.HANGUP], Outcome.MACHINE, Outcome.MACHINE),
        ([*BRIDGING, E.HANGUP], Outcome.CONVERSATION, Outcome.CONVERSATION),
    ],
)  # fmt: skip
def test_final_outcome_of_a_call_whose_worker_was_lost(
    events: list[Event], sip: Outcome, outcome: Outcome
) -> None:
    state, _ = run(SCREENED if E.MACHINE in events else UNSCREENED, *events)
    assert final_outcome(state, sip, worker_lost=True) is outcome


@given(
    start=st.sampled_from([SCREENED, UNSCREENED, MESSAGE]),
    events=st.lists(st.sampled_from(list(Event)), max_size=14),
)
def test_invariants_over_any_event_order(start: CallState, events: list[Event]) -> None:
    state, actions = run(start, *events, Event.HANGUP)
    assert state.phase is Phase.ENDED
    assert run(state, *events)[1] == []  # ended is absorbing
    assert actions.count(Action.PLAY_SAFE_HARBOUR) <= 1
    assert not (state.abandoned and state.bridged)  # a bridged call is never abandoned afterwards
    if Action.PLAY_SAFE_HARBOUR in actions:
        assert state.live
        assert state.abandoned
        assert Action.AGENT_TO_WRAP_UP not in actions  # an abandoned call never reaches wrap-up
    # every claimed agent is given back exactly once: dropped, or sent to wrap-up after a bridge
    claims = sum(
        1
        for before, event in zip([start, *_states(start, events)], events, strict=False)
        if before.phase is Phase.WAITING and event is Event.AGENT_CLAIMED
    )
    assert claims == actions.count(Action.DROP_AGENT) + actions.count(
        Action.AGENT_TO_WRAP_UP
    ) + _leg_failures(start, events)
    if state.bridged:
        assert state.live


def _states(start: CallState, events: list[Event]) -> list[CallState]:
    states, state = [], start
    for event in events:
        state, _ = advance(state, event)
        states.append(state)
    return states


def _leg_failures(start: CallState, events: list[Event]) -> int:
    failures, state = 0, start
    for event in events:
        if state.phase is Phase.CONNECTING and event is Event.AGENT_LEG_FAILED:
            failures += 1
        state, _ = advance(state, event)
    return failures
