"""The outcome vocabulary shared by the dialer, the attempt ledger and the compliance-check contract.

It lives below every package because `dialer` and `compliance` may not import each other, and both
must speak exactly these words (contracts/compliance-check.md).
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    BUSY = "busy"
    NOT_IN_SERVICE = "not_in_service"
    NETWORK_FAILURE = "network_failure"  # the three above never reached the dialed number
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    VOICEMAIL_MESSAGE_LEFT = "voicemail_message_left"
    MACHINE = "machine"
    ANSWERED_NO_CONVERSATION = "answered_no_conversation"
    ABANDONED = "abandoned"  # a live answer with no agent in time
    CONVERSATION = "conversation"  # with the person, about the listed debts
    THIRD_PARTY_CONVERSATION = "third_party_conversation"
    INBOUND_MESSAGE = "inbound_message"
    INBOUND_NO_AGENT = "inbound_no_agent"
