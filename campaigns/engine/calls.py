"""The engine's state machine of one customer call. Pure: events in, new state and actions out.

    RINGING --answered--> SCREENING --human/unsure--> WAITING --agent claimed--> CONNECTING
       |   (no AMD: straight to WAITING)  |                |                        | agent answered: BRIDGE
       |                                  |--machine--> MESSAGE or CLOSING          v
       |                                                   \\--deadline--> ABANDONING   BRIDGED
       '--hangup--> ENDED   (every phase ends there on the customer's hangup)

A live answer must reach an agent within the connect deadline; otherwise the call is abandoned:
the safe-harbour message plays and the call is hung up. A deadline that strikes while the agent
leg is still opening abandons the call too (drop the agent leg, free the agent), because the
person would otherwise be connected late, which counts as abandoned anyway. Events that do not
apply to the current phase (a late AMD verdict, a deadline after the bridge) change nothing.
"""

from __future__ import annotations

import dataclasses
import enum

from compliance.ledger import NOT_CONNECTED
from compliance.models import Outcome


class Phase(enum.StrEnum):
    RINGING = "ringing"
    SCREENING = "screening"  # answered; answering-machine detection listening
    WAITING = "waiting"  # a live answer waiting for an agent
    CONNECTING = "connecting"  # an agent is claimed; their leg is opening
    BRIDGED = "bridged"
    ABANDONING = "abandoning"  # the safe-harbour message is playing
    MESSAGE = "message"  # the voicemail message is playing to a machine
    CLOSING = "closing"  # we hung up; waiting for the end
    ENDED = "ended"


class Event(enum.StrEnum):
    ANSWERED = "answered"
    HUMAN = "human"  # AMD verdict
    MACHINE = "machine"
    UNSURE = "unsure"
    AGENT_CLAIMED = "agent_claimed"
    AGENT_ANSWERED = "agent_answered"  # the agent's phone picked up the agent leg
    AGENT_LEG_FAILED = "agent_leg_failed"
    BRIDGED = "bridged"
    DEADLINE = "deadline"
    PROMPT_DONE = "prompt_done"
    HANGUP = "hangup"  # the customer leg ended


class Action(enum.StrEnum):
    CLAIM_AGENT = "claim_agent"  # find the longest-idle ready agent (now and as agents free up)
    START_DEADLINE = "start_deadline"
    OPEN_AGENT_LEG = "open_agent_leg"
    BRIDGE = "bridge"  # bridge the legs and pop the agent's screen
    DROP_AGENT = "drop_agent"  # unbridge and hang up the agent leg; the agent goes back to ready
    PLAY_SAFE_HARBOUR = "play_safe_harbour"
    PLAY_VOICEMAIL = "play_voicemail"
    HANG_UP = "hang_up"
    AGENT_TO_WRAP_UP = "agent_to_wrap_up"  # the call ended after the bridge


_LIVE = frozenset({Phase.WAITING, Phase.CONNECTING})
_PLAYING = frozenset({Phase.ABANDONING, Phase.MESSAGE})


@dataclasses.dataclass(frozen=True)
class CallState:
    amd: bool  # screen answers for machines
    leave_message: bool  # machines get the voicemail message
    phase: Phase = Phase.RINGING
    live: bool = False  # a person answered (AMD human or unsure, or no AMD)
    abandoned: bool = False
    bridged: bool = False
    agent: bool = False  # an agent is claimed for this call


def advance(state: CallState, event: Event) -> tuple[CallState, tuple[Action, ...]]:
    """The state after `event` and the actions the engine must take, in order."""
    phase = state.phase
    if phase is Phase.ENDED:
        return state, ()
    if event is Event.HANGUP:
        wrap = (Action.AGENT_TO_WRAP_UP,) if state.bridged else ()
        drop = (Action.DROP_AGENT,) if state.agent and not state.bridged else ()
        return dataclasses.replace(state, phase=Phase.ENDED, agent=state.bridged), drop + wrap
    if phase is Phase.RINGING and event is Event.ANSWERED:
        if state.amd:
            return dataclasses.replace(state, phase=Phase.SCREENING), ()
        return _live(state)
    if phase is Phase.SCREENING:
        if event in (Event.HUMAN, Event.UNSURE):
            return _live(state)
        if event is Event.MACHINE:
            if state.leave_message:
                return dataclasses.replace(state, phase=Phase.MESSAGE), (Action.PLAY_VOICEMAIL,)
            return dataclasses.replace(state, phase=Phase.CLOSING), (Action.HANG_UP,)
    if phase is Phase.WAITING:
        if event is Event.AGENT_CLAIMED:
            return dataclasses.replace(state, phase=Phase.CONNECTING, agent=True), (Action.OPEN_AGENT_LEG,)
        if event is Event.DEADLINE:
            return _abandon(state), (Action.PLAY_SAFE_HARBOUR,)
    if phase is Phase.CONNECTING:
        if event is Event.AGENT_ANSWERED:
            return state, (Action.BRIDGE,)
        if event is Event.BRIDGED:
            return dataclasses.replace(state, phase=Phase.BRIDGED, bridged=True), ()
        if event is Event.AGENT_LEG_FAILED:
            return dataclasses.replace(state, phase=Phase.WAITING, agent=False), (Action.CLAIM_AGENT,)
        if event is Event.DEADLINE:
            return _abandon(dataclasses.replace(state, agent=False)), (
                Action.DROP_AGENT,
                Action.PLAY_SAFE_HARBOUR,
            )
    if phase in _PLAYING and event is Event.PROMPT_DONE:
        return dataclasses.replace(state, phase=Phase.CLOSING), (Action.HANG_UP,)
    return state, ()


def _live(state: CallState) -> tuple[CallState, tuple[Action, ...]]:
    return dataclasses.replace(state, phase=Phase.WAITING, live=True), (
        Action.START_DEADLINE,
        Action.CLAIM_AGENT,
    )


def _abandon(state: CallState) -> CallState:
    return dataclasses.replace(state, phase=Phase.ABANDONING, abandoned=True)


def final_outcome(state: CallState, sip_outcome: Outcome, *, worker_lost: bool = False) -> Outcome:
    """The ledger outcome: what SIP saw, corrected by what only the engine knows.

    A call the engine abandoned stays abandoned even if the agent leg was bridged for an instant
    before the deadline dropped it (the SIP layer would call that a conversation).

    A call whose SIP worker died before an answer (`worker_lost`) ended without our CANCEL: its
    INVITE had left and the phone may ring on, so it is `no_answer`, which counts toward the
    contact caps, never one of the outcomes that did not reach the number (the SIP layer, which
    saw no final response, says `network_failure`). `store.orphan_outcome` rules the same way.
    """
    if state.abandoned:
        return Outcome.ABANDONED
    if worker_lost and sip_outcome in NOT_CONNECTED:
        return Outcome.NO_ANSWER
    if sip_outcome is Outcome.CONVERSATION and not state.bridged:
        return Outcome.ABANDONED if state.live else Outcome.ANSWERED_NO_CONVERSATION
    return sip_outcome
