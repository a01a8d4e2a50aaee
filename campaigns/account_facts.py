"""Account facts for the dial gate, read from the account tables inside the gate's transaction.

Plain column rows, one set-based query per table whatever the number of people: the gate asks
for a whole hopper batch at once and entities would cost more than the rules themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from campaigns.models import Address, Debt, DebtStatus, Person, Phone, PhoneStatus
from compliance.batch_sql import among
from compliance.gate import AccountFacts, DebtFacts, PhoneFacts
from compliance.policy import case as model


class UnknownPersonError(LookupError):
    pass


def load_account_facts(session: Session, person_ids: Sequence[int]) -> dict[int, AccountFacts]:
    """The gate's account facts of each person: current address, open debts, active phones."""
    persons = {
        person_id: (client_id, extra_time_zones)
        for person_id, client_id, extra_time_zones in session.execute(
            sa.select(Person.id, Person.client_id, Person.extra_time_zones).where(
                among(session, Person.id, person_ids)
            )
        )
    }
    missing = set(person_ids) - persons.keys()
    if missing:
        raise UnknownPersonError(f"no person with id {', '.join(map(str, sorted(missing)))}")
    addresses: dict[int, model.Address] = {}
    for person_id, country, state, postal_code, city in session.execute(
        sa.select(Address.person_id, Address.country, Address.state, Address.postal_code, Address.city)
        .where(among(session, Address.person_id, person_ids), Address.is_current.is_(True))
        .order_by(Address.id)
    ):  # the newest current address wins
        addresses[person_id] = model.Address(country=country, state=state, postal_code=postal_code, city=city)
    debts = defaultdict(list)
    for debt_id, person_id, kind, student_loan_account in session.execute(
        sa.select(Debt.id, Debt.person_id, Debt.kind, Debt.student_loan_account).where(
            among(session, Debt.person_id, person_ids), Debt.status == DebtStatus.OPEN
        )
    ):
        debts[person_id].append(
            DebtFacts(id=debt_id, kind=kind.value, student_loan_account=student_loan_account)
        )
    phones = defaultdict(list)
    for person_id, number, phone_type, given_at, revoked_at, checked_at, result in session.execute(
        sa.select(
            Phone.person_id,
            Phone.number,
            Phone.type,
            Phone.consent_given_at,
            Phone.consent_revoked_at,
            Phone.reassigned_checked_at,
            Phone.reassigned_result,
        ).where(among(session, Phone.person_id, person_ids), Phone.status == PhoneStatus.ACTIVE)
    ):
        phones[person_id].append(
            PhoneFacts(
                number=number,
                type=phone_type.value,
                consent_given_at=given_at,
                consent_revoked_at=revoked_at,
                reassigned_checked_at=checked_at,
                reassigned_result=result,
            )
        )
    return {
        person_id: AccountFacts(
            person_id=person_id,
            client_id=client_id,
            address=addresses.get(person_id),
            extra_time_zones=tuple(extra_time_zones or ()),
            debts=tuple(debts[person_id]),
            phones=tuple(phones[person_id]),
        )
        for person_id, (client_id, extra_time_zones) in persons.items()
    }
