"""Accounts, attempts through the real dial gate and ledger, and promises, for the console tests."""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from campaigns.account_facts import load_account_facts
from campaigns.models import (
    Address,
    CallList,
    CallListMember,
    Campaign,
    CampaignStatus,
    Debt,
    DebtKind,
    Person,
    Phone,
    PhoneType,
    Promise,
    PromiseInstalment,
    PromiseStatus,
)
from compliance.attempts import CallResult, complete, mark_dialing
from compliance.gate import DialGate, DialRequest
from compliance.models import DialingMode, DispositionCode, Outcome
from infra.models import Client
from tests.conftest import Database

# 10:00 in Chicago on Tuesday 3 June 2025: inside calling hours.
TUESDAY_10AM = dt.datetime(2025, 6, 3, 15, 0, tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True)
class Account:
    client_id: int
    person_id: int
    person_ref: str
    debt_id: int
    account_ref: str
    number: str


def add_account(db: Database, client_code: str, index: int) -> Account:
    """A Chicago debtor with one credit-card debt and a consented mobile."""
    with db.sessions.begin() as session:
        client_id = session.scalar(sa.select(Client.id).where(Client.code == client_code))
        assert client_id is not None
        person = Person(
            client_id=client_id,
            person_ref=f"{client_code}-P{index}",
            first_name="Dana",
            last_name=f"Example{index}",
            identifier_salt="salt",
        )
        session.add(person)
        session.flush()
        session.add(Address(person_id=person.id, city="Chicago", state="IL", postal_code="60601"))
        number = f"+1312555{index:04d}"
        session.add(
            Phone(
                person_id=person.id,
                number=number,
                type=PhoneType.MOBILE,
                consent_given_at=TUESDAY_10AM - dt.timedelta(days=90),
            )
        )
        debt = Debt(
            client_id=client_id,
            person_id=person.id,
            account_ref=f"{client_code}-A{index}",
            kind=DebtKind.CREDIT_CARD,
            principal_minor=150_000,
            interest_minor=20_000,
        )
        session.add(debt)
        session.flush()
        return Account(client_id, person.id, person.person_ref, debt.id, debt.account_ref, number)


def add_campaign(db: Database, client_id: int, name: str) -> int:
    with db.sessions.begin() as session:
        campaign = Campaign(client_id=client_id, name=name, status=CampaignStatus.DRAFT, settings={})
        session.add(campaign)
        session.flush()
        return campaign.id


def add_list(db: Database, client_id: int, name: str) -> int:
    with db.sessions.begin() as session:
        call_list = CallList(client_id=client_id, name=name)
        session.add(call_list)
        session.flush()
        return call_list.id


def add_to_list(db: Database, list_id: int, debt_id: int) -> None:
    with db.sessions.begin() as session:
        session.add(CallListMember(list_id=list_id, debt_id=debt_id))


def place_call(
    db: Database,
    account: Account,
    at: dt.datetime,
    outcome: Outcome,
    *,
    campaign_id: int | None = None,
    agent_id: int | None = None,
) -> int:
    """A call the real gate allowed and the ledger completed; returns the attempt id."""
    gate = DialGate(db.sessions, load_account_facts, "us-federal")
    result = gate.reserve(
        DialRequest(
            person_id=account.person_id,
            number=account.number,
            debt_ids=(account.debt_id,),
            mode=DialingMode.PROGRESSIVE,
            at=at,
            campaign_id=campaign_id,
            agent_id=agent_id,
        )
    )
    assert result.allowed, result.verdict
    assert result.attempt_uuid is not None
    assert result.attempt_id is not None
    live = outcome in {Outcome.CONVERSATION, Outcome.ABANDONED}
    with db.sessions.begin() as session:
        mark_dialing(session, result.attempt_uuid, at)
        complete(
            session,
            result.attempt_uuid,
            CallResult(
                outcome=outcome,
                ended_at=at + dt.timedelta(minutes=3),
                answered_at=at + dt.timedelta(seconds=20) if live else None,
                connected_at=at + dt.timedelta(seconds=21) if outcome is Outcome.CONVERSATION else None,
                party="consumer" if live else None,
                agent_id=agent_id,
            ),
        )
    return result.attempt_id


def add_pending_promise(db: Database, account: Account, agent_id: int, total_minor: int = 60_000) -> int:
    with db.sessions.begin() as session:
        promise = Promise(
            person_id=account.person_id,
            debt_id=account.debt_id,
            status=PromiseStatus.PENDING_APPROVAL,
            total_minor=total_minor,
            currency="USD",
            frequency="monthly",
            created_by=agent_id,
        )
        session.add(promise)
        session.flush()
        for seq in (1, 2):
            session.add(
                PromiseInstalment(
                    promise_id=promise.id,
                    seq=seq,
                    due_on=dt.date(2025, 7, 1) + dt.timedelta(days=30 * (seq - 1)),
                    amount_minor=total_minor // 2,
                )
            )
        return promise.id


def add_disposition(db: Database, code: str, *, hotkey: str | None = None) -> int:
    with db.sessions.begin() as session:
        row = DispositionCode(
            code=code,
            label=code.title(),
            outcome=Outcome.CONVERSATION,
            counts_as_attempt=True,
            is_conversation=True,
            is_right_party_contact=True,
            is_terminal=False,
            hotkey=hotkey,
            required_fields=[],
        )
        session.add(row)
        session.flush()
        return row.id
