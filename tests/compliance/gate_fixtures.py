"""Accounts and a gate for the dial-gate tests, usable from spawned worker processes too."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from campaigns.account_facts import load_account_facts
from campaigns.models import Address, Debt, DebtKind, Person, Phone, PhoneType
from compliance.gate import DialGate, DialRequest
from compliance.models import DialingMode
from infra.models import Client

CHICAGO_MOBILE = "+13125550142"
# 10:00 in Chicago on Tuesday 3 June 2025: inside calling hours in the person's only zone.
TUESDAY_10AM = dt.datetime(2025, 6, 3, 15, 0, tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True)
class Account:
    person_id: int
    debt_id: int
    number: str

    def request(self, at: dt.datetime, mode: DialingMode = DialingMode.PREDICTIVE) -> DialRequest:
        return DialRequest(
            person_id=self.person_id, number=self.number, debt_ids=(self.debt_id,), mode=mode, at=at
        )


def add_people(
    sessions: sessionmaker[Session], count: int, *, state: str = "IL", postal_code: str = "60601"
) -> list[Account]:
    """People with one debt and one consented Chicago mobile each."""
    with sessions.begin() as session:
        client = Client(code=f"client-{state}", name="Acme Bank")
        session.add(client)
        session.flush()
        accounts = []
        for index in range(count):
            person = Person(
                client_id=client.id,
                person_ref=f"P{index}",
                first_name="Dana",
                last_name=f"Example{index}",
                identifier_salt="salt",
            )
            session.add(person)
            session.flush()
            session.add(Address(person_id=person.id, city="Chicago", state=state, postal_code=postal_code))
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
                client_id=client.id, person_id=person.id, account_ref=f"A{index}", kind=DebtKind.CREDIT_CARD
            )
            session.add(debt)
            session.flush()
            accounts.append(Account(person.id, debt.id, number))
    return accounts


def make_gate(sessions: sessionmaker[Session]) -> DialGate:
    return DialGate(sessions, load_account_facts, "us-federal")
