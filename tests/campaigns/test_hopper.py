"""The hopper against the real databases: pre-filter, ordering, schedules written back."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.engine import store
from campaigns.engine.models import CampaignLead, LeadStatus
from campaigns.engine.schedule import CallingSchedule
from campaigns.engine.settings import Strategy
from campaigns.hopper import Hopper, HopperConfig, Lead, PhoneChoice, choose_phone, order_leads
from campaigns.models import (
    Address,
    Callback,
    CallList,
    CallListMember,
    Campaign,
    CampaignList,
    Debt,
    DebtStatus,
    DialMode,
    Person,
    Phone,
    PhoneStatus,
)
from campaigns.retry import RetryRules
from compliance.models import AttemptStatus, ContactAttempt, DialingMode, Notice, NoticeType, Outcome
from infra.models import Client
from tests.conftest import Database

# Tuesday 3 June 2025, 14:00 UTC: 10:00 in New York, 07:00 in Los Angeles.
NOW = dt.datetime(2025, 6, 3, 14, 0, tzinfo=dt.UTC)
SCHEDULE = CallingSchedule(frozenset({"mon", "tue", "wed", "thu", "fri"}), dt.time(9), dt.time(20))
NEW_YORK = ("NY", "10001", "+1212555")
LOS_ANGELES = ("CA", "90012", "+1213555")


class Portfolio:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.client = Client(code="acme", name="Acme Bank")
        session.add(self.client)
        session.flush()
        self.list = CallList(client_id=self.client.id, name="List")
        session.add(self.list)
        session.flush()
        self.campaign = Campaign(
            client_id=self.client.id, name="C", dial_mode=DialMode.PREDICTIVE, trunk="sim"
        )
        session.add(self.campaign)
        session.flush()
        session.add(CampaignList(campaign_id=self.campaign.id, list_id=self.list.id))
        self.count = 0

    def person(self, balance: int, place: tuple[str, str, str] = NEW_YORK, *, on_list: bool = True) -> int:
        self.count += 1
        state, postal, prefix = place
        person = Person(
            client_id=self.client.id,
            person_ref=f"P{self.count}",
            first_name="Dana",
            last_name="Example",
            identifier_salt="s",
        )
        self.session.add(person)
        self.session.flush()
        self.session.add(Address(person_id=person.id, state=state, postal_code=postal))
        for position in (1, 2):
            self.session.add(
                Phone(
                    person_id=person.id, number=f"{prefix}{self.count:02d}{position:02d}", position=position
                )
            )
        debt = Debt(
            client_id=self.client.id,
            person_id=person.id,
            account_ref=f"A{self.count}",
            principal_minor=balance,
        )
        self.session.add(debt)
        self.session.flush()
        if on_list:
            self.session.add(CallListMember(list_id=self.list.id, debt_id=debt.id))
        return person.id

    def attempt(self, person_id: int, status: AttemptStatus, code: str | None = None) -> None:
        self.session.add(
            ContactAttempt(
                uuid=f"u-{person_id}-{status}",
                client_id=self.client.id,
                campaign_id=self.campaign.id,
                person_id=person_id,
                number="+12125550000",
                mode=DialingMode.PREDICTIVE,
                status=status,
                outcome=Outcome.CONVERSATION if status is AttemptStatus.COMPLETED else None,
                disposition_code=code,
                reserved_at=NOW - dt.timedelta(days=1),
            )
        )

    def config(self, strategy: Strategy = Strategy.BALANCE, size: int = 50) -> HopperConfig:
        return HopperConfig(self.campaign.id, self.client.id, strategy, SCHEDULE, size)


def test_prefilter_and_order(db: Database) -> None:
    with db.sessions.begin() as session:
        book = Portfolio(session)
        small, large = book.person(1_000), book.person(9_000)
        west = book.person(50_000, LOS_ANGELES)  # 07:00 there: outside the campaign's window
        book.person(70_000, on_list=False)
        held = book.person(80_000)
        session.add(Notice(person_id=held, type=NoticeType.DISPUTE, received_at=NOW))
        in_flight = book.person(60_000)
        book.attempt(in_flight, AttemptStatus.DIALING)
        terminal = book.person(40_000)
        book.attempt(terminal, AttemptStatus.COMPLETED, code="ATTY")
        paid = book.person(30_000)
        session.execute(sa.update(Debt).where(Debt.person_id == paid).values(status=DebtStatus.PAID))
        later = book.person(20_000)
        session.add(
            CampaignLead(
                campaign_id=book.campaign.id, person_id=later, next_call_at=NOW + dt.timedelta(hours=1)
            )
        )
        done = book.person(10_000)
        session.add(CampaignLead(campaign_id=book.campaign.id, person_id=done, status=LeadStatus.DONE))
        callback = book.person(500)
        session.add(CampaignLead(campaign_id=book.campaign.id, person_id=callback, status=LeadStatus.DONE))
        session.add(
            Callback(
                person_id=callback, campaign_id=book.campaign.id, due_at=NOW - dt.timedelta(minutes=5),
                time_zone="America/New_York", owner_user_id=None,
            )
        )  # fmt: skip
        dead_phones = book.person(90_000)
        session.execute(
            sa.update(Phone).where(Phone.person_id == dead_phones).values(status=PhoneStatus.REMOVED)
        )
        config = book.config()
    hopper = Hopper(db.sessions, config)
    taken = hopper.take(10, NOW)
    assert [lead.person_id for lead in taken] == [callback, large, small]
    assert hopper.remaining == 4  # those three and the one outside its calling window for now
    assert taken[0].callback_id is not None
    assert west not in {lead.person_id for lead in taken}
    assert taken[1].zones == ("America/New_York",)
    assert hopper.take(10, NOW) == []  # taken people stay out until the engine is done with them
    hopper.finished(large)
    hopper.refill(NOW)
    assert hopper.remaining == 2  # large and the one outside its window; the others are out
    assert [lead.person_id for lead in hopper.take(10, NOW)] == [large]


def test_outcomes_and_refusals_schedule_the_next_call(db: Database) -> None:
    with db.sessions.begin() as session:
        book = Portfolio(session)
        busy, blocked, told_when = book.person(1), book.person(2), book.person(3)
        config = book.config()
    with db.sessions.begin() as session:
        lead = store.record_outcome(
            session, config.campaign_id, busy, outcome=Outcome.BUSY, ended_at=NOW, rules=RetryRules()
        )
        assert (lead.attempts, lead.outcome_counts, lead.next_call_at) == (
            1,
            {"busy": 1},
            NOW + dt.timedelta(minutes=10),
        )
        store.reschedule_denied(
            session, config.campaign_id, blocked, next_allowed_at=None, reason="hold", now=NOW
        )
        store.reschedule_denied(
            session,
            config.campaign_id,
            told_when,
            next_allowed_at=NOW + dt.timedelta(days=2),
            reason="cap",
            now=NOW,
        )
    hopper = Hopper(db.sessions, config)
    assert hopper.take(10, NOW) == []
    assert [lead.person_id for lead in hopper.take(10, NOW + dt.timedelta(minutes=11))] == [busy]
    second = hopper.take(10, NOW + dt.timedelta(days=1, minutes=1))
    assert [lead.person_id for lead in second] == [blocked]  # a block is looked at again a day later
    with db.sessions() as session:
        row = session.get(CampaignLead, (config.campaign_id, blocked))
        assert row is not None
        assert row.status is LeadStatus.BLOCKED
    with db.sessions.begin() as session:
        lead = store.record_outcome(
            session, config.campaign_id, busy, outcome=Outcome.CONVERSATION, ended_at=NOW, rules=RetryRules()
        )
        assert (lead.status, lead.attempts, lead.next_call_at) == (LeadStatus.DONE, 2, None)


def _lead(  # noqa: PLR0917 (one parameter per column of the table)
    person: int, balance: int, oldest: int, last: int | None, zone: str, callback: bool = False
) -> Lead:
    return Lead(
        person_id=person,
        debt_ids=(person,),
        phone=PhoneChoice(person, "+12125550100"),
        zones=(zone,),
        balance_minor=balance,
        oldest_on=dt.date(2025, 1, 1) + dt.timedelta(days=oldest),
        last_attempt_at=None if last is None else NOW - dt.timedelta(hours=last),
        callback_id=1 if callback else None,
    )


def test_ordering_follows_the_sun_then_the_strategy() -> None:
    at = NOW + dt.timedelta(hours=4)  # 14:00 in New York, 11:00 in Los Angeles
    leads = [
        _lead(1, 100, 5, 1, "America/Los_Angeles"),
        _lead(2, 900, 9, None, "America/Los_Angeles"),
        _lead(3, 50, 1, 3, "America/New_York"),
        _lead(4, 70, 3, 2, "America/New_York"),
        _lead(5, 10, 50, 9, "Pacific/Honolulu"),  # 08:00 there: closed
        _lead(6, 1, 99, None, "America/Los_Angeles", callback=True),
    ]

    def order(strategy: Strategy) -> list[int]:
        return [lead.person_id for lead in order_leads(leads, strategy, SCHEDULE, at)]

    assert order(Strategy.BALANCE) == [6, 4, 3, 2, 1]
    assert order(Strategy.AGING) == [6, 3, 4, 1, 2]
    assert order(Strategy.LAST_CONTACT) == [6, 3, 4, 2, 1]


def test_phones_rotate_by_attempt() -> None:
    phones = [PhoneChoice(1, "+1"), PhoneChoice(2, "+2")]
    assert [choose_phone(phones, attempt).id for attempt in range(4)] == [1, 2, 1, 2]
