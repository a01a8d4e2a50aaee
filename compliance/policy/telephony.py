"""TCPA: consent for autodialed or prerecorded calls to wireless numbers, and reassigned numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from compliance.policy.case import DialMode, PhoneType, ReassignedResult
from compliance.policy.facts import Check, Facts, Finding, blocks, passes
from compliance.policy.fields import Fields


@dataclass(frozen=True)
class Autodialed:
    """Which calls need the called party's consent: calls placed in `modes` to numbers of
    `wireless_types` (a number of unknown type may be wireless)."""

    modes: frozenset[DialMode]
    wireless_types: frozenset[PhoneType]

    @classmethod
    def read(cls, fields: Fields) -> Autodialed | None:
        modes = fields.members("autodialed_modes", DialMode, required=True)
        wireless = fields.members("wireless_types", PhoneType, required=True)
        return cls(modes, wireless) if modes and wireless else None

    def needs_consent(self, facts: Facts) -> bool:
        call = facts.case.call
        return call.mode in self.modes and facts.phone_type(call.number) in self.wireless_types


@dataclass(frozen=True)
class WirelessConsent:
    rule_id: str
    citation: str
    autodialed: Autodialed

    @classmethod
    def read(cls, fields: Fields, rule_id: str, citation: str) -> Check | None:
        autodialed = Autodialed.read(fields)
        return None if autodialed is None else cls(rule_id, citation, autodialed)

    def assess(self, facts: Facts, at: datetime) -> Finding:
        call = facts.case.call
        kind = facts.phone_type(call.number)
        if not self.autodialed.needs_consent(facts):
            return passes(f"a {call.mode} call to a {kind} number needs no prior express consent")
        phone = facts.phone(call.number)
        consent = phone.autodial_consent if phone else None
        if consent is None or consent.given_at > at:
            return blocks(
                f"{call.mode} call to {kind} number {call.number} without prior express consent", None
            )
        if consent.revoked_at is not None:
            return blocks(
                f"consent for {kind} number {call.number} was revoked on {consent.revoked_at.isoformat()}",
                None,
            )
        return passes(f"prior express consent for {call.number} given {consent.given_at.isoformat()}")


@dataclass(frozen=True)
class ReassignedNumber:
    """A database answer of "yes" means the number left the person after consent: nobody may
    call it for them. "No data" leaves consent unproven, so only calls that need none may go."""

    rule_id: str
    citation: str
    autodialed: Autodialed

    @classmethod
    def read(cls, fields: Fields, rule_id: str, citation: str) -> Check | None:
        autodialed = Autodialed.read(fields)
        return None if autodialed is None else cls(rule_id, citation, autodialed)

    def assess(self, facts: Facts, at: datetime) -> Finding:
        call = facts.case.call
        phone = facts.phone(call.number)
        check = phone.reassigned_check if phone else None
        if check is None:
            return passes(f"no reassigned-number check for {call.number}")
        when = check.checked_at.isoformat()
        if check.result is ReassignedResult.YES:
            return blocks(
                f"reassigned-number check on {when}: {call.number} was disconnected since consent", None
            )
        if check.result is ReassignedResult.NO_DATA and self.autodialed.needs_consent(facts):
            return blocks(
                f"reassigned-number check on {when} returned no data: no {call.mode} call to {call.number}",
                None,
            )
        return passes(f"reassigned-number check on {when}: {check.result}")
