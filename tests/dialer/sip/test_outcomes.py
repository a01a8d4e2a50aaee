"""The disposition mapping: SIP facts of a customer call to the outcome vocabulary."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.outcomes import AmdResult, CallFacts, EarlyMedia, HungUpBy, Message, Outcome, classify

UNANSWERED = CallFacts(
    final_code=487,
    q850_cause=None,
    rang=True,
    answered=False,
    amd=AmdResult.NOT_RUN,
    hung_up_by=HungUpBy.DIALER,
    bridged=False,
    early_media=EarlyMedia.NONE,
    message=Message.NONE,
)
ANSWERED = replace(UNANSWERED, final_code=200, answered=True, amd=AmdResult.HUMAN, hung_up_by=HungUpBy.REMOTE)

UNANSWERED_TABLE = [
    # (changes to UNANSWERED, expected)
    ({}, Outcome.NO_ANSWER),  # our ring timer cancelled: 487
    ({"final_code": 486, "hung_up_by": HungUpBy.REMOTE, "rang": False}, Outcome.BUSY),
    ({"final_code": 600, "hung_up_by": HungUpBy.REMOTE}, Outcome.BUSY),
    ({"final_code": 603, "hung_up_by": HungUpBy.REMOTE}, Outcome.BUSY),
    ({"final_code": 404, "hung_up_by": HungUpBy.REMOTE}, Outcome.NOT_IN_SERVICE),
    ({"final_code": 410, "hung_up_by": HungUpBy.REMOTE}, Outcome.NOT_IN_SERVICE),
    ({"final_code": 484, "hung_up_by": HungUpBy.REMOTE}, Outcome.NOT_IN_SERVICE),
    ({"final_code": 604, "hung_up_by": HungUpBy.REMOTE}, Outcome.NOT_IN_SERVICE),
    ({"final_code": 480, "hung_up_by": HungUpBy.REMOTE}, Outcome.NO_ANSWER),
    ({"final_code": 480, "early_media": EarlyMedia.SIT_TONE}, Outcome.NOT_IN_SERVICE),
    ({"final_code": 480, "early_media": EarlyMedia.ANNOUNCEMENT}, Outcome.NOT_IN_SERVICE),
    ({"final_code": 480, "early_media": EarlyMedia.RINGBACK}, Outcome.NO_ANSWER),
    ({"final_code": 503, "early_media": EarlyMedia.SIT_TONE}, Outcome.NOT_IN_SERVICE),
    ({"final_code": 408, "rang": True, "hung_up_by": HungUpBy.REMOTE}, Outcome.NO_ANSWER),
    ({"final_code": 408, "rang": False, "hung_up_by": HungUpBy.REMOTE}, Outcome.NETWORK_FAILURE),
    ({"final_code": 503, "hung_up_by": HungUpBy.REMOTE, "rang": False}, Outcome.NETWORK_FAILURE),
    ({"final_code": 500, "hung_up_by": HungUpBy.REMOTE, "rang": False}, Outcome.NETWORK_FAILURE),
    ({"final_code": 488, "hung_up_by": HungUpBy.REMOTE, "rang": False}, Outcome.NETWORK_FAILURE),
    ({"final_code": 403, "hung_up_by": HungUpBy.REMOTE, "rang": False}, Outcome.NETWORK_FAILURE),
    ({"final_code": 0, "rang": False}, Outcome.NETWORK_FAILURE),  # local setup failure
    ({"final_code": 0, "rang": True}, Outcome.NO_ANSWER),  # cancelled while ringing, before the 487
    ({"final_code": 0, "hung_up_by": HungUpBy.WORKER_LOST, "rang": True}, Outcome.NETWORK_FAILURE),
    # Q.850 causes take precedence over a vague SIP code.
    ({"final_code": 480, "q850_cause": 1}, Outcome.NOT_IN_SERVICE),
    ({"final_code": 404, "q850_cause": 1}, Outcome.NOT_IN_SERVICE),
    ({"final_code": 503, "q850_cause": 22}, Outcome.NOT_IN_SERVICE),
    ({"final_code": 480, "q850_cause": 17}, Outcome.BUSY),
    ({"final_code": 603, "q850_cause": 21}, Outcome.BUSY),
    ({"final_code": 480, "q850_cause": 18}, Outcome.NO_ANSWER),
    ({"final_code": 480, "q850_cause": 19}, Outcome.NO_ANSWER),
    ({"final_code": 503, "q850_cause": 20}, Outcome.NO_ANSWER),
    ({"final_code": 503, "q850_cause": 38}, Outcome.NETWORK_FAILURE),
    ({"final_code": 486, "q850_cause": 34}, Outcome.NETWORK_FAILURE),
    ({"final_code": 486, "q850_cause": 16}, Outcome.BUSY),  # normal clearing says nothing
]

ANSWERED_TABLE = [
    ({}, Outcome.ANSWERED_NO_CONVERSATION),  # a person answered and hung up before any agent
    ({"bridged": True}, Outcome.CONVERSATION),
    ({"bridged": True, "hung_up_by": HungUpBy.WORKER_LOST}, Outcome.CONVERSATION),
    ({"hung_up_by": HungUpBy.DIALER}, Outcome.ABANDONED),
    ({"hung_up_by": HungUpBy.WORKER_LOST}, Outcome.ABANDONED),
    ({"message": Message.SAFE_HARBOUR}, Outcome.ABANDONED),
    ({"message": Message.SAFE_HARBOUR, "hung_up_by": HungUpBy.DIALER}, Outcome.ABANDONED),
    ({"amd": AmdResult.UNKNOWN, "hung_up_by": HungUpBy.DIALER}, Outcome.ABANDONED),
    ({"amd": AmdResult.NOT_RUN, "hung_up_by": HungUpBy.DIALER}, Outcome.ABANDONED),
    ({"amd": AmdResult.UNKNOWN}, Outcome.ANSWERED_NO_CONVERSATION),
    ({"amd": AmdResult.MACHINE, "hung_up_by": HungUpBy.DIALER}, Outcome.MACHINE),
    ({"amd": AmdResult.MACHINE}, Outcome.MACHINE),
    ({"amd": AmdResult.MACHINE, "message": Message.VOICEMAIL_COMPLETED}, Outcome.VOICEMAIL_MESSAGE_LEFT),
    ({"amd": AmdResult.MACHINE, "message": Message.VOICEMAIL_STARTED}, Outcome.VOICEMAIL),
    ({"amd": AmdResult.HUMAN, "message": Message.VOICEMAIL_COMPLETED}, Outcome.VOICEMAIL_MESSAGE_LEFT),
    ({"amd": AmdResult.MACHINE, "bridged": True}, Outcome.CONVERSATION),  # an agent took it anyway
    # Signalling details do not matter once the call was answered.
    ({"final_code": 200, "q850_cause": 17}, Outcome.ANSWERED_NO_CONVERSATION),
    ({"early_media": EarlyMedia.SIT_TONE}, Outcome.ANSWERED_NO_CONVERSATION),
]


@pytest.mark.parametrize(("changes", "expected"), UNANSWERED_TABLE)
def test_unanswered_calls(changes: dict[str, object], expected: Outcome) -> None:
    assert classify(replace(UNANSWERED, **changes)) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "expected"), ANSWERED_TABLE)
def test_answered_calls(changes: dict[str, object], expected: Outcome) -> None:
    assert classify(replace(ANSWERED, **changes)) is expected  # type: ignore[arg-type]


facts = st.builds(
    CallFacts,
    final_code=st.one_of(st.just(0), st.integers(100, 699)),
    q850_cause=st.one_of(st.none(), st.integers(0, 127)),
    rang=st.booleans(),
    answered=st.booleans(),
    amd=st.sampled_from(AmdResult),
    hung_up_by=st.sampled_from(HungUpBy),
    bridged=st.booleans(),
    early_media=st.sampled_from(EarlyMedia),
    message=st.sampled_from(Message),
)

SIP_OUTCOMES = set(Outcome) - {
    Outcome.THIRD_PARTY_CONVERSATION,
    Outcome.INBOUND_MESSAGE,
    Outcome.INBOUND_NO_AGENT,
}


@given(facts)
def test_every_call_gets_an_outbound_outcome_of_the_vocabulary(call: CallFacts) -> None:
    assert classify(call) in SIP_OUTCOMES


@given(facts)
def test_answered_calls_never_look_like_connection_failures(call: CallFacts) -> None:
    outcome = classify(replace(call, answered=True))
    assert outcome not in {Outcome.BUSY, Outcome.NOT_IN_SERVICE, Outcome.NETWORK_FAILURE, Outcome.NO_ANSWER}


@given(facts)
def test_a_bridged_answer_is_always_a_conversation(call: CallFacts) -> None:
    assert classify(replace(call, answered=True, bridged=True)) is Outcome.CONVERSATION


@given(facts)
def test_unanswered_calls_never_count_as_contact(call: CallFacts) -> None:
    outcome = classify(replace(call, answered=False))
    assert outcome in {Outcome.BUSY, Outcome.NOT_IN_SERVICE, Outcome.NETWORK_FAILURE, Outcome.NO_ANSWER}
