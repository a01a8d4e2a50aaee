"""Map what the SIP layer saw on a customer call to the outcome vocabulary of the compliance contract.

Pure: no I/O. The SIP node builds `CallFacts` from the events of one call and asks `classify`.
The vocabulary is the one in `contracts/compliance-check.md`; the ledger counts attempts by it, so
the mapping leans conservative where a law counts something against us (an unbridged live answer
that we ended is `abandoned`, never `answered_no_conversation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from infra.vocabulary import Outcome as Outcome  # re-exported: the columns and events speak it


class HungUpBy(StrEnum):
    DIALER = "dialer"
    REMOTE = "remote"
    WORKER_LOST = "worker_lost"


class AmdResult(StrEnum):
    NOT_RUN = "not_run"
    HUMAN = "human"
    MACHINE = "machine"
    UNKNOWN = "unknown"


class EarlyMedia(StrEnum):
    """What the audio before the answer sounded like (see `dialer.sip.early_media`)."""

    NONE = "none"
    RINGBACK = "ringback"
    SIT_TONE = "sit_tone"
    ANNOUNCEMENT = "announcement"
    SILENCE = "silence"


class Message(StrEnum):
    """The prerecorded message the dialer played to the callee, and whether it played to the end."""

    NONE = "none"
    SAFE_HARBOUR = "safe_harbour"
    VOICEMAIL_STARTED = "voicemail_started"
    VOICEMAIL_COMPLETED = "voicemail_completed"


@dataclass(frozen=True)
class CallFacts:
    final_code: int  # last SIP status code of the INVITE (0: no response or a local failure)
    q850_cause: int | None  # from the Reason header, when the far end sent one
    rang: bool  # a 180 or 183 arrived before the end
    answered: bool
    amd: AmdResult
    hung_up_by: HungUpBy
    bridged: bool  # the callee was connected to an agent at some point
    early_media: EarlyMedia
    message: Message


# Q.850 cause values (ITU-T Q.850 table 1) that name the reason a call did not connect.
_Q850_NOT_IN_SERVICE = frozenset({1, 3, 22, 28})  # unallocated, no route, number changed, invalid format
_Q850_BUSY = frozenset({17, 21})  # user busy, call rejected
_Q850_NO_ANSWER = frozenset({18, 19, 20})  # no user responding, no answer, subscriber absent
_Q850_NETWORK = frozenset({27, 34, 38, 41, 42, 44, 47, 63, 79, 127})

_SIP_BUSY = frozenset({486, 600, 603})
_SIP_NOT_IN_SERVICE = frozenset({404, 410, 484, 604})
_SIP_NO_ANSWER = frozenset({480, 487})


def classify(facts: CallFacts) -> Outcome:
    if facts.answered:
        return _classify_answered(facts)
    return _classify_unanswered(facts)


def _classify_answered(facts: CallFacts) -> Outcome:
    if facts.bridged:
        return Outcome.CONVERSATION
    if facts.message is Message.VOICEMAIL_COMPLETED:
        return Outcome.VOICEMAIL_MESSAGE_LEFT
    if facts.message is Message.VOICEMAIL_STARTED:
        return Outcome.VOICEMAIL
    if facts.amd is AmdResult.MACHINE:
        return Outcome.MACHINE
    # A person (or possibly one: AMD unknown or off) answered and no agent took the call.
    if facts.message is Message.SAFE_HARBOUR or facts.hung_up_by is not HungUpBy.REMOTE:
        return Outcome.ABANDONED
    return Outcome.ANSWERED_NO_CONVERSATION


def _classify_unanswered(facts: CallFacts) -> Outcome:
    if facts.early_media is EarlyMedia.SIT_TONE:
        return Outcome.NOT_IN_SERVICE
    by_cause = _by_q850(facts.q850_cause)
    if by_cause is not None:
        return by_cause
    code = facts.final_code
    if code in _SIP_BUSY:
        return Outcome.BUSY
    if code in _SIP_NOT_IN_SERVICE:
        return Outcome.NOT_IN_SERVICE
    if code == 480 and facts.early_media is EarlyMedia.ANNOUNCEMENT:
        return Outcome.NOT_IN_SERVICE
    if code in _SIP_NO_ANSWER or (code == 408 and facts.rang):
        return Outcome.NO_ANSWER
    if facts.hung_up_by is HungUpBy.DIALER and facts.rang:
        # Our ring timer or the engine ended a call that was ringing; the CANCEL's 487 may not
        # have arrived before the end was recorded.
        return Outcome.NO_ANSWER
    return Outcome.NETWORK_FAILURE


def _by_q850(cause: int | None) -> Outcome | None:
    if cause is None:
        return None
    if cause in _Q850_NOT_IN_SERVICE:
        return Outcome.NOT_IN_SERVICE
    if cause in _Q850_BUSY:
        return Outcome.BUSY
    if cause in _Q850_NO_ANSWER:
        return Outcome.NO_ANSWER
    if cause in _Q850_NETWORK:
        return Outcome.NETWORK_FAILURE
    return None
