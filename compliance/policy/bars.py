"""Hard bars and medium restrictions: blocks that only an event lifts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from compliance.policy.case import NoticeType, PhoneType, Place
from compliance.policy.facts import Check, Facts, Finding, blocks, passes
from compliance.policy.fields import Fields


class Scope(StrEnum):
    DEBTS = "debts"  # the notice's debts (all of them when it names none)
    PERSON = "person"  # every debt of the person, whatever the notice names


def _names(debt_ids: frozenset[str] | None) -> str:
    return "every debt" if debt_ids is None else ", ".join(sorted(debt_ids))


@dataclass(frozen=True)
class NoticeBar:
    """Written notices that stop collection of the debts they cover until resolved."""

    rule_id: str
    citation: str
    notice_types: frozenset[NoticeType]
    scope: Scope

    @classmethod
    def read(cls, fields: Fields, rule_id: str, citation: str) -> Check | None:
        types = fields.members("notice_types", NoticeType, required=True)
        scope = fields.choice("scope", Scope)
        if not types or scope is None:
            return None
        return cls(rule_id, citation, types, scope)

    def assess(self, facts: Facts, at: datetime) -> Finding:
        call_debts = facts.case.call.debt_ids
        for notice in facts.case.person.notices:
            in_force = notice.resolved_at is None or notice.resolved_at > at
            if not in_force or notice.type not in self.notice_types:
                continue
            covered = (
                notice.debt_ids is None or self.scope is Scope.PERSON or bool(notice.debt_ids & call_debts)
            )
            if covered:
                return blocks(
                    f"{notice.type.value} notice received {notice.received_at.isoformat()} covers "
                    f"{_names(None if self.scope is Scope.PERSON else notice.debt_ids)} and is not resolved",
                    None,
                )
        return passes(f"no unresolved {' or '.join(sorted(self.notice_types))} notice covers this call")


@dataclass(frozen=True)
class AttorneyBar:
    rule_id: str
    citation: str

    @classmethod
    def read(cls, fields: Fields, rule_id: str, citation: str) -> Check | None:
        return cls(rule_id, citation)

    def assess(self, facts: Facts, at: datetime) -> Finding:
        attorney = facts.case.person.attorney
        if attorney is None:
            return passes("no attorney representation known")
        if attorney.debt_ids is not None and not attorney.debt_ids & facts.case.call.debt_ids:
            return passes(f"represented by an attorney only for {_names(attorney.debt_ids)}")
        return blocks(
            f"represented by an attorney for {_names(attorney.debt_ids)} since {attorney.since.isoformat()}",
            None,
        )


class RestrictionKind(StrEnum):
    MEDIUM = "medium"  # "don't call me" (every number) or "don't call this number"
    WORK = "work"  # "don't call me at work"


@dataclass(frozen=True)
class MediumBar:
    """Requests not to be called (at all, at a number, or at work). The person's own contact
    through the blocked medium allows one response to the number they used."""

    rule_id: str
    citation: str
    kind: RestrictionKind

    @classmethod
    def read(cls, fields: Fields, rule_id: str, citation: str) -> Check | None:
        kind = fields.choice("restriction", RestrictionKind)
        return None if kind is None else cls(rule_id, citation, kind)

    def _applies(self, facts: Facts, number: str | None, place: Place | None) -> bool:
        dialed = facts.case.call.number
        if self.kind is RestrictionKind.MEDIUM:
            return place is None and number in (None, dialed)
        return place is Place.WORK and (
            number == dialed or (number is None and facts.phone_type(dialed) is PhoneType.WORK)
        )

    def assess(self, facts: Facts, at: datetime) -> Finding:
        dialed = facts.case.call.number
        for restriction in facts.case.person.medium_restrictions:
            if not self._applies(facts, restriction.number, restriction.place):
                continue
            what = {
                (RestrictionKind.MEDIUM, True): "not to be called",
                (RestrictionKind.MEDIUM, False): f"not to be called at {dialed}",
                (RestrictionKind.WORK, True): "not to be called at work",
                (RestrictionKind.WORK, False): f"not to be called at work on {dialed}",
            }[self.kind, restriction.number is None]
            contact = facts.unanswered_contact(dialed, restriction.requested_at, at)
            if contact is not None:
                return passes(
                    f"asked {what} on {restriction.requested_at.isoformat()}, but contacted us from "
                    f"{dialed} at {contact.at.isoformat()}: one response is allowed"
                )
            return blocks(f"asked {what} on {restriction.requested_at.isoformat()}", None)
        return passes("no request limits calls to this number")
