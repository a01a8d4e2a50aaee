"""The hopper: the next callable people of a campaign, best first.

Three stages, cheapest first:

1. a SQL pre-filter: people with open debts on the campaign's lists, an active phone, no open
   hold, no attempt in flight, no terminal disposition in this campaign, and no schedule that
   puts them later (due callbacks come back whatever their schedule);
2. ordering in Python (`order_leads`, pure): due callbacks first; then people whose campaign
   window closes soonest in their own time zone, so that the day follows the sun (the east
   coast before its evening ends, Hawaii last); then the campaign's strategy (balance, aging or
   least recently called);
3. the dial gate's final check at dial time (`DialGate.reserve_many`, done by the engine).

The buffer is refilled when it runs low or grows stale, so a person whose window just opened
enters within a minute.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from campaigns.engine.models import CampaignLead, LeadStatus
from campaigns.engine.schedule import CallingSchedule, minutes_left
from campaigns.engine.settings import Strategy
from campaigns.models import (
    Address,
    Callback,
    CallbackStatus,
    CallListMember,
    CampaignList,
    Debt,
    DebtStatus,
    Person,
    Phone,
    PhoneStatus,
)
from compliance.models import AttemptStatus, ContactAttempt, DispositionCode, Notice
from compliance.policy import case as policy_case
from compliance.policy.geography import address_zones, number_country_zones, number_zones

REFILL_AFTER_S = 60.0
SCAN_FACTOR = 5  # debts read per buffered person, so ordering has room to work
_WINDOW_BUCKET_MIN = 60.0  # people whose windows close within the same hour rank by strategy


@dataclasses.dataclass(frozen=True)
class PhoneChoice:
    id: int
    number: str


@dataclasses.dataclass(frozen=True)
class Lead:
    person_id: int
    debt_ids: tuple[int, ...]
    phone: PhoneChoice
    zones: tuple[str, ...]
    balance_minor: int
    oldest_on: dt.date | None  # earliest charge-off (else placement) date of the debts
    last_attempt_at: dt.datetime | None
    attempts: int = 0
    callback_id: int | None = None
    preferred_agent: int | None = None  # the agent a callback was promised by


def choose_phone(phones: Sequence[PhoneChoice], attempts: int) -> PhoneChoice:
    """Rotate through the person's active phones, best-ranked first, one per attempt."""
    if not phones:
        raise ValueError("a lead needs a phone")
    return phones[attempts % len(phones)]


def lead_zones(number: str, address: policy_case.Address | None, extra: Sequence[str]) -> tuple[str, ...]:
    """Where the person may be: the same evidence the gate reads, most specific first."""
    zones = [*extra, *number_zones(number)]
    if address is not None:
        zones += address_zones(address)
    if not zones:
        zones += number_country_zones(number)
    return tuple(dict.fromkeys(zones))


def _strategy_key(lead: Lead, strategy: Strategy) -> tuple[float, int]:
    if strategy is Strategy.BALANCE:
        return (-float(lead.balance_minor), lead.person_id)
    if strategy is Strategy.AGING:
        day = lead.oldest_on.toordinal() if lead.oldest_on is not None else dt.date.max.toordinal()
        return (float(day), lead.person_id)
    moment = lead.last_attempt_at.timestamp() if lead.last_attempt_at is not None else float("-inf")
    return (moment, lead.person_id)


def order_leads(
    leads: Sequence[Lead], strategy: Strategy, schedule: CallingSchedule, now: dt.datetime
) -> list[Lead]:
    """The callable leads now, best first; people outside the campaign's window are left out."""
    ranked = []
    for lead in leads:
        left = minutes_left(schedule, lead.zones, now)
        if left is None:
            continue
        bucket = left // _WINDOW_BUCKET_MIN
        ranked.append(((lead.callback_id is None, bucket, _strategy_key(lead, strategy)), lead))
    ranked.sort(key=lambda item: item[0])
    return [lead for _, lead in ranked]


@dataclasses.dataclass(frozen=True)
class HopperConfig:
    campaign_id: int
    client_id: int
    strategy: Strategy
    schedule: CallingSchedule
    size: int


class Hopper:
    """Buffered leads of one campaign; used from one thread at a time (the engine's DB thread)."""

    def __init__(self, sessions: sessionmaker[Session], config: HopperConfig) -> None:
        self.sessions = sessions
        self.config = config
        self.buffer: list[Lead] = []
        self.refilled_at: dt.datetime | None = None
        self.out: set[int] = set()  # people taken and not yet finished by the engine
        self.remaining = 0  # callable people left in the campaign at the last refill, buffer included

    def available(self) -> int:
        return len(self.buffer)

    def take(self, count: int, now: dt.datetime) -> list[Lead]:
        """Up to `count` leads for different people, still inside the campaign's window."""
        stale = self.refilled_at is None or (now - self.refilled_at).total_seconds() > REFILL_AFTER_S
        if stale or len(self.buffer) < max(count, self.config.size // 4):
            self.refill(now)
        taken: list[Lead] = []
        while self.buffer and len(taken) < count:
            lead = self.buffer.pop(0)
            if lead.person_id in self.out or minutes_left(self.config.schedule, lead.zones, now) is None:
                continue
            self.out.add(lead.person_id)
            taken.append(lead)
        return taken

    def finished(self, person_id: int) -> None:
        self.out.discard(person_id)

    def refill(self, now: dt.datetime) -> None:
        with self.sessions() as session:
            leads = load_candidates(session, self.config, now, exclude=self.out)
            self.remaining = count_callable(session, self.config, now, exclude=self.out)
        self.buffer = order_leads(leads, self.config.strategy, self.config.schedule, now)[: self.config.size]
        self.refilled_at = now


def _open_debts(config: HopperConfig) -> Any:
    campaign_debts = (
        sa.select(CallListMember.debt_id)
        .join(CampaignList, CampaignList.list_id == CallListMember.list_id)
        .where(CampaignList.campaign_id == config.campaign_id)
    )
    balance = Debt.principal_minor + Debt.interest_minor + Debt.fees_minor
    return sa.select(
        Debt.id, Debt.person_id, balance, sa.func.coalesce(Debt.charged_off_on, Debt.placed_on)
    ).where(Debt.id.in_(campaign_debts), Debt.status == DebtStatus.OPEN, Debt.client_id == config.client_id)


def _callable_people(config: HopperConfig, now: dt.datetime) -> list[sa.ColumnElement[bool]]:
    """Conditions on Debt.person_id shared by scheduled leads and due callbacks."""
    person = Debt.person_id
    on_hold = sa.exists().where(Notice.person_id == person, Notice.resolved_at.is_(None))
    in_flight = sa.exists().where(
        ContactAttempt.person_id == person,
        ContactAttempt.status.in_((AttemptStatus.RESERVED, AttemptStatus.DIALING)),
    )
    terminal = sa.exists().where(
        ContactAttempt.person_id == person,
        ContactAttempt.campaign_id == config.campaign_id,
        DispositionCode.code == ContactAttempt.disposition_code,
        DispositionCode.is_terminal.is_(True),
    )
    has_phone = sa.exists().where(Phone.person_id == person, Phone.status == PhoneStatus.ACTIVE)
    return [~on_hold, ~in_flight, ~terminal, has_phone]


def _later(config: HopperConfig, now: dt.datetime) -> sa.ColumnElement[bool]:
    """The person's campaign lead is done, or scheduled after `now`."""
    lead_row = sa.orm.aliased(CampaignLead)
    return sa.exists().where(
        lead_row.campaign_id == config.campaign_id,
        lead_row.person_id == Debt.person_id,
        sa.or_(lead_row.status == LeadStatus.DONE, lead_row.next_call_at > now),
    )


def _due_callbacks(config: HopperConfig, now: dt.datetime) -> Any:
    return (
        sa.select(Callback.id, Callback.person_id, Callback.phone_id, Callback.owner_user_id, Callback.due_at)
        .join(Debt, Debt.person_id == Callback.person_id)
        .where(
            Callback.campaign_id == config.campaign_id,
            Callback.status == CallbackStatus.PENDING,
            Callback.due_at <= now,
            Debt.status == DebtStatus.OPEN,
            *_callable_people(config, now),
        )
    )


def count_callable(
    session: Session, config: HopperConfig, now: dt.datetime, exclude: Collection[int] = ()
) -> int:
    """People the campaign could still call today: the pacer's view of how much list is left."""
    scheduled = _open_debts(config).where(~_later(config, now), *_callable_people(config, now))
    people = sa.union(
        sa.select(scheduled.subquery().c.person_id),
        sa.select(_due_callbacks(config, now).subquery().c.person_id),
    ).subquery()
    query = sa.select(sa.func.count()).select_from(people)
    if exclude:
        query = query.where(people.c.person_id.not_in(list(exclude)))
    return int(session.scalar(query) or 0)


def load_candidates(
    session: Session, config: HopperConfig, now: dt.datetime, exclude: Collection[int] = ()
) -> list[Lead]:
    """Pre-filtered leads of the campaign, unordered: one per person, all their campaign debts."""
    scan = config.size * SCAN_FACTOR
    rows = list(
        session.execute(
            _open_debts(config).where(~_later(config, now), *_callable_people(config, now)).limit(scan)
        )
    )
    callbacks = sorted(
        session.execute(_due_callbacks(config, now).distinct()), key=lambda row: (row.due_at, row.id)
    )
    people = {person for _, person, _, _ in rows} | {row.person_id for row in callbacks}
    people -= set(exclude)
    if not people:
        return []
    debts: dict[int, list[tuple[int, int, dt.date | None]]] = defaultdict(list)
    for debt_id, person, balance, oldest in session.execute(
        _open_debts(config).where(Debt.person_id.in_(people))
    ):
        debts[person].append((debt_id, int(balance), oldest))
    return _assemble(session, config, people, debts, callbacks)


def _assemble(
    session: Session,
    config: HopperConfig,
    people: set[int],
    debts: dict[int, list[tuple[int, int, dt.date | None]]],
    callbacks: Sequence[Any],
) -> list[Lead]:
    phones: dict[int, list[PhoneChoice]] = defaultdict(list)
    for row in session.scalars(
        sa.select(Phone)
        .where(Phone.person_id.in_(people), Phone.status == PhoneStatus.ACTIVE)
        .order_by(Phone.person_id, sa.func.coalesce(Phone.position, 99), Phone.id)
    ):
        phones[row.person_id].append(PhoneChoice(row.id, row.number))
    addresses: dict[int, policy_case.Address] = {}
    for address in session.scalars(
        sa.select(Address)
        .where(Address.person_id.in_(people), Address.is_current.is_(True))
        .order_by(Address.id)
    ):
        addresses[address.person_id] = policy_case.Address(
            country=address.country, state=address.state, postal_code=address.postal_code, city=address.city
        )
    extra = {
        row.id: row.extra_time_zones
        for row in session.execute(sa.select(Person.id, Person.extra_time_zones).where(Person.id.in_(people)))
    }
    history = {
        row.person_id: row
        for row in session.scalars(
            sa.select(CampaignLead).where(
                CampaignLead.campaign_id == config.campaign_id, CampaignLead.person_id.in_(people)
            )
        )
    }
    due = {row.person_id: row for row in reversed(callbacks)}  # the earliest callback per person wins
    leads = []
    for person in sorted(people):
        if not phones[person] or not debts[person]:
            continue
        record = history.get(person)
        attempts = record.attempts if record is not None else 0
        callback = due.get(person)
        phone = choose_phone(phones[person], attempts)
        if callback is not None and callback.phone_id is not None:
            phone = next((p for p in phones[person] if p.id == callback.phone_id), phone)
        dates = [oldest for _, _, oldest in debts[person] if oldest is not None]
        leads.append(
            Lead(
                person_id=person,
                debt_ids=tuple(sorted(debt for debt, _, _ in debts[person])),
                phone=phone,
                zones=lead_zones(phone.number, addresses.get(person), extra.get(person) or ()),
                balance_minor=sum(balance for _, balance, _ in debts[person]),
                oldest_on=min(dates) if dates else None,
                last_attempt_at=record.last_attempt_at if record is not None else None,
                attempts=attempts,
                callback_id=callback.id if callback is not None else None,
                preferred_agent=callback.owner_user_id if callback is not None else None,
            )
        )
    return leads
