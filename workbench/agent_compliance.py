"""The compliance strip of a call, and the calling-window test for callbacks.

Everything is asked of the rules engine on a case built exactly as the dial gate builds it
(`build_case` over `load_account_facts` and `load_compliance_records`), so the strip shows what
the gate would decide for the next call about each debt, never a second opinion.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from campaigns.account_facts import load_account_facts
from campaigns.models import Debt, DebtStatus, Phone, PhoneStatus
from compliance import policy as rules
from compliance.gate import DialRequest, build_case, load_compliance_records
from compliance.models import ContactRestriction, Notice, NoticeType, RestrictionKind
from compliance.policy.case import Case
from compliance.policy.frequency import CallCap
from compliance.policy.hours import LocalHours
from workbench.agent_account import Account
from workbench.call_facts import CallFacts

# A window closing within this many minutes shows as "closing soon".
CLOSING_SOON_MINUTES = 30
_COUNTED = re.compile(r"(\d+)(?:st|nd|rd|th) counted call")
NOTICE_LABELS = {
    NoticeType.CEASE_COMMUNICATION: "Cease communication",
    NoticeType.REFUSAL_TO_PAY: "Refusal to pay",
    NoticeType.DISPUTE: "Dispute: verification pending",
    NoticeType.ORIGINAL_CREDITOR_REQUEST: "Original-creditor request pending",
    NoticeType.BANKRUPTCY: "Bankruptcy",
    NoticeType.DECEASED: "Deceased",
    NoticeType.ATTORNEY: "Represented by an attorney",
}


@dataclasses.dataclass(frozen=True)
class Window:
    start_minute: int
    end_minute: int

    def label(self) -> str:
        start, end = divmod(self.start_minute, 60), divmod(self.end_minute, 60)
        return f"{start[0]:02d}:{start[1]:02d}-{end[0]:02d}:{end[1]:02d}"

    def contains(self, local: dt.datetime) -> bool:
        return self.start_minute <= local.hour * 60 + local.minute < self.end_minute


@dataclasses.dataclass(frozen=True)
class ZoneClock:
    zone: str
    local: dt.datetime
    state: str  # open | closing | closed
    next_opening: dt.datetime | None  # local, when closed


@dataclasses.dataclass(frozen=True)
class DebtMeter:
    debt: Debt
    counted: int | None  # counted calls in the current window, this call included
    cap: int | None
    window_days: int | None
    detail: str
    allowed_now: bool
    next_allowed_at: dt.datetime | None
    reason: str


@dataclasses.dataclass(frozen=True)
class PhoneConsent:
    phone: Phone
    consent: str
    callable: bool


@dataclasses.dataclass(frozen=True)
class Strip:
    window: Window
    clocks: list[ZoneClock]
    # Shown with the account only; empty while it is locked.
    meters: list[DebtMeter]
    holds: list[str]
    phones: list[PhoneConsent]


def case_for(db: Session, person_id: int, request: DialRequest, policy_name: str) -> Case:
    accounts = load_account_facts(db, [person_id])
    records = load_compliance_records(db, [person_id], request.at)
    return build_case(accounts[person_id], records[person_id], request, policy_name)


def window_of(case: Case, policy: rules.Policy) -> Window:
    """The calling window every local-hours rule for this person allows (the narrowest)."""
    hours = [rule.check for rule in policy.rules_for(case) if isinstance(rule.check, LocalHours)]
    if not hours:
        return Window(0, 24 * 60)
    return Window(max(each.start_minute for each in hours), min(each.end_minute for each in hours))


def zone_clock(zone: str, at: dt.datetime, window: Window) -> ZoneClock:
    local = at.astimezone(ZoneInfo(zone))
    minute = local.hour * 60 + local.minute
    if window.contains(local):
        closing = window.end_minute - minute <= CLOSING_SOON_MINUTES
        return ZoneClock(zone, local, "closing" if closing else "open", None)
    opening_day = local.date() if minute < window.start_minute else local.date() + dt.timedelta(days=1)
    opening = dt.datetime.combine(
        opening_day, dt.time(window.start_minute // 60, window.start_minute % 60), ZoneInfo(zone)
    )
    return ZoneClock(zone, local, "closed", opening)


def _meter(case: Case, policy: rules.Policy, debt: Debt) -> DebtMeter:
    verdict = rules.evaluate(case, policy)
    caps = {
        rule.check.rule_id: rule.check for rule in policy.rules_for(case) if isinstance(rule.check, CallCap)
    }
    # The federal per-debt cap comes first in checklist order; state caps follow.
    cap_result = next((result for result in verdict.evaluated if result.rule in caps), None)
    counted = cap = window_days = None
    detail = ""
    if cap_result is not None:
        check = caps[cap_result.rule]
        cap, window_days, detail = check.max_calls, check.window_days, cap_result.detail
        ordinals = [int(found) for found in _COUNTED.findall(cap_result.detail)]
        # The engine names the proposed next call "the Nth": N - 1 calls are already counted.
        counted = max(ordinals) - 1 if ordinals else None
    return DebtMeter(
        debt=debt,
        counted=counted,
        cap=cap,
        window_days=window_days,
        detail=detail,
        allowed_now=verdict.allowed,
        next_allowed_at=verdict.next_allowed_at,
        reason=verdict.reason,
    )


def _holds(notices: list[Notice], restrictions: list[ContactRestriction], debts: dict[int, str]) -> list[str]:
    holds = []
    for notice in notices:
        if notice.resolved_at is not None:
            continue
        scope = ", ".join(debts.get(debt, str(debt)) for debt in notice.debt_ids) or "every debt"
        holds.append(f"{NOTICE_LABELS[notice.type]} since {notice.received_at:%Y-%m-%d} ({scope})")
    for restriction in restrictions:
        if restriction.kind is RestrictionKind.NO_CALLS:
            holds.append(f"No calls at all, asked {restriction.requested_at:%Y-%m-%d}")
        elif restriction.kind is RestrictionKind.NUMBER:
            holds.append(f"Do not call {restriction.number}, asked {restriction.requested_at:%Y-%m-%d}")
        elif restriction.kind is RestrictionKind.PLACE:
            holds.append(f"No calls at work, asked {restriction.requested_at:%Y-%m-%d}")
        elif restriction.time_from is not None and restriction.time_to is not None:
            days = ", ".join(restriction.days) or "every day"
            holds.append(f"Inconvenient {restriction.time_from:%H:%M}-{restriction.time_to:%H:%M} ({days})")
    return holds


def _consent(phone: Phone) -> PhoneConsent:
    if phone.consent_revoked_at is not None:
        text = f"autodial consent revoked {phone.consent_revoked_at:%Y-%m-%d}"
    elif phone.consent_given_at is not None:
        text = f"autodial consent since {phone.consent_given_at:%Y-%m-%d}"
    else:
        text = (
            "no autodial consent: manual or preview only"
            if phone.type.value in {"mobile", "unknown"}
            else "no autodial consent"
        )
    return PhoneConsent(phone, text, phone.status is PhoneStatus.ACTIVE)


def compliance_strip(
    facts: CallFacts, account: Account | None, *, now: dt.datetime, policy_name: str
) -> Strip:
    """The strip of the call, from facts read once: every case is built from the same gate facts.

    The calling window and clocks are always shown. The meters, holds and consents name debts and
    numbers, so they come with the account only, once it is unlocked; before, they stay empty.
    """
    policy = rules.load_policy(policy_name)
    attempt = facts.attempt

    def case(debt_ids: tuple[int, ...]) -> Case:
        request = DialRequest(
            person_id=attempt.person_id, number=attempt.number, debt_ids=debt_ids, mode=attempt.mode, at=now
        )
        return build_case(facts.gate_account, facts.gate_records, request, policy_name)

    # The next call would be about every open debt, as the gate reads them.
    base = case(tuple(sorted(debt.id for debt in facts.gate_account.debts)))
    window = window_of(base, policy)
    clocks = [zone_clock(zone, now, window) for zone in rules.candidate_zones(base)]
    if account is None:
        return Strip(window, clocks, [], [], [])
    debts = [view.debt for view in account.debts]
    meters = [_meter(case((debt.id,)), policy, debt) for debt in debts if debt.status is DebtStatus.OPEN]
    refs = {debt.id: debt.account_ref for debt in debts}
    holds = _holds(list(facts.gate_records.notices), list(facts.gate_records.restrictions), refs)
    return Strip(window, clocks, meters, holds, [_consent(phone) for phone in account.phones])
