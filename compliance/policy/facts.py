"""What the rules share: the case digested once (zones, particular debts, phone types) and the
shape of a rule's answer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from compliance.policy.case import Case, Direction, HistoryCall, Party, Phone, PhoneType
from compliance.policy.clock import local_date
from compliance.policy.geography import candidate_zones


@dataclass(frozen=True)
class Finding:
    """One rule's answer at one instant. When it blocks, `lift_at` is an instant before which
    the rule cannot pass while the case stays as it is (it may still block then); None means
    only a new event (a withdrawal, a consent, a resolution) can lift it."""

    passed: bool
    detail: str
    lift_at: datetime | None = None


def passes(detail: str) -> Finding:
    return Finding(passed=True, detail=detail)


def blocks(detail: str, lift_at: datetime | None) -> Finding:
    return Finding(passed=False, detail=detail, lift_at=lift_at)


class Check(Protocol):
    """A rule: a stable id, the source it enforces, and its test at an instant."""

    @property
    def rule_id(self) -> str: ...

    @property
    def citation(self) -> str: ...

    def assess(self, facts: Facts, at: datetime) -> Finding: ...


@dataclass(frozen=True)
class Facts:
    case: Case
    zones: tuple[ZoneInfo, ...]
    unit_of_debt: Mapping[str, str]
    unit_label: Mapping[str, str]
    phones: Mapping[str, Phone]
    history: tuple[HistoryCall, ...] = field(repr=False)

    @classmethod
    def of(cls, case: Case) -> Facts:
        unit_of_debt: dict[str, str] = {}
        members: dict[str, list[str]] = {}
        for debt in case.debts:
            # Reg F 1006.14(b)(4): student loans serviced under one account number are one debt.
            unit = (
                f"student-loan account {debt.student_loan_account}" if debt.student_loan_account else debt.id
            )
            unit_of_debt[debt.id] = unit
            members.setdefault(unit, []).append(debt.id)
        labels = {
            unit: unit if ids == [unit] else f"{unit} ({', '.join(sorted(ids))})"
            for unit, ids in members.items()
        }
        history = tuple(sorted(case.history, key=lambda entry: entry.at))
        return cls(
            case=case,
            zones=tuple(ZoneInfo(name) for name in candidate_zones(case)),
            unit_of_debt=unit_of_debt,
            unit_label=labels,
            phones={phone.number: phone for phone in case.phones},
            history=history,
        )

    def phone(self, number: str) -> Phone | None:
        return self.phones.get(number)

    @property
    def calendar_zones(self) -> tuple[ZoneInfo, ...]:
        """Zones whose calendars count days; UTC when nothing locates the person (the
        time-of-day rule blocks such calls anyway)."""
        return self.zones or (ZoneInfo("UTC"),)

    def units(self, debt_ids: Iterable[str]) -> frozenset[str]:
        """Particular debts; a debt the case does not list (a case built in code rather than
        parsed) is its own."""
        return frozenset(self.unit_of_debt.get(debt_id, debt_id) for debt_id in debt_ids)

    def phone_type(self, number: str) -> PhoneType:
        phone = self.phones.get(number)
        return phone.type if phone is not None else PhoneType.UNKNOWN

    def calls_placed_to_person(self) -> list[HistoryCall]:
        return [
            entry
            for entry in self.history
            if entry.direction is Direction.OUTBOUND and entry.party is Party.CONSUMER
        ]

    def consent_for(self, unit: str, call_at: datetime, zone: ZoneInfo, window_days: int) -> datetime | None:
        """When consent given directly covers a call about `unit` (Reg F 1006.14(b)(3)(i)): the
        call falls within `window_days` days of the consent, its day being day 1."""
        day = local_date(call_at, zone)
        for consent in self.case.consents:
            covers = consent.given_at <= call_at and unit in self.units(consent.debt_ids)
            if covers and (day - local_date(consent.given_at, zone)).days < window_days:
                return consent.given_at
        return None

    def unanswered_contact(self, number: str, since: datetime, at: datetime) -> HistoryCall | None:
        """The person's own contact from `number` between `since` and `at` that no outbound
        call in the history follows: the one response Reg F allows (1006.14(h)(2)(ii), comment
        6(b)(1)-2)."""
        pending: HistoryCall | None = None
        for entry in self.history:
            if entry.direction is Direction.OUTBOUND:
                pending = None
            elif entry.party is Party.CONSUMER and entry.number == number and since <= entry.at <= at:
                pending = entry
        return pending
